package figures

import (
	"strconv"
	"testing"
)

// Every labelled tick names its value: gonum/plot's DefaultTicks labels 1.05 as "1" on [0.72, 1.09].
func TestExactTickLabels(t *testing.T) {
	for _, r := range [][2]float64{{0.72, 1.09}, {0.7, 1.1}, {0, 1.05}, {-3.2, 7.9}, {1e-4, 3e-4}, {0, 2304}, {-1.05, -0.72}} {
		n := 0
		for _, tk := range (exactTicks{}).Ticks(r[0], r[1]) {
			if tk.Label == "" {
				continue
			}
			n++
			v, err := strconv.ParseFloat(tk.Label, 64)
			if err != nil {
				t.Fatalf("range %v: label %q: %v", r, tk.Label, err)
			}
			if d := v - tk.Value; d > 1e-9*(r[1]-r[0]) || d < -1e-9*(r[1]-r[0]) {
				t.Errorf("range %v: tick at %v labelled %q", r, tk.Value, tk.Label)
			}
		}
		if n < 2 {
			t.Errorf("range %v: %d labelled ticks", r, n)
		}
	}
}
