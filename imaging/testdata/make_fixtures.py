#!/usr/bin/python3
"""Regenerate the imaging test fixtures (run from this directory with Debian's python3:
python3-numpy, python3-scipy, python3-skimage 0.19).

Every reference below restates the published PyTorch operators of the DPS code
(DPS2022/diffusion-posterior-sampling, guided_diffusion/measurements.py, util/img_utils.py,
util/resizer.py) with numpy/scipy, float64 throughout:

* blur: torch ReflectionPad2d(k//2) + grouped Conv2d (a correlation) == np.pad(mode="reflect")
  + scipy.signal.correlate2d(mode="valid"); the Gaussian kernel is
  scipy.ndimage.gaussian_filter(delta, sigma) exactly as Blurkernel builds it;
* phase retrieval: pad = int(oversample / 8 * N) zeros per side, then
  |fftshift(fft2(ifftshift(x_pad), norm="ortho"))| per channel (fft2c_new);
* super-resolution: average pooling, and MATLAB-imresize antialiased bicubic weights written
  out independently below (Keys a = -0.5, width 4*s, per-output normalisation, symmetric
  boundary);
* metrics: skimage.metrics.peak_signal_noise_ratio(ref, x, data_range=R) and
  skimage.metrics.structural_similarity(ref, x, channel_axis=0, data_range=R,
  gaussian_weights=True, sigma=1.5, use_sample_covariance=False, K1=0.01, K2=0.03).
"""
import json

import numpy as np
import scipy.ndimage as ndi
import scipy.signal as sig
import skimage
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

rng = np.random.default_rng(20240917)


def smooth_image(c, h, w, lo=-1.0, hi=1.0):
    """A smooth random image in [lo, hi] (blurred noise plus a ramp)."""
    x = rng.standard_normal((c, h, w))
    x = ndi.gaussian_filter(x, sigma=(0, 2, 2))
    x += np.linspace(-1, 1, w)[None, None, :] * 0.5
    x = (x - x.min()) / (x.max() - x.min())
    return lo + (hi - lo) * x


def gaussian_kernel(k, sigma):
    d = np.zeros((k, k))
    d[k // 2, k // 2] = 1
    return ndi.gaussian_filter(d, sigma=sigma)


def blur(x, kern):
    p = kern.shape[0] // 2
    return np.stack([sig.correlate2d(np.pad(ch, p, mode="reflect"), kern, mode="valid") for ch in x])


def phase_retrieval(x, oversample):
    c, h, w = x.shape
    ph, pw = int(oversample / 8.0 * h), int(oversample / 8.0 * w)
    xp = np.pad(x, ((0, 0), (ph, ph), (pw, pw)))
    f = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(xp, axes=(-2, -1)), norm="ortho"), axes=(-2, -1))
    return np.abs(f)


def avgpool(x, s):
    c, h, w = x.shape
    return x.reshape(c, h // s, s, w // s, s).mean(axis=(2, 4))


def keys(t):
    a = np.abs(t)
    return np.where(a <= 1, 1.5 * a**3 - 2.5 * a**2 + 1,
                    np.where(a <= 2, -0.5 * a**3 + 2.5 * a**2 - 4 * a + 2, 0.0))


def imresize_matrix(n, s):
    """(n/s) x n matrix of MATLAB's antialiased bicubic down-sampling by 1/s."""
    m = n // s
    A = np.zeros((m, n))
    for o in range(m):
        centre = (o + 0.5) * s - 0.5            # output pixel centre in 0-based input coordinates
        lo = int(np.floor(centre - 2 * s)) - 1
        for p in range(lo, lo + int(np.ceil(4 * s)) + 3):
            wgt = keys((centre - p) / s) / s
            q = p % (2 * n)
            q = q if q < n else 2 * n - 1 - q   # symmetric boundary (edge repeated)
            A[o, q] += wgt
        A[o] /= A[o].sum()
    return A


def bicubic(x, s):
    c, h, w = x.shape
    Ah, Aw = imresize_matrix(h, s), imresize_matrix(w, s)
    return np.stack([Ah @ ch @ Aw.T for ch in x])


out = {"skimage_version": skimage.__version__, "metrics": []}

x = smooth_image(3, 32, 32)
np.save("img_3x32x32.npy", x)
g = smooth_image(1, 28, 28)
np.save("img_1x28x28.npy", g)
r = smooth_image(2, 20, 36)
np.save("img_2x20x36.npy", r)
big = smooth_image(1, 64, 64)
np.save("img_1x64x64.npy", big)

# Gaussian kernels (the published 61/3.0; 9/3.0 folds the truncated tail back by reflection).
for k, s in [(61, 3.0), (9, 3.0), (5, 1.0), (11, 0.7)]:
    np.save(f"gauss_k{k}_s{s}.npy", gaussian_kernel(k, s))

np.save("blur_gauss9_3x32x32.npy", blur(x, gaussian_kernel(9, 3.0)))
np.save("blur_gauss61_1x64x64.npy", blur(big, gaussian_kernel(61, 3.0)))
kr = rng.random((7, 7))
kr /= kr.sum()
np.save("kernel_rand7.npy", kr)
np.save("blur_rand7_2x20x36.npy", blur(r, kr))

np.save("pr_os2_3x32x32.npy", phase_retrieval(x, 2.0))
np.save("pr_os1_2x20x36.npy", phase_retrieval(r, 1.0))
np.save("pr_os2_1x28x28.npy", phase_retrieval(g, 2.0))

np.save("avgpool4_3x32x32.npy", avgpool(x, 4))
np.save("bicubic4_3x32x32.npy", bicubic(x, 4))
np.save("bicubic2_2x20x36.npy", bicubic(r, 2))

# Metrics: degraded versions against the references, images in [-1, 1] (R = 2) and [0, 1] (R = 1).
cases = [
    ("img_3x32x32.npy", "noisy", x + 0.1 * rng.standard_normal(x.shape), 2.0),
    ("img_3x32x32.npy", "blurred", blur(x, gaussian_kernel(9, 3.0)), 2.0),
    ("img_1x28x28.npy", "noisy", g + 0.3 * rng.standard_normal(g.shape), 2.0),
    ("img_2x20x36.npy", "offset01", (r + 1) / 2 + 0.05 + 0.02 * rng.standard_normal(r.shape), 1.0),
]
for i, (ref_name, kind, test, R) in enumerate(cases):
    ref = np.load(ref_name)
    if R == 1.0:
        ref = (ref + 1) / 2
        np.save(f"metric_ref_{i}.npy", ref)
    test_name = f"metric_test_{i}.npy"
    np.save(test_name, test)
    psnr = peak_signal_noise_ratio(ref, test, data_range=R)
    ssim = structural_similarity(ref, test, channel_axis=0, data_range=R, gaussian_weights=True,
                                 sigma=1.5, use_sample_covariance=False, K1=0.01, K2=0.03)
    out["metrics"].append({"ref": ref_name if R != 1.0 else f"metric_ref_{i}.npy", "test": test_name,
                           "kind": kind, "shape": list(ref.shape), "data_range": R,
                           "psnr": float(psnr), "ssim": float(ssim)})

with open("metrics.json", "w") as f:
    json.dump(out, f, indent=1)

# Odd padded sizes (fftshift/ifftshift differ): 15×13 with oversample 2 pads 3 → 21×19.
odd = smooth_image(1, 15, 13)
np.save("img_1x15x13.npy", odd)
np.save("pr_os2_1x15x13.npy", phase_retrieval(odd, 2.0))
