package spectral

// The real transforms run every FFT stage as a "vector" Stockham stage (whole rows of a
// row-major array per element, see cfft), which the amd64 assembly kernels execute two
// complex values per instruction:
//
//	Forward: z = f viewed as nx×(ny/2) complex (z_j = f_{2j} + i f_{2j+1}); transpose;
//	         FFT along the now-slow axis 1; even/odd split per row (k2 and m−k2 rows);
//	         transpose into dst; FFT along axis 0 in place.
//	Inverse: the same steps reversed, reading src only in the first axis-0 pass.
//
// With the amd64 kernels the first transpose is fused into the first radix-4 stage
// (cfft.transposeFFT) and the split/merge into the transposes next to them
// (splitTransposed, mergeTransposed).

// forwardT is Plan.Forward's pure-transform body.
func (p *Plan) forwardT(dst []complex128, src []float64) {
	nx, m, nyh := p.nx, p.m, p.nyh
	T, A := p.bufT, p.bufA
	if !p.rowF.transposeFFT(T, asComplex(src), A, p.tmp, nx, false) {
		transpose(T, asComplex(src), nx, m)
		p.rowF.transform(T[:m*nx], T[:m*nx], A, p.tmp, nx, false)
	}
	if !splitTransposed(dst, T, p.rtw, nx, m, nyh) {
		splitRows(T, p.rtw, nx, m)
		transpose(dst, T, nyh, nx)
	}
	p.colF.transform(dst, dst, A, p.tmp, nyh, false)
}

// inverseT is Plan.Inverse's pure-transform body.
func (p *Plan) inverseT(dst []float64, src []complex128) {
	nx, m, nyh := p.nx, p.m, p.nyh
	T, A, W := p.bufT, p.bufA, p.bufW
	p.colF.transform(W, src, A, p.tmp, nyh, true)
	if c := 1 / float64(nx*p.ny); !mergeTransposed(T, W, p.rtw, nx, m, nyh, c) {
		transpose(T, W, nx, nyh)
		mergeRows(T, p.rtw, nx, m, c)
	}
	p.rowF.transform(T[:m*nx], T[:m*nx], A, p.tmp, nx, true)
	transpose(asComplex(dst), T[:m*nx], m, nx)
}

// splitRows turns rows 0…m−1 of T (row k holds Z_k = FFT_m(z)_k for every i) into the half
// spectrum rows 0…m in place:
//
//	X_k = ½(Z_k + Z̄_{m−k}) − ½i·w^k (Z_k − Z̄_{m−k}),  w = exp(−2πi/2m),  Z_m ≡ Z_0.
func splitRows(T, tw []complex128, nx, m int) {
	r0, rm := T[:nx], T[m*nx:(m+1)*nx]
	for i, z := range r0 {
		rm[i] = complex(real(z)-imag(z), 0)
		r0[i] = complex(real(z)+imag(z), 0)
	}
	for k := 1; 2*k <= m; k++ {
		ra := T[k*nx : (k+1)*nx]
		rb := T[(m-k)*nx : (m-k+1)*nx]
		rb = rb[:len(ra)]
		w := tw[k]
		// −i·w^k/2 and, for the partner, −i·w^{m−k}/2 with w^{m−k} = −w̄^k.
		// (For k = m−k, w^k = −i and ca = cb, so the in-place pairing is consistent.)
		ca := complex(0.5*imag(w), -0.5*real(w))
		cb := complex(0.5*imag(w), 0.5*real(w))
		pairRows(ra, rb, 0.5, ca, cb)
	}
}

// mergeRows is the inverse of splitRows scaled by c, in place on rows 0…m of T (the half
// spectrum after the axis-0 inverse), leaving Z_k in rows 0…m−1:
//
//	Z_k = c·((X_k + X̄_{m−k}) + i·w̄^k (X_k − X̄_{m−k})),
//
// where the imaginary parts of rows 0 and m are ignored (numpy/pocketfft c2r semantics).
func mergeRows(T, tw []complex128, nx, m int, c float64) {
	r0, rm := T[:nx], T[m*nx:(m+1)*nx]
	for i, z := range r0 {
		x0, xm := real(z), real(rm[i])
		r0[i] = complex(c*(x0+xm), c*(x0-xm))
	}
	for k := 1; 2*k <= m; k++ {
		ra := T[k*nx : (k+1)*nx]
		rb := T[(m-k)*nx : (m-k+1)*nx]
		rb = rb[:len(ra)]
		w := tw[k]
		// c·i·w̄^k and c·i·w̄^{m−k} with w̄^{m−k} = −w^k.
		ca := complex(c*imag(w), c*real(w))
		cb := complex(c*imag(w), -c*real(w))
		pairRows(ra, rb, c, ca, cb)
	}
}

// pairRowsGo is the pure-Go pairRows: all of a row pair is read before it is written, so
// ra may equal rb (then ca must equal cb).
func pairRowsGo(ra, rb []complex128, h float64, ca, cb complex128) {
	rb = rb[:len(ra)]
	hh := complex(h, 0)
	for i, a := range ra {
		b := rb[i]
		bc := complex(real(b), -imag(b))
		ac := complex(real(a), -imag(a))
		ra[i] = hh*(a+bc) + ca*(a-bc)
		rb[i] = hh*(b+ac) + cb*(b-ac)
	}
}
