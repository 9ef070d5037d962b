// Package unet runs the EDM diffusion U-Nets — SongUNet (DDPM++, NCSN++) and DhariwalUNet (ADM)
// from NVlabs/edm training/networks.py, as EnKG and InverseBench use them as priors —
// in Go, from weights exported from PyTorch (tools/export_weights.py), as a
// diffusion.Denoiser.
//
// # Preconditioning (models/precond.py)
//
// The denoiser wraps the network F:
//
//	D(x; σ) = c_skip(σ)·x + c_out(σ)·F(c_in(σ)·x; c_noise(σ))
//
//	EDMPrecond: c_skip = σd²/(σ²+σd²), c_out = σ·σd/√(σ²+σd²), c_in = 1/√(σd²+σ²), c_noise = ln(σ)/4
//	VPPrecond:  c_skip = 1, c_out = −σ, c_in = 1/√(σ²+1), c_noise = (M−1)·σ⁻¹(σ),
//	            σ⁻¹(σ) = (√(β_min² + 2β_d·ln(1+σ²)) − β_min)/β_d
//	VEPrecond:  c_skip = 1, c_out = σ, c_in = 1, c_noise = ln(σ/2)
//
// (σd = sigma_data = 0.5; β_d = 19.9, β_min = 0.1, M = 1000.) The coefficients are
// evaluated in float32 in torch's order: VP's c_noise reaches ~855, where a float32 ulp
// (6e-5) passes straight through cos/sin of the noise embedding. σ is not clamped.
//
// # Network
//
// Noise embedding: PositionalEmbedding [cos(t·f_i) | sin(t·f_i)], f_i = 10⁻⁴^(i/(n/2 − e)),
// n = model_channels (e = 1 and the halves swapped to [sin | cos] in SongUNet, e = 0 in
// DhariwalUNet); emb = SiLU(W₁·SiLU(W₀·embedding + b₀) + b₁), SiLU(z) = z·sigmoid(z).
//
// UNetBlock(x, emb): h = conv0(SiLU(GN0(x))) (conv0 carries the block's 2× up/down
// resampling); p = affine(emb); h = SiLU(GN1(h)·(1 + p_scale) + p_shift) (DhariwalUNet,
// adaptive scale) or SiLU(GN1(h + p)) (SongUNet); h = conv1(h); x = (h + skip(x))·s with
// s = 1 (DhariwalUNet) or √½ (SongUNet), skip the identity or a resampling (and, when the
// channels change or in SongUNet, a 1×1 conv). With attention (heads H, d = C/H): q, k, v
// from the 1×1 conv qkv(GN2(x)) with channel h·3d + 3c + j holding (q, k, v)[j] of head h,
// channel c; a = softmax(qᵀk/√d)·v; x = (proj(a) + x)·s. GroupNorm uses min(32, C/4) groups
// with eps 1e-5 (DhariwalUNet) or 1e-6 (SongUNet).
//
// Conv2d (fused_resample=False, all but SongUNet's aux_residual): nearest 2× upsampling (conv_transpose2d with
// 4·f) or 2×2 average pooling (f = outer(filter)/sum², filter [1,1]), then a k×k
// cross-correlation with zero padding k/2, then the bias. The encoder pushes every module
// output on a stack; each decoder block whose input width differs concatenates [x, pop()].
// The output is conv(SiLU(GN(x))) (DhariwalUNet out_norm/out_conv, SongUNet aux_norm/aux_conv).
// SongUNet's NCSN++ paths: encoder 'skip' keeps aux = down(aux) of the input and adds
// conv1x1(aux) to each level's first output; 'residual' sets x = aux = (x + convdown(aux))/√2;
// decoder 'skip' sums the aux_conv outputs of every level, upsampling the running sum.
//
// Supported: DhariwalUNet with every constructor option except class labels; SongUNet with
// every option of EDM's constructor: DDPM++ (positional embedding, standard encoder and
// decoder, filter [1,1]) and NCSN++ (Fourier embedding [cos(2πf·t) | sin(2πf·t)] with the
// trained buffer map_noise.freqs, 'skip' or 'residual' encoder — the latter with EDM's fused
// 2× down convolution — 'skip' decoder, any even FIR filter such as [1,3,3,1]). label_dim > 0
// is rejected with an error.
//
// # Weights and description
//
// Weights are the PyTorch state_dict in an .npz (names with or without the wrapper's
// "model." prefix); every tensor is checked against the architecture (missing, unexpected,
// mis-shaped or non-finite → an error naming it). The description is our JSON (Spec, format
// "enkg-unet/1", written by tools/export_weights.py) or the reference generator's
// <case>_config.json. Spec.Normalization maps user space to model space (x_model =
// (x − mean)/std, σ_model = σ/std).
//
// # Evaluation
//
// The network runs in float32 (as the PyTorch model); the interface is float64. Convolutions
// are a blocked GEMM with the weights packed once at load. Where image rows are a multiple
// of 16 pixels the input is copied once, zero-padded, and the micro-kernel reads the rows
// of the im2col matrix from it in place (a table of offsets, no packing); elsewhere the
// im2col matrix is packed panel by panel straight from the image. The weight gradient reads
// the padded input in place the same way. Micro-kernels: 6×32 in AVX-512F or 6×16 in
// AVX2+FMA on amd64 (whichever the CPU has), portable Go elsewhere; build tag purego forces
// the Go kernels. The forward pass and the input VJP sum in the same order on every path,
// so their outputs are bit-identical across them. A batch of at least Workers images runs one image
// per goroutine; smaller batches split each convolution's pixels over the goroutines. All
// activations live in per-goroutine workspaces kept between calls, so repeated calls do not
// allocate them again. Results do not depend on the number of workers.
package unet
