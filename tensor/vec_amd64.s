//go:build amd64 && !noasm

#include "textflag.h"

// func reluAVX2(v *float32, n int)
TEXT ·reluAVX2(SB), NOSPLIT, $0-16
	MOVQ v+0(FP), SI
	MOVQ n+8(FP), CX
	VXORPS Y0, Y0, Y0
loop32:
	CMPQ CX, $32
	JL loop8
	// max(0, x): MAXPS returns its second source (the memory operand, x)
	// when either is NaN, so NaNs propagate.
	VMAXPS (SI), Y0, Y1
	VMAXPS 32(SI), Y0, Y2
	VMAXPS 64(SI), Y0, Y3
	VMAXPS 96(SI), Y0, Y4
	VMOVUPS Y1, (SI)
	VMOVUPS Y2, 32(SI)
	VMOVUPS Y3, 64(SI)
	VMOVUPS Y4, 96(SI)
	ADDQ $128, SI
	SUBQ $32, CX
	JMP loop32
loop8:
	CMPQ CX, $8
	JL tail
	VMAXPS (SI), Y0, Y1
	VMOVUPS Y1, (SI)
	ADDQ $32, SI
	SUBQ $8, CX
	JMP loop8
tail:
	TESTQ CX, CX
	JE done
	VMOVSS (SI), X1
	VMAXSS X1, X0, X2
	VMOVSS X2, (SI)
	ADDQ $4, SI
	DECQ CX
	JMP tail
done:
	VZEROUPPER
	RET

// func reluGradAVX2(yp, gp *float32, n int)
TEXT ·reluGradAVX2(SB), NOSPLIT, $0-24
	MOVQ yp+0(FP), SI
	MOVQ gp+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
loop8:
	CMPQ CX, $8
	JL tail
	VMOVUPS (SI), Y1
	VCMPPS $0x0e, Y0, Y1, Y2 // y > 0 (GT_OS)
	VANDPS (DI), Y2, Y3
	VMOVUPS Y3, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP loop8
tail:
	TESTQ CX, CX
	JE done
	VMOVSS (SI), X1
	VCMPSS $0x0e, X0, X1, X2
	VANDPS (DI), X2, X3
	VMOVSS X3, (DI)
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP tail
done:
	VZEROUPPER
	RET

// func adamAVX2(pp, gp, mp, vp *float32, n int, b1, c1, b2, c2, step, eps float32)
// m = b1·m + c1·g; v = b2·v + c2·g²; p −= step·m/(√v + eps)
TEXT ·adamAVX2(SB), NOSPLIT, $0-64
	MOVQ pp+0(FP), DI
	MOVQ gp+8(FP), SI
	MOVQ mp+16(FP), R8
	MOVQ vp+24(FP), R9
	MOVQ n+32(FP), CX
	VBROADCASTSS b1+40(FP), Y10
	VBROADCASTSS c1+44(FP), Y14
	VBROADCASTSS b2+48(FP), Y11
	VBROADCASTSS c2+52(FP), Y15
	VBROADCASTSS step+56(FP), Y12
	VBROADCASTSS eps+60(FP), Y13
aloop:
	CMPQ CX, $8
	JL atail
	VMOVUPS (SI), Y0
	VMULPS (R8), Y10, Y1
	VFMADD231PS Y0, Y14, Y1
	VMOVUPS Y1, (R8)
	VMULPS Y0, Y0, Y2
	VMULPS (R9), Y11, Y3
	VFMADD231PS Y2, Y15, Y3
	VMOVUPS Y3, (R9)
	VSQRTPS Y3, Y4
	VADDPS Y13, Y4, Y4
	VDIVPS Y4, Y1, Y5
	VMOVUPS (DI), Y6
	VFNMADD231PS Y5, Y12, Y6
	VMOVUPS Y6, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	SUBQ $8, CX
	JMP aloop
atail:
	TESTQ CX, CX
	JE adone
	VMOVSS (SI), X0
	VMOVSS (R8), X1
	VMULSS X1, X10, X1
	VFMADD231SS X0, X14, X1
	VMOVSS X1, (R8)
	VMULSS X0, X0, X2
	VMOVSS (R9), X3
	VMULSS X3, X11, X3
	VFMADD231SS X2, X15, X3
	VMOVSS X3, (R9)
	VSQRTSS X3, X3, X4
	VADDSS X13, X4, X4
	VDIVSS X4, X1, X5
	VMOVSS (DI), X6
	VFNMADD231SS X5, X12, X6
	VMOVSS X6, (DI)
	ADDQ $4, DI
	ADDQ $4, SI
	ADDQ $4, R8
	ADDQ $4, R9
	DECQ CX
	JMP atail
adone:
	VZEROUPPER
	RET

// func addAVX2(dst, src *float32, n int)  dst += src
TEXT ·addAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
dloop:
	CMPQ CX, $8
	JL dtail
	VMOVUPS (DI), Y0
	VADDPS (SI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	SUBQ $8, CX
	JMP dloop
dtail:
	TESTQ CX, CX
	JE ddone
	VMOVSS (DI), X0
	VADDSS (SI), X0, X0
	VMOVSS X0, (DI)
	ADDQ $4, DI
	ADDQ $4, SI
	DECQ CX
	JMP dtail
ddone:
	VZEROUPPER
	RET

// func mulAVX2(dst, src *float32, n int)  dst *= src
TEXT ·mulAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
mloop:
	CMPQ CX, $8
	JL mtail
	VMOVUPS (DI), Y0
	VMULPS (SI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	SUBQ $8, CX
	JMP mloop
mtail:
	TESTQ CX, CX
	JE mdone
	VMOVSS (DI), X0
	VMULSS (SI), X0, X0
	VMOVSS X0, (DI)
	ADDQ $4, DI
	ADDQ $4, SI
	DECQ CX
	JMP mtail
mdone:
	VZEROUPPER
	RET

// func biasAddAVX2(v, bias *float32, n int, relu bool)
//
// v[i] += bias[i], then max(v[i], 0) when relu (NaNs propagate: MAXPS
// returns its second source, the sum, when either is NaN).
TEXT ·biasAddAVX2(SB), NOSPLIT, $0-25
	MOVQ v+0(FP), DI
	MOVQ bias+8(FP), SI
	MOVQ n+16(FP), CX
	MOVBLZX relu+24(FP), AX
	VXORPS Y0, Y0, Y0
	TESTQ AX, AX
	JZ   baloop32

barloop32:
	CMPQ CX, $32
	JL   barloop8
	VMOVUPS (DI), Y1
	VMOVUPS 32(DI), Y2
	VMOVUPS 64(DI), Y3
	VMOVUPS 96(DI), Y4
	VADDPS (SI), Y1, Y1
	VADDPS 32(SI), Y2, Y2
	VADDPS 64(SI), Y3, Y3
	VADDPS 96(SI), Y4, Y4
	VMAXPS Y1, Y0, Y1
	VMAXPS Y2, Y0, Y2
	VMAXPS Y3, Y0, Y3
	VMAXPS Y4, Y0, Y4
	VMOVUPS Y1, (DI)
	VMOVUPS Y2, 32(DI)
	VMOVUPS Y3, 64(DI)
	VMOVUPS Y4, 96(DI)
	ADDQ $128, DI
	ADDQ $128, SI
	SUBQ $32, CX
	JMP  barloop32

barloop8:
	CMPQ CX, $8
	JL   bartail
	VMOVUPS (DI), Y1
	VADDPS (SI), Y1, Y1
	VMAXPS Y1, Y0, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	SUBQ $8, CX
	JMP  barloop8

bartail:
	TESTQ CX, CX
	JE   badone
	VMOVSS (DI), X1
	VADDSS (SI), X1, X1
	VMAXSS X1, X0, X1
	VMOVSS X1, (DI)
	ADDQ $4, DI
	ADDQ $4, SI
	DECQ CX
	JMP  bartail

baloop32:
	CMPQ CX, $32
	JL   baloop8
	VMOVUPS (DI), Y1
	VMOVUPS 32(DI), Y2
	VMOVUPS 64(DI), Y3
	VMOVUPS 96(DI), Y4
	VADDPS (SI), Y1, Y1
	VADDPS 32(SI), Y2, Y2
	VADDPS 64(SI), Y3, Y3
	VADDPS 96(SI), Y4, Y4
	VMOVUPS Y1, (DI)
	VMOVUPS Y2, 32(DI)
	VMOVUPS Y3, 64(DI)
	VMOVUPS Y4, 96(DI)
	ADDQ $128, DI
	ADDQ $128, SI
	SUBQ $32, CX
	JMP  baloop32

baloop8:
	CMPQ CX, $8
	JL   batail
	VMOVUPS (DI), Y1
	VADDPS (SI), Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	SUBQ $8, CX
	JMP  baloop8

batail:
	TESTQ CX, CX
	JE   badone
	VMOVSS (DI), X1
	VADDSS (SI), X1, X1
	VMOVSS X1, (DI)
	ADDQ $4, DI
	ADDQ $4, SI
	DECQ CX
	JMP  batail

badone:
	VZEROUPPER
	RET

// func transpose8AVX2(dst *float32, ldd int, src *float32, lds int, n int)
//
// For s < n: the 8×8 block of src rows 0..7, columns 8s..8s+7 (row i at
// src[i*lds:]) is written transposed to dst rows 8s..8s+7, columns 0..7
// (row p at dst[p*ldd:]): dst[(8s+q)*ldd + i] = src[i*lds + 8s + q].
// The packing of a transposed GEMM operand.
TEXT ·transpose8AVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ ldd+8(FP), R11
	MOVQ src+16(FP), SI
	MOVQ lds+24(FP), R8
	MOVQ n+32(FP), CX
	SHLQ $2, R11
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9            // 3·lds
	LEAQ (R11)(R11*2), R12         // 3·ldd
	TESTQ CX, CX
	JLE  trdone

trloop:
	LEAQ (SI)(R8*4), R10
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R8*1), Y1
	VMOVUPS (SI)(R8*2), Y2
	VMOVUPS (SI)(R9*1), Y3
	VMOVUPS (R10), Y4
	VMOVUPS (R10)(R8*1), Y5
	VMOVUPS (R10)(R8*2), Y6
	VMOVUPS (R10)(R9*1), Y7

	VUNPCKLPS Y1, Y0, Y8           // r00 r10 r01 r11 | r04 r14 r05 r15
	VUNPCKHPS Y1, Y0, Y9           // r02 r12 r03 r13 | r06 r16 r07 r17
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15

	VSHUFPS $0x44, Y10, Y8, Y0     // r00 r10 r20 r30 | r04 r14 r24 r34
	VSHUFPS $0xEE, Y10, Y8, Y1     // r01 r11 r21 r31 | r05 …
	VSHUFPS $0x44, Y11, Y9, Y2     // r02 … | r06 …
	VSHUFPS $0xEE, Y11, Y9, Y3     // r03 … | r07 …
	VSHUFPS $0x44, Y14, Y12, Y4    // r40 r50 r60 r70 | r44 …
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7

	LEAQ (DI)(R11*4), R13
	VPERM2F128 $0x20, Y4, Y0, Y8   // column 0
	VPERM2F128 $0x20, Y5, Y1, Y9   // column 1
	VPERM2F128 $0x20, Y6, Y2, Y10  // column 2
	VPERM2F128 $0x20, Y7, Y3, Y11  // column 3
	VPERM2F128 $0x31, Y4, Y0, Y12  // column 4
	VPERM2F128 $0x31, Y5, Y1, Y13  // column 5
	VPERM2F128 $0x31, Y6, Y2, Y14  // column 6
	VPERM2F128 $0x31, Y7, Y3, Y15  // column 7
	VMOVUPS Y8, (DI)
	VMOVUPS Y9, (DI)(R11*1)
	VMOVUPS Y10, (DI)(R11*2)
	VMOVUPS Y11, (DI)(R12*1)
	VMOVUPS Y12, (R13)
	VMOVUPS Y13, (R13)(R11*1)
	VMOVUPS Y14, (R13)(R11*2)
	VMOVUPS Y15, (R13)(R12*1)

	ADDQ $32, SI
	LEAQ (DI)(R11*8), DI
	DECQ CX
	JNZ  trloop

trdone:
	VZEROUPPER
	RET
