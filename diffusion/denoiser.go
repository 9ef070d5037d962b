package diffusion

import (
	"context"

	"gonum.org/v1/gonum/mat"
)

// Denoiser is a diffusion prior in the EDM convention: Denoise writes into each row of dst
//
//	D(x; σ) ≈ E[x0 | x0 + σ·ε = x],  ε ~ N(0, I),
//
// for the corresponding row of x (one ensemble member per row, Dim columns). dst and x have
// the same shape; dst may alias x. The score of the noised prior is (D(x; σ) − x)/σ², and
// the probability-flow ODE is dx/dσ = (x − D(x; σ))/σ.
//
// Implementations are safe for concurrent use and may evaluate rows in parallel; they return
// ctx.Err() when cancelled and an error for σ < 0, NaN input or a shape mismatch.
type Denoiser interface {
	Denoise(ctx context.Context, dst, x *mat.Dense, sigma float64) error
	Dim() int
}
