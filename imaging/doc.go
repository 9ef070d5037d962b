// Package imaging implements the image-degradation operators of the EnKG paper's image
// experiments (box and random inpainting, super-resolution, Gaussian and motion deblurring,
// phase retrieval, denoising), following the published DPS code
// (DPS2022/diffusion-posterior-sampling, guided_diffusion/measurements.py), together with the
// image-quality metrics PSNR and SSIM.
//
// An image has shape (C, H, W) and is stored row-major as a flat []float64,
// x[c·H·W + i·W + j]; this is numpy C order of a (C, H, W) array. Each operator is an
// operator.Operator; the linear ones are also operator.Adjointer, with the exact adjoint
// ⟨A x, y⟩ = ⟨x, Aᵀ y⟩.
//
// Inpainting (Inpaint) multiplies by a mask shared by the channels, y = m ⊙ x, with
// m = 0 on missing pixels; the output keeps the size of the image as in the published code.
// BoxMask draws a box of side h, w ∈ [lo, hi) at top t ∈ [margin_h, H − margin_h − h) and left
// l ∈ [margin_w, W − margin_w − w) (numpy randint bounds, as mask_generator); RandomMask
// zeroes ⌊H·W·p⌋ pixels chosen without replacement, p ~ U(p_lo, p_hi).
//
// Super-resolution (Downsample) by average pooling with factor s:
//
//	y[c, i, j] = s⁻² Σ_{a,b<s} x[c, s·i + a, s·j + b],
//
// or by the antialiased bicubic resizer of the published code (MATLAB imresize: Keys cubic
// kernel with a = −0.5, stretched by s, weights normalised per output pixel, mirror boundary).
//
// Blur convolves each channel, after reflection padding by P = ⌊k/2⌋ (torch
// ReflectionPad2d, which does not repeat the edge pixel), with a k×k kernel K (torch conv2d,
// i.e. a correlation):
//
//	y[c, i, j] = Σ_{a,b<k} K[a, b] · x[c, ρ_H(i + a − P), ρ_W(j + b − P)],
//	ρ_N(t) = −t (t < 0), t (0 ≤ t < N), 2(N − 1) − t (t ≥ N).
//
// Its adjoint is the full convolution of y with K onto the padded grid followed by folding the
// padding back onto the pixels it was copied from (x̄[ρ(p)] += z[p]); it is not a plain
// convolution near the borders. The Gaussian kernel is scipy.ndimage.gaussian_filter applied
// to a centred delta (truncate = 4, reflect mode), exactly as Blurkernel builds it. Blur runs as
// a direct 2-D correlation, as two 1-D passes for separable kernels, or through a 2-D FFT on a
// power-of-two grid of at least the padded size (no wrap-around: the circular correlation of
// the padded image equals the valid one on the H×W output, and the circular convolution of
// the zero-extended y equals the full one on the padded grid); BlurAuto picks the cheapest.
//
// Phase retrieval (PhaseRetrieval) pads each channel by p = ⌊oversample/8 · N⌋ zeros on each
// side of each axis (the published code uses N = 256 for 256×256 images, so oversample = 2
// pads 64) and returns the amplitude of the centred orthonormal 2-D DFT, per channel:
//
//	y[c] = | fftshift(fft2(ifftshift(pad(x[c])))) | / √(H_p·W_p).
//
// PhaseRetrieval.VJP applies the transpose of the Jacobian of the amplitude map, for
// gradient-based guidance. Denoising is the identity.
//
// Task describes any of these operators in a configuration file and builds an
// operator.Factory. ScoreDenoiser measures how well a diffusion prior denoises held-out
// images, x ↦ D(x + σε; σ), in PSNR and SSIM.
//
// PSNR = 10·log10(R² / MSE) and SSIM (Wang, Bovik, Sheikh, Simoncelli 2004) match
// scikit-image's peak_signal_noise_ratio(data_range=R) and structural_similarity(
// gaussian_weights=True, sigma=1.5, use_sample_covariance=False, K1=0.01, K2=0.03,
// data_range=R) averaged over channels (channel_axis=0): Gaussian-weighted local statistics
// μ, σ², σ_xy (scipy reflect mode, truncate 3.5, an 11×11 window), the map
//
//	S = (2 μ_x μ_y + C1)(2 σ_xy + C2) / ((μ_x² + μ_y² + C1)(σ_x² + σ_y² + C2)),
//	C1 = (K1·R)², C2 = (K2·R)²,
//
// averaged over the pixels at least 5 from the border. LPIPS is not provided: it needs
// pretrained network weights that are not available here.
package imaging
