package main

import (
	"fmt"
	"math"
)

// checkFinite returns an error if data (row-major, of the given shape) holds a NaN or an
// infinity, naming the output, the value and its index; commands call it before writing an
// output, so that a result that overflowed is an error (exit status 1) rather than a file
// of NaNs.
func checkFinite(what string, shape []int, data []float64) error {
	for k, v := range data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			idx := make([]int, len(shape))
			r := k
			for a := len(shape) - 1; a >= 0; a-- {
				if shape[a] > 0 {
					idx[a] = r % shape[a]
					r /= shape[a]
				}
			}
			return fmt.Errorf("%s: non-finite value %v at index %v of shape %v; nothing written", what, v, idx, shape)
		}
	}
	return nil
}
