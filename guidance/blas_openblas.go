//go:build openblas

package guidance

import (
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/netlib/blas/netlib"
)

// With the build tag openblas (and CGO_LDFLAGS=-lopenblas, Debian package libopenblas-dev),
// every blas64 call of the program — the Kalman update's two Dgemm — goes to OpenBLAS.
func init() { blas64.Use(netlib.Implementation{}) }

// BLASBackend names the BLAS implementation the Kalman update uses.
const BLASBackend = "OpenBLAS (gonum.org/v1/netlib)"
