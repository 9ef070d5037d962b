package interferometry

import (
	"fmt"
	"math"
	"math/cmplx"
	"math/rand/v2"
)

// AddNoise writes vis + σ·(z_re + i·z_im) into dst, drawing the N real parts first and then
// the N imaginary parts from r (ehtim's cerror draws N real then N imaginary standard
// normals, so feeding ehtim's normals through AddNoiseFrom reproduces its noisy data).
// dst may alias vis.
func AddNoise(dst, vis []complex128, sigma []float64, r *rand.Rand) {
	n := len(vis)
	z := make([]float64, 2*n)
	for i := range z {
		z[i] = r.NormFloat64()
	}
	AddNoiseFrom(dst, vis, sigma, z[:n], z[n:])
}

// AddNoiseFrom writes vis + σ·(zre + i·zim) into dst for given standard normals.
func AddNoiseFrom(dst, vis []complex128, sigma, zre, zim []float64) {
	if len(dst) != len(vis) || len(sigma) != len(vis) || len(zre) != len(vis) || len(zim) != len(vis) {
		panic(fmt.Sprintf("interferometry: AddNoiseFrom: lengths dst %d vis %d sigma %d zre %d zim %d", len(dst), len(vis), len(sigma), len(zre), len(zim)))
	}
	for k, v := range vis {
		dst[k] = v + complex(sigma[k]*zre[k], sigma[k]*zim[k])
	}
}

// GainSettings describe station-based calibration errors, what ehtim's observe adds with
// ampcal=False / phasecal=False: each station s at each time t multiplies its signal by
// G_st = g_st·exp(iφ_st), and a visibility becomes V_ab → G_a·conj(G_b)·V_ab.
//
//	g_st = (1 + Offset_s)·(1 + Std·N(0,1)) (clipped at 0.01), φ_st ~ U[0, 2π) when PhaseErrors.
//
// Offset_s ~ N(0, OffsetStd) is drawn once per station; the gains do not change σ.
type GainSettings struct {
	Std         float64 // relative amplitude gain error per station and time (ehtim gainp, e.g. 0.1)
	OffsetStd   float64 // relative constant gain offset per station (ehtim gain_offset, e.g. 0.1)
	PhaseErrors bool    // random station phases (phasecal=False)
}

// ApplyGains corrupts vis (in place) with station gains and phases drawn from r, one per
// station and distinct time of o, and returns the complex gains indexed [time index][station].
func (o *Observation) ApplyGains(vis []complex128, gs GainSettings, r *rand.Rand) ([][]complex128, error) {
	if len(vis) != o.Len() {
		return nil, fmt.Errorf("interferometry: %d visibilities for an observation of %d", len(vis), o.Len())
	}
	if gs.Std < 0 || gs.OffsetStd < 0 || math.IsNaN(gs.Std) || math.IsNaN(gs.OffsetStd) {
		return nil, fmt.Errorf("interferometry: gain errors %+v must be non-negative", gs)
	}
	ns := len(o.Stations)
	off := make([]float64, ns)
	for s := range off {
		off[s] = 1 + gs.OffsetStd*r.NormFloat64()
	}
	var G [][]complex128
	ti := -1
	for k := range vis {
		if k == 0 || o.Time[k] != o.Time[k-1] {
			row := make([]complex128, ns)
			for s := range row {
				g := math.Max(off[s]*(1+gs.Std*r.NormFloat64()), 0.01)
				phi := 0.0
				if gs.PhaseErrors {
					phi = 2 * math.Pi * r.Float64()
				}
				row[s] = cmplx.Rect(g, phi)
			}
			G = append(G, row)
			ti++
		}
		vis[k] *= G[ti][o.T1[k]] * cmplx.Conj(G[ti][o.T2[k]])
	}
	return G, nil
}
