# Baseline for the interferometry benchmarks: numpy's dense product A·X with the 837×4096
# complex DFT matrix of the reference observation (ehtim's ftmatrix: pulse × exp(+2πi(ux+vy))).
# Run side by side with the Go benchmarks (see bench_side_by_side.sh); prints seconds per call.
#   /usr/bin/python3 bench_numpy.py            (from interferometry/testdata)
import time
import numpy as np

u, v = np.load("obs_u.npy"), np.load("obs_v.npy")
img = np.load("image1.npy")
npix, fov = 64, 160 * 3.141592653589 / 180 / 3600 * 1e-6
psize = fov / npix
x = np.arange(0, -npix, -1) * psize + psize * npix / 2 - psize / 2
y = x.copy()

def tri(w):
    out = np.ones_like(w)
    nz = w != 0
    out[nz] = 4.0 / (psize**2 * w[nz] ** 2) * np.sin(psize * w[nz] / 2) ** 2
    return out

P = tri(2 * np.pi * u) * tri(2 * np.pi * v)
A = P[:, None, None] * np.exp(2j * np.pi * (v[:, None, None] * y[None, :, None] + u[:, None, None] * x[None, None, :]))
A = A.reshape(len(u), npix * npix)
vis = np.load("obs_vis_noiseless.npy")
assert np.abs(A @ img.ravel() - vis).max() < 1e-12

def bench(f, reps):
    f()
    best = np.inf
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(reps):
            f()
        best = min(best, (time.perf_counter() - t) / reps)
    return best

rng = np.random.default_rng(0)
X = img.ravel()[:, None] * (1 + 0.1 * rng.standard_normal((npix * npix, 256)))
x1 = img.ravel()
print(f"numpy {np.__version__}: one image A@x   {bench(lambda: A @ x1, 200) * 1e3:.3f} ms")
print(f"numpy {np.__version__}: 256 images A@X  {bench(lambda: A @ X, 5) * 1e3:.1f} ms")
