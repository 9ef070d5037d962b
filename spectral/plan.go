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
// and odd samples (the real-to-complex half-length trick); the axis-0 pass then runs the
// same Stockham kernel over whole rows, so its inner loops are long and unit-stride.
type Plan struct {
	nx, ny, nyh, m int
	rowF, colF     *cfft
	rtw            []complex128 // exp(−2πik/ny), k = 0…ny/2
	work, work2    []complex128 // nx·nyh each
	roww           []complex128 // ny/2
	tmp            []complex128
	ext            realBackend // optional native backend (build tag fftw); nil: pure Go
}

// realBackend is an optional native implementation of Plan's transforms with identical
// semantics (see fftw.go, build tag fftw).
type realBackend interface {
	forward(dst []complex128, src []float64)
	inverse(dst []float64, src []complex128)
	name() string
}

// newRealBackend is set by the fftw build; nil in the default pure-Go build.
var newRealBackend func(nx, ny int) (realBackend, error)

// NewPlan returns a plan for nx×ny fields. Both sizes must be even and positive. Powers
// of two are fastest; other even sizes use mixed-radix stages.
func NewPlan(nx, ny int) (*Plan, error) {
	p, err := newPurePlan(nx, ny)
	if err != nil || newRealBackend == nil {
		return p, err
	}
	if p.ext, err = newRealBackend(nx, ny); err != nil {
		return nil, err
	}
	return p, nil
}

// Backend names the implementation behind the plan: "go" (the default pure-Go Stockham
// FFT) or "fftw" (binaries built with -tags fftw).
func (p *Plan) Backend() string {
	if p.ext != nil {
		return p.ext.name()
	}
	return "go"
}

// newPurePlan returns a plan that always uses the pure-Go kernels.
func newPurePlan(nx, ny int) (*Plan, error) {
	if nx <= 0 || ny <= 0 || nx%2 != 0 || ny%2 != 0 {
		return nil, fmt.Errorf("spectral: real FFT plan needs even positive sizes, got %d×%d", nx, ny)
	}
	m := ny / 2
	nyh := m + 1
	p := &Plan{nx: nx, ny: ny, nyh: nyh, m: m,
		rowF: newCFFT(m), colF: newCFFT(nx),
		rtw:  make([]complex128, m+1),
		work: make([]complex128, nx*nyh), work2: make([]complex128, nx*nyh),
		roww: make([]complex128, m),
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
		p.ext.forward(dst, src)
		return
	}
	m, nyh := p.m, p.nyh
	zs := asComplex(src)
	for i := 0; i < p.nx; i++ {
		row := dst[i*nyh : (i+1)*nyh]
		p.rowF.transform(row[:m], zs[i*m:(i+1)*m], p.roww, p.tmp, 1, false)
		realSplit(row, p.rtw)
	}
	p.colF.transform(dst, dst, p.work, p.tmp, nyh, false)
}

// realSplit turns row[:m] = FFT_m(z) of z_j = f_{2j} + i f_{2j+1} into the half spectrum
// row[0…m] of f in place:
//
//	X_k = ½(Z_k + Z̄_{m−k}) − ½i·w^k (Z_k − Z̄_{m−k}),  w = exp(−2πi/2m), Z_m ≡ Z_0.
func realSplit(row, tw []complex128) {
	m := len(row) - 1
	tw = tw[:m+1]
	z0 := row[0]
	row[0] = complex(real(z0)+imag(z0), 0)
	row[m] = complex(real(z0)-imag(z0), 0)
	for k := 1; 2*k <= m; k++ {
		a, b := row[k], row[m-k]
		bc := complex(real(b), -imag(b))
		e := a + bc // 2E_k
		o := a - bc // 2iO_k
		// −i·w^k·o
		t := tw[k] * o
		row[k] = 0.5 * (e + complex(imag(t), -real(t)))
		if k != m-k {
			// X_{m−k} = ½(Z_{m−k} + Z̄_k) − ½i w^{m−k}(Z_{m−k} − Z̄_k), with w^{m−k} = −conj(w^k).
			ac := complex(real(a), -imag(a))
			e2 := b + ac
			o2 := b - ac
			w2 := complex(-real(tw[k]), imag(tw[k]))
			t2 := w2 * o2
			row[m-k] = 0.5 * (e2 + complex(imag(t2), -real(t2)))
		}
	}
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
		p.ext.inverse(dst, src)
		return
	}
	m, nyh := p.m, p.nyh
	p.colF.transform(p.work, src, p.work2, p.tmp, nyh, true)
	c := 1 / float64(p.nx*p.ny)
	zd := asComplex(dst)
	for i := 0; i < p.nx; i++ {
		row := p.work[i*nyh : (i+1)*nyh]
		realMerge(row, p.rtw, c)
		p.rowF.transform(zd[i*m:(i+1)*m], row[:m], p.roww, p.tmp, 1, true)
	}
}

// realMerge is the inverse of realSplit scaled by c: from the half spectrum X_0…X_m it
// forms, in row[:m], Z_k = c·(E_k + iO_k) with E_k = X_k + X̄_{m−k},
// O_k = conj(w^k)(X_k − X̄_{m−k}); the imaginary parts of X_0 and X_m are ignored.
func realMerge(row, tw []complex128, c float64) {
	m := len(row) - 1
	tw = tw[:m+1]
	x0, xm := real(row[0]), real(row[m])
	row[0] = complex(c*(x0+xm), c*(x0-xm))
	cc := complex(c, 0)
	for k := 1; 2*k <= m; k++ {
		a, b := row[k], row[m-k]
		bc := complex(real(b), -imag(b))
		e := a + bc
		w := complex(real(tw[k]), -imag(tw[k])) // exp(+2πik/ny)
		o := w * (a - bc)
		row[k] = cc * (e + complex(-imag(o), real(o)))
		if k != m-k {
			ac := complex(real(a), -imag(a))
			e2 := b + ac
			w2 := complex(-real(tw[k]), -imag(tw[k])) // exp(+2πi(m−k)/ny) = −w^k
			o2 := w2 * (b - ac)
			row[m-k] = cc * (e2 + complex(-imag(o2), real(o2)))
		}
	}
}

// CPlan is a reusable complex 2-D FFT plan for any positive nx×ny (row-major). Powers of
// two use radix-4/2 stages; other sizes add generic radix-p stages (cost O(n·Σp) per line,
// fine for the small primes of image sizes, slow for large prime sizes). It holds scratch
// space and must be used by one goroutine at a time; calls allocate nothing.
type CPlan struct {
	nx, ny     int
	rowF, colF *cfft
	work, roww []complex128
	tmp        []complex128
}

// NewCPlan returns a complex FFT plan for nx×ny arrays (any positive sizes).
func NewCPlan(nx, ny int) (*CPlan, error) {
	if nx <= 0 || ny <= 0 {
		return nil, fmt.Errorf("spectral: complex FFT plan needs positive sizes, got %d×%d", nx, ny)
	}
	p := &CPlan{nx: nx, ny: ny, rowF: newCFFT(ny), colF: newCFFT(nx),
		work: make([]complex128, nx*ny), roww: make([]complex128, ny)}
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
	ny := p.ny
	for i := 0; i < p.nx; i++ {
		p.rowF.transform(dst[i*ny:(i+1)*ny], src[i*ny:(i+1)*ny], p.roww, p.tmp, 1, inv)
	}
	p.colF.transform(dst, dst, p.work, p.tmp, ny, inv)
}
