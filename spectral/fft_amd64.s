//go:build !purego

#include "textflag.h"

// AVX2+FMA kernels of one Stockham stage for a fixed butterfly index p (see radix4 in
// fft.go). Input segments x_j = x + j·xs, output segments y_k = y + k·s (complex128
// units); s complex values per segment, processed two per ymm register with a one-value
// xmm tail. mask flips the sign of one lane of the swapped (b − d), giving ±i·(b − d).

// func r4avx(y, x *complex128, s, xs int, w *complex128, mask *[4]uint64)
TEXT ·r4avx(SB), NOSPLIT, $0-48
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ s+16(FP), DX
	MOVQ xs+24(FP), R8
	MOVQ w+32(FP), AX
	MOVQ mask+40(FP), BX
	VBROADCASTSD 0(AX), Y9
	VBROADCASTSD 8(AX), Y10
	VBROADCASTSD 16(AX), Y11
	VBROADCASTSD 24(AX), Y12
	VBROADCASTSD 32(AX), Y13
	VBROADCASTSD 40(AX), Y14
	SHLQ $4, DX           // s in bytes
	SHLQ $4, R8           // xs in bytes
	LEAQ (SI)(R8*1), R9   // x1
	LEAQ (R9)(R8*1), R10  // x2
	LEAQ (R10)(R8*1), R8  // x3
	LEAQ (DI)(DX*1), R11  // y1
	LEAQ (R11)(DX*1), R12 // y2
	LEAQ (R12)(DX*1), R13 // y3
	MOVQ DX, CX
	ANDQ $-32, CX         // bytes handled two at a time
	XORQ AX, AX

r4loop:
	CMPQ AX, CX
	JGE  r4tail
	VMOVUPD (SI)(AX*1), Y0
	VMOVUPD (R9)(AX*1), Y1
	VMOVUPD (R10)(AX*1), Y2
	VMOVUPD (R8)(AX*1), Y3
	VADDPD  Y2, Y0, Y4 // a+c
	VSUBPD  Y2, Y0, Y5 // a-c
	VADDPD  Y3, Y1, Y6 // b+d
	VSUBPD  Y3, Y1, Y7 // b-d
	VPERMILPD $5, Y7, Y7
	VXORPD  (BX), Y7, Y7 // ±i(b-d)
	VADDPD  Y6, Y4, Y0
	VMOVUPD Y0, (DI)(AX*1)
	VSUBPD  Y6, Y4, Y2 // t2
	VSUBPD  Y7, Y5, Y1 // t1
	VADDPD  Y7, Y5, Y3 // t3
	VPERMILPD $5, Y1, Y8
	VMULPD  Y10, Y8, Y8
	VFMADDSUB231PD Y9, Y1, Y8
	VMOVUPD Y8, (R11)(AX*1)
	VPERMILPD $5, Y2, Y4
	VMULPD  Y12, Y4, Y4
	VFMADDSUB231PD Y11, Y2, Y4
	VMOVUPD Y4, (R12)(AX*1)
	VPERMILPD $5, Y3, Y5
	VMULPD  Y14, Y5, Y5
	VFMADDSUB231PD Y13, Y3, Y5
	VMOVUPD Y5, (R13)(AX*1)
	ADDQ $32, AX
	JMP  r4loop

r4tail:
	CMPQ AX, DX
	JGE  r4done
	VMOVUPD (SI)(AX*1), X0
	VMOVUPD (R9)(AX*1), X1
	VMOVUPD (R10)(AX*1), X2
	VMOVUPD (R8)(AX*1), X3
	VADDPD  X2, X0, X4
	VSUBPD  X2, X0, X5
	VADDPD  X3, X1, X6
	VSUBPD  X3, X1, X7
	VPERMILPD $1, X7, X7
	VXORPD  (BX), X7, X7
	VADDPD  X6, X4, X0
	VMOVUPD X0, (DI)(AX*1)
	VSUBPD  X6, X4, X2
	VSUBPD  X7, X5, X1
	VADDPD  X7, X5, X3
	VPERMILPD $1, X1, X8
	VMULPD  X10, X8, X8
	VFMADDSUB231PD X9, X1, X8
	VMOVUPD X8, (R11)(AX*1)
	VPERMILPD $1, X2, X4
	VMULPD  X12, X4, X4
	VFMADDSUB231PD X11, X2, X4
	VMOVUPD X4, (R12)(AX*1)
	VPERMILPD $1, X3, X5
	VMULPD  X14, X5, X5
	VFMADDSUB231PD X13, X3, X5
	VMOVUPD X5, (R13)(AX*1)

r4done:
	VZEROUPPER
	RET

// func r4avxNoTw(y, x *complex128, s, xs int, mask *[4]uint64)
TEXT ·r4avxNoTw(SB), NOSPLIT, $0-40
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ s+16(FP), DX
	MOVQ xs+24(FP), R8
	MOVQ mask+32(FP), BX
	SHLQ $4, DX
	SHLQ $4, R8
	LEAQ (SI)(R8*1), R9
	LEAQ (R9)(R8*1), R10
	LEAQ (R10)(R8*1), R8
	LEAQ (DI)(DX*1), R11
	LEAQ (R11)(DX*1), R12
	LEAQ (R12)(DX*1), R13
	MOVQ DX, CX
	ANDQ $-32, CX
	XORQ AX, AX

n4loop:
	CMPQ AX, CX
	JGE  n4tail
	VMOVUPD (SI)(AX*1), Y0
	VMOVUPD (R9)(AX*1), Y1
	VMOVUPD (R10)(AX*1), Y2
	VMOVUPD (R8)(AX*1), Y3
	VADDPD  Y2, Y0, Y4
	VSUBPD  Y2, Y0, Y5
	VADDPD  Y3, Y1, Y6
	VSUBPD  Y3, Y1, Y7
	VPERMILPD $5, Y7, Y7
	VXORPD  (BX), Y7, Y7
	VADDPD  Y6, Y4, Y0
	VSUBPD  Y6, Y4, Y2
	VSUBPD  Y7, Y5, Y1
	VADDPD  Y7, Y5, Y3
	VMOVUPD Y0, (DI)(AX*1)
	VMOVUPD Y1, (R11)(AX*1)
	VMOVUPD Y2, (R12)(AX*1)
	VMOVUPD Y3, (R13)(AX*1)
	ADDQ $32, AX
	JMP  n4loop

n4tail:
	CMPQ AX, DX
	JGE  n4done
	VMOVUPD (SI)(AX*1), X0
	VMOVUPD (R9)(AX*1), X1
	VMOVUPD (R10)(AX*1), X2
	VMOVUPD (R8)(AX*1), X3
	VADDPD  X2, X0, X4
	VSUBPD  X2, X0, X5
	VADDPD  X3, X1, X6
	VSUBPD  X3, X1, X7
	VPERMILPD $1, X7, X7
	VXORPD  (BX), X7, X7
	VADDPD  X6, X4, X0
	VSUBPD  X6, X4, X2
	VSUBPD  X7, X5, X1
	VADDPD  X7, X5, X3
	VMOVUPD X0, (DI)(AX*1)
	VMOVUPD X1, (R11)(AX*1)
	VMOVUPD X2, (R12)(AX*1)
	VMOVUPD X3, (R13)(AX*1)

n4done:
	VZEROUPPER
	RET

// func r2avxNoTw(y, x *complex128, s, xs int)
TEXT ·r2avxNoTw(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ s+16(FP), DX
	MOVQ xs+24(FP), R8
	SHLQ $4, DX
	SHLQ $4, R8
	LEAQ (SI)(R8*1), R9
	LEAQ (DI)(DX*1), R11
	MOVQ DX, CX
	ANDQ $-32, CX
	XORQ AX, AX

n2loop:
	CMPQ AX, CX
	JGE  n2tail
	VMOVUPD (SI)(AX*1), Y0
	VMOVUPD (R9)(AX*1), Y1
	VADDPD  Y1, Y0, Y2
	VSUBPD  Y1, Y0, Y3
	VMOVUPD Y2, (DI)(AX*1)
	VMOVUPD Y3, (R11)(AX*1)
	ADDQ $32, AX
	JMP  n2loop

n2tail:
	CMPQ AX, DX
	JGE  n2done
	VMOVUPD (SI)(AX*1), X0
	VMOVUPD (R9)(AX*1), X1
	VADDPD  X1, X0, X2
	VSUBPD  X1, X0, X3
	VMOVUPD X2, (DI)(AX*1)
	VMOVUPD X3, (R11)(AX*1)

n2done:
	VZEROUPPER
	RET

// func trStrip(dst, src *complex128, n, r, c int)
// Transposes a 2×(2n) block: src rows i, i+1 (row stride c) starting at column j0 go to
// dst rows j0…j0+2n−1 (row stride r) at columns i, i+1.
TEXT ·trStrip(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ r+24(FP), R8
	MOVQ c+32(FP), R9
	SHLQ $4, R8
	SHLQ $4, R9
	LEAQ (SI)(R9*1), R10 // src row i+1
	LEAQ (DI)(R8*1), R11 // dst row j0+1
	SHLQ $1, R8          // two dst rows
	XORQ AX, AX
trloop:
	TESTQ CX, CX
	JE    trdone
	VMOVUPD (SI)(AX*1), Y0
	VMOVUPD (R10)(AX*1), Y1
	VPERM2F128 $0x20, Y1, Y0, Y2
	VPERM2F128 $0x31, Y1, Y0, Y3
	VMOVUPD Y2, (DI)
	VMOVUPD Y3, (R11)
	ADDQ $32, AX
	ADDQ R8, DI
	ADDQ R8, R11
	DECQ CX
	JMP  trloop
trdone:
	VZEROUPPER
	RET

DATA conjmask<>+0(SB)/8, $0
DATA conjmask<>+8(SB)/8, $0x8000000000000000
DATA conjmask<>+16(SB)/8, $0
DATA conjmask<>+24(SB)/8, $0x8000000000000000
GLOBL conjmask<>(SB), RODATA, $32

// func pairAVX(ra, rb *complex128, n int, c *[5]float64)
// For i < n, with a = ra[i], b = rb[i] (both loaded before either is stored):
//   ra[i] = h·(a + b̄) + ca·(a − b̄),  rb[i] = h·(b + ā) + cb·(b − ā),
// c = {h, Re ca, Im ca, Re cb, Im cb}. ra may equal rb when ca = cb.
TEXT ·pairAVX(SB), NOSPLIT, $0-32
	MOVQ ra+0(FP), DI
	MOVQ rb+8(FP), SI
	MOVQ n+16(FP), DX
	MOVQ c+24(FP), AX
	VBROADCASTSD 0(AX), Y8
	VBROADCASTSD 8(AX), Y9
	VBROADCASTSD 16(AX), Y10
	VBROADCASTSD 24(AX), Y11
	VBROADCASTSD 32(AX), Y12
	VMOVUPD conjmask<>(SB), Y13
	SHLQ $4, DX
	MOVQ DX, CX
	ANDQ $-32, CX
	XORQ AX, AX
ploop:
	CMPQ AX, CX
	JGE  ptail
	VMOVUPD (DI)(AX*1), Y0
	VMOVUPD (SI)(AX*1), Y1
	VXORPD  Y13, Y0, Y2 // ā
	VXORPD  Y13, Y1, Y3 // b̄
	VADDPD  Y3, Y0, Y4  // a+b̄
	VSUBPD  Y3, Y0, Y5  // a−b̄
	VADDPD  Y2, Y1, Y6  // b+ā
	VSUBPD  Y2, Y1, Y7  // b−ā
	VPERMILPD $5, Y5, Y0
	VMULPD  Y10, Y0, Y0
	VFMADDSUB231PD Y9, Y5, Y0 // ca·(a−b̄)
	VFMADD231PD Y8, Y4, Y0    // + h·(a+b̄)
	VPERMILPD $5, Y7, Y1
	VMULPD  Y12, Y1, Y1
	VFMADDSUB231PD Y11, Y7, Y1
	VFMADD231PD Y8, Y6, Y1
	VMOVUPD Y0, (DI)(AX*1)
	VMOVUPD Y1, (SI)(AX*1)
	ADDQ $32, AX
	JMP  ploop
ptail:
	CMPQ AX, DX
	JGE  pdone
	VMOVUPD (DI)(AX*1), X0
	VMOVUPD (SI)(AX*1), X1
	VXORPD  X13, X0, X2
	VXORPD  X13, X1, X3
	VADDPD  X3, X0, X4
	VSUBPD  X3, X0, X5
	VADDPD  X2, X1, X6
	VSUBPD  X2, X1, X7
	VPERMILPD $1, X5, X0
	VMULPD  X10, X0, X0
	VFMADDSUB231PD X9, X5, X0
	VFMADD231PD X8, X4, X0
	VPERMILPD $1, X7, X1
	VMULPD  X12, X1, X1
	VFMADDSUB231PD X11, X7, X1
	VFMADD231PD X8, X6, X1
	VMOVUPD X0, (DI)(AX*1)
	VMOVUPD X1, (SI)(AX*1)
pdone:
	VZEROUPPER
	RET

// func splitTAVX(d0, d1, ra, rb *complex128, n, ld int, c *[5]float64)
// The pairAVX arithmetic on rows ra, rb (n values, n even), with the results stored
// transposed: A_i → d0[i·ld], B_i → d1[i·ld].
TEXT ·splitTAVX(SB), NOSPLIT, $0-56
	MOVQ d0+0(FP), R8
	MOVQ d1+8(FP), R9
	MOVQ ra+16(FP), DI
	MOVQ rb+24(FP), SI
	MOVQ n+32(FP), DX
	MOVQ ld+40(FP), R10
	MOVQ c+48(FP), AX
	VBROADCASTSD 0(AX), Y8
	VBROADCASTSD 8(AX), Y9
	VBROADCASTSD 16(AX), Y10
	VBROADCASTSD 24(AX), Y11
	VBROADCASTSD 32(AX), Y12
	VMOVUPD conjmask<>(SB), Y13
	SHLQ $4, DX
	SHLQ $4, R10         // ld in bytes
	LEAQ (R10)(R10*1), R11 // two rows
	XORQ AX, AX
sloop:
	CMPQ AX, DX
	JGE  sdone
	VMOVUPD (DI)(AX*1), Y0
	VMOVUPD (SI)(AX*1), Y1
	VXORPD  Y13, Y0, Y2
	VXORPD  Y13, Y1, Y3
	VADDPD  Y3, Y0, Y4
	VSUBPD  Y3, Y0, Y5
	VADDPD  Y2, Y1, Y6
	VSUBPD  Y2, Y1, Y7
	VPERMILPD $5, Y5, Y0
	VMULPD  Y10, Y0, Y0
	VFMADDSUB231PD Y9, Y5, Y0
	VFMADD231PD Y8, Y4, Y0
	VPERMILPD $5, Y7, Y1
	VMULPD  Y12, Y1, Y1
	VFMADDSUB231PD Y11, Y7, Y1
	VFMADD231PD Y8, Y6, Y1
	VMOVUPD X0, (R8)
	VEXTRACTF128 $1, Y0, X2
	VMOVUPD X2, (R8)(R10*1)
	VMOVUPD X1, (R9)
	VEXTRACTF128 $1, Y1, X3
	VMOVUPD X3, (R9)(R10*1)
	ADDQ R11, R8
	ADDQ R11, R9
	ADDQ $32, AX
	JMP  sloop
sdone:
	VZEROUPPER
	RET

// func mergeTAVX(ra, rb, s0, s1 *complex128, n, ld int, c *[5]float64)
// The pairAVX arithmetic on a_i = s0[i·ld], b_i = s1[i·ld] (n values, n even), results
// stored to the rows ra, rb.
TEXT ·mergeTAVX(SB), NOSPLIT, $0-56
	MOVQ ra+0(FP), DI
	MOVQ rb+8(FP), SI
	MOVQ s0+16(FP), R8
	MOVQ s1+24(FP), R9
	MOVQ n+32(FP), DX
	MOVQ ld+40(FP), R10
	MOVQ c+48(FP), AX
	VBROADCASTSD 0(AX), Y8
	VBROADCASTSD 8(AX), Y9
	VBROADCASTSD 16(AX), Y10
	VBROADCASTSD 24(AX), Y11
	VBROADCASTSD 32(AX), Y12
	VMOVUPD conjmask<>(SB), Y13
	SHLQ $4, DX
	SHLQ $4, R10
	LEAQ (R10)(R10*1), R11
	XORQ AX, AX
mloop:
	CMPQ AX, DX
	JGE  mdone
	VMOVUPD (R8), X0
	VINSERTF128 $1, (R8)(R10*1), Y0, Y0
	VMOVUPD (R9), X1
	VINSERTF128 $1, (R9)(R10*1), Y1, Y1
	VXORPD  Y13, Y0, Y2
	VXORPD  Y13, Y1, Y3
	VADDPD  Y3, Y0, Y4
	VSUBPD  Y3, Y0, Y5
	VADDPD  Y2, Y1, Y6
	VSUBPD  Y2, Y1, Y7
	VPERMILPD $5, Y5, Y0
	VMULPD  Y10, Y0, Y0
	VFMADDSUB231PD Y9, Y5, Y0
	VFMADD231PD Y8, Y4, Y0
	VPERMILPD $5, Y7, Y1
	VMULPD  Y12, Y1, Y1
	VFMADDSUB231PD Y11, Y7, Y1
	VFMADD231PD Y8, Y6, Y1
	VMOVUPD Y0, (DI)(AX*1)
	VMOVUPD Y1, (SI)(AX*1)
	ADDQ R11, R8
	ADDQ R11, R9
	ADDQ $32, AX
	JMP  mloop
mdone:
	VZEROUPPER
	RET

// func r4gatherAVX(y, x *complex128, n, ld, xs int, w *complex128, mask *[4]uint64)
// A radix-4 stage whose inputs are columns of a row-major array: input j, element i is
// x[i·ld + j·xs]; outputs are contiguous rows y[k·n + i]; twiddles w[0…2]. n even.
TEXT ·r4gatherAVX(SB), NOSPLIT, $0-56
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ ld+24(FP), DX
	MOVQ xs+32(FP), R8
	MOVQ w+40(FP), AX
	MOVQ mask+48(FP), BX
	VBROADCASTSD 0(AX), Y9
	VBROADCASTSD 8(AX), Y10
	VBROADCASTSD 16(AX), Y11
	VBROADCASTSD 24(AX), Y12
	VBROADCASTSD 32(AX), Y13
	VBROADCASTSD 40(AX), Y14
	SHLQ $4, CX           // n in bytes: row length of y
	SHLQ $4, DX           // ld in bytes
	SHLQ $4, R8           // xs in bytes
	LEAQ (SI)(R8*1), R9   // x1
	LEAQ (R9)(R8*1), R10  // x2
	LEAQ (R10)(R8*1), R8  // x3
	LEAQ (DI)(CX*1), R11  // y1
	LEAQ (R11)(CX*1), R12 // y2
	LEAQ (R12)(CX*1), R13 // y3
	XORQ AX, AX
gloop:
	CMPQ AX, CX
	JGE  gdone
	VMOVUPD (SI), X0
	VINSERTF128 $1, (SI)(DX*1), Y0, Y0
	VMOVUPD (R9), X1
	VINSERTF128 $1, (R9)(DX*1), Y1, Y1
	VMOVUPD (R10), X2
	VINSERTF128 $1, (R10)(DX*1), Y2, Y2
	VMOVUPD (R8), X3
	VINSERTF128 $1, (R8)(DX*1), Y3, Y3
	VADDPD  Y2, Y0, Y4
	VSUBPD  Y2, Y0, Y5
	VADDPD  Y3, Y1, Y6
	VSUBPD  Y3, Y1, Y7
	VPERMILPD $5, Y7, Y7
	VXORPD  (BX), Y7, Y7
	VADDPD  Y6, Y4, Y0
	VMOVUPD Y0, (DI)(AX*1)
	VSUBPD  Y6, Y4, Y2
	VSUBPD  Y7, Y5, Y1
	VADDPD  Y7, Y5, Y3
	VPERMILPD $5, Y1, Y8
	VMULPD  Y10, Y8, Y8
	VFMADDSUB231PD Y9, Y1, Y8
	VMOVUPD Y8, (R11)(AX*1)
	VPERMILPD $5, Y2, Y4
	VMULPD  Y12, Y4, Y4
	VFMADDSUB231PD Y11, Y2, Y4
	VMOVUPD Y4, (R12)(AX*1)
	VPERMILPD $5, Y3, Y5
	VMULPD  Y14, Y5, Y5
	VFMADDSUB231PD Y13, Y3, Y5
	VMOVUPD Y5, (R13)(AX*1)
	ADDQ DX, SI
	ADDQ DX, SI
	ADDQ DX, R9
	ADDQ DX, R9
	ADDQ DX, R10
	ADDQ DX, R10
	ADDQ DX, R8
	ADDQ DX, R8
	ADDQ $32, AX
	JMP  gloop
gdone:
	VZEROUPPER
	RET
