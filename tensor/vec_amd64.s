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
