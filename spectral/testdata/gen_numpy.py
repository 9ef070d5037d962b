"""Regenerates the numpy fixtures for the spectral tests (run from spectral/testdata).

numpy_rfft2_in.npy  (6, 10)    float64  random field
numpy_rfft2_out.npy (6, 6, 2)  float64  numpy.fft.rfft2(in) as (re, im)
numpy_irfft2_in.npy (8, 5, 2)  float64  a random, NOT Hermitian-consistent half spectrum (re, im)
numpy_irfft2_out.npy (8, 8)    float64  numpy.fft.irfft2(in, s=(8, 8))
numpy_fft2_in.npy   (5, 6, 2)  float64  random complex (re, im)
numpy_fft2_out.npy  (5, 6, 2)  float64  numpy.fft.fft2(in)
numpy_ifft2_out.npy (5, 6, 2)  float64  numpy.fft.ifft2(in)
"""
import numpy as np

rng = np.random.default_rng(2024)
def ri(z):
    return np.stack([z.real, z.imag], axis=-1)

f = rng.standard_normal((6, 10))
np.save("numpy_rfft2_in.npy", f)
np.save("numpy_rfft2_out.npy", ri(np.fft.rfft2(f)))
F = rng.standard_normal((8, 5)) + 1j * rng.standard_normal((8, 5))
np.save("numpy_irfft2_in.npy", ri(F))
np.save("numpy_irfft2_out.npy", np.fft.irfft2(F, s=(8, 8)))
z = rng.standard_normal((5, 6)) + 1j * rng.standard_normal((5, 6))
np.save("numpy_fft2_in.npy", ri(z))
np.save("numpy_fft2_out.npy", ri(np.fft.fft2(z)))
np.save("numpy_ifft2_out.npy", ri(np.fft.ifft2(z)))
