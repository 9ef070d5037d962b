//go:build !openblas

package guidance

// BLASBackend names the BLAS implementation the Kalman update uses: gonum's pure-Go BLAS
// unless the program is built with -tags openblas.
const BLASBackend = "gonum (pure Go)"
