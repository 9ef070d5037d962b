//go:build !amd64 || purego

package unet

// kernel is the micro-kernel of the GEMM (portable Go on this architecture).
var kernel = kernelGo

// kernelInd is the micro-kernel of the direct GEMM (portable Go on this architecture).
var kernelInd = kernelIndGo

// kernelAInd is the weight-gradient micro-kernel (portable Go on this architecture).
var kernelAInd = kernelAIndGo

// kernelIndWide and kernelAIndWide (mr×nw micro-kernels) exist in assembly only.
var (
	kernelIndWide  func(kb int, a, b []float32, offs []int32, c []float32, ldc, hoff int)
	kernelAIndWide func(kb, rows int, a []float32, aoffs []int32, lda int, b []float32, ldb int, c []float32, ldc int)
)
