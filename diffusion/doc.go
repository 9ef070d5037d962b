// Package diffusion implements diffusion priors in the EDM formulation (Karras, Aittala,
// Aila, Laine 2022): noise schedules, ODE and SDE samplers, the Denoiser interface, and
// priors whose denoisers are exact. Ensembles are *mat.Dense with one member per row.
//
// # Denoiser and probability-flow ODE
//
// A Denoiser returns D(x; σ) = E[x0 | x0 + σε = x] (ε ~ N(0, I)) for every row of an
// ensemble. By Tweedie's formula the score of the noised prior is
// ∇log p_σ(x) = (D(x; σ) − x)/σ², and the probability-flow ODE in the noise level is
//
//	dx/dσ = (x − D(x; σ))/σ.
//
// # Schedules and samplers
//
// KarrasSigmas (and Karras, with an option to evaluate in float32 as the published PyTorch
// codes do) gives σ_i = (σ_max^{1/ρ} + i/(N−1)(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ, i < N, and
// σ_N = 0 (defaults σ_min = 0.002, σ_max = 80, ρ = 7).
//
// A Formulation is the general process x(t) = s(t)(x0 + σ(t)ε) of the EDM paper (EDM: σ = t,
// s = 1; VP: σ(t) = √(exp(½β_d t² + β_min t) − 1), s = 1/√(1+σ²); VE: σ = √t), whose ODE is
//
//	dx/dt = (σ'/σ + s'/s)·x − σ's/σ·D(x/s; σ).
//
// Sampler integrates it with Euler or Heun (EDM Algorithm 1, no correction on the last
// step to 0) and, with S_churn > 0, adds EDM Algorithm 2's noise injection: γ =
// min(S_churn/N, √2 − 1) when S_min ≤ σ(t_i) ≤ S_max, σ̂ = (1+γ)σ, x̂ = s(t̂)/s(t)·x +
// √(σ̂² − σ²)·s(t̂)·S_noise·ε. Member j draws all its noise from rng.Stream(seed, j), so
// results do not depend on the number of workers.
//
// DenoiseODE / ODEToZero compute EnKG's x̂0: k Euler steps of the ODE from σ to 0 on the
// Karras schedule from σ to σ_min (then 0), exactly the "ode_sampler" of
// devzhk/enkg-pytorch; k = 1 is one denoiser call.
//
// # Exact priors
//
// Each prior is a Denoiser with exact sampling (Prior) and, where it exists, LogProb:
//
//	DiagGaussian      N(μ, diag v):  D = μ + v/(v+σ²)·(x − μ)
//	Gaussian          N(μ, Σ) through Σ = VΛVᵀ:  D = μ + V·Λ(Λ+σ²)⁻¹·Vᵀ(x − μ)
//	SpectralGaussian  stationary on a periodic grid, C = F⁻¹ diag(P) F:
//	                  D = μ + F⁻¹[P/(P+σ²) ⊙ F(x − μ)]  (two real FFTs per member);
//	                  NewSpectralGaussianFromGRF turns spectral.GRF into one
//	GMM               Σ_k π_k N(μ_k, Σ_k):  D = Σ_k r_k(x)[μ_k + Σ_k(Σ_k+σ²I)⁻¹(x − μ_k)],
//	                  r_k = softmax_k(log π_k + log N(x; μ_k, Σ_k + σ²I)) by log-sum-exp
//	Empirical         uniform over data x_k:  D = Σ_k softmax_k(−‖x − x_k‖²/2σ²)·x_k
//
// FitGaussian (shrinkage or Ledoit–Wolf), FitSpectralGaussian (2-D or isotropic power
// spectrum) and FitGMM (EM) fit them to data; SavePrior/LoadPrior store them as .npz with
// their parameters. Each prior carries an Affine normalisation (physical = Scale·x +
// Shift, e.g. Scale 10 for the published Navier–Stokes prior on vorticity/10), and
// Physical(d, a) expresses any denoiser in physical units.
package diffusion
