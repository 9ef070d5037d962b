// Package guidance solves inverse problems y = G(x) + η with a diffusion prior: Ensemble
// Kalman Diffusion Guidance (EnKG, Zheng et al. 2024, arXiv 2409.20175) and the baselines of
// its paper — ensemble Kalman inversion (EKI), diffusion posterior sampling (DPS) with exact
// or Gaussian-smoothed gradients (forward-GSG, central-GSG), diffusion policy gradient (DPG)
// and stochastic control guidance (SCG) — each as the published code (devzhk/enkg-pytorch,
// InverseBench) defines it.
//
// # EnKG
//
// J particles start as σ_max·N(0, I) and follow the Karras schedule
// σ_i = (σ_max^{1/ρ} + i/(N−1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ, σ_N = 0. Step i is guided when
// start·N < i < N − ⌊end·N⌋; then, Updates times,
//
//	x̂0_j = k Euler steps of the probability-flow ODE from x_j at σ_i to 0,  k = min(1 + ⌊(N−i)/4⌋, 20),
//	y_j  = G(x̂0_j),   e_j = ∂Loss/∂y (y_j)   (= y_j − y_obs for the default misfit),
//	C    = E·(Y − Ȳ)ᵀ/J,   X ← X − (scale_i/‖C‖_F)·C·(X − X̄),
//
// with scale_i = scale·(1 − r)·(N − i)/N + r (r = LRMinRatio > 0) or scale; then the Euler
// step x ← x + (σ_{i+1} − σ_i)·(x − D(x; σ_i))/σ_i. The published loss is the sum of squares,
// whose half-gradient y − y_obs is what the code uses; since the step is normalised by
// ‖C‖_F, any constant factor of e (the ½, a noise variance) cancels. X in Δ is the particles
// x_i (not x̂0), both Y and X are centred, E is not. Given its initial ensemble the
// implementation reproduces the published trajectory to 2e-14 (float32 schedule) — see
// testdata/README.md.
//
// The same Kalman kernel (Kalman) serves EKI, which iterates it from prior samples with
// Y = G(X). The baselines use InverseBench's discretisation (Schedule).
//
// # Engine, costs, diagnostics
//
// An Engine evaluates the forward model over the ensemble: Local runs a bounded worker pool
// with one operator instance per worker (operator.Factory). A backend implements only
// Evaluator — batches of members in, outputs and per-member failures out — and NewCounted
// (or Options.Evaluator) makes it an Engine that counts; the algorithms hand it matrices of
// members, never code, so the members may be evaluated on other machines. Every Result reports its
// Counts — forward evaluations in total and on the critical path, denoiser evaluations —
// the cost columns of the paper's tables. Results do not depend on the number of workers:
// every random draw comes from a stream keyed by member (and step and draw). A failed or
// non-finite member evaluation is a *MemberError naming member and step. Cancelling the
// context returns the partial state with ctx.Err(). A Recorder receives per-step
// diagnostics (misfit, spread, step size, evaluations); Progress draws a progress bar.
//
// EnKG and EKI are Resumable: with Options.Checkpoint they hand their state to a function
// after every step (the particles, the step, the counts — no generator state, since every
// draw is keyed by seed, step and member), Checkpoint.Save writes it atomically, and
// Options.Resume continues from it to a final ensemble bit-identical to an uninterrupted
// run's without repeating finished steps. Their OnMemberFailure setting FailResample
// (EnsembleKalmanProcesses.jl's SampleSuccGauss) lets members whose forward model fails sit
// out the update and redraws them from a Gaussian fitted to the others; Counts.Failed
// counts the failures.
//
// Methods declare what they need (Needs): Solve refuses, before any evaluation, DPS on a
// forward model without an adjoint, or a gradient method on a denoiser without
// vector–Jacobian products (AffineVJP supplies them for Gaussian priors).
//
// The single-chain baselines (DPS, GSG, DPG, SCG) run Members independent chains; the
// published codes run one (DPG asserts it), so quantities the published code takes over the
// whole batch (DPS's loss normaliser, DPG's gradient norm) are taken per chain here, which is
// the same for one chain.
//
// # Verification
//
// EnKG reproduces the published trajectory (testdata). On a linear-Gaussian problem
// (prior N(0, I₆₄), 16 Gaussian measurements, σ = 0.1) the distance of the ensemble mean to
// the exact posterior mean falls with J roughly like J^(−1/2) (4 seeds, N = 40, 2 updates):
//
//	J      8     32    128   512   1024
//	EnKG   2.46  2.28  0.94  0.43  0.33
//	EKI    2.17  1.91  0.76  0.31  0.20   (50 iterations)
//	DPS    0.84  0.36  0.17  0.10  0.07   (exact gradients, 100 EDM steps)
//
// EnKG and EKI normalise the step by ‖C‖_F and so ignore the noise level: with noisy data
// they over-fit, and with J below the effective dimension the ensemble collapses (the
// reference case: relative L2 1.08 with J = 16 in 1024 dimensions).
package guidance
