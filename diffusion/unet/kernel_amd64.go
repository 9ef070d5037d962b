//go:build amd64 && !purego

package unet

import "golang.org/x/sys/cpu"

// kernelAVX2 is the 6×16 micro-kernel in AVX2+FMA assembly (kernel_amd64.s).
//
//go:noescape
func kernelAVX2(kb int, a, b, c *float32, ldc int)

func kernelAsm(kb int, a, b, c []float32, ldc int) {
	if kb == 0 {
		return
	}
	_ = a[kb*mr-1]
	_ = b[kb*nr-1]
	_ = c[(mr-1)*ldc+nr-1]
	kernelAVX2(kb, &a[0], &b[0], &c[0], ldc)
}

// kernel is the micro-kernel of the GEMM: AVX2+FMA assembly when the CPU has it.
var kernel = pickKernel()

func pickKernel() func(kb int, a, b, c []float32, ldc int) {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		return kernelAsm
	}
	return kernelGo
}
