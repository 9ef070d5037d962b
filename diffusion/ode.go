package diffusion

import (
	"context"
	"fmt"
	"math"

	"github.com/enkg-go/enkg/internal/parallel"
	"gonum.org/v1/gonum/mat"
)

// DenoiseODE writes into dst the estimate x̂0 of the clean signal obtained by k
// deterministic Euler steps of the probability-flow ODE dx/dσ = (x − D(x; σ))/σ from σ
// down to 0, on the Karras schedule KarrasSigmas(k, sigmaMin, sigma, rho) (σ_0 = σ, …,
// σ_{k−1} = sigmaMin, σ_k = 0):
//
//	d_i = (x_i − D(x_i; σ_i))/σ_i,   x_{i+1} = x_i + (σ_{i+1} − σ_i)·d_i.
//
// k = 1 is exactly one denoiser call, x̂0 = D(x; σ). This is the "ode_sampler" of
// devzhk/enkg-pytorch (sigma_eps = sigmaMin = 0.002, ρ = 7 there) that EnKG applies to
// every particle. The schedule is computed in float64; ODEToZero offers the published
// float32 schedule and reuses its workspace across calls. dst may alias x.
func DenoiseODE(ctx context.Context, dst, x *mat.Dense, d Denoiser, sigma float64, k int, sigmaMin, rho float64) error {
	o := ODEToZero{SigmaMin: sigmaMin, Rho: rho}
	if sigmaMin <= 0 || rho <= 0 {
		return fmt.Errorf("%w: DenoiseODE needs σ_min > 0 and ρ > 0, got %v and %v", ErrParam, sigmaMin, rho)
	}
	return o.Denoise(ctx, dst, x, d, sigma, k)
}

// ODEToZero integrates the probability-flow ODE from a noise level σ to 0 in k Euler steps
// on a Karras schedule (see DenoiseODE), keeping its workspace between calls so that a
// repeated call of the same shape allocates nothing. A ODEToZero must not be used by two
// goroutines at once; the denoiser evaluates the rows in parallel.
type ODEToZero struct {
	// SigmaMin is the last non-zero noise level of the sub-schedule (0 means
	// DefaultSigmaMin = 0.002, the published sigma_eps).
	SigmaMin float64
	// Rho is the Karras exponent (0 means DefaultRho = 7).
	Rho float64
	// Float32 computes the sub-schedule and the step sizes σ_{i+1} − σ_i in float32 as
	// the published code does (σ arrives there as a float32 tensor); the state stays
	// float64.
	Float32 bool
	// Workers bounds the goroutines of the Euler updates (0: GOMAXPROCS).
	Workers int

	buf   *mat.Dense
	sig   []float64
	stepK int
}

// Sigmas returns the sub-schedule σ_0 = σ, …, σ_{k−1} = σ_min, σ_k = 0 used by Denoise
// (a view of the workspace, valid until the next call).
func (o *ODEToZero) Sigmas(sigma float64, k int) ([]float64, error) {
	if err := o.schedule(sigma, k); err != nil {
		return nil, err
	}
	return o.sig, nil
}

func (o *ODEToZero) schedule(sigma float64, k int) error {
	smin, rho := o.SigmaMin, o.Rho
	if smin == 0 {
		smin = DefaultSigmaMin
	}
	if rho == 0 {
		rho = DefaultRho
	}
	switch {
	case k < 1:
		return fmt.Errorf("%w: ODE to x0 needs k ≥ 1 steps, got %d", ErrParam, k)
	case !(sigma >= 0) || math.IsInf(sigma, 0):
		return fmt.Errorf("%w: ODE to x0 from σ = %v (must be finite and ≥ 0)", ErrParam, sigma)
	case !(smin > 0) || math.IsInf(smin, 0) || !(rho > 0) || math.IsInf(rho, 0):
		return fmt.Errorf("%w: ODE to x0 needs σ_min > 0 and ρ > 0, got %v and %v", ErrParam, smin, rho)
	}
	o.sig = o.sig[:0]
	if k == 1 || sigma == 0 {
		o.sig = append(o.sig, sigma, 0)
		return nil
	}
	if o.Float32 {
		o.sig = appendKarrasFrom32(o.sig, k, sigma, smin, rho)
		return nil
	}
	a := math.Pow(sigma, 1/rho)
	b := math.Pow(smin, 1/rho) - a
	for i := 0; i < k; i++ {
		o.sig = append(o.sig, math.Pow(a+float64(i)/float64(k-1)*b, rho))
	}
	o.sig = append(o.sig, 0)
	return nil
}

// Denoise writes x̂0 for every row of x into dst (see DenoiseODE). dst may alias x. σ = 0
// gives D(x; 0) (the identity for priors with a density).
func (o *ODEToZero) Denoise(ctx context.Context, dst, x *mat.Dense, d Denoiser, sigma float64, k int) error {
	if err := o.schedule(sigma, k); err != nil {
		return err
	}
	r, c := x.Dims()
	if dr, dc := dst.Dims(); dr != r || dc != c {
		return fmt.Errorf("%w: ODE to x0: dst is %d×%d, x is %d×%d", ErrDim, dr, dc, r, c)
	}
	if c != d.Dim() {
		return fmt.Errorf("%w: ODE to x0: x has %d columns, the denoiser %d", ErrDim, c, d.Dim())
	}
	if len(o.sig) == 2 {
		return d.Denoise(ctx, dst, x, o.sig[0])
	}
	if dst != x {
		dst.Copy(x)
	}
	if o.buf == nil || o.buf.RawMatrix().Rows != r || o.buf.RawMatrix().Cols != c {
		o.buf = mat.NewDense(r, c, nil)
	}
	for i := 0; i+1 < len(o.sig); i++ {
		t, tn := o.sig[i], o.sig[i+1]
		if err := d.Denoise(ctx, o.buf, dst, t); err != nil {
			return fmt.Errorf("ODE to x0, step %d (σ = %g): %w", i, t, err)
		}
		h := tn - t
		if o.Float32 {
			h = f32(h)
		}
		if err := eulerRows(ctx, o.Workers, dst, o.buf, t, h); err != nil {
			return err
		}
	}
	return nil
}

// eulerRows performs x ← x + h·(x − D)/t row by row, in the operation order of the
// published code (d = (x − D)/t first).
func eulerRows(ctx context.Context, workers int, x, den *mat.Dense, t, h float64) error {
	r, _ := x.Dims()
	return parallel.For(ctx, r, rowWorkers(workers, x), func(_, i int) error {
		xr, dr := x.RawRowView(i), den.RawRowView(i)
		dr = dr[:len(xr)]
		for j, v := range xr {
			dj := (v - dr[j]) / t
			xr[j] = v + float64(h*dj)
		}
		return nil
	})
}

// rowWorkers uses one goroutine for small matrices, where spawning costs more than the
// arithmetic.
func rowWorkers(workers int, x *mat.Dense) int {
	r, c := x.Dims()
	if r*c < 1<<14 {
		return 1
	}
	return workers
}
