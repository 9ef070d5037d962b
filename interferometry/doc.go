// Package interferometry is a native forward model of very-long-baseline interferometry for
// black-hole imaging with the Event Horizon Telescope (EHT), following the conventions of
// eht-imaging (ehtim 1.3.2) to rounding: station arrays, earth-rotation uv synthesis,
// visibilities of pixel images, thermal noise, closure phases and log closure amplitudes,
// the χ² terms of ehtim's imager, and the black-hole forward operator and misfit of the
// EnKG paper (Zheng et al. 2024; InverseBench).
//
// # Geometry
//
// Stations are geocentric positions r = (X, Y, Z) (m). With GMST from UTC (IAU 2006, ERFA
// gmst06, UT1 − UTC a parameter), the Greenwich hour angle of a source at (α, δ) is
// θ = (GMST − α)·15° mod 2π; stations rotate to r' = R_z(θ)·r, and for a baseline
// Δ = r1 − r2 at wavelength λ = c/ν
//
//	u = (sinθ·ΔX + cosθ·ΔY)/λ,   v = (−sinδ·(cosθ·ΔX − sinθ·ΔY) + cosδ·ΔZ)/λ.
//
// A station observes when its geocentric elevation el = π/2 − arccos(r'·ŝ/|r'|),
// ŝ = (cosδ, 0, sinδ), satisfies ElevMin < el < ElevMax (default 10°–85°). Baselines are
// oriented t1 → t2 in SEFD order (ascending sqrt(SEFD_R² + SEFD_L²), stable) and rows are
// sorted by time, then t1 name, then t2 name.
//
// # Visibilities
//
// An image I[j,i] (Jy per pixel; row 0 North, column 0 East; pixel centres
// x_i = ψ(Nx/2 − 1/2 − i), y_j = ψ(Ny/2 − 1/2 − j), ψ = FOV/Nx) has visibilities
//
//	V(u, v) = P(u, v)·Σ_{j,i} I[j,i]·exp(+2πi(u·x_i + v·y_j)),   P = sinc²(ψu)·sinc²(ψv),
//
// the Fourier transform of the image made of triangle pixel pulses. DFT evaluates it by
// folding the image about its centre (x_{Nx−1−i} = −x_i), which halves the arithmetic of the
// dense matrix product and needs tables of only (Nx + Ny)·K cosines and sines; an AVX2/FMA
// kernel runs it on amd64.
//
// Thermal noise on Re V and Im V has σ = ½·sqrt(σ_RR² + σ_LL²), σ_RR = sqrt(SEFD_R1·SEFD_R2/(2Bτ))/0.88.
//
// # Closure quantities
//
// For a triangle (1, 2, 3) the closure phase is ψ = arg(V12·V23·V31), σ_ψ = sqrt(Σ σ²/|V|²);
// for a quadrangle (1, 2, 3, 4) the log closure amplitude is
// ln(|V12||V34|/(|V14||V23|)), σ = sqrt(Σ 1/snr²), with ehtim's amplitude debiasing
// p = sqrt(|V|² − σ²) and the correction ½(1/snr1² + 1/snr2² − 1/snr3² − 1/snr4²).
// Station-based gain and phase errors cancel in both. The minimal ('min') sets choose a
// reference station per time ((n−1)(n−2)/2 triangles, n(n−3)/2 quadrangles); the maximal
// ('max') sets take every triangle and three quadrangles per 4 stations.
//
// # The black-hole problem
//
// BlackHole maps a normalised image x to y = [|V|, closure phases, log closure amplitudes,
// flux] (a typed Layout of named Segments) after I = (x + 1)/2; BlackHoleMisfit is the
// published data term 2·[Σ w_ψ((p − y)/σ)² + Σ w_c((p − y)/σ)² + w_f((p_f − y_f)/2)²] with
// weights (amp 0, cphase 1, logcamp 1, flux 0.5). Crescent, Ring, Gaussian, Blur and
// RandomImage make synthetic images; ClosureChiSq, AlignedPSNR and BlurredPSNR are the
// published evaluation metrics.
package interferometry
