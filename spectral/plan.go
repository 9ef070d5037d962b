package spectral

import (
	"fmt"
	"unsafe"
)

// Plan is a reusable 2-D real-to-complex FFT plan for an even nx×ny grid.
//
// Real fields are row-major, f[i*ny+j], axis 0 (length nx) first. Spectra keep the
// half axis along axis 1: F[k1*NyHalf()+k2] with k2 = 0…ny/2, exactly the layout of
// numpy.fft.rfft2. A Plan holds scratch space and must be used by one goroutine at a
// time; create one Plan per worker. Forward and Inverse allocate nothing.
//
// Algorithm: each row of ny reals is read as ny/2 complex numbers z_j = f_{2j} + i·f_{2j+1}
// and transformed with a half-length complex FFT, then split into the spectra of the even
// and odd samples (the real-to-complex half-length trick). Both axes run as "vector"
// Stockham passes over whole rows (the array is transposed between them), so every inner
// loop is long and unit-stride; on amd64 with AVX2+FMA those loops are assembly kernels
// handling two complex values per instruction (see realfft.go and fft_amd64.s).
type Plan struct {
	nx, ny, nyh, m int
	rowF, colF     *cfft
	rtw            []complex128 // exp(−2πik/ny), k = 0…ny/2
	tmp            []complex128
	bufA, bufT     []complex128 // nx·(ny/2+1) each
	bufW           []complex128
	ext            RealBackend // optional native backend (see SetRealBackend); nil: pure Go
}

// RealBackend is a native implementation of Plan's two transforms with exactly Plan's
// semantics (dst-first, no allocations, Inverse normalised and leaving src untouched). It
// is used by one goroutine at a time. Package spectral/fftw provides one.
type RealBackend interface {
	Forward(dst []complex128, src []float64)
	Inverse(dst []float64, src []complex128)
	Name() string
}

// newRealBackend is the installed backend constructor; nil: pure Go.
var newRealBackend func(nx, ny int) (RealBackend, error)

// SetRealBackend makes NewPlan use backends built by f (nil restores the pure-Go default).
// Packages providing a backend call it from their init, e.g. a blank import of
// github.com/enkg-go/enkg/spectral/fftw in a binary built with -tags fftw. It must not run
// concurrently with NewPlan.
func SetRealBackend(f func(nx, ny int) (RealBackend, error)) { newRealBackend = f }

// NewPlan returns a plan for nx×ny fields. Both sizes must be even and positive. Powers
// of two are fastest; other even sizes use mixed-radix stages (dedicated radix 3 and 5,
// generic up to 31) or, for larger prime factors, Bluestein's algorithm.
func NewPlan(nx, ny int) (*Plan, error) {
	p, err := NewPurePlan(nx, ny)
	if err != nil || newRealBackend == nil {
		return p, err
	}
	if p.ext, err = newRealBackend(nx, ny); err != nil {
		return nil, err
	}
	return p, nil
}

// Backend names the implementation behind the plan: "go" (the default pure-Go Stockham
// FFT, with amd64 assembly kernels) or the name of an installed RealBackend ("fftw").
func (p *Plan) Backend() string {
	if p.ext != nil {
		return p.ext.Name()
	}
	return "go"
}

// NewPurePlan is NewPlan without any installed native backend: always this package's own
// FFT (useful for bit-reproducible results across builds, and as a baseline).
func NewPurePlan(nx, ny int) (*Plan, error) {
	if nx <= 0 || ny <= 0 || nx%2 != 0 || ny%2 != 0 {
		return nil, fmt.Errorf("spectral: real FFT plan needs even positive sizes, got %d×%d", nx, ny)
	}
	m := ny / 2
	nyh := m + 1
	p := &Plan{nx: nx, ny: ny, nyh: nyh, m: m,
		rowF: newCFFT(m), colF: newCFFT(nx),
		rtw:  make([]complex128, m+1),
		bufA: make([]complex128, nx*nyh), bufT: make([]complex128, nx*nyh), bufW: make([]complex128, nx*nyh),
	}
	p.tmp = make([]complex128, max(p.rowF.maxR, p.colF.maxR))
	for k := range p.rtw {
		p.rtw[k] = expm(k, ny)
	}
	return p, nil
}

// Nx returns the number of grid points along axis 0.
func (p *Plan) Nx() int { return p.nx }

// Ny returns the number of grid points along axis 1.
func (p *Plan) Ny() int { return p.ny }

// NyHalf returns ny/2+1, the length of the half axis of a spectrum.
func (p *Plan) NyHalf() int { return p.nyh }

// asComplex views n consecutive float64 pairs as complex128 values (same memory layout
// and alignment).
func asComplex(f []float64) []complex128 {
	return unsafe.Slice((*complex128)(unsafe.Pointer(unsafe.SliceData(f))), len(f)/2)
}

// Forward computes dst = rfft2(src) (unnormalised):
//
//	F[k1,k2] = Σ_{i,j} f[i,j] exp(−2πi(k1·i/nx + k2·j/ny)),  k2 = 0…ny/2.
//
// len(src) must be nx*ny and len(dst) nx*(ny/2+1); otherwise Forward panics. src is not
// modified.
func (p *Plan) Forward(dst []complex128, src []float64) {
	if len(src) != p.nx*p.ny || len(dst) != p.nx*p.nyh {
		panic(fmt.Sprintf("spectral: Plan.Forward length mismatch: src %d (want %d), dst %d (want %d)",
			len(src), p.nx*p.ny, len(dst), p.nx*p.nyh))
	}
	if p.ext != nil {
		p.ext.Forward(dst, src)
		return
	}
	p.forwardT(dst, src)
}

// Inverse computes dst = irfft2(src, s=(nx, ny)) including the 1/(nx·ny) factor:
//
//	f[i,j] = 1/(nx·ny) Σ_{k1,k2} F[k1,k2] exp(+2πi(k1·i/nx + k2·j/ny)),
//
// with the missing half of the spectrum taken as the Hermitian mirror. As in numpy
// (pocketfft c2r), the imaginary parts of the k2 = 0 and k2 = ny/2 columns are ignored
// after the transform along axis 0. src is not modified.
func (p *Plan) Inverse(dst []float64, src []complex128) {
	if len(dst) != p.nx*p.ny || len(src) != p.nx*p.nyh {
		panic(fmt.Sprintf("spectral: Plan.Inverse length mismatch: src %d (want %d), dst %d (want %d)",
			len(src), p.nx*p.nyh, len(dst), p.nx*p.ny))
	}
	if p.ext != nil {
		p.ext.Inverse(dst, src)
		return
	}
	p.inverseT(dst, src)
}

// CPlan is a reusable complex 2-D FFT plan for any positive nx×ny (row-major). Powers of
// two use radix-4/2 stages; other sizes add radix-3/5 and generic radix-p stages (p ≤ 31),
// and lengths with a larger prime factor use Bluestein's algorithm (O(n log n) for all n). It holds scratch
// space and must be used by one goroutine at a time; calls allocate nothing.
type CPlan struct {
	nx, ny     int
	rowF, colF *cfft
	work, bufT []complex128
	tmp        []complex128
}

// NewCPlan returns a complex FFT plan for nx×ny arrays (any positive sizes).
func NewCPlan(nx, ny int) (*CPlan, error) {
	if nx <= 0 || ny <= 0 {
		return nil, fmt.Errorf("spectral: complex FFT plan needs positive sizes, got %d×%d", nx, ny)
	}
	p := &CPlan{nx: nx, ny: ny, rowF: newCFFT(ny), colF: newCFFT(nx),
		work: make([]complex128, nx*ny), bufT: make([]complex128, nx*ny)}
	p.tmp = make([]complex128, max(p.rowF.maxR, p.colF.maxR))
	return p, nil
}

// Nx returns the number of rows.
func (p *CPlan) Nx() int { return p.nx }

// Ny returns the number of columns.
func (p *CPlan) Ny() int { return p.ny }

// Forward computes dst = fft2(src) (unnormalised, exp(−2πi…)). dst may equal src.
func (p *CPlan) Forward(dst, src []complex128) {
	p.transform(dst, src, false)
}

// Inverse computes dst = ifft2(src), including the 1/(nx·ny) factor. dst may equal src.
func (p *CPlan) Inverse(dst, src []complex128) {
	p.transform(dst, src, true)
	s := 1 / float64(p.nx*p.ny)
	for i, v := range dst {
		dst[i] = complex(s*real(v), s*imag(v))
	}
}

func (p *CPlan) transform(dst, src []complex128, inv bool) {
	n := p.nx * p.ny
	if len(src) != n || len(dst) != n {
		panic(fmt.Sprintf("spectral: CPlan length mismatch: src %d, dst %d, want %d", len(src), len(dst), n))
	}
	// Axis 1 as a vector pass over the transpose, then axis 0 as a vector pass in place.
	nx, ny := p.nx, p.ny
	transpose(p.bufT, src, nx, ny)
	p.rowF.transform(p.bufT, p.bufT, p.work, p.tmp, nx, inv)
	transpose(dst, p.bufT, ny, nx)
	p.colF.transform(dst, dst, p.work, p.tmp, ny, inv)
}
