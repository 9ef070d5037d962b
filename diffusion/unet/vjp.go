package unet

import (
	"context"
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/diffusion"
	"github.com/enkg-go/enkg/internal/parallel"
	"github.com/enkg-go/enkg/internal/tile"
)

// LossBatch is a batch of B training examples for Model.LossGrad, in model space (the
// network's normalised units, see Spec.Normalization).
type LossBatch struct {
	X     []float32 // B·Dim clean images y_i
	Eps   []float32 // B·Dim standard normal draws ε_i
	Sigma []float32 // B noise levels σ_i > 0
}

// LossGrad evaluates the EDM training loss (Karras et al. 2022, training/loss.py EDMLoss)
//
//	L = (1/B) Σ_i w(σ_i)·‖D(y_i + σ_i·ε_i; σ_i) − y_i‖²,  w(σ) = (σ² + σ_d²)/(σ·σ_d)²,
//
// (the sum over pixels, the mean over the batch, as EDM's training loop) and, when grad is
// not nil, overwrites grad (length len(Params)) with ∂L/∂θ. It returns each image's
// w(σ_i)·‖D − y_i‖²/Dim, the loss per pixel. The model must be trainable with the EDM
// preconditioner. Images run in parallel (Settings.Workers); every image's gradient is
// computed separately and the gradients are summed in image order, so the result does
// not depend on the number of workers.
func (m *Model) LossGrad(ctx context.Context, grad []float32, b LossBatch) ([]float64, error) {
	n := m.net
	if m.spec.Precond.Type != "EDM" {
		return nil, fmt.Errorf("unet: LossGrad: the EDM loss needs the EDM preconditioner, not %s", m.spec.Precond.Type)
	}
	dim := n.Dim()
	B := len(b.Sigma)
	if B == 0 || len(b.X) != B*dim || len(b.Eps) != B*dim {
		return nil, fmt.Errorf("%w: unet: LossGrad: %d sigmas, %d image values, %d noise values (want B·%d each, B > 0)", diffusion.ErrDim, B, len(b.X), len(b.Eps), dim)
	}
	for i, s := range b.Sigma {
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return nil, fmt.Errorf("%w: unet: LossGrad: sigma[%d] = %v must be finite and > 0", diffusion.ErrParam, i, s)
		}
	}
	if grad != nil {
		if n.flat == nil {
			return nil, errors.New("unet: LossGrad: the model is not trainable (NewTrainable or Model.Trainable)")
		}
		if len(grad) != len(n.flat) {
			return nil, fmt.Errorf("%w: unet: LossGrad: gradient of length %d, want %d", diffusion.ErrDim, len(grad), len(n.flat))
		}
		n.ensureTransposed()
		if m.convs == nil {
			most := 0
			n.eachConv(func(c *conv2d) {
				if c.w != nil {
					m.convs = append(m.convs, c)
					most = max(most, len(c.w.data))
				}
			})
			for range parallel.Workers(m.settings.Workers) {
				m.gT = append(m.gT, make([]float32, most))
			}
		}
		for len(m.gimg) < B {
			m.gimg = append(m.gimg, make([]float32, len(n.flat)))
		}
	}
	sd := float32(m.spec.Precond.SigmaData)
	losses := make([]float64, B)
	workers, threads := m.split(B)
	err := parallel.For(ctx, B, workers, func(_, i int) error {
		ws := m.getWS(threads)
		defer m.putWS(ws)
		if ws.tp == nil {
			ws.tp = n.newTape()
		}
		tp := ws.tp
		s := b.Sigma[i]
		cSkip, cOut, cIn, cNoise := coefficients(&m.spec.Precond, s)
		y := b.X[i*dim : (i+1)*dim]
		e := b.Eps[i*dim : (i+1)*dim]
		for j, v := range y {
			ws.in[j] = cIn * (v + s*e[j])
		}
		if grad == nil {
			n.forward(ws, cNoise)
		} else {
			n.forwardTape(ws, tp, cNoise)
		}
		w := (float64(s)*float64(s) + float64(sd)*float64(sd)) / (float64(s) * float64(s) * float64(sd) * float64(sd))
		g := float32(2 * w / float64(B))
		var l float64
		for j, f := range ws.out {
			xn := y[j] + s*e[j]
			r := cSkip*xn + cOut*f - y[j]
			l += float64(r) * float64(r)
			tp.dF[j] = cOut * g * r
		}
		losses[i] = w * l / float64(dim)
		if grad != nil {
			ws.gradT = true
			n.backwardTape(ws, tp, tp.dF, nil, m.gimg[i]) // zero on entry (see below)
			ws.gradT = false
		}
		return nil
	})
	if grad == nil {
		return losses, err
	}
	if err != nil {
		for _, g := range m.gimg[:B] {
			clear(g)
		}
		return losses, err
	}
	// sum the per-image gradients in image order, in parallel over parameter chunks, and
	// zero each chunk once read (while it is in cache), so that the buffers are zero for
	// the next call without a pass of their own. Not cancellable: the buffers must end zero.
	const chunk = 1 << 14
	nc := (len(grad) + chunk - 1) / chunk
	_ = parallel.For(context.Background(), nc, parallel.Workers(m.settings.Workers), func(_, c int) error {
		lo, hi := c*chunk, min(len(grad), (c+1)*chunk)
		dst := grad[lo:hi]
		copy(dst, m.gimg[0][lo:hi])
		clear(m.gimg[0][lo:hi])
		for i := 1; i < B; i++ {
			g := m.gimg[i][lo:hi]
			for k, v := range g {
				dst[k] += v
			}
			clear(g)
		}
		return nil
	})
	// the convolutions' weight gradients were summed transposed (K×cout, conv2d.paramGrad)
	_ = parallel.For(context.Background(), len(m.convs), parallel.Workers(m.settings.Workers), func(wk, i int) error {
		c := m.convs[i]
		K := c.cin * c.k * c.k
		g := grad[c.w.off : c.w.off+K*c.cout]
		t := m.gT[wk][:len(g)]
		copy(t, g)
		tile.Transpose(g, t, K, c.cout)
		return nil
	})
	return losses, ctx.Err()
}

// split returns the number of parallel images and the threads per image for a batch.
func (m *Model) split(rows int) (workers, threads int) {
	workers = parallel.Workers(m.settings.Workers)
	threads = 1
	if rows < workers {
		threads = workers
		workers = 1
	}
	return workers, threads
}

// DenoiseVJP writes J_D(x_i; σ)ᵀ·v_i into row i of dst, the vector–Jacobian product of the
// denoiser with respect to its input (guidance.VJPDenoiser), in user units (the
// normalisation cancels: J is dimensionless). dst may alias v but not x. σ = 0 gives v
// (D(x; 0) = x). Rows run in parallel; results do not depend on Settings.Workers.
func (m *Model) DenoiseVJP(ctx context.Context, dst, x, v *mat.Dense, sigma float64) error {
	r, _ := x.Dims()
	return m.denoiseVJP(ctx, dst, x, v, func(int) float64 { return sigma }, r)
}

// DenoiseVJPEach is DenoiseVJP with a noise level per row.
func (m *Model) DenoiseVJPEach(ctx context.Context, dst, x, v *mat.Dense, sigma []float64) error {
	r, _ := x.Dims()
	if len(sigma) != r {
		return fmt.Errorf("%w: unet: %d sigmas for %d images", diffusion.ErrDim, len(sigma), r)
	}
	return m.denoiseVJP(ctx, dst, x, v, func(i int) float64 { return sigma[i] }, r)
}

func (m *Model) denoiseVJP(ctx context.Context, dst, x, v *mat.Dense, sigma func(int) float64, rows int) error {
	dim := m.Dim()
	if x == nil || v == nil || dst == nil {
		return fmt.Errorf("%w: unet: nil matrix", diffusion.ErrDim)
	}
	xr, xc := x.Dims()
	vr, vc := v.Dims()
	dr, dc := dst.Dims()
	if xc != dim || vc != dim || dc != dim || vr != xr || dr != xr {
		return fmt.Errorf("%w: unet: VJP shapes: x %d×%d, v %d×%d, dst %d×%d, want N×%d", diffusion.ErrDim, xr, xc, vr, vc, dr, dc, dim)
	}
	for i := 0; i < rows; i++ {
		if s := sigma(i); !(s >= 0) || math.IsInf(s, 0) {
			return fmt.Errorf("%w: unet: image %d: sigma %v must be finite and ≥ 0", diffusion.ErrParam, i, s)
		}
	}
	m.net.ensureTransposed()
	workers, threads := m.split(rows)
	return parallel.For(ctx, rows, workers, func(_, i int) error {
		ws := m.getWS(threads)
		defer m.putWS(ws)
		return m.vjpRow(ws, nil, dst.RawRowView(i), nil, x.RawRowView(i), v.RawRowView(i), sigma(i), i)
	})
}

// ParamVJP evaluates, for one image x (user units) and cotangent v, the denoiser output
// D(x; σ) into d (nil: skipped), J_x(D)ᵀv into dx (nil: skipped) and adds J_θ(D)ᵀv — the
// gradient of ⟨v, D(x; σ)⟩ with respect to the parameters, laid out as Params — into
// dparams (nil: skipped; the model must then be trainable). σ must be > 0.
func (m *Model) ParamVJP(d, dx []float64, dparams []float32, x, v []float64, sigma float64) error {
	dim := m.Dim()
	if len(x) != dim || len(v) != dim || (d != nil && len(d) != dim) || (dx != nil && len(dx) != dim) {
		return fmt.Errorf("%w: unet: ParamVJP: lengths x %d, v %d, d %d, dx %d, want %d", diffusion.ErrDim, len(x), len(v), len(d), len(dx), dim)
	}
	if !(sigma > 0) || math.IsInf(sigma, 0) {
		return fmt.Errorf("%w: unet: ParamVJP: sigma %v must be finite and > 0", diffusion.ErrParam, sigma)
	}
	if dparams != nil && len(dparams) != len(m.net.flat) {
		return fmt.Errorf("%w: unet: ParamVJP: dparams of length %d, want %d (a trainable model)", diffusion.ErrDim, len(dparams), len(m.net.flat))
	}
	m.net.ensureTransposed()
	ws := m.getWS(parallel.Workers(m.settings.Workers))
	defer m.putWS(ws)
	return m.vjpRow(ws, d, dx, dparams, x, v, sigma, 0)
}

// vjpRow: D = Mean + Std·(c_skip·x_m + c_out·F(c_in·x_m)) with x_m = (x − Mean)/Std, so
// with the model-space cotangent v_m = Std·v: J_xᵀv = (c_skip·v_m + c_in·J_Fᵀ(c_out·v_m))/Std
// and J_θᵀv = J_θ(F)ᵀ(c_out·v_m). dx may alias v.
func (m *Model) vjpRow(ws *workspace, d, dx []float64, gp []float32, x, v []float64, sigma float64, idx int) error {
	n := m.net
	for i := range x {
		if math.IsNaN(x[i]) || math.IsInf(x[i], 0) || math.IsNaN(v[i]) || math.IsInf(v[i], 0) {
			return fmt.Errorf("%w: unet: image %d: non-finite x or v at index %d", diffusion.ErrNonFinite, idx, i)
		}
	}
	if sigma == 0 {
		if dx != nil {
			copy(dx, v)
		}
		if d != nil {
			copy(d, x)
		}
		return nil
	}
	if ws.tp == nil {
		ws.tp = n.newTape()
	}
	tp := ws.tp
	nm := m.spec.Normalization
	std := nm.Std
	if std == 0 {
		std = 1
	}
	s := float32(sigma / std)
	cSkip, cOut, cIn, cNoise := coefficients(&m.spec.Precond, s)
	for i, xv := range x {
		ws.in[i] = cIn * float32((xv-nm.Mean)/std)
	}
	n.forwardTape(ws, tp, cNoise)
	if d != nil {
		for i, f := range ws.out {
			d[i] = nm.Mean + std*float64(cSkip*float32((x[i]-nm.Mean)/std)+cOut*f)
		}
	}
	for i, vv := range v {
		tp.dF[i] = cOut * float32(std*vv)
	}
	var dIn []float32
	if dx != nil {
		dIn = tp.dIn
	}
	n.backwardTape(ws, tp, tp.dF, dIn, gp)
	if dx != nil {
		for i, vv := range v {
			vm := float32(std * vv)
			dx[i] = float64(cSkip*vm+cIn*dIn[i]) / std
		}
	}
	return nil
}
