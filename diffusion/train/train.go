// Package train trains EDM diffusion U-Nets (diffusion/unet) in Go, as NVlabs/edm's
// training loop does (Karras et al. 2022, "Elucidating the Design Space of Diffusion-Based
// Generative Models", training/training_loop.py and loss.py):
//
// Loss. For a clean image y (model space), ln σ ~ N(P_mean, P_std²), ε ~ N(0, I):
//
//	L = E[ w(σ)·‖D_θ(y + σε; σ) − y‖² ],  w(σ) = (σ² + σ_d²)/(σ·σ_d)²,
//
// P_mean = −1.2, P_std = 1.2, σ_d = 0.5; a step averages L over a batch (summing over pixels).
//
// Optimiser. Adam (β₁ 0.9, β₂ 0.999, ε 1e-8) with a linear learning-rate warm-up,
// lr_t = lr·min(1, images seen / warm-up images). The weights saved are an exponential
// moving average θ̄ ← β·θ̄ + (1 − β)·θ with β = 0.5^(B / h), h = min(half-life, ramp-up ·
// images seen) images (EDM's ema_halflife_kimg with ema_rampup_ratio).
//
// Units. The data are in physical units; Normalize measures their mean and standard
// deviation and returns the unet.Normalization x_model = (x − mean)/(std/σ_d), so that
// the model sees data of standard deviation σ_d as EDM assumes, and the trained network
// takes and returns physical units (σ too) through unet.Spec.Normalization.
//
// Augmentation. Only exact symmetries of the data: Settings.ShiftRows and ShiftCols draw a
// random periodic shift of each image by a multiple of that many rows or columns (exact on
// a torus for a statistically homogeneous direction). For Kolmogorov-forced flow,
// f = −4cos(4y), the fields ('enkg data ns': (N, nx, ny), y along columns) are homogeneous
// in x (any row shift) but only invariant under y-shifts by multiples of a quarter of the
// domain (ny/4 columns), and rotations and flips are not symmetries: none are applied.
//
// Reproducibility. Every random draw of step k (image indices, shifts, σ, ε) comes from
// rng.Stream(Seed, k), and unet.Model.LossGrad does not depend on the number of workers,
// so a run gives the same weights for any Workers, and a run resumed from a checkpoint
// (which holds θ, θ̄, Adam's moments and the step) gives the same weights as an
// uninterrupted one.
package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/enkg-go/enkg/diffusion/unet"
	"github.com/enkg-go/enkg/rng"
)

// Data is a stack of N images of C×H×W values, in physical units, image i at
// X[i·C·H·W : (i+1)·C·H·W].
type Data struct {
	X          []float32
	N, C, H, W int
}

// Dim returns C·H·W.
func (d *Data) Dim() int { return d.C * d.H * d.W }

func (d *Data) check(name string) error {
	if d == nil {
		return fmt.Errorf("train: %s data: nil", name)
	}
	if d.N <= 0 || d.C <= 0 || d.H <= 0 || d.W <= 0 || len(d.X) != d.N*d.Dim() {
		return fmt.Errorf("train: %s data: %d values for N=%d, C=%d, H=%d, W=%d", name, len(d.X), d.N, d.C, d.H, d.W)
	}
	for i, v := range d.X {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("train: %s data: non-finite value in image %d", name, i/d.Dim())
		}
	}
	return nil
}

// Normalize returns the normalisation that maps the data to mean 0 and standard deviation
// sigmaData (EDM's σ_d, 0.5): Mean = mean(x), Std = std(x)/sigmaData.
func Normalize(d *Data, sigmaData float64) (unet.Normalization, error) {
	if err := d.check("training"); err != nil {
		return unet.Normalization{}, err
	}
	var s, q float64
	for _, v := range d.X {
		s += float64(v)
	}
	mean := s / float64(len(d.X))
	for _, v := range d.X {
		q += (float64(v) - mean) * (float64(v) - mean)
	}
	std := math.Sqrt(q / float64(len(d.X)))
	if !(std > 0) {
		return unet.Normalization{}, errors.New("train: the training data are constant (standard deviation 0)")
	}
	if sigmaData <= 0 {
		sigmaData = 0.5
	}
	return unet.Normalization{Mean: mean, Std: std / sigmaData}, nil
}

// Settings are the training hyper-parameters. The zero value of each field means the
// default in brackets.
type Settings struct {
	Steps        int     // optimiser steps [20000]
	Batch        int     // images per step [16]
	LR           float64 // Adam learning rate [2e-4]
	WarmupImages int     // learning-rate warm-up, in images (negative: none) [10000]
	EMAHalfLife  float64 // EMA half-life, in images [20000]
	EMARampup    float64 // EMA half-life ramp-up ratio (h ≤ ratio·images seen; negative: none) [0.05]
	PMean, PStd  float64 // log-normal σ distribution [−1.2, 1.2]; PStd must be > 0
	ShiftRows    int     // random periodic row shifts by multiples of ShiftRows (0: none); must divide H
	ShiftCols    int     // random periodic column shifts by multiples of ShiftCols (0: none); must divide W
	Seed         uint64  // seed of every random draw (rng.Stream(Seed, step))
	// ValSigmas are the noise levels (physical units) of the validation loss buckets
	// [σ_d·std·{0.02, 0.1, 0.25, 0.5, 1, 2, 4, 10}, i.e. multiples of the data's std].
	ValSigmas []float64
	// ValImages bounds the validation images used (the first ones) [64].
	ValImages int
}

// DefaultSettings returns the defaults documented on Settings.
func DefaultSettings() Settings {
	return Settings{Steps: 20000, Batch: 16, LR: 2e-4, WarmupImages: 10000, EMAHalfLife: 20000, EMARampup: 0.05,
		PMean: -1.2, PStd: 1.2, ValImages: 64}
}

func (s Settings) withDefaults() (Settings, error) {
	d := DefaultSettings()
	if s.Steps == 0 {
		s.Steps = d.Steps
	}
	if s.Batch == 0 {
		s.Batch = d.Batch
	}
	if s.LR == 0 {
		s.LR = d.LR
	}
	if s.WarmupImages == 0 {
		s.WarmupImages = d.WarmupImages
	}
	if s.EMAHalfLife == 0 {
		s.EMAHalfLife = d.EMAHalfLife
	}
	if s.EMARampup == 0 {
		s.EMARampup = d.EMARampup
	}
	if s.PMean == 0 && s.PStd == 0 {
		s.PMean, s.PStd = d.PMean, d.PStd
	}
	if s.ValImages == 0 {
		s.ValImages = d.ValImages
	}
	switch {
	case s.Steps < 0:
		return s, fmt.Errorf("train: Steps %d < 0", s.Steps)
	case s.Batch < 0:
		return s, fmt.Errorf("train: Batch %d < 0", s.Batch)
	case !(s.LR > 0) || math.IsInf(s.LR, 0):
		return s, fmt.Errorf("train: learning rate %v must be finite and > 0", s.LR)
	case !(s.EMAHalfLife > 0) || math.IsInf(s.EMAHalfLife, 0):
		return s, fmt.Errorf("train: EMAHalfLife %v must be finite and > 0", s.EMAHalfLife)
	case !(s.PStd > 0) || math.IsNaN(s.PMean) || math.IsInf(s.PMean, 0) || math.IsInf(s.PStd, 0):
		return s, fmt.Errorf("train: σ distribution P_mean %v, P_std %v: need finite values and P_std > 0", s.PMean, s.PStd)
	case s.ShiftRows < 0 || s.ShiftCols < 0:
		return s, fmt.Errorf("train: shift granularities %d, %d must be ≥ 0", s.ShiftRows, s.ShiftCols)
	case s.ValImages < 0:
		return s, fmt.Errorf("train: ValImages %d < 0", s.ValImages)
	}
	for _, v := range s.ValSigmas {
		if !(v > 0) || math.IsInf(v, 0) {
			return s, fmt.Errorf("train: validation σ %v must be finite and > 0", v)
		}
	}
	return s, nil
}

// Trainer holds a model, its data and the optimiser state.
type Trainer struct {
	Model    *unet.Model
	data     *Data
	val      *Data
	s        Settings
	xm       []float32 // the training data in model space
	vm       []float32 // the validation data in model space
	ema      []float32
	m1, m2   []float32 // Adam moments
	grad     []float32
	step     int
	batch    unet.LossBatch
	norm     unet.Normalization
	sigmaD   float64
	Progress func(Status) // called after every step (optional)
}

// Status describes the state after a step.
type Status struct {
	Step, Steps int
	Images      int     // images seen
	Loss        float64 // mean of the step's per-pixel losses
	LR          float64 // learning rate used
	Elapsed     time.Duration
}

// New prepares training of model (trainable, EDM preconditioner, its Spec.Normalization
// the data's — see Normalize) on data, with val (may be nil) for the validation loss.
func New(model *unet.Model, data, val *Data, s Settings) (*Trainer, error) {
	s, err := s.withDefaults()
	if err != nil {
		return nil, err
	}
	if model == nil || model.Network().Params() == nil {
		return nil, errors.New("train: the model is not trainable (unet.NewTrainable or Model.Trainable)")
	}
	spec := model.Spec()
	if spec.Precond.Type != "EDM" {
		return nil, fmt.Errorf("train: the EDM loss needs the EDM preconditioner, not %s", spec.Precond.Type)
	}
	if err := data.check("training"); err != nil {
		return nil, err
	}
	ns := spec.Network
	if data.C != ns.InChannels || data.H != ns.ImgResolution || data.W != ns.ImgResolution {
		return nil, fmt.Errorf("train: data images are %d×%d×%d, the network takes %d×%d×%d", data.C, data.H, data.W, ns.InChannels, ns.ImgResolution, ns.ImgResolution)
	}
	if val != nil {
		if err := val.check("validation"); err != nil {
			return nil, err
		}
		if val.C != data.C || val.H != data.H || val.W != data.W {
			return nil, fmt.Errorf("train: validation images are %d×%d×%d, training images %d×%d×%d", val.C, val.H, val.W, data.C, data.H, data.W)
		}
	}
	if (s.ShiftRows > 0 && data.H%s.ShiftRows != 0) || (s.ShiftCols > 0 && data.W%s.ShiftCols != 0) {
		return nil, fmt.Errorf("train: shifts by multiples of %d rows and %d columns do not divide %d×%d images", s.ShiftRows, s.ShiftCols, data.H, data.W)
	}
	t := &Trainer{Model: model, data: data, val: val, s: s, norm: spec.Normalization, sigmaD: spec.Precond.SigmaData}
	if t.norm.Std == 0 {
		t.norm.Std = 1
	}
	t.xm = t.toModel(data.X)
	if val != nil {
		t.vm = t.toModel(val.X)
	}
	p := model.Network().Params()
	t.ema = append([]float32(nil), p...)
	t.m1 = make([]float32, len(p))
	t.m2 = make([]float32, len(p))
	t.grad = make([]float32, len(p))
	dim := data.Dim()
	t.batch = unet.LossBatch{X: make([]float32, s.Batch*dim), Eps: make([]float32, s.Batch*dim), Sigma: make([]float32, s.Batch)}
	return t, nil
}

func (t *Trainer) toModel(x []float32) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32((float64(v) - t.norm.Mean) / t.norm.Std)
	}
	return out
}

// Settings returns the settings in use (defaults filled in).
func (t *Trainer) Settings() Settings { return t.s }

// Step returns the number of optimiser steps done.
func (t *Trainer) Step() int { return t.step }

// fillBatch draws step k's batch: image indices, periodic shifts, σ and ε from rng.Stream(Seed, k).
func (t *Trainer) fillBatch(k int) {
	r := rng.Stream(t.s.Seed, k)
	d := t.data
	dim := d.Dim()
	hw := d.H * d.W
	for b := 0; b < t.s.Batch; b++ {
		idx := r.IntN(d.N)
		sy, sx := 0, 0
		if t.s.ShiftRows > 0 {
			sy = t.s.ShiftRows * r.IntN(d.H/t.s.ShiftRows)
		}
		if t.s.ShiftCols > 0 {
			sx = t.s.ShiftCols * r.IntN(d.W/t.s.ShiftCols)
		}
		src := t.xm[idx*dim : (idx+1)*dim]
		dst := t.batch.X[b*dim : (b+1)*dim]
		for c := 0; c < d.C; c++ {
			for y := 0; y < d.H; y++ {
				yy := (y + sy) % d.H
				row := src[c*hw+yy*d.W : c*hw+yy*d.W+d.W]
				o := dst[c*hw+y*d.W : c*hw+y*d.W+d.W]
				copy(o[:d.W-sx], row[sx:])
				copy(o[d.W-sx:], row[:sx])
			}
		}
		t.batch.Sigma[b] = float32(math.Exp(t.s.PMean + t.s.PStd*r.NormFloat64()))
		e := t.batch.Eps[b*dim : (b+1)*dim]
		for i := range e {
			e[i] = float32(r.NormFloat64())
		}
	}
}

// Run trains until Settings.Steps steps are done (continuing from Step) or ctx is
// cancelled (then it returns ctx.Err() with the state of the last complete step).
// checkpoint, if not nil, is called every checkpointEvery (and at the end).
func (t *Trainer) Run(ctx context.Context, checkpoint func(*Trainer) error, checkpointEvery time.Duration) error {
	start := time.Now()
	last := time.Now()
	for t.step < t.s.Steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		st, err := t.doStep(ctx)
		if err != nil {
			return err
		}
		st.Elapsed = time.Since(start)
		if t.Progress != nil {
			t.Progress(st)
		}
		if checkpoint != nil && checkpointEvery > 0 && time.Since(last) >= checkpointEvery && t.step < t.s.Steps {
			if err := checkpoint(t); err != nil {
				return err
			}
			last = time.Now()
		}
	}
	if checkpoint != nil {
		return checkpoint(t)
	}
	return nil
}

// doStep performs one optimiser step.
func (t *Trainer) doStep(ctx context.Context) (Status, error) {
	k := t.step
	t.fillBatch(k)
	losses, err := t.Model.LossGrad(ctx, t.grad, t.batch)
	if err != nil {
		return Status{}, err
	}
	mean := 0.0
	for _, l := range losses {
		mean += l
	}
	mean /= float64(len(losses))
	if math.IsNaN(mean) || math.IsInf(mean, 0) {
		return Status{}, fmt.Errorf("train: step %d: the loss is %v (diverged; lower the learning rate)", k, mean)
	}
	images := float64((k + 1) * t.s.Batch)
	lr := t.s.LR
	if t.s.WarmupImages > 0 {
		lr *= math.Min(1, images/float64(t.s.WarmupImages))
	}
	const b1, b2, eps = 0.9, 0.999, 1e-8
	c1 := 1 - math.Pow(b1, float64(k+1))
	c2 := 1 - math.Pow(b2, float64(k+1))
	p := t.Model.Network().Params()
	a := float32(lr / c1)
	ic2 := float32(1 / math.Sqrt(c2))
	for i, g := range t.grad {
		m := b1*t.m1[i] + (1-b1)*g
		v := b2*t.m2[i] + (1-b2)*g*g
		t.m1[i], t.m2[i] = m, v
		p[i] -= a * m / (float32(math.Sqrt(float64(v)))*ic2 + eps)
	}
	t.Model.Network().Refresh()
	h := t.s.EMAHalfLife
	if t.s.EMARampup > 0 {
		h = math.Min(h, t.s.EMARampup*images)
	}
	beta := float32(math.Pow(0.5, float64(t.s.Batch)/math.Max(h, 1e-8)))
	for i, v := range p {
		t.ema[i] = beta*t.ema[i] + (1-beta)*v
	}
	t.step++
	return Status{Step: t.step, Steps: t.s.Steps, Images: t.step * t.s.Batch, Loss: mean, LR: lr}, nil
}

// Bucket is the validation result at one noise level.
type Bucket struct {
	Sigma float64 // physical units
	Loss  float64 // EDM-weighted loss per pixel, w(σ)·‖D − y‖²/Dim, model space
	MSE   float64 // denoising mean squared error per pixel, physical units
}

// Validate evaluates the EMA weights on the validation data at each ValSigmas level with
// fixed noise (rng.Stream(Seed^valSalt, image)): the same draws at every call, so the
// buckets are comparable across a run.
func (t *Trainer) Validate(ctx context.Context) ([]Bucket, error) {
	if t.val == nil {
		return nil, nil
	}
	sig := t.s.ValSigmas
	if len(sig) == 0 {
		std := t.norm.Std * t.sigmaD
		for _, f := range []float64{0.02, 0.1, 0.25, 0.5, 1, 2, 4, 10} {
			sig = append(sig, f*std)
		}
	}
	n := min(t.val.N, t.s.ValImages)
	dim := t.val.Dim()
	restore := t.swapEMA()
	defer restore()
	lb := unet.LossBatch{X: t.vm[:n*dim], Eps: make([]float32, n*dim), Sigma: make([]float32, n)}
	for i := 0; i < n; i++ {
		r := rng.Stream(t.s.Seed^0x76616c69646174, i)
		for j := i * dim; j < (i+1)*dim; j++ {
			lb.Eps[j] = float32(r.NormFloat64())
		}
	}
	w := func(s float64) float64 {
		sd := t.sigmaD
		return (s*s + sd*sd) / (s * s * sd * sd)
	}
	var out []Bucket
	for _, s := range sig {
		sm := s / t.norm.Std
		for i := range lb.Sigma {
			lb.Sigma[i] = float32(sm)
		}
		losses, err := t.Model.LossGrad(ctx, nil, lb)
		if err != nil {
			return nil, err
		}
		mean := 0.0
		for _, l := range losses {
			mean += l
		}
		mean /= float64(n)
		out = append(out, Bucket{Sigma: s, Loss: mean, MSE: mean / w(sm) * t.norm.Std * t.norm.Std})
	}
	return out, nil
}

// swapEMA puts the EMA weights into the model and returns the function that restores the
// training weights.
func (t *Trainer) swapEMA() func() {
	p := t.Model.Network().Params()
	saved := append([]float32(nil), p...)
	copy(p, t.ema)
	t.Model.Network().Refresh()
	return func() {
		copy(p, saved)
		t.Model.Network().Refresh()
	}
}

// EMA returns the exponential moving average of the weights (laid out as Params).
func (t *Trainer) EMA() []float32 { return t.ema }

// WithEMA runs fn with the EMA weights in the model (for saving or evaluating them).
func (t *Trainer) WithEMA(fn func(*unet.Model) error) error {
	restore := t.swapEMA()
	defer restore()
	return fn(t.Model)
}
