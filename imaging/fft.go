package imaging

import "gonum.org/v1/gonum/dsp/fourier"

// fft2 is a reusable, allocation-free complex 2-D DFT of an nx×ny row-major grid of any size,
// with numpy's conventions: forward X[k,l] = Σ x[i,j] e^{−2πi(ki/nx + lj/ny)}, inverse with
// the factor 1/(nx·ny). Not safe for concurrent use.
type fft2 struct {
	nx, ny   int
	row, col *fourier.CmplxFFT
	buf      []complex128 // one column
}

func newFFT2(nx, ny int) *fft2 {
	return &fft2{nx: nx, ny: ny, row: fourier.NewCmplxFFT(ny), col: fourier.NewCmplxFFT(nx), buf: make([]complex128, nx)}
}

// forward transforms a in place.
func (f *fft2) forward(a []complex128) { f.transform(a, false) }

// inverse transforms a in place, including the 1/(nx·ny) factor.
func (f *fft2) inverse(a []complex128) {
	f.transform(a, true)
	s := complex(1/float64(f.nx*f.ny), 0)
	for i := range a {
		a[i] *= s
	}
}

func (f *fft2) transform(a []complex128, inv bool) {
	nx, ny := f.nx, f.ny
	for i := 0; i < nx; i++ {
		r := a[i*ny : (i+1)*ny]
		if inv {
			f.row.Sequence(r, r)
		} else {
			f.row.Coefficients(r, r)
		}
	}
	b := f.buf
	for j := 0; j < ny; j++ {
		for i := 0; i < nx; i++ {
			b[i] = a[i*ny+j]
		}
		if inv {
			f.col.Sequence(b, b)
		} else {
			f.col.Coefficients(b, b)
		}
		for i := 0; i < nx; i++ {
			a[i*ny+j] = b[i]
		}
	}
}
