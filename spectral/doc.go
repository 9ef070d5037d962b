// Package spectral provides reusable, allocation-free 2-D FFT plans and the spectral tools
// built on them: wavenumber grids, spectral derivatives, the inverse Laplacian, 2/3-rule
// dealiasing, energy spectra and Gaussian random fields.
//
// Conventions: a field of shape (nx, ny) is stored row-major, f[i*ny+j], on the grid
// x_i = i·L1/nx, y_j = j·L2/ny. Real-to-complex spectra keep the half axis along axis 1
// (numpy.fft.rfft2 layout), F[k1*(ny/2+1)+k2].
//
// Plan.Forward computes F[k1,k2] = Σ f[i,j] exp(−2πi(k1 i/nx + k2 j/ny)) (numpy rfft2) and
// Plan.Inverse its inverse with the 1/(nx·ny) factor (numpy irfft2).
package spectral
