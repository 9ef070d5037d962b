package guidance

import (
	"fmt"
	"math"
)

// karras returns the n+1 noise levels σ_0 > … > σ_{n−1} = sigmaMin, σ_n = 0 of the EDM
// (Karras et al. 2022) schedule σ_i = (σmax^{1/ρ} + i/(n−1)·(σmin^{1/ρ} − σmax^{1/ρ}))^ρ,
// in float64 (n = 1 gives {σmax, 0}).
func karras(dst []float64, n int, sigmaMin, sigmaMax, rho float64) []float64 {
	dst = dst[:0]
	a, b := math.Pow(sigmaMax, 1/rho), math.Pow(sigmaMin, 1/rho)
	for i := 0; i < n; i++ {
		if n == 1 {
			dst = append(dst, sigmaMax)
			break
		}
		dst = append(dst, math.Pow(a+float64(i)/float64(n-1)*(b-a), rho))
	}
	return append(dst, 0)
}

// karras32 is karras with the float32 arithmetic of the published PyTorch code
// (torch.arange(..., dtype=float32) and float32 0-dim tensors): the outer EnKG schedule when
// startTensor is false (σmax^{1/ρ} in float64, then float32), the inner ODE schedule of
// ode_sampler when startTensor is true (σ_start is a float32 tensor, so its root uses the
// float32 exponent float32(1/ρ)).
func karras32(dst []float64, n int, sigmaMin, sigmaMax, rho float64, startTensor bool) []float64 {
	dst = dst[:0]
	var a32 float32
	if startTensor {
		a32 = pow32(float32(sigmaMax), float32(1/rho))
	} else {
		a32 = float32(math.Pow(sigmaMax, 1/rho))
	}
	b := math.Pow(sigmaMin, 1/rho)
	var diff32 float32
	if startTensor {
		diff32 = float32(b) - a32 // python float − float32 tensor: float32 arithmetic
	} else {
		diff32 = float32(b - math.Pow(sigmaMax, 1/rho)) // python floats, then cast
	}
	r32 := float32(rho)
	for i := 0; i < n; i++ {
		if n == 1 {
			dst = append(dst, float64(float32(sigmaMax)))
			break
		}
		t := float32(i) / float32(n-1)
		t = t * diff32
		base := a32 + t
		dst = append(dst, float64(pow32(base, r32)))
	}
	return append(dst, 0)
}

// pow32 is powf: the float64 power rounded to float32 (correctly rounded but for rare ties).
func pow32(x, y float32) float32 { return float32(math.Pow(float64(x), float64(y))) }

// odeSteps returns k = min(1 + ⌊(N − i)/4⌋, max): the number of Euler steps of the
// probability-flow ODE used for x̂0 at step i of N.
func odeSteps(i, n, max int) int {
	k := 1 + (n-i)/4
	if k > max {
		k = max
	}
	return k
}

// guided reports whether EnKG step i of n is guided: start·n < i < n − ⌊end·n⌋.
func guided(i, n int, start, end float64) bool {
	return float64(i) > start*float64(n) && i < n-int(end*float64(n))
}

// checkSchedule validates the parameters of a Karras schedule.
func checkSchedule(sigmaMin, sigmaMax, rho float64) error {
	switch {
	case !(sigmaMin > 0) || math.IsInf(sigmaMin, 0):
		return fmt.Errorf("σ_min = %v must be positive and finite", sigmaMin)
	case !(sigmaMax > sigmaMin) || math.IsInf(sigmaMax, 0):
		return fmt.Errorf("σ_max = %v must be finite and above σ_min = %v", sigmaMax, sigmaMin)
	case !(rho > 0) || math.IsInf(rho, 0):
		return fmt.Errorf("ρ = %v must be positive and finite", rho)
	}
	return nil
}
