#!/usr/bin/env python3
"""Plain numpy implementation of the published Navier-Stokes scheme (the baseline of the pde benchmarks).

Same scheme as devzhk/enkg-pytorch NavierStokes2d (Heun + Crank-Nicolson, 2/3 dealiasing, adaptive
dt = min(0.5h/max|u|, 0.5h^2/mu), h = 1/max(s1, s2)), written with numpy.fft on one core.
The y-derivative of the nonlinear term uses L2 (the published code uses L1; equal on square domains).

Usage: ns_numpy.py W0.npy OUT.npy [--T 1] [--Re 200] [--repeat 1] [--dt DT] [--no-forcing] [--L1 L] [--L2 L]
Prints: steps=<n> seconds=<best wall time of one solve>
"""
import argparse
import math
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np


class NS:
    def __init__(self, s1, s2, L1=2 * math.pi, L2=2 * math.pi, Re=200.0):
        self.s1, self.s2, self.L1, self.L2, self.Re = s1, s2, L1, L2, Re
        self.h = 1.0 / max(s1, s2)
        f1 = np.concatenate([np.arange(0, s1 // 2), [0.0], np.arange(-s1 // 2 + 1, 0)])
        f2 = np.concatenate([np.arange(0, s2 // 2), [0.0]])
        self.k1 = np.repeat(f1[:, None], s2 // 2 + 1, axis=1)  # derivative wavenumbers, Nyquist 0
        self.k2 = np.repeat(f2[None, :], s1, axis=0)
        g1 = np.concatenate([np.arange(0, s1 // 2), np.arange(-s1 // 2, 0)]).astype(float)
        g2 = np.arange(0, s2 // 2 + 1).astype(float)
        K1 = np.repeat(g1[:, None], s2 // 2 + 1, axis=1)
        K2 = np.repeat(g2[None, :], s1, axis=0)
        self.G = (4 * math.pi**2 / L1**2) * K1**2 + (4 * math.pi**2 / L2**2) * K2**2
        il = self.G.copy()
        il[0, 0] = 1.0
        self.inv_lap = 1.0 / il
        self.dealias = (K1**2 + K2**2 <= (s1 / 3) ** 2 + (s2 / 3) ** 2).astype(float)
        self.dealias[0, 0] = 0.0
        self.c1 = 2 * math.pi / L1
        self.c2 = 2 * math.pi / L2

    def velocity(self, w_h):
        psi = self.inv_lap * w_h
        q = np.fft.irfft2(self.c2 * 1j * self.k2 * psi, s=(self.s1, self.s2))
        v = np.fft.irfft2(-self.c1 * 1j * self.k1 * psi, s=(self.s1, self.s2))
        return q, v

    def nonlinear(self, w_h, f_h):
        d = w_h * self.dealias
        w = np.fft.irfft2(d, s=(self.s1, self.s2))
        q, v = self.velocity(d)
        n = -1j * (self.c1 * self.k1 * np.fft.rfft2(q * w) + self.c2 * self.k2 * np.fft.rfft2(v * w))
        if f_h is not None:
            n += f_h
        return n

    def time_step(self, q, v, f):
        m = np.max(np.sqrt(q**2 + v**2))
        xi = math.sqrt(np.max(np.abs(f))) if f is not None else 1.0
        mu = (1.0 / self.Re) * xi * (self.L1 / (2 * math.pi)) ** 0.75 * (self.L2 / (2 * math.pi)) ** 0.75
        if m == 0:
            return 0.5 * self.h**2 / mu
        return min(0.5 * self.h / m, 0.5 * self.h**2 / mu)

    def solve(self, w, f, T, adaptive=True, dt=1e-3):
        GG = (1.0 / self.Re) * self.G
        w_h = np.fft.rfft2(w)
        f_h = np.fft.rfft2(f) if f is not None else None
        if adaptive:
            dt = self.time_step(*self.velocity(w_h), f)
        t, steps = 0.0, 0
        while t < T:
            cur = T - t if t + dt > T else dt
            n1 = self.nonlinear(w_h, f_h)
            wt = (w_h + cur * (n1 - 0.5 * GG * w_h)) / (1.0 + 0.5 * cur * GG)
            n2 = self.nonlinear(wt, f_h)
            w_h = (w_h + cur * (0.5 * (n1 + n2) - 0.5 * GG * w_h)) / (1.0 + 0.5 * cur * GG)
            t += cur
            steps += 1
            if adaptive:
                dt = self.time_step(*self.velocity(w_h), f)
        return np.fft.irfft2(w_h, s=(self.s1, self.s2)), steps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("w0")
    ap.add_argument("out")
    ap.add_argument("--T", type=float, default=1.0)
    ap.add_argument("--Re", type=float, default=200.0)
    ap.add_argument("--dt", type=float, default=0.0, help="fixed step (0: adaptive)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--no-forcing", action="store_true")
    ap.add_argument("--L1", type=float, default=2 * math.pi, help="domain length along axis 0")
    ap.add_argument("--L2", type=float, default=2 * math.pi, help="domain length along axis 1")
    a = ap.parse_args()
    w0 = np.load(a.w0).astype(np.float64)
    s1, s2 = w0.shape
    f = None
    if not a.no_forcing:
        # Kolmogorov forcing -4cos(4*2*pi*y/L2) at y_j = j*L2/s2.
        t2 = np.arange(s2) * (a.L2 / s2) * (2 * math.pi / a.L2)
        f = np.repeat((-4 * np.cos(4 * t2))[None, :], s1, axis=0)
    ns = NS(s1, s2, L1=a.L1, L2=a.L2, Re=a.Re)
    best = math.inf
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        w, steps = ns.solve(w0, f, a.T, adaptive=a.dt == 0, dt=a.dt)
        best = min(best, time.perf_counter() - t0)
    np.save(a.out, w)
    print(f"steps={steps} seconds={best:.4f}")


if __name__ == "__main__":
    main()
