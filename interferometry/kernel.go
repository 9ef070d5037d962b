package interferometry

// fma4x2Go is the portable kernel: for kk < n, with rows t_m = tab[m·stride:],
//
//	accA[kk] += Σ_m coef[m]·t_m[kk],   accC[kk] += Σ_m coef[4+m]·t_m[kk]   (m = 0…3).
func fma4x2Go(coef *[8]float64, tab []float64, stride int, accA, accC []float64, n int) {
	c0, c1, c2, c3 := tab[:n], tab[stride:stride+n], tab[2*stride:2*stride+n], tab[3*stride:3*stride+n]
	a0, a1, a2, a3 := coef[0], coef[1], coef[2], coef[3]
	e0, e1, e2, e3 := coef[4], coef[5], coef[6], coef[7]
	aa, cc := accA[:n], accC[:n]
	for kk := range aa {
		x0, x1, x2, x3 := c0[kk], c1[kk], c2[kk], c3[kk]
		aa[kk] += a0*x0 + a1*x1 + a2*x2 + a3*x3
		cc[kk] += e0*x0 + e1*x1 + e2*x2 + e3*x3
	}
}
