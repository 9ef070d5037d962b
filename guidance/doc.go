// Package guidance solves inverse problems y = G(x) + η with a diffusion prior: Ensemble
// Kalman Diffusion Guidance (EnKG, Zheng et al. 2024, arXiv 2409.20175) and the baselines of
// its paper — ensemble Kalman inversion (EKI), diffusion posterior sampling (DPS) with exact
// or Gaussian-smoothed gradients (forward-GSG, central-GSG), diffusion policy gradient (DPG)
// and stochastic control guidance (SCG) — each as the published code (devzhk/enkg-pytorch,
// InverseBench) defines it — and Posterior, a derivative-free sampler of the posterior
// itself whose ensemble gives calibrated credible intervals.
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
// # Localization (an option, not the published algorithm)
//
// Written with the cross-covariance C_xy = (X − X̄)ᵀ(Y − Ȳ)/J (D×M), the update of member j is
// x_j ← x_j − (scale_i/‖C‖_F)·C_xy·e_j, a combination of the J centred particles: the
// ensemble never leaves the affine span of its initial draws, so J particles fit at most
// J − 1 directions of M ≫ J data. With EnKGSettings.Localization (EKISettings.Localization)
// c > 0 and a problem Locality (positions of state and data; PeriodicGrid for the gridded
// kinds), C_xy is replaced by ρ ∘ C_xy with ρ(d, m) = GaspariCohn(dist(d, m), c) — covariance
// localization as in ensemble Kalman filters (Houtekamer and Mitchell 2001) and localized EKI
// (Tong and Morzfeld 2023): each coordinate is corrected by the data within 2c of it, and
// spurious long-range sample correlations are cut. ‖C‖_F stays the unlocalized norm, so
// localization = 0 is the published algorithm bit for bit. Measured (problem package test,
// linear-Gaussian 32², 256 data, J = 32): rel. L2 to the exact posterior mean 0.94–0.97 →
// 0.25–0.27 for EnKG and 0.93–0.95 → 0.32–0.34 for EKI. It assumes that data depend on the
// state near them: for a flow that carries features across the domain the radius must cover
// the displacement. Rejected: the regularizing Levenberg–Marquardt Kalman-gain step
// (Iglesias 2016) with localized C_yy — on the same linear problem it reached 0.49 (with the
// discrepancy stop; it fits the noise without), worse than the localized gradient step, and
// on Navier–Stokes it fitted the data better while the state got worse.
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
// # Posterior sampling
//
// EnKG returns a point estimate: its ensemble collapses (spread 0.002 where the posterior std
// is 0.89, issue 16) and onto one mode of a bimodal posterior. Posterior samples
// p(x | y) ∝ exp(−Φ(x))·p(x), Φ(x) = Loss(G(x), y), with only forward evaluations of G and
// of the denoiser.
//
// Latent space. The prior's deterministic sampler T (EDM's Heun probability-flow ODE, N
// steps from σ_max to 0) maps z ~ N(0, I) to a prior sample; T#N(0, I) is the prior as the
// sampler realises it, the approximation every diffusion sample makes. In z the prior
// density is explicit, so the posterior
//
//	π(z) ∝ exp(−½|z|² − Φ(T(z))),   x = T(z)
//
// can be sampled by Metropolis–Hastings without a prior density of x, and x = T(z) with
// z ~ π is distributed as the posterior of that prior.
//
// Sequential Monte Carlo with adaptive tempering. π_β ∝ exp(−½|z|² − βΦ(T(z))) from β = 0
// (J prior samples, member j's latent from rng.Stream(seed, j)) to 1. At each stage the next
// β′ is the largest one (bisection) at which the effective sample size (Σw)²/Σw² of the
// incremental weights w_j = exp(−(β′ − β)Φ_j) is ESSFraction·J; Σ log mean w estimates the
// log evidence. The particles are resampled (systematic resampling after sorting them by
// their projection on the leading principal axis of the fields, which keeps the masses of
// separated modes exact to 1/J: unsorted, the resampling noise random-walks them over the
// stages: 0.046 rms error of the component masses over the 12 runs of the mixture study
// below with 5 moves per stage and 5 at β = 1, against 0.031 sorted) and then moved: at
// least Moves times (FinalMoves at β = 1), and on until the mean over particles of Π ρ over
// their accepted moves — the correlation with the resampled ancestor for a Gaussian
// target — is at most Decorrelation, or MaxMoves (with at most 5 and 20 moves the
// nonlinear test's x₃ std came out 11–17 % low; with the target 0.93–1.07× the reference).
//
// Moves. The proposal z′ = m̂ + ρ(z − m̂) + s·Σ̂^{1/2}ξ, ρ = √(1 − s²), ξ ~ N(0, I), is
// reversible with respect to g = N(m̂, Σ̂), so with any fixed m̂, Σ̂ the acceptance
//
//	log α = −β(Φ(T(z′)) − Φ(T(z))) − ½(|z′|² − |z|²) + log g(z) − log g(z′)
//
// makes the move leave π_β invariant (generalised pCN). m̂ is the mean of the other half of
// the ensemble (so that no particle's proposal depends on the particle) projected on the
// directions the data constrain (the span of ĤᵀWĤ below), and the prior mean 0 in the
// others, where the half's mean would add its sampling noise, of squared norm about 2D/J,
// to every proposal (at 32², D = 1024 > J = 512, the acceptance then fell to 0.3 and every
// stage needed many moves; a full Gauss–Newton step as the centre did as well on the
// Gaussian oracles but raised the mixture study's rms error from 0.025 to 0.040). Σ̂ is
// the Gauss–Newton covariance of π_β,
//
//	Σ̂ = (I + β·ĤᵀWĤ)⁻¹,
//
// Ĥ the least-squares slope of y = G(T(z)) on z over every pair evaluated so far (with
// C̃_zz = (1 − w)C_zz + w·I, w = D/(n + D), so that with few pairs it tends to Stein's
// estimate C_yz, exact for z ~ N(0, I)), W the Hessian of the misfit in y (central
// differences of its analytic gradient at the mean prediction; 1/σ² for the Gaussian
// misfit). Σ̂ is held as the eigenpairs of ĤᵀWĤ (computed in the M×M space), so nothing of
// size D×D is factorised beyond the regression's normal equations. For a linear G∘T (a
// linear forward model with a Gaussian prior) Σ̂ is the tempered posterior covariance
// itself and the moves approach independent draws (s → 1, acceptance 0.73 on the 16²
// oracles, 0.5 at 32²);
// for nonlinear problems it is a preconditioner and s adapts towards TargetAcceptance
// (s ← s·exp(rate − target) after every move, s ≤ 1).
//
// Consistency and cost. As J → ∞ the ensemble targets the posterior of T#N(0, I), which
// differs from the diffusion prior by the sampler's discretisation: with the default 32
// Heun steps a prior std 1 % (white) to 3 % (GRF spectrum) too wide on the oracles below,
// with EDM's 18 steps 4 % to 7 %, enough to push the spectral oracle's coverage at noise
// 0.3 prior std to 0.957 (the exact posterior's: 0.941). A run costs J·(1 + moves) forward
// evaluations in 1 + moves sequential rounds, moves summed over the S stages (S grows with
// the information the data carry: 4 to 70 on the oracles below), and 2N − 1 denoiser evaluations per forward evaluation. The regression
// holds D×D moments and factorises them once per stage (D³/3 flops), which bounds D to a
// few thousand.
//
// Measured (TestPosterior…, J = 512, defaults; an exact sampler of 512 independent draws
// scores about 0.09 in mean distance and 0.02 in component mass from sampling noise alone):
//
//	16² white N(0, I), y = x[::2, ::2] + N(0, 0.1²): 35 stages, 98 304 forward evaluations,
//	    mean 0.079 from the exact posterior mean, std ratio 1.00 observed / 1.02 unobserved,
//	    90 % intervals cover the truth at 0.91 of the pixels (the exact posterior's: 0.90)
//	32², the same: 70 stages, 210 432 forward evaluations, 4 min on 2 cores, mean 0.079,
//	    std ratio 1.00 / 1.01, coverage 0.90
//	16² spectral (GRF 2.5, 7), noise 0.1 prior std: 36 stages, 100 864 forward evaluations,
//	    mean 0.046, std ratio 1.00 / 1.02, coverage 0.92 (exact: 0.91)
//	8² two-component mixture (weights 0.319/0.681 exact): masses 0.348/0.652 with 119 808
//	    forward evaluations; over 3 problems × 4 seeds rms error 0.025, largest 0.061;
//	    EnKG (J = 512, N = 40, 2 updates) puts every member on one component
//	R⁴, G(x) = (x₁², x₂ + sin 2x₃, x₁x₄, x₄), σ = 0.3 (bimodal in x₁), against importance
//	    sampling with 2·10⁶ prior draws: means within 0.2 std, std ratios 0.93–1.07, mass of
//	    x₁ > 0 within 0.01 (5 seeds, about 62 000 forward evaluations)
//
// Rejected designs. (1) The ensemble Kalman sampler and ALDI (EnsembleKalmanProcesses.jl):
// their invariant measure is the posterior only for a Gaussian prior and a linear G; with a
// diffusion prior they need the clean-data score, which a denoiser gives only as σ → 0,
// and no weights correct the Gaussian approximation. (2) Ensemble Kalman proposals without
// importance weights or an acceptance step (EnKG's updates, EnKF analyses): biased —
// EnKG's ensemble collapses and keeps one mode. (3) The move "noise x to σ_k, run the
// sampler back to 0" in x space: with the probability-flow ODE it is prior-invariant but not
// reversible for a non-Gaussian prior, so an acceptance ratio of likelihoods alone is biased,
// and with the stochastic sampler it is reversible only to the sampler's accuracy at every
// move; for a Gaussian prior it is pCN with ρ_λ = √(λ/(λ + σ_k²)) per prior mode, fixed by
// the prior, so the directions the data constrain force small steps everywhere. (4) The
// particles' own covariance as Σ̂: with J ≈ D a particle's own contribution biases the
// acceptance (at β = 0 the ensemble's std fell from 1 to 0.77 in 30 moves, J = 512,
// D = 256); fitted to the other half it is dominated by sampling noise (acceptance 0.00 to
// 0.08 at s = 0.7); a diagonal Σ̂ ignores the correlations the data create (spectral
// oracle: unobserved std ratio 0.42, mean 0.91 from the posterior mean).
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
