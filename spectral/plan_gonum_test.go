package spectral

import (
	"gonum.org/v1/gonum/dsp/fourier"
)

// gonumPlan composes gonum's 1-D real and complex FFTs into numpy's rfft2/irfft2: the
// correctness reference and the performance baseline of the benchmarks.
type gonumPlan struct {
	nx, ny, nyh int
	rows        *fourier.FFT
	cols        *fourier.CmplxFFT
	col         []complex128
	spec        []complex128
}

func newGonumPlan(nx, ny int) *gonumPlan {
	nyh := ny/2 + 1
	return &gonumPlan{nx: nx, ny: ny, nyh: nyh, rows: fourier.NewFFT(ny), cols: fourier.NewCmplxFFT(nx),
		col: make([]complex128, nx), spec: make([]complex128, nx*nyh)}
}

func (p *gonumPlan) Forward(dst []complex128, src []float64) {
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

func (p *gonumPlan) Inverse(dst []float64, src []complex128) {
	nyh := p.nyh
	for j := 0; j < nyh; j++ {
		for i := range p.col {
			p.col[i] = src[i*nyh+j]
		}
		p.cols.Sequence(p.col, p.col)
		for i, v := range p.col {
			p.spec[i*nyh+j] = v
		}
	}
	scale := 1 / float64(p.nx*p.ny)
	for i := 0; i < p.nx; i++ {
		row := dst[i*p.ny : (i+1)*p.ny]
		p.rows.Sequence(row, p.spec[i*nyh:(i+1)*nyh]) // ignores Im of k2 = 0 and ny/2, like numpy
		for j := range row {
			row[j] *= scale
		}
	}
}
