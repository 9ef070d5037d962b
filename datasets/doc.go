// Package datasets reads and writes the arrays enkg exchanges with Python and reads the
// image datasets it learns priors from. It is pure Go; HDF5 datasets of fields (cgo,
// libhdf5) live in the subpackage datasets/h5 so that this package stays free of cgo.
//
// # NumPy .npy and .npz
//
// ReadNPY/LoadNPY decode format versions 1.0–3.0 with any of numpy's numeric dtypes:
// float64, float32, float16 and the integer and bool dtypes are converted to float64 (Data);
// complex128 and complex64 to complex128 (Complex); little- or big-endian; C or Fortran
// order (Fortran data is reordered to C order). WriteNPY/SaveNPY write little-endian
// float64 straight from memory (header + raw bytes, no per-element conversion on
// little-endian machines); WriteArray/SaveArray also write float32, complex and integer
// dtypes. LoadNPZ/ReadNPZ read numpy.savez (stored) and numpy.savez_compressed (deflated)
// archives; SaveNPZ, SaveNPZCompressed and SaveNPZList write them. Headers are parsed
// strictly; corrupt or truncated input gives an error wrapping ErrFormat (naming the file
// for the Load functions), never a panic, and the announced size is checked against the
// file before any large allocation.
//
// codeberg.org/sbinet/npyio is the independent reference in the tests and the baseline of
// the benchmarks: its header parser panics on some malformed headers (no trailing newline,
// keys in another order, unknown dtypes), and its reflection-based flat-slice write is
// about 2000× slower than WriteNPY for a 128² field, so it is not used on user files.
//
// # IDX (MNIST, Fashion-MNIST)
//
// ReadIDX/LoadIDX read IDX files, gzip-compressed or not: magic 0x0000TTDD (TT the element
// type 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64; DD the
// number of dimensions), DD big-endian uint32 sizes, then the elements big-endian,
// row-major. LoadMNIST reads a train/t10k split (images (N, H, W), labels 0–9) such as
// Fashion-MNIST from Debian's dataset-fashion-mnist (FashionMNISTDir); IDX.Items scales
// pixels p ∈ [0, 255] to lo + (hi − lo)·p/255.
//
// Arrays are row-major: a field of shape (Nx, Ny) is indexed f[i*Ny+j], exactly numpy's C
// order, so files interchange with Python codes unchanged.
package datasets
