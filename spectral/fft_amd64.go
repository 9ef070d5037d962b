//go:build !purego

package spectral

import "golang.org/x/sys/cpu"

// useAVX selects the AVX2+FMA stage kernels of fft_amd64.s. Tests flip it to compare with
// the pure-Go kernels.
var useAVX = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// Sign masks for VXORPD after swapping (re, im) of b − d: the forward transform needs
// i·(b−d) = (−Im, Re), the inverse −i·(b−d) = (Im, −Re).
var (
	maskFwd = [4]uint64{1 << 63, 0, 1 << 63, 0}
	maskInv = [4]uint64{0, 1 << 63, 0, 1 << 63}
)

//go:noescape
func r4avx(y, x *complex128, s, xs int, w *complex128, mask *[4]uint64)

//go:noescape
func r4avxNoTw(y, x *complex128, s, xs int, mask *[4]uint64)

//go:noescape
func r2avxNoTw(y, x *complex128, s, xs int)

// radix4Vec runs a radix-4 stage with the assembly kernels; it reports false when they are
// unavailable so the caller falls back to Go.
func radix4Vec(y, x []complex128, m, s int, tw []complex128, inv bool) bool {
	if !useAVX {
		return false
	}
	n1 := m / 4
	_ = x[4*n1*s-1]
	_ = y[4*n1*s-1]
	mask := &maskFwd
	if inv {
		mask = &maskInv
	}
	r4avxNoTw(&y[0], &x[0], s, n1*s, mask)
	for p := 1; p < n1; p++ {
		r4avx(&y[4*p*s], &x[p*s], s, n1*s, &tw[3*p], mask)
	}
	return true
}

// radix2Vec runs the last radix-2 stage (m = 2, no twiddles) with the assembly kernel.
func radix2Vec(y, x []complex128, m, s int) bool {
	if !useAVX || m != 2 {
		return false
	}
	_ = x[2*s-1]
	_ = y[2*s-1]
	r2avxNoTw(&y[0], &x[0], s, s)
	return true
}

//go:noescape
func trStrip(dst, src *complex128, n, r, c int)

// transposeVec transposes with the AVX kernel (2×2 blocks of complex values), an odd last
// row or column in Go; it reports false when the kernel is unavailable.
func transposeVec(dst, src []complex128, r, c int) bool {
	if !useAVX || r < 2 || c < 2 {
		return false
	}
	_ = src[r*c-1]
	_ = dst[r*c-1]
	re, ce := r&^1, c&^1
	// Columns per tile (pairs of rows run over a tile): measured best 16 for up to 64 rows
	// and 8 above (the strided stores then span more cache sets).
	b := 8
	if r <= 64 {
		b = 16
	}
	for j0 := 0; j0 < ce; j0 += b {
		w := min(b, ce-j0)
		for i := 0; i < re; i += 2 {
			trStrip(&dst[j0*r+i], &src[i*c+j0], w/2, r, c)
		}
	}
	if re < r { // last row
		for j, v := range src[re*c : r*c] {
			dst[j*r+re] = v
		}
	}
	if ce < c { // last column
		for i := 0; i < re; i++ {
			dst[ce*r+i] = src[i*c+ce]
		}
	}
	return true
}

//go:noescape
func pairAVX(ra, rb *complex128, n int, c *[5]float64)

// pairRows computes, for each i, ra[i] = h(a + b̄) + ca(a − b̄) and rb[i] = h(b + ā) +
// cb(b − ā) with a = ra[i], b = rb[i] (the row pairing of the real-FFT split and merge).
func pairRows(ra, rb []complex128, h float64, ca, cb complex128) {
	if !useAVX {
		pairRowsGo(ra, rb, h, ca, cb)
		return
	}
	c := [5]float64{h, real(ca), imag(ca), real(cb), imag(cb)}
	if len(ra) == 0 {
		return
	}
	_ = rb[len(ra)-1]
	pairAVX(&ra[0], &rb[0], len(ra), &c)
}

//go:noescape
func splitTAVX(d0, d1, ra, rb *complex128, n, ld int, c *[5]float64)

//go:noescape
func mergeTAVX(ra, rb, s0, s1 *complex128, n, ld int, c *[5]float64)

// splitTransposed is splitRows followed by transpose(dst, T, m+1, nx), fused: rows k and
// m−k of T are paired and written straight into columns k and m−k of dst (row stride
// nyh). It reports false when the assembly kernels are unavailable or nx is odd.
func splitTransposed(dst, T, tw []complex128, nx, m, nyh int) bool {
	if !useAVX || nx%2 != 0 {
		return false
	}
	_ = dst[nx*nyh-1]
	_ = T[m*nx-1]
	r0 := T[:nx]
	for i, z := range r0 {
		dst[i*nyh] = complex(real(z)+imag(z), 0)
		dst[i*nyh+m] = complex(real(z)-imag(z), 0)
	}
	for k := 1; 2*k <= m; k++ {
		w := tw[k]
		c := [5]float64{0.5, 0.5 * imag(w), -0.5 * real(w), 0.5 * imag(w), 0.5 * real(w)}
		splitTAVX(&dst[k], &dst[m-k], &T[k*nx], &T[(m-k)*nx], nx, nyh, &c)
	}
	return true
}

// mergeTransposed is transpose(T, W, nx, m+1) followed by mergeRows(T, tw, nx, m, c),
// fused: columns k and m−k of W are read straight into rows k and m−k of T. It reports
// false when the assembly kernels are unavailable or nx is odd.
func mergeTransposed(T, W, tw []complex128, nx, m, nyh int, c float64) bool {
	if !useAVX || nx%2 != 0 {
		return false
	}
	_ = W[nx*nyh-1]
	_ = T[m*nx-1]
	r0 := T[:nx]
	for i := range r0 {
		x0, xm := real(W[i*nyh]), real(W[i*nyh+m])
		r0[i] = complex(c*(x0+xm), c*(x0-xm))
	}
	for k := 1; 2*k <= m; k++ {
		w := tw[k]
		p := [5]float64{c, c * imag(w), c * real(w), c * imag(w), -c * real(w)}
		mergeTAVX(&T[k*nx], &T[(m-k)*nx], &W[k], &W[m-k], nx, nyh, &p)
	}
	return true
}

//go:noescape
func r4gatherAVX(y, x *complex128, n, ld, xs int, w *complex128, mask *[4]uint64)

var unitTwiddles = [3]complex128{1, 1, 1}

// transposeFFT computes T = FFT along axis 1 of the nx×m array z, laid out transposed
// (T[k][i], m×nx): the transpose is fused into the first radix-4 stage, which gathers
// columns of z, and the remaining stages run as vector passes. work holds m·nx values.
// It reports false when the kernels or the stage structure do not allow it.
func (f *cfft) transposeFFT(T, z, work, tmp []complex128, nx int, inv bool) bool {
	m := f.n
	if !useAVX || nx%2 != 0 || f.blue != nil || len(f.stages) == 0 || f.stages[0].radix != 4 {
		return false
	}
	_ = z[nx*m-1]
	_ = T[nx*m-1]
	st := &f.stages[0]
	n1 := m / 4
	tw, mask := st.fwd, &maskFwd
	if inv {
		tw, mask = st.inv, &maskInv
	}
	// Gather into the buffer the remaining stages can read without an extra copy: their
	// first stage writes to T when the number of remaining stages is odd.
	g := T[:m*nx]
	if (len(f.stages)-2)%2 == 0 {
		g = work[:m*nx]
	}
	r4gatherAVX(&g[0], &z[0], nx, m, n1, &unitTwiddles[0], mask)
	for p := 1; p < n1; p++ {
		r4gatherAVX(&g[4*p*nx], &z[p], nx, m, n1, &tw[3*p], mask)
	}
	if &g[0] == &T[0] {
		f.runStages(1, len(f.stages), T[:m*nx], T[:m*nx], work, tmp, nx, inv)
	} else {
		f.runStages(1, len(f.stages), T[:m*nx], g, g, tmp, nx, inv)
	}
	return true
}
