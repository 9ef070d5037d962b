package figures

import (
	"math"
	"strconv"

	"gonum.org/v1/plot"
)

// exactTicks is gonum/plot's DefaultTicks with labels that name the tick's value: DefaultTicks
// (v0.17.0) rounds labels to the precision of the tick spacing's leading digit, so a tick at
// 1.05 between 0.9 and 1.2 is labelled "1" and a reader misplaces every curve near it. The
// labels here use the fewest decimals that represent every labelled value to 1e-9 of the
// spacing.
type exactTicks struct{}

// Ticks returns DefaultTicks' positions with exact labels.
func (exactTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	var major []float64
	for _, t := range ts {
		if t.Label != "" {
			major = append(major, t.Value)
		}
	}
	d := tickDecimals(major)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = strconv.FormatFloat(ts[i].Value, 'f', d, 64)
			if ts[i].Label == "-"+strconv.FormatFloat(0, 'f', d, 64) {
				ts[i].Label = ts[i].Label[1:]
			}
		}
	}
	return ts
}

// tickDecimals is the smallest number of decimals (at most 12) at which every value rounds to
// itself within 1e-9 of the spacing between the first two values.
func tickDecimals(vs []float64) int {
	if len(vs) < 2 {
		return 1
	}
	tol := 1e-9 * math.Abs(vs[1]-vs[0])
	for d := 0; d < 12; d++ {
		p := math.Pow(10, float64(d))
		ok := true
		for _, v := range vs {
			if math.Abs(math.Round(v*p)/p-v) > tol {
				ok = false
				break
			}
		}
		if ok {
			return d
		}
	}
	return 12
}
