// Package datasets reads and writes the arrays enkg exchanges with Python: .npy and .npz files
// (numpy's format, C or Fortran order, float64/float32/complex), and generates and reads
// datasets of fields. HDF5 lives in the subpackage datasets/h5 (cgo, libhdf5) so that this
// package stays free of cgo.
//
// Arrays are row-major: a field of shape (Nx, Ny) is indexed f[i*Ny+j], exactly numpy's C
// order, so files interchange with Python codes unchanged.
package datasets
