package interferometry

import (
	"fmt"
	"math"
	"math/cmplx"
)

// Evaluation metrics of the published black-hole evaluator (InverseBench / enkg-pytorch
// BlackHoleEvaluator). Images are in image units (the operator's (x + Shift)·Scale), i.e.
// [0, 1] for the published normalisation.

// NormalizeChiSq maps χ² to χ² if χ² ≥ 1 and to 1/χ² otherwise, so that over- and under-fitting
// both score above 1 (1 is ideal).
func NormalizeChiSq(c float64) float64 {
	if c < 1 {
		return 1 / c
	}
	return c
}

// ClosureChiSq returns the closure-phase and log-closure-amplitude χ² of img (image units)
// against measurement m after flux alignment (img scaled so that its total flux equals the
// measured flux m.Y[Flux]):
//
//	χ²_ψ = (2/N_ψ)·Σ(1 − cos(y_ψ − ψ(img)))/σ_ψ²,   χ²_c = (1/N_c)·Σ((c(img) − y_c)/σ_c)²,
//
// with closure quantities of the operator (radians, not debiased). With normalize, each is
// passed through NormalizeChiSq, as the published evaluator reports them.
func (b *BlackHole) ClosureChiSq(img []float64, m *Measurement, normalize bool) (cphase, logcamp float64, err error) {
	if err := b.dft.Grid().CheckImage(img); err != nil {
		return 0, 0, err
	}
	if m == nil || len(m.Y) != b.layout.Dim || len(m.SigmaCP) != b.tri.Len() || len(m.SigmaCA) != b.quad.Len() {
		return 0, 0, fmt.Errorf("interferometry: measurement does not match the operator's layout")
	}
	var f float64
	for _, v := range img {
		f += v
	}
	if !(f > 0) {
		return 0, 0, fmt.Errorf("interferometry: image has total flux %v; cannot align it to the measured flux", f)
	}
	l := b.layout
	scaled := make([]float64, len(img))
	s := l.Flux.Of(m.Y)[0] / f
	for i, v := range img {
		scaled[i] = v * s
	}
	vis := make([]complex128, b.obs.Len())
	b.dft.Forward(vis, scaled, nil)
	y := l.CPhase.Of(m.Y)
	for n, e := range b.tri.edges {
		z := e[0].vis(vis) * e[1].vis(vis) * e[2].vis(vis)
		d := y[n] - math.Atan2(imag(z), real(z))
		cphase += (1 - math.Cos(d)) / (m.SigmaCP[n] * m.SigmaCP[n])
	}
	cphase *= 2 / float64(b.tri.Len())
	yc := l.LogCAmp.Of(m.Y)
	for n, e := range b.quad.edges {
		c := math.Log(cmplx.Abs(vis[e[0].Row])) + math.Log(cmplx.Abs(vis[e[1].Row])) -
			math.Log(cmplx.Abs(vis[e[2].Row])) - math.Log(cmplx.Abs(vis[e[3].Row]))
		d := (c - yc[n]) / m.SigmaCA[n]
		logcamp += d * d
	}
	logcamp /= float64(b.quad.Len())
	if normalize {
		cphase, logcamp = NormalizeChiSq(cphase), NormalizeChiSq(logcamp)
	}
	return cphase, logcamp, nil
}

// PSNR returns 10·log10(1/(MSE + 1e-8)) of two images with values in [0, 1] (piq.psnr with
// data_range 1); both are clipped to [0, 1] first.
func PSNR(a, b []float64) float64 {
	var s float64
	for i := range a {
		d := clip01(a[i]) - clip01(b[i])
		s += d * d
	}
	return -10 * math.Log10(s/float64(len(a))+1e-8)
}

func clip01(v float64) float64 { return math.Min(math.Max(v, 0), 1) }

// Shift writes src translated by (dx, dy) pixels into dst: dst[r, c] = src(c + dx, r + dy),
// bilinear, zero outside (torch grid_sample with align_corners=True, padding 'zeros').
func Shift(dst, src []float64, g Grid, dx, dy float64) {
	nx, ny := g.Nx, g.Ny
	at := func(r, c int) float64 {
		if r < 0 || r >= ny || c < 0 || c >= nx {
			return 0
		}
		return src[r*nx+c]
	}
	for r := 0; r < ny; r++ {
		y := float64(r) + dy
		y0 := math.Floor(y)
		fy := y - y0
		for c := 0; c < nx; c++ {
			x := float64(c) + dx
			x0 := math.Floor(x)
			fx := x - x0
			i, j := int(x0), int(y0)
			dst[r*nx+c] = (1-fy)*((1-fx)*at(j, i)+fx*at(j, i+1)) + fy*((1-fx)*at(j+1, i)+fx*at(j+1, i+1))
		}
	}
}

// AlignedPSNR aligns pred to truth by the sub-pixel shift that maximises the PSNR, searched on
// the published grid (30×30 translations t ∈ linspace(−0.5, 0.5, 30) in grid_sample's
// normalised coordinates, i.e. t·(N−1)/2 pixels), both images clipped to [0, 1]. It returns
// the best PSNR and the shifted (clipped) prediction.
func AlignedPSNR(truth, pred []float64, g Grid) (float64, []float64, error) {
	if err := g.CheckImage(truth); err != nil {
		return 0, nil, fmt.Errorf("truth: %w", err)
	}
	if err := g.CheckImage(pred); err != nil {
		return 0, nil, fmt.Errorf("prediction: %w", err)
	}
	const steps = 30
	p := make([]float64, len(pred))
	for i, v := range pred {
		p[i] = clip01(v)
	}
	best, bestImg := math.Inf(-1), make([]float64, len(pred))
	tmp := make([]float64, len(pred))
	for a := 0; a < steps; a++ {
		tx := -0.5 + float64(a)/(steps-1)
		for c := 0; c < steps; c++ {
			ty := -0.5 + float64(c)/(steps-1)
			Shift(tmp, p, g, tx*float64(g.Nx-1)/2, ty*float64(g.Ny-1)/2)
			for i := range tmp {
				tmp[i] = clip01(tmp[i])
			}
			if v := PSNR(truth, tmp); v > best {
				best = v
				copy(bestImg, tmp)
			}
		}
	}
	return best, bestImg, nil
}

// BlurredPSNR returns the PSNR of truth and aligned after blurring both with a circular
// Gaussian of FWHM fwhmUas μas (Blur) and clipping to [0, 1]; the published evaluator reports
// f = 10, 15, 20 μas, with aligned from AlignedPSNR.
func BlurredPSNR(truth, aligned []float64, g Grid, fwhmUas float64) (float64, error) {
	a, b := make([]float64, len(truth)), make([]float64, len(aligned))
	if err := Blur(a, clipCopy(truth), g, fwhmUas); err != nil {
		return 0, err
	}
	if err := Blur(b, clipCopy(aligned), g, fwhmUas); err != nil {
		return 0, err
	}
	return PSNR(a, b), nil
}

func clipCopy(x []float64) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = clip01(v)
	}
	return y
}
