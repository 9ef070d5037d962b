package spectral

import (
	"fmt"

	"gonum.org/v1/gonum/dsp/fourier"
)

// Plan is a reusable 2-D real-to-complex FFT plan for an even nx×ny grid.
//
// Real fields are row-major, f[i*ny+j], axis 0 (length nx) first. Spectra keep the
// half axis along axis 1: F[k1*NyHalf()+k2] with k2 = 0…ny/2, exactly the layout of
// numpy.fft.rfft2. A Plan holds scratch space and must be used by one goroutine at a
// time; create one Plan per worker.
type Plan struct {
	nx, ny, nyh int
	rows        *fourier.FFT
	cols        *fourier.CmplxFFT
	col         []complex128
	row         []float64
	spec        []complex128
}

// NewPlan returns a plan for nx×ny fields. Both sizes must be even and positive.
func NewPlan(nx, ny int) (*Plan, error) {
	if nx <= 0 || ny <= 0 || nx%2 != 0 || ny%2 != 0 {
		return nil, fmt.Errorf("spectral: real FFT plan needs even positive sizes, got %d×%d", nx, ny)
	}
	nyh := ny/2 + 1
	return &Plan{
		nx: nx, ny: ny, nyh: nyh,
		rows: fourier.NewFFT(ny),
		cols: fourier.NewCmplxFFT(nx),
		col:  make([]complex128, nx),
		row:  make([]float64, ny),
		spec: make([]complex128, nx*nyh),
	}, nil
}

// Nx returns the number of grid points along axis 0.
func (p *Plan) Nx() int { return p.nx }

// Ny returns the number of grid points along axis 1.
func (p *Plan) Ny() int { return p.ny }

// NyHalf returns ny/2+1, the length of the half axis of a spectrum.
func (p *Plan) NyHalf() int { return p.nyh }

// Forward computes dst = rfft2(src) (unnormalised):
//
//	F[k1,k2] = Σ_{i,j} f[i,j] exp(−2πi(k1·i/nx + k2·j/ny)),  k2 = 0…ny/2.
//
// len(src) must be nx*ny and len(dst) nx*(ny/2+1); otherwise Forward panics.
func (p *Plan) Forward(dst []complex128, src []float64) {
	if len(src) != p.nx*p.ny || len(dst) != p.nx*p.nyh {
		panic(fmt.Sprintf("spectral: Forward length mismatch: src %d (want %d), dst %d (want %d)",
			len(src), p.nx*p.ny, len(dst), p.nx*p.nyh))
	}
	nyh := p.nyh
	for i := 0; i < p.nx; i++ {
		p.rows.Coefficients(dst[i*nyh:(i+1)*nyh], src[i*p.ny:(i+1)*p.ny])
	}
	for j := 0; j < nyh; j++ {
		for i := range p.col {
			p.col[i] = dst[i*nyh+j]
		}
		p.cols.Coefficients(p.col, p.col)
		for i, v := range p.col {
			dst[i*nyh+j] = v
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
		panic(fmt.Sprintf("spectral: Inverse length mismatch: src %d (want %d), dst %d (want %d)",
			len(src), p.nx*p.nyh, len(dst), p.nx*p.ny))
	}
	nyh := p.nyh
	spec := p.spec
	for j := 0; j < nyh; j++ {
		for i := range p.col {
			p.col[i] = src[i*nyh+j]
		}
		p.cols.Sequence(p.col, p.col)
		for i, v := range p.col {
			spec[i*nyh+j] = v
		}
	}
	scale := 1 / float64(p.nx*p.ny)
	for i := 0; i < p.nx; i++ {
		row := dst[i*p.ny : (i+1)*p.ny]
		p.rows.Sequence(row, spec[i*nyh:(i+1)*nyh])
		for j := range row {
			row[j] *= scale
		}
	}
}

// CPlan is a reusable complex 2-D FFT plan for any positive nx×ny (row-major). It holds
// scratch space and must be used by one goroutine at a time.
type CPlan struct {
	nx, ny int
	rows   *fourier.CmplxFFT
	cols   *fourier.CmplxFFT
	col    []complex128
}

// NewCPlan returns a complex FFT plan for nx×ny arrays (any positive sizes).
func NewCPlan(nx, ny int) (*CPlan, error) {
	if nx <= 0 || ny <= 0 {
		return nil, fmt.Errorf("spectral: complex FFT plan needs positive sizes, got %d×%d", nx, ny)
	}
	return &CPlan{
		nx: nx, ny: ny,
		rows: fourier.NewCmplxFFT(ny),
		cols: fourier.NewCmplxFFT(nx),
		col:  make([]complex128, nx),
	}, nil
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
	s := complex(1/float64(p.nx*p.ny), 0)
	for i := range dst {
		dst[i] *= s
	}
}

func (p *CPlan) transform(dst, src []complex128, inverse bool) {
	n := p.nx * p.ny
	if len(src) != n || len(dst) != n {
		panic(fmt.Sprintf("spectral: CPlan length mismatch: src %d, dst %d, want %d", len(src), len(dst), n))
	}
	for i := 0; i < p.nx; i++ {
		s, d := src[i*p.ny:(i+1)*p.ny], dst[i*p.ny:(i+1)*p.ny]
		if inverse {
			p.rows.Sequence(d, s)
		} else {
			p.rows.Coefficients(d, s)
		}
	}
	for j := 0; j < p.ny; j++ {
		for i := range p.col {
			p.col[i] = dst[i*p.ny+j]
		}
		if inverse {
			p.cols.Sequence(p.col, p.col)
		} else {
			p.cols.Coefficients(p.col, p.col)
		}
		for i, v := range p.col {
			dst[i*p.ny+j] = v
		}
	}
}
