// Package diffusion implements diffusion priors in the EDM formulation (Karras, Aittala,
// Aila, Laine 2022): noise schedules, ODE and SDE samplers, the Denoiser interface, and
// priors whose denoisers are exact.
//
// # Denoiser and probability-flow ODE
//
// A Denoiser returns D(x; σ) = E[x0 | x0 + σε = x] (ε ~ N(0, I)) for every row of an
// ensemble. The score of the noised prior is ∇log p_σ(x) = (D(x; σ) − x)/σ² (Tweedie),
// and the probability-flow ODE in the noise level σ is
//
//	dx/dσ = (x − D(x; σ))/σ.
//
// # Schedules
//
// The EDM (Karras) discretisation σ_i = (σ_max^{1/ρ} + i/(N−1)(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ,
// i < N, σ_N = 0 (defaults σ_min = 0.002, σ_max = 80, ρ = 7) is KarrasSigmas.
// DenoiseODE / ODEToZero integrate the ODE from σ to 0 in k Euler steps on such a schedule
// ending at σ_min and then 0, the x̂0 estimate EnKG applies to every particle.
package diffusion
