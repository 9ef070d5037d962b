package interferometry

import (
	"fmt"
	"math"
	"math/cmplx"
)

// The χ² terms of ehtim's imager (imager_utils.chisq_<dtype>, natural weighting), each
// normalised by its number of data N: for a model image with visibilities V_m,
//
//	vis:     Σ|V_m − V|²/σ² / (2N)
//	amp:     Σ(|V|_debiased − |V_m|)²/σ² / N
//	bs:      Σ|B − B_m|²/σ_B² / (2N)
//	cphase:  (2/N)·Σ(1 − cos(ψ − ψ_m))/σ_ψ²       (ψ, σ_ψ in degrees, converted with Degree)
//	camp:    Σ(c − |V_m1·V_m2/(V_m3·V_m4)|)²/σ² / N
//	logcamp: Σ(c − ln(|V_m1||V_m2|/(|V_m3||V_m4|)))²/σ² / N
//
// Model visibilities come from a DFT of the model image on the observation's uv points.

// ChiSqVis returns Σ|model − data|²/σ² / (2N).
func ChiSqVis(model, data []complex128, sigma []float64) float64 {
	mustLen("ChiSqVis", len(model), len(data), len(sigma))
	var s float64
	for k := range model {
		d := model[k] - data[k]
		s += (real(d)*real(d) + imag(d)*imag(d)) / (sigma[k] * sigma[k])
	}
	return s / (2 * float64(len(model)))
}

// ChiSqAmp returns Σ(amp − |model|)²/σ² / N; amp are the data amplitudes (ehtim's imager uses
// the debiased ones, see DebiasedAmp).
func ChiSqAmp(model []complex128, amp, sigma []float64) float64 {
	mustLen("ChiSqAmp", len(model), len(amp), len(sigma))
	var s float64
	for k := range model {
		d := amp[k] - cmplx.Abs(model[k])
		s += d * d / (sigma[k] * sigma[k])
	}
	return s / float64(len(model))
}

// ChiSqCPhase returns (2/N)·Σ(1 − cos(ψ − ψ_m))/σ_ψ² for data closure phases ψ and σ_ψ in
// degrees and the model closure phases of model visibilities on triangles tr.
func ChiSqCPhase(model []complex128, tr *Triangles, cphaseDeg, sigmaDeg []float64) float64 {
	mustLen("ChiSqCPhase", tr.Len(), len(cphaseDeg), len(sigmaDeg))
	var s float64
	for n, e := range tr.edges {
		b := e[0].vis(model) * e[1].vis(model) * e[2].vis(model)
		pm := math.Atan2(imag(b), real(b))
		sg := sigmaDeg[n] * Degree
		s += (1 - math.Cos(cphaseDeg[n]*Degree-pm)) / (sg * sg)
	}
	return 2 * s / float64(tr.Len())
}

// ChiSqLogCAmp returns Σ(c − c_m)²/σ² / N for data log closure amplitudes c on quadrangles q.
func ChiSqLogCAmp(model []complex128, q *Quadrangles, logcamp, sigma []float64) float64 {
	mustLen("ChiSqLogCAmp", q.Len(), len(logcamp), len(sigma))
	var s float64
	for n, e := range q.edges {
		cm := math.Log(cmplx.Abs(model[e[0].Row])) + math.Log(cmplx.Abs(model[e[1].Row])) -
			math.Log(cmplx.Abs(model[e[2].Row])) - math.Log(cmplx.Abs(model[e[3].Row]))
		d := logcamp[n] - cm
		s += d * d / (sigma[n] * sigma[n])
	}
	return s / float64(q.Len())
}

// ChiSqBispectrum returns Σ|B − B_m|²/σ_B² / (2N).
func ChiSqBispectrum(model []complex128, tr *Triangles, bs []complex128, sigma []float64) float64 {
	mustLen("ChiSqBispectrum", tr.Len(), len(bs), len(sigma))
	var s float64
	for n, e := range tr.edges {
		d := bs[n] - e[0].vis(model)*e[1].vis(model)*e[2].vis(model)
		s += (real(d)*real(d) + imag(d)*imag(d)) / (sigma[n] * sigma[n])
	}
	return s / (2 * float64(tr.Len()))
}

// ChiSqCAmp returns Σ(c − |V_m1·V_m2/(V_m3·V_m4)|)²/σ² / N.
func ChiSqCAmp(model []complex128, q *Quadrangles, camp, sigma []float64) float64 {
	mustLen("ChiSqCAmp", q.Len(), len(camp), len(sigma))
	var s float64
	for n, e := range q.edges {
		cm := cmplx.Abs(model[e[0].Row] * model[e[1].Row] / (model[e[2].Row] * model[e[3].Row]))
		d := camp[n] - cm
		s += d * d / (sigma[n] * sigma[n])
	}
	return s / float64(q.Len())
}

func mustLen(name string, n int, m ...int) {
	for _, x := range m {
		if x != n {
			panic(fmt.Sprintf("interferometry: %s: lengths %d and %v differ", name, n, m))
		}
	}
	if n == 0 {
		panic(fmt.Sprintf("interferometry: %s: no data", name))
	}
}
