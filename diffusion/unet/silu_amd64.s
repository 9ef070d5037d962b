//go:build amd64 && !purego

#include "textflag.h"

DATA silu_c<>+0(SB)/4, $0x42b17218   // 88.72284 (upper clamp of -z)
DATA silu_c<>+4(SB)/4, $0xc2aeac50   // -87.33654 (lower clamp of -z)
DATA silu_c<>+8(SB)/4, $0x3fb8aa3b   // log2(e)
DATA silu_c<>+12(SB)/4, $0x3f000000  // 0.5
DATA silu_c<>+16(SB)/4, $0x3f318000  // ln2 hi 0.693359375
DATA silu_c<>+20(SB)/4, $0xb95e8083  // ln2 lo -2.12194440e-4
DATA silu_c<>+24(SB)/4, $0x39506967  // p0 1.9875691500e-4
DATA silu_c<>+28(SB)/4, $0x3ab743ce  // p1 1.3981999507e-3
DATA silu_c<>+32(SB)/4, $0x3c088908  // p2 8.3334519073e-3
DATA silu_c<>+36(SB)/4, $0x3d2aa9c1  // p3 4.1665795894e-2
DATA silu_c<>+40(SB)/4, $0x3e2aaaaa  // p4 1.6666665459e-1
DATA silu_c<>+44(SB)/4, $0x3f000000  // p5 5.0000001201e-1
DATA silu_c<>+48(SB)/4, $0x3f800000  // 1.0
DATA silu_c<>+52(SB)/4, $0x0000007f  // 127
GLOBL silu_c<>(SB), RODATA|NOPTR, $56

// func siluAffineAVX2(dst, src *float32, n int, a, b float32)
// dst[i] = z/(1+exp(-z)), z = src[i]*a + b, for i < n, n a multiple of 8.
TEXT ·siluAffineAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS a+24(FP), Y14
	VBROADCASTSS b+28(FP), Y15
	SHRQ $3, CX
	JE   done

loop:
	VMOVUPS (SI), Y0
	VFMADD213PS Y15, Y14, Y0           // Y0 = z = x*a + b
	VXORPS Y1, Y1, Y1
	VSUBPS Y0, Y1, Y1                  // Y1 = -z
	VBROADCASTSS silu_c<>+0(SB), Y2
	VMINPS Y2, Y1, Y1
	VBROADCASTSS silu_c<>+4(SB), Y2
	VMAXPS Y2, Y1, Y1                  // clamp
	VBROADCASTSS silu_c<>+8(SB), Y2
	VBROADCASTSS silu_c<>+12(SB), Y3
	VFMADD213PS Y3, Y1, Y2             // Y2 = -z*log2e + 0.5
	VROUNDPS $1, Y2, Y2                // floor → n
	VBROADCASTSS silu_c<>+16(SB), Y3
	VFNMADD231PS Y3, Y2, Y1            // r = -z - n*ln2hi
	VBROADCASTSS silu_c<>+20(SB), Y3
	VFNMADD231PS Y3, Y2, Y1            // r -= n*ln2lo
	VBROADCASTSS silu_c<>+24(SB), Y4   // p
	VBROADCASTSS silu_c<>+28(SB), Y5
	VFMADD213PS Y5, Y1, Y4
	VBROADCASTSS silu_c<>+32(SB), Y5
	VFMADD213PS Y5, Y1, Y4
	VBROADCASTSS silu_c<>+36(SB), Y5
	VFMADD213PS Y5, Y1, Y4
	VBROADCASTSS silu_c<>+40(SB), Y5
	VFMADD213PS Y5, Y1, Y4
	VBROADCASTSS silu_c<>+44(SB), Y5
	VFMADD213PS Y5, Y1, Y4             // p
	VMULPS Y1, Y1, Y5                  // r²
	VBROADCASTSS silu_c<>+48(SB), Y6   // 1
	VADDPS Y6, Y1, Y7                  // r + 1
	VFMADD231PS Y5, Y4, Y7             // y = p*r² + r + 1
	VCVTTPS2DQ Y2, Y2                  // n as int32
	VPBROADCASTD silu_c<>+52(SB), Y3
	VPADDD Y3, Y2, Y2
	VPSLLD $23, Y2, Y2                 // 2^n
	VMULPS Y2, Y7, Y7                  // exp(-z)
	VADDPS Y6, Y7, Y7                  // 1 + exp(-z)
	VDIVPS Y7, Y0, Y0                  // z / (1 + exp(-z))
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNE  loop

done:
	VZEROUPPER
	RET

// func dsiluMulAVX2(d, src *float32, n int, a, b float32)
// d[i] *= s·(1 + z·(1 − s)), s = 1/(1+exp(-z)), z = src[i]*a + b (the derivative of SiLU),
// for i < n, n a multiple of 8.
TEXT ·dsiluMulAVX2(SB), NOSPLIT, $0-32
	MOVQ d+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS a+24(FP), Y14
	VBROADCASTSS b+28(FP), Y15
	SHRQ $3, CX
	JE   done

loop:
	VMOVUPS (SI), Y0
	VFMADD213PS Y15, Y14, Y0           // Y0 = z = x*a + b
	VXORPS Y1, Y1, Y1
	VSUBPS Y0, Y1, Y1                  // Y1 = -z
	VBROADCASTSS silu_c<>+0(SB), Y2
	VMINPS Y2, Y1, Y1
	VBROADCASTSS silu_c<>+4(SB), Y2
	VMAXPS Y2, Y1, Y1                  // clamp
	VBROADCASTSS silu_c<>+8(SB), Y2
	VBROADCASTSS silu_c<>+12(SB), Y3
	VFMADD213PS Y3, Y1, Y2             // Y2 = -z*log2e + 0.5
	VROUNDPS $1, Y2, Y2                // floor → n
	VBROADCASTSS silu_c<>+16(SB), Y3
	VFNMADD231PS Y3, Y2, Y1            // r = -z - n*ln2hi
	VBROADCASTSS silu_c<>+20(SB), Y3
	VFNMADD231PS Y3, Y2, Y1            // r -= n*ln2lo
	VBROADCASTSS silu_c<>+24(SB), Y4   // p
	VBROADCASTSS silu_c<>+28(SB), Y5
	VFMADD213PS Y5, Y1, Y4
	VBROADCASTSS silu_c<>+32(SB), Y5
	VFMADD213PS Y5, Y1, Y4
	VBROADCASTSS silu_c<>+36(SB), Y5
	VFMADD213PS Y5, Y1, Y4
	VBROADCASTSS silu_c<>+40(SB), Y5
	VFMADD213PS Y5, Y1, Y4
	VBROADCASTSS silu_c<>+44(SB), Y5
	VFMADD213PS Y5, Y1, Y4             // p
	VMULPS Y1, Y1, Y5                  // r²
	VBROADCASTSS silu_c<>+48(SB), Y6   // 1
	VADDPS Y6, Y1, Y7                  // r + 1
	VFMADD231PS Y5, Y4, Y7             // y = p*r² + r + 1
	VCVTTPS2DQ Y2, Y2                  // n as int32
	VPBROADCASTD silu_c<>+52(SB), Y3
	VPADDD Y3, Y2, Y2
	VPSLLD $23, Y2, Y2                 // 2^n
	VMULPS Y2, Y7, Y7                  // exp(-z)
	VADDPS Y6, Y7, Y7                  // 1 + exp(-z)
	VDIVPS Y7, Y6, Y8                  // s = 1 / (1 + exp(-z))
	VSUBPS Y8, Y6, Y9                  // 1 - s
	VMULPS Y9, Y0, Y9                  // z(1 - s)
	VADDPS Y6, Y9, Y9                  // 1 + z(1 - s)
	VMULPS Y9, Y8, Y8                  // s(1 + z(1 - s))
	VMOVUPS (DI), Y10
	VMULPS Y8, Y10, Y10
	VMOVUPS Y10, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNE  loop

done:
	VZEROUPPER
	RET
