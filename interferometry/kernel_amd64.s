#include "textflag.h"

// func fma4x2AVX2(coef *[8]float64, tab *float64, stride uintptr, accA, accC *float64, n int)
//
// For kk in [0, n) (n a multiple of 4), with rows t_m = tab + m·stride (bytes):
//   accA[kk] += coef[0]·t_0[kk] + coef[1]·t_1[kk] + coef[2]·t_2[kk] + coef[3]·t_3[kk]
//   accC[kk] += coef[4]·t_0[kk] + coef[5]·t_1[kk] + coef[6]·t_2[kk] + coef[7]·t_3[kk]
TEXT ·fma4x2AVX2(SB), NOSPLIT, $0-48
	MOVQ coef+0(FP), AX
	MOVQ tab+8(FP), SI
	MOVQ stride+16(FP), DX
	MOVQ accA+24(FP), DI
	MOVQ accC+32(FP), R8
	MOVQ n+40(FP), CX
	VBROADCASTSD 0(AX), Y0
	VBROADCASTSD 8(AX), Y1
	VBROADCASTSD 16(AX), Y2
	VBROADCASTSD 24(AX), Y3
	VBROADCASTSD 32(AX), Y4
	VBROADCASTSD 40(AX), Y5
	VBROADCASTSD 48(AX), Y6
	VBROADCASTSD 56(AX), Y7
	LEAQ (SI)(DX*1), R9
	LEAQ (R9)(DX*1), R10
	LEAQ (R10)(DX*1), R11
	XORQ BX, BX
	SHLQ $3, CX

loop:
	CMPQ BX, CX
	JGE  done
	VMOVUPD (SI)(BX*1), Y8
	VMOVUPD (R9)(BX*1), Y9
	VMOVUPD (R10)(BX*1), Y10
	VMOVUPD (R11)(BX*1), Y11
	VMOVUPD (DI)(BX*1), Y12
	VMOVUPD (R8)(BX*1), Y13
	VMULPD  Y10, Y2, Y14
	VMULPD  Y10, Y6, Y15
	VFMADD231PD Y8, Y0, Y12
	VFMADD231PD Y8, Y4, Y13
	VFMADD231PD Y11, Y3, Y14
	VFMADD231PD Y11, Y7, Y15
	VFMADD231PD Y9, Y1, Y12
	VFMADD231PD Y9, Y5, Y13
	VADDPD  Y14, Y12, Y12
	VADDPD  Y15, Y13, Y13
	VMOVUPD Y12, (DI)(BX*1)
	VMOVUPD Y13, (R8)(BX*1)
	ADDQ $32, BX
	JMP  loop

done:
	VZEROUPPER
	RET
