//go:build fftw

package fftw

/*
#cgo LDFLAGS: -lfftw3 -lm
#include <fftw3.h>
#include <string.h>

// Time loops run entirely in C, so the benchmarks can compare against FFTW without cgo
// call overhead.
static void enkg_fftw_loop(fftw_plan p, long n) {
	for (long i = 0; i < n; i++) fftw_execute(p);
}
static void enkg_fftw_loop_c2r_copy(fftw_plan p, void *in, void *src, size_t bytes, long n) {
	for (long i = 0; i < n; i++) { memcpy(in, src, bytes); fftw_execute(p); }
}
*/
import "C"

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/enkg-go/enkg/spectral"
)

// fftwMu serialises FFTW's planner, which is not thread-safe (fftw_execute is).
var fftwMu sync.Mutex

func init() {
	spectral.SetRealBackend(func(nx, ny int) (spectral.RealBackend, error) { return NewReal(nx, ny) })
}

// Real is the FFTW implementation of spectral.Plan's transforms (r2c and c2r plans made
// with FFTW_MEASURE). One goroutine at a time; plans and buffers are freed when it is
// garbage collected.
type Real struct {
	nx, ny, nyh int
	fwd, inv    C.fftw_plan
	rbuf        []float64    // fftw_malloc'ed
	cbuf        []complex128 // fftw_malloc'ed
	align       C.int
}

type fftwHandles struct {
	fwd, inv   C.fftw_plan
	rbuf, cbuf unsafe.Pointer
}

// NewReal plans FFTW's 2-D r2c and c2r transforms for even nx×ny fields.
func NewReal(nx, ny int) (*Real, error) {
	if nx <= 0 || ny <= 0 || nx%2 != 0 || ny%2 != 0 {
		return nil, fmt.Errorf("fftw: need even positive sizes, got %d×%d", nx, ny)
	}
	nyh := ny/2 + 1
	fftwMu.Lock()
	defer fftwMu.Unlock()
	rp := C.fftw_malloc(C.size_t(8 * nx * ny))
	cp := C.fftw_malloc(C.size_t(16 * nx * nyh))
	if rp == nil || cp == nil {
		return nil, fmt.Errorf("spectral: fftw_malloc failed for %d×%d", nx, ny)
	}
	b := &Real{nx: nx, ny: ny, nyh: nyh,
		rbuf: unsafe.Slice((*float64)(rp), nx*ny),
		cbuf: unsafe.Slice((*complex128)(cp), nx*nyh),
	}
	b.fwd = C.fftw_plan_dft_r2c_2d(C.int(nx), C.int(ny), (*C.double)(rp), (*C.fftw_complex)(cp), C.FFTW_MEASURE)
	b.inv = C.fftw_plan_dft_c2r_2d(C.int(nx), C.int(ny), (*C.fftw_complex)(cp), (*C.double)(rp), C.FFTW_MEASURE)
	if b.fwd == nil || b.inv == nil {
		return nil, fmt.Errorf("spectral: FFTW could not plan %d×%d", nx, ny)
	}
	b.align = C.fftw_alignment_of((*C.double)(rp))
	h := fftwHandles{b.fwd, b.inv, rp, cp}
	runtime.AddCleanup(b, func(h fftwHandles) {
		fftwMu.Lock()
		C.fftw_destroy_plan(h.fwd)
		C.fftw_destroy_plan(h.inv)
		C.fftw_free(h.rbuf)
		C.fftw_free(h.cbuf)
		fftwMu.Unlock()
	}, h)
	return b, nil
}

// Name returns "fftw".
func (b *Real) Name() string { return "fftw" }

func (b *Real) aligned(p unsafe.Pointer) bool {
	return C.fftw_alignment_of((*C.double)(p)) == b.align
}

// Forward computes dst = rfft2(src). It runs the r2c plan on the caller's arrays when
// their alignment matches the planning arrays (the usual case for Go slices of this size),
// else through the buffers.
func (b *Real) Forward(dst []complex128, src []float64) {
	sp, dp := unsafe.Pointer(&src[0]), unsafe.Pointer(&dst[0])
	if b.aligned(sp) && b.aligned(dp) {
		C.fftw_execute_dft_r2c(b.fwd, (*C.double)(sp), (*C.fftw_complex)(dp))
		return
	}
	copy(b.rbuf, src)
	C.fftw_execute(b.fwd)
	copy(dst, b.cbuf)
}

// Inverse computes dst = irfft2(src, s=(nx, ny)). It copies src first, since FFTW's
// multi-dimensional c2r overwrites its input, and applies the 1/(nx·ny) factor during that
// copy. For half spectra that are not Hermitian-consistent FFTW documents no result; the
// tests check that it matches numpy's c2r semantics (as spectral.Plan does) on such input.
func (b *Real) Inverse(dst []float64, src []complex128) {
	s := 1 / float64(b.nx*b.ny)
	cb := b.cbuf[:len(src)]
	for i, v := range src {
		cb[i] = complex(s*real(v), s*imag(v))
	}
	dp := unsafe.Pointer(&dst[0])
	if b.aligned(dp) {
		C.fftw_execute_dft_c2r(b.inv, (*C.fftw_complex)(unsafe.Pointer(&b.cbuf[0])), (*C.double)(dp))
	} else {
		C.fftw_execute(b.inv)
		copy(dst, b.rbuf)
	}
}

// fftwLoop executes the backend's forward (or inverse) plan n times from C on its own
// buffers; with copyIn the c2r input is restored from src before each call.
func fftwLoop(b *Real, inverse, copyIn bool, src []complex128, n int) {
	switch {
	case !inverse:
		C.enkg_fftw_loop(b.fwd, C.long(n))
	case copyIn:
		pin := new(runtime.Pinner)
		pin.Pin(&src[0])
		C.enkg_fftw_loop_c2r_copy(b.inv, unsafe.Pointer(&b.cbuf[0]), unsafe.Pointer(&src[0]),
			C.size_t(16*len(src)), C.long(n))
		pin.Unpin()
	default:
		C.enkg_fftw_loop(b.inv, C.long(n))
	}
}
