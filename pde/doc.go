// Package pde solves the two-dimensional incompressible Navier–Stokes equations on a
// periodic rectangle in vorticity form, and provides the Navier–Stokes forward operator of
// the EnKG paper (Zheng et al. 2024): initial vorticity → vorticity at time T, subsampled.
//
// # Equations
//
// On [0, L1) × [0, L2) with periodic boundaries, the vorticity w(x, y, t) obeys
//
//	∂w/∂t + u·∇w = (1/Re) Δw + f,   −Δψ = w,   u = (u_x, u_y) = (∂ψ/∂y, −∂ψ/∂x),
//
// with Reynolds number Re and a steady forcing f (default f = −4 cos(4·2πy/L2), i.e.
// −4 cos(4y) on the standard 2π-periodic domain: it varies along axis 1).
//
// # Discretisation (the published scheme of devzhk/enkg-pytorch, NavierStokes2d)
//
// A field of shape (Nx, Ny) is stored row-major, w[i*Ny+j] = w(x_i, y_j) with
// x_i = i·L1/Nx, y_j = j·L2/Ny (axis 0 is x, axis 1 is y; numpy C order with
// meshgrid(indexing='ij')). Both sizes must be even. Spectra are numpy rfft2 half spectra
// ŵ[k1, k2], k2 = 0 … Ny/2, with integer wavenumbers k1 ∈ {0 … Nx/2−1, −Nx/2 … −1}.
//
//   - Derivatives multiply by i·(2π/L1)·k1 and i·(2π/L2)·k2, with the Nyquist entries
//     (k1 = −Nx/2, k2 = Ny/2) set to zero.
//
//   - The Laplacian symbol is G = (2π/L1)²k1² + (2π/L2)²k2² (Nyquist included);
//     ψ̂ = ŵ/G with ψ̂[0,0] = ŵ[0,0].
//
//   - The nonlinear term N(ŵ) = −i((2π/L1)k1·F[u_x w] + (2π/L2)k2·F[u_y w]) + F[f] is
//     computed from the dealiased field ŵ·m, with the 2/3-rule mask
//     m = [k1² + k2² ≤ (Nx/3)² + (Ny/3)²] and m[0,0] = 0; F[f] is added undealiased.
//     (The published code multiplies the k2 term by 2π/L1, which is wrong when L1 ≠ L2;
//     this package uses 2π/L2.)
//
//   - One step of length dt (Heun predictor–corrector for N, Crank–Nicolson for the
//     viscous term, GG = G/Re):
//
//     N1 = N(ŵ)
//     w̃  = (ŵ + dt(N1 − ½GG ŵ)) / (1 + ½dt GG)
//     N2 = N(w̃)
//     ŵ ← (ŵ + dt(½(N1 + N2) − ½GG ŵ)) / (1 + ½dt GG)
//
//   - Adaptive step (the default), computed from the initial state and after every step
//     from the un-dealiased field:
//
//     dt = min(0.5h / max|u|, 0.5h²/μ),  h = 1/max(Nx, Ny),
//     μ = (1/Re)·√(max|f|)·(L1/2π)^¾·(L2/2π)^¾  (√max|f| → 1 without forcing),
//
//     and dt = 0.5h²/μ when u ≡ 0. Note h = 1/max(Nx, Ny), not L/N, as published.
//
//   - Time loop: t = 0; while t < T { cur = T − t if t + dt > T else dt; step(cur); t += cur }
//     with t accumulated in floating point, so the last step is usually short.
//
// With these conventions a float64 solve reproduces the published solver to about 1e-12
// relative (same number of adaptive steps).
//
// # Ensembles
//
// Ensemble solves a stack of fields on a pool of workers, one Solver per worker. Each member
// takes its own adaptive steps (the published code takes the minimum dt over a batch, which
// couples the members; this package does not), so the result of a member depends only on
// that member, and results are bit-identical for any number of workers.
//
// # Forward operator
//
// Operator maps a normalised field x (length Nx·Ny) to y = S(Φ_T(scale·x)), where Φ_T is
// the solve to time T and S keeps every s-th point along both axes (numpy y[::s, ::s]).
// Defaults (the EnKG Navier–Stokes problem): 128×128, scale 10, T = 1, Re = 200,
// Kolmogorov forcing, adaptive steps, s = 2.
package pde
