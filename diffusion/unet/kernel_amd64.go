package unet

// kernel is the micro-kernel of the GEMM.
var kernel = kernelGo
