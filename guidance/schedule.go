package guidance

import (
	"fmt"
	"math"
)

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
