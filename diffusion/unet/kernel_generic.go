//go:build !amd64 || purego

package unet

// kernel is the micro-kernel of the GEMM (portable Go on this architecture).
var kernel = kernelGo
