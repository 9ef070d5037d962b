//go:build !amd64 || purego

package spectral

// useAVX is false without the amd64 assembly kernels (other architectures, or -tags purego).
var useAVX = false

func radix4Vec(y, x []complex128, m, s int, tw []complex128, inv bool) bool { return false }
func radix2Vec(y, x []complex128, m, s int) bool                            { return false }
func transposeVec(dst, src []complex128, r, c int) bool                     { return false }

func pairRows(ra, rb []complex128, h float64, ca, cb complex128) { pairRowsGo(ra, rb, h, ca, cb) }

func splitTransposed(dst, T, tw []complex128, nx, m, nyh int) bool          { return false }
func mergeTransposed(T, W, tw []complex128, nx, m, nyh int, c float64) bool { return false }

func (f *cfft) transposeFFT(T, z, work, tmp []complex128, nx int, inv bool) bool { return false }
