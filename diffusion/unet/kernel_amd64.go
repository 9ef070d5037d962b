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

// kernelIndAVX2 is kernelAVX2 with B rows read in place: row p at b + offs[p]
// (kernel_amd64.s).
//
//go:noescape
func kernelIndAVX2(kb int, a, b *float32, offs *int32, c *float32, ldc int)

// kernelIndAsm is kernelInd in assembly; b must hold max(offs)+nr values (directB.span).
func kernelIndAsm(kb int, a, b []float32, offs []int32, c []float32, ldc int) {
	if kb == 0 {
		return
	}
	_ = a[kb*mr-1]
	_ = offs[kb-1]
	_ = c[(mr-1)*ldc+nr-1]
	kernelIndAVX2(kb, &a[0], &b[0], &offs[0], &c[0], ldc)
}

// kernelAIndAVX2 is the weight-gradient micro-kernel (kernel_amd64.s).
//
//go:noescape
func kernelAIndAVX2(kb, rows int, a *float32, aoffs *int32, lda int, b *float32, ldb int, c *float32, ldc int)

// checkAInd panics (an index out of range) unless a weight-gradient kernel of the given
// width reads and writes inside a, b and c: the assembly does not check.
func checkAInd(kb, rows int, a []float32, aoffs []int32, lda int, b []float32, ldb int, c []float32, ldc, width int) {
	top := 0
	for _, o := range aoffs[:mr] {
		top = max(top, int(o))
	}
	_ = a[top+(rows-1)*lda+kb-1]
	_ = b[(rows*kb-1)*ldb+width-1]
	_ = c[(mr-1)*ldc+width-1]
}

// kernelAIndAsm is kernelAInd in assembly.
func kernelAIndAsm(kb, rows int, a []float32, aoffs []int32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if kb == 0 || rows == 0 {
		return
	}
	checkAInd(kb, rows, a, aoffs, lda, b, ldb, c, ldc, nr)
	kernelAIndAVX2(kb, rows, &a[0], &aoffs[0], lda, &b[0], ldb, &c[0], ldc)
}

// kernelInd512 and kernelAInd512 are kernelIndAVX2 and kernelAIndAVX2 on nw = 32 columns
// in AVX-512F (kernel_amd64.s).
//
//go:noescape
func kernelInd512(kb int, a, b *float32, offs *int32, c *float32, ldc, hoff int)

//go:noescape
func kernelAInd512(kb, rows int, a *float32, aoffs *int32, lda int, b *float32, ldb int, c *float32, ldc int)

func kernelIndWideAsm(kb int, a, b []float32, offs []int32, c []float32, ldc, hoff int) {
	if kb == 0 {
		return
	}
	_ = a[kb*mr-1]
	_ = offs[kb-1]
	_ = b[hoff+nr-1]
	_ = c[(mr-1)*ldc+nw-1]
	kernelInd512(kb, &a[0], &b[0], &offs[0], &c[0], ldc, hoff)
}

func kernelAIndWideAsm(kb, rows int, a []float32, aoffs []int32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if kb == 0 || rows == 0 {
		return
	}
	checkAInd(kb, rows, a, aoffs, lda, b, ldb, c, ldc, nw)
	kernelAInd512(kb, rows, &a[0], &aoffs[0], lda, &b[0], ldb, &c[0], ldc)
}

// kernelIndWide and kernelAIndWide are the mr×nw micro-kernels of the direct GEMM and the
// weight gradient where the CPU has AVX-512F (nil elsewhere: the nr-column ones serve).
var kernelIndWide, kernelAIndWide = pickWide()

func pickWide() (func(int, []float32, []float32, []int32, []float32, int, int), func(int, int, []float32, []int32, int, []float32, int, []float32, int)) {
	if cpu.X86.HasAVX512F {
		return kernelIndWideAsm, kernelAIndWideAsm
	}
	return nil, nil
}

// kernel is the micro-kernel of the GEMM: AVX2+FMA assembly when the CPU has it.
var kernel = pickKernel()

// kernelInd is the micro-kernel of the direct GEMM (B rows read in place).
var kernelInd = pickKernelInd()

func pickKernelInd() func(kb int, a, b []float32, offs []int32, c []float32, ldc int) {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		return kernelIndAsm
	}
	return kernelIndGo
}

// kernelAInd is the micro-kernel of the weight gradient (A rows read in place).
var kernelAInd = pickKernelAInd()

func pickKernelAInd() func(kb, rows int, a []float32, aoffs []int32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		return kernelAIndAsm
	}
	return kernelAIndGo
}

func pickKernel() func(kb int, a, b, c []float32, ldc int) {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		return kernelAsm
	}
	return kernelGo
}
