package interferometry

import "math/cmplx"

// Amplitudes writes |V_k| into dst, or, with debias, ehtim's debiased amplitudes
// DebiasedAmp(|V_k|, σ_k) = sqrt(|V|² − σ²) (σ when |V| ≤ σ), the amplitude data of ehtim's
// imager.
func Amplitudes(dst []float64, vis []complex128, sigma []float64, debias bool) {
	mustLen("Amplitudes", len(dst), len(vis))
	for k, v := range vis {
		a := cmplx.Abs(v)
		if debias {
			a = DebiasedAmp(a, sigma[k])
		}
		dst[k] = a
	}
}
