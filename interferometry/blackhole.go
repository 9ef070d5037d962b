package interferometry

import (
	"context"
	"fmt"
	"math"
	"math/cmplx"
	"math/rand/v2"

	"github.com/enkg-go/enkg/internal/parallel"
	"github.com/enkg-go/enkg/operator"
	"gonum.org/v1/gonum/mat"
)

// Segment is a named contiguous part of a measurement vector.
type Segment struct {
	Name   string
	Offset int
	Len    int
}

// Of returns the part of y that the segment covers.
func (s Segment) Of(y []float64) []float64 { return y[s.Offset : s.Offset+s.Len] }

// Layout names the segments of the black-hole measurement vector:
//
//	y = [ |V_k| (K) | closure phases, rad (T) | log closure amplitudes (Q) | total flux (1) ]
//
// with the minimal closure sets of the observation.
type Layout struct {
	Amp, CPhase, LogCAmp, Flux Segment
	Dim                        int
}

func newLayout(k, t, q int) Layout {
	l := Layout{
		Amp:     Segment{"amp", 0, k},
		CPhase:  Segment{"cphase", k, t},
		LogCAmp: Segment{"logcamp", k + t, q},
		Flux:    Segment{"flux", k + t + q, 1},
	}
	l.Dim = k + t + q + 1
	return l
}

// Segments returns the four segments in order.
func (l Layout) Segments() []Segment { return []Segment{l.Amp, l.CPhase, l.LogCAmp, l.Flux} }

// BlackHoleSettings configure the black-hole operator.
type BlackHoleSettings struct {
	// The operator's input x is a normalised image: the image in "image units" is
	// (x + Shift)·Scale (defaults Shift = 1, Scale = 0.5: x ∈ [−1, 1] ↦ [0, 1], the range of
	// the published diffusion prior). Scale = 0 means the defaults; to use x as is, set
	// Shift = 0, Scale = 1.
	Shift, Scale float64
	// Multiplier is the flux (Jy) of one image unit: thermal σ in image units is
	// σ_Jy/Multiplier. The published code uses the maximum pixel value (Jy) of the true
	// image. Zero means 1.
	Multiplier float64
	// Method is the DFT method (default Auto).
	Method Method
}

// BlackHole is the forward operator of black-hole imaging in the EnKG paper (InverseBench's
// BlackHoleImaging.forward): a normalised image x (Ny·Nx) ↦
//
//	I = (x + Shift)·Scale,  V = A·I (DFT with triangle pulse),
//	y = [ |V|,  arg(V12·V23·V31),  ln|V12| + ln|V34| − ln|V14| − ln|V23|,  Σ I ],
//
// on the minimal closure sets, without debiasing (see Layout). A BlackHole is used by one
// goroutine at a time; Clone (or Factory) gives independent copies sharing the read-only
// tables, and ForwardBatch evaluates an ensemble in parallel.
type BlackHole struct {
	obs    *Observation
	dft    *DFT
	tri    *Triangles
	quad   *Quadrangles
	layout Layout
	sigma  []float64 // σ per visibility in image units
	shift  float64
	scale  float64

	w   *Workspace
	img []float64
	vis []complex128

	pool []*bhWork
}

type bhWork struct {
	w   *Workspace
	img []float64
	vis []complex128
}

// NewBlackHole returns the operator for images on grid g observed as in obs.
func NewBlackHole(obs *Observation, g Grid, s BlackHoleSettings) (*BlackHole, error) {
	if obs == nil || obs.Len() == 0 {
		return nil, errEmpty
	}
	if s.Scale == 0 {
		s.Shift, s.Scale = 1, 0.5
	}
	if s.Multiplier == 0 {
		s.Multiplier = 1
	}
	if !(s.Multiplier > 0) || math.IsInf(s.Multiplier, 0) || math.IsNaN(s.Shift) || math.IsInf(s.Shift, 0) || math.IsNaN(s.Scale) || math.IsInf(s.Scale, 0) {
		return nil, fmt.Errorf("interferometry: black-hole settings %+v: multiplier must be positive, shift and scale finite", s)
	}
	d, err := NewDFT(g, obs.U, obs.V, s.Method)
	if err != nil {
		return nil, err
	}
	b := &BlackHole{obs: obs, dft: d, tri: obs.Triangles(Min), quad: obs.Quadrangles(Min), shift: s.Shift, scale: s.Scale}
	b.sigma = make([]float64, obs.Len())
	for k, v := range obs.Sigma {
		b.sigma[k] = v / s.Multiplier
	}
	b.layout = newLayout(obs.Len(), b.tri.Len(), b.quad.Len())
	b.w, b.img, b.vis = d.NewWorkspace(), make([]float64, g.Len()), make([]complex128, obs.Len())
	return b, nil
}

// Clone returns an independent copy sharing the read-only tables.
func (b *BlackHole) Clone() *BlackHole {
	c := *b
	c.w, c.img, c.vis = b.dft.NewWorkspace(), make([]float64, len(b.img)), make([]complex128, len(b.vis))
	c.pool = nil
	return &c
}

// Factory returns an operator.Factory producing clones, one per ensemble worker.
func (b *BlackHole) Factory() operator.Factory {
	return func() (operator.Operator, error) { return b.Clone(), nil }
}

// InputDim returns Nx·Ny.
func (b *BlackHole) InputDim() int { return b.dft.Grid().Len() }

// OutputDim returns K + T + Q + 1.
func (b *BlackHole) OutputDim() int { return b.layout.Dim }

// Layout returns the named segments of the measurement vector.
func (b *BlackHole) Layout() Layout { return b.layout }

// Observation returns the observation the operator samples.
func (b *BlackHole) Observation() *Observation { return b.obs }

// Triangles returns the minimal closure-phase set of the layout.
func (b *BlackHole) Triangles() *Triangles { return b.tri }

// Quadrangles returns the minimal log-closure-amplitude set of the layout.
func (b *BlackHole) Quadrangles() *Quadrangles { return b.quad }

// DFT returns the transform from images to visibilities.
func (b *BlackHole) DFT() *DFT { return b.dft }

// Sigma returns the thermal σ of each visibility in image units (not a copy).
func (b *BlackHole) Sigma() []float64 { return b.sigma }

// Unnormalize writes (x + Shift)·Scale into dst.
func (b *BlackHole) Unnormalize(dst, x []float64) {
	for i, v := range x {
		dst[i] = (v + b.shift) * b.scale
	}
}

// Forward writes G(x) into dst. It does not allocate. An image with a zero visibility (e.g.
// an empty image) has undefined log closure amplitudes: Forward then returns an error
// wrapping operator.ErrNonFinite.
func (b *BlackHole) Forward(ctx context.Context, dst, x []float64) error {
	if err := operator.CheckDims(b, dst, x); err != nil {
		return err
	}
	if err := operator.CheckFinite("black-hole image", x); err != nil {
		return err
	}
	if err := b.forward(dst, x, b.w, b.img, b.vis); err != nil {
		return err
	}
	return ctx.Err()
}

func (b *BlackHole) forward(dst, x []float64, w *Workspace, img []float64, vis []complex128) error {
	b.Unnormalize(img, x)
	b.dft.Forward(vis, img, w)
	b.measure(dst, vis, img)
	for i, v := range b.layout.LogCAmp.Of(dst) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("interferometry: log closure amplitude %d of the image is %v (a zero visibility): %w", i, v, operator.ErrNonFinite)
		}
	}
	return nil
}

// measure fills y from visibilities and the image (image units); it overwrites vis.
func (b *BlackHole) measure(y []float64, vis []complex128, img []float64) {
	l := b.layout
	amp := l.Amp.Of(y)
	for k, v := range vis {
		amp[k] = cmplx.Abs(v)
	}
	cp := l.CPhase.Of(y)
	for n, e := range b.tri.edges {
		z := e[0].vis(vis) * e[1].vis(vis) * e[2].vis(vis)
		cp[n] = math.Atan2(imag(z), real(z))
	}
	// ln|V| once per visibility, kept in the imaginary parts of vis (no longer needed).
	for k := range vis {
		vis[k] = complex(0, math.Log(amp[k]))
	}
	ca := l.LogCAmp.Of(y)
	for n, e := range b.quad.edges {
		ca[n] = imag(vis[e[0].Row]) + imag(vis[e[1].Row]) - imag(vis[e[2].Row]) - imag(vis[e[3].Row])
	}
	var f float64
	for _, v := range img {
		f += v
	}
	l.Flux.Of(y)[0] = f
}

// ForwardBatch writes G(x_i) into row i of dst for every row of x, spreading rows over
// workers goroutines (GOMAXPROCS if ≤ 0). The result does not depend on the number of
// workers; after the first call it allocates nothing per image.
func (b *BlackHole) ForwardBatch(ctx context.Context, dst, x *mat.Dense, workers int) error {
	m, n := x.Dims()
	dm, dn := dst.Dims()
	if n != b.InputDim() || dn != b.OutputDim() || dm != m {
		return fmt.Errorf("interferometry: ForwardBatch: x is %d×%d, dst %d×%d, want M×%d and M×%d: %w", m, n, dm, dn, b.InputDim(), b.OutputDim(), operator.ErrDim)
	}
	workers = parallel.Workers(workers)
	for len(b.pool) < workers {
		b.pool = append(b.pool, &bhWork{w: b.dft.NewWorkspace(), img: make([]float64, n), vis: make([]complex128, b.obs.Len())})
	}
	xr, yr := x.RawMatrix(), dst.RawMatrix()
	return parallel.For(ctx, m, workers, func(wk, i int) error {
		xi := xr.Data[i*xr.Stride : i*xr.Stride+n]
		for _, v := range xi {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("interferometry: black-hole image %d: %w", i, operator.CheckFinite("pixel", xi))
			}
		}
		p := b.pool[wk]
		if err := b.forward(yr.Data[i*yr.Stride:i*yr.Stride+dn], xi, p.w, p.img, p.vis); err != nil {
			return fmt.Errorf("image %d: %w", i, err)
		}
		return nil
	})
}

// Measurement is an observed black-hole measurement vector with the standard deviations the
// misfit divides by.
type Measurement struct {
	Y        []float64 // layout of the operator
	SigmaAmp []float64 // σ of each |V| (image units)
	SigmaCP  []float64 // σ of each closure phase (rad)
	SigmaCA  []float64 // σ of each log closure amplitude
}

// Measure simulates an observation of the normalised image x as the published code does with
// noise_type 'vis_thermal': thermal noise σ (image units) is added to each visibility,
// V ← V + σ·(z_re + i·z_im), with the N real parts drawn before the N imaginary ones from r
// (r = nil: no noise), and the products are computed from the noisy V. The σ of the products
// are those of the noisy data: σ_amp = σ, σ_ψ = sqrt(Σ σ²/|V|²) (rad),
// σ_c = sqrt(Σ σ²/|V|²) (not debiased); the flux is noiseless.
func (b *BlackHole) Measure(x []float64, r *rand.Rand) (*Measurement, error) {
	if len(x) != b.InputDim() {
		return nil, fmt.Errorf("interferometry: Measure: image has %d pixels, want %d: %w", len(x), b.InputDim(), operator.ErrDim)
	}
	if err := operator.CheckFinite("black-hole image", x); err != nil {
		return nil, err
	}
	img := make([]float64, len(x))
	b.Unnormalize(img, x)
	vis := make([]complex128, b.obs.Len())
	b.dft.Forward(vis, img, nil)
	if r != nil {
		AddNoise(vis, vis, b.sigma, r)
	}
	return b.MeasureVis(vis, img), nil
}

// MeasureVis builds a Measurement from given (noisy) visibilities and the image (image
// units) whose flux it records.
func (b *BlackHole) MeasureVis(vis []complex128, img []float64) *Measurement {
	m := &Measurement{Y: make([]float64, b.layout.Dim)}
	b.measure(m.Y, append([]complex128(nil), vis...), img) // measure overwrites its vis
	m.SigmaAmp = append([]float64(nil), b.sigma...)
	m.SigmaCP = make([]float64, b.tri.Len())
	for n, e := range b.tri.edges {
		var s float64
		for _, x := range e {
			q := b.sigma[x.Row] / cmplx.Abs(vis[x.Row])
			s += q * q
		}
		m.SigmaCP[n] = math.Sqrt(s)
	}
	m.SigmaCA = make([]float64, b.quad.Len())
	for n, e := range b.quad.edges {
		var s float64
		for _, x := range e {
			q := b.sigma[x.Row] / cmplx.Abs(vis[x.Row])
			s += q * q
		}
		m.SigmaCA[n] = math.Sqrt(s)
	}
	return m
}

// Weights of the black-hole misfit terms, per datum (the published w1…w4).
type Weights struct {
	Amp, CPhase, LogCAmp, Flux float64
}

// PublishedWeights are the weights of the EnKG paper's black-hole experiment:
// amplitudes 0, closure phases 1, log closure amplitudes 1, flux 0.5.
var PublishedWeights = Weights{Amp: 0, CPhase: 1, LogCAmp: 1, Flux: 0.5}

// BlackHoleMisfit is the data term of the published black-hole problem (InverseBench /
// enkg-pytorch BlackHoleImaging.loss_m), on measurement vectors of a Layout:
//
//	Loss = 2·[ w_a·N_a·mean(((p_a − y_a)/σ_a)²) + w_ψ·N_ψ·mean(((p_ψ − y_ψ)/σ_ψ)²)
//	         + w_c·N_c·mean(((p_c − y_c)/σ_c)²) + w_f·((p_f − y_f)/2)² ]
//	     = 2·[ w_a·Σ((p_a − y_a)/σ_a)² + w_ψ·Σ((p_ψ − y_ψ)/σ_ψ)² + w_c·Σ((p_c − y_c)/σ_c)² + w_f·(p_f − y_f)²/4 ],
//
// each weight multiplied by its number of data as published (so the terms are sums). The
// closure-phase difference is not wrapped, as published. σ are the observed ones.
type BlackHoleMisfit struct {
	Layout Layout
	Meas   *Measurement
	W      Weights
}

// NewBlackHoleMisfit returns the misfit of measurement m on layout l with weights w.
func NewBlackHoleMisfit(l Layout, m *Measurement, w Weights) (*BlackHoleMisfit, error) {
	if m == nil || len(m.Y) != l.Dim || len(m.SigmaAmp) != l.Amp.Len || len(m.SigmaCP) != l.CPhase.Len || len(m.SigmaCA) != l.LogCAmp.Len {
		return nil, fmt.Errorf("interferometry: measurement does not match the layout (%d data): %w", l.Dim, operator.ErrDim)
	}
	for _, s := range [][]float64{m.SigmaAmp, m.SigmaCP, m.SigmaCA} {
		for i, v := range s {
			if !(v > 0) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("interferometry: measurement σ[%d] = %v must be positive and finite", i, v)
			}
		}
	}
	if err := operator.CheckFinite("black-hole measurement", m.Y); err != nil {
		return nil, err
	}
	return &BlackHoleMisfit{Layout: l, Meas: m, W: w}, nil
}

func (f *BlackHoleMisfit) terms(pred, obs []float64, fn func(i int, d, inv2, w float64)) {
	l, m := f.Layout, f.Meas
	y := obs
	if y == nil {
		y = m.Y
	}
	for _, t := range []struct {
		seg Segment
		sig []float64
		w   float64
	}{{l.Amp, m.SigmaAmp, f.W.Amp}, {l.CPhase, m.SigmaCP, f.W.CPhase}, {l.LogCAmp, m.SigmaCA, f.W.LogCAmp}} {
		for i := 0; i < t.seg.Len; i++ {
			k := t.seg.Offset + i
			fn(k, pred[k]-y[k], 1/(t.sig[i]*t.sig[i]), t.w)
		}
	}
	k := l.Flux.Offset
	fn(k, pred[k]-y[k], 0.25, f.W.Flux)
}

// Loss returns the misfit of pred against obs (nil: the stored measurement). It panics if len(pred) differs from the layout.
func (f *BlackHoleMisfit) Loss(pred, obs []float64) float64 {
	f.check(pred, obs)
	var s float64
	f.terms(pred, obs, func(_ int, d, inv2, w float64) { s += w * d * d * inv2 })
	return 2 * s
}

// Gradient writes ∂Loss/∂pred = 4·w·(p − y)/σ² (flux: w·(p − y)) into dst.
func (f *BlackHoleMisfit) Gradient(dst, pred, obs []float64) {
	f.check(pred, obs)
	if len(dst) != len(pred) {
		panic(fmt.Sprintf("interferometry: BlackHoleMisfit.Gradient: len(dst) = %d, want %d", len(dst), len(pred)))
	}
	f.terms(pred, obs, func(k int, d, inv2, w float64) { dst[k] = 4 * w * d * inv2 })
}

// check verifies lengths. obs are the observed values (nil: f.Meas.Y); the σ always come
// from f.Meas.
func (f *BlackHoleMisfit) check(pred, obs []float64) {
	if len(pred) != f.Layout.Dim || (obs != nil && len(obs) != f.Layout.Dim) {
		panic(fmt.Sprintf("interferometry: BlackHoleMisfit: len(pred) = %d, len(obs) = %d, want %d", len(pred), len(obs), f.Layout.Dim))
	}
}
