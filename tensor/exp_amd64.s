//go:build amd64 && !noasm

#include "textflag.h"

// Scalars broadcast by softmaxSoftplusAVX2: Exp32's constants, then
// Log1p32's.
DATA expc<>+0(SB)/4, $-87.33654      // lower clamp (2^-126)
DATA expc<>+4(SB)/4, $1.44269504     // log2 e
DATA expc<>+8(SB)/4, $0.693359375    // ln2, high part
DATA expc<>+12(SB)/4, $-2.12194440e-4 // ln2, low part
DATA expc<>+16(SB)/4, $1.9875691500e-4
DATA expc<>+20(SB)/4, $1.3981999507e-3
DATA expc<>+24(SB)/4, $8.3334519073e-3
DATA expc<>+28(SB)/4, $4.1665795894e-2
DATA expc<>+32(SB)/4, $1.6666665459e-1
DATA expc<>+36(SB)/4, $5.0000001201e-1
DATA expc<>+40(SB)/4, $1.0
DATA expc<>+44(SB)/4, $127
DATA expc<>+48(SB)/4, $2.0
DATA expc<>+52(SB)/4, $0.3333333333333333  // 1/3
DATA expc<>+56(SB)/4, $0.2                 // 1/5
DATA expc<>+60(SB)/4, $0.14285714285714285 // 1/7
DATA expc<>+64(SB)/4, $0.1111111111111111  // 1/9
DATA expc<>+68(SB)/4, $0.09090909090909091 // 1/11
DATA expc<>+72(SB)/4, $0.07692307692307693 // 1/13
DATA expc<>+76(SB)/4, $0x7fffffff          // abs mask
DATA expc<>+80(SB)/8, $1.0                 // float64
GLOBL expc<>(SB), RODATA|NOPTR, $88

// Lane masks: 8 × −1 then 8 × 0; loading at offset 4(8−n) enables lanes
// 0..n−1.
DATA lanemask<>+0(SB)/8, $-1
DATA lanemask<>+8(SB)/8, $-1
DATA lanemask<>+16(SB)/8, $-1
DATA lanemask<>+24(SB)/8, $-1
DATA lanemask<>+32(SB)/8, $0
DATA lanemask<>+40(SB)/8, $0
DATA lanemask<>+48(SB)/8, $0
DATA lanemask<>+56(SB)/8, $0
GLOBL lanemask<>(SB), RODATA|NOPTR, $64

// func softmaxSoftplusAVX2(pq, d, slope, src *float32, n int, off, lo float32)
//
// pq[0:8] = softmax(src[0:8]), pq[8:16] = softmax(src[8:16]); for i < 8,
// z = src[16+i] + off (0 + off for i ≥ n; those lanes are not loaded),
// d[i] = lo + max(z, 0) + log1p(e^{−|z|}), slope[i] = sigmoid(z).
//
// The three exponentials (Y0, Y1: softmax groups a and b; Y10: −|z|) run
// interleaved, so their latency chains overlap. Softmax reductions work on
// both groups at once through [a.lo | b.lo] op [a.hi | b.hi]. Only plain
// 8-lane stores (masked stores are slow on AMD).
TEXT ·softmaxSoftplusAVX2(SB), NOSPLIT, $0-48
	MOVQ pq+0(FP), DI
	MOVQ d+8(FP), DX
	MOVQ slope+16(FP), R8
	MOVQ src+24(FP), SI
	MOVQ n+32(FP), CX
	LEAQ lanemask<>+32(SB), AX
	SHLQ $2, CX
	SUBQ CX, AX
	VMOVDQU (AX), Y15
	VMASKMOVPS 64(SI), Y15, Y10    // u
	VMOVUPS 0(SI), Y0
	VMOVUPS 32(SI), Y1

	// Softplus argument: Y15 = z, Y14 = max(z, 0), Y10 = −|z|.
	VBROADCASTSS off+40(FP), Y8
	VADDPS Y8, Y10, Y15
	VBROADCASTSS expc<>+76(SB), Y8
	VANDPS Y8, Y15, Y10
	VXORPS Y9, Y9, Y9
	VMAXPS Y15, Y9, Y14            // MAXPS returns its second source (z) on NaN
	VSUBPS Y10, Y9, Y10

	// Group maxima: Y2 = [max a ×4 | max b ×4]; subtract.
	VPERM2F128 $0x20, Y1, Y0, Y2
	VPERM2F128 $0x31, Y1, Y0, Y3
	VMAXPS Y3, Y2, Y2
	VPERMILPS $0x4E, Y2, Y3
	VMAXPS Y3, Y2, Y2
	VPERMILPS $0xB1, Y2, Y3
	VMAXPS Y3, Y2, Y2
	VPERM2F128 $0x00, Y2, Y2, Y3
	VPERM2F128 $0x11, Y2, Y2, Y4
	VSUBPS Y3, Y0, Y0
	VSUBPS Y4, Y1, Y1

	// Exponentials of Y0, Y1, Y10 (all ≤ 0): clamp below (x kept if NaN),
	// n = round(x·log2 e), r = x − n·ln2, p(r) by Horner, e^r = p·r² + r
	// + 1, times 2^n from the exponent bits.
	VBROADCASTSS expc<>+0(SB), Y8
	VMAXPS Y0, Y8, Y0
	VMAXPS Y1, Y8, Y1
	VMAXPS Y10, Y8, Y10
	VBROADCASTSS expc<>+4(SB), Y8
	VMULPS Y8, Y0, Y2
	VMULPS Y8, Y1, Y3
	VMULPS Y8, Y10, Y11
	VROUNDPS $0, Y2, Y2
	VROUNDPS $0, Y3, Y3
	VROUNDPS $0, Y11, Y11
	VBROADCASTSS expc<>+8(SB), Y8
	VFNMADD231PS Y8, Y2, Y0
	VFNMADD231PS Y8, Y3, Y1
	VFNMADD231PS Y8, Y11, Y10
	VBROADCASTSS expc<>+12(SB), Y8
	VFNMADD231PS Y8, Y2, Y0
	VFNMADD231PS Y8, Y3, Y1
	VFNMADD231PS Y8, Y11, Y10
	VBROADCASTSS expc<>+16(SB), Y4
	VMOVAPS Y4, Y5
	VMOVAPS Y4, Y12
	VBROADCASTSS expc<>+20(SB), Y8
	VFMADD213PS Y8, Y0, Y4
	VFMADD213PS Y8, Y1, Y5
	VFMADD213PS Y8, Y10, Y12
	VBROADCASTSS expc<>+24(SB), Y8
	VFMADD213PS Y8, Y0, Y4
	VFMADD213PS Y8, Y1, Y5
	VFMADD213PS Y8, Y10, Y12
	VBROADCASTSS expc<>+28(SB), Y8
	VFMADD213PS Y8, Y0, Y4
	VFMADD213PS Y8, Y1, Y5
	VFMADD213PS Y8, Y10, Y12
	VBROADCASTSS expc<>+32(SB), Y8
	VFMADD213PS Y8, Y0, Y4
	VFMADD213PS Y8, Y1, Y5
	VFMADD213PS Y8, Y10, Y12
	VBROADCASTSS expc<>+36(SB), Y8
	VFMADD213PS Y8, Y0, Y4
	VFMADD213PS Y8, Y1, Y5
	VFMADD213PS Y8, Y10, Y12
	VMULPS Y0, Y0, Y6
	VMULPS Y1, Y1, Y7
	VMULPS Y10, Y10, Y13
	VFMADD213PS Y0, Y6, Y4
	VFMADD213PS Y1, Y7, Y5
	VFMADD213PS Y10, Y13, Y12
	VBROADCASTSS expc<>+40(SB), Y9 // 1
	VADDPS Y9, Y4, Y4
	VADDPS Y9, Y5, Y5
	VADDPS Y9, Y12, Y12
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3
	VCVTPS2DQ Y11, Y11
	VPBROADCASTD expc<>+44(SB), Y8
	VPADDD Y8, Y2, Y2
	VPADDD Y8, Y3, Y3
	VPADDD Y8, Y11, Y11
	VPSLLD $23, Y2, Y2
	VPSLLD $23, Y3, Y3
	VPSLLD $23, Y11, Y11
	VMULPS Y2, Y4, Y4
	VMULPS Y3, Y5, Y5
	VMULPS Y11, Y12, Y12           // e = e^{−|z|} ∈ (0, 1]

	// Softplus divisions: Y13 = 1/(1+e), Y10 = s = e/(2+e).
	VADDPS Y9, Y12, Y13
	VBROADCASTSS expc<>+48(SB), Y8
	VADDPS Y8, Y12, Y10
	VDIVPS Y13, Y9, Y13
	VDIVPS Y10, Y12, Y10

	// Group sums in float64 (as exact as the scalar code's) and their
	// reciprocals, rounded to float32: X2 = [1/Σa, 1/Σa, 1/Σb, 1/Σb].
	VCVTPS2PD X4, Y2
	VEXTRACTF128 $1, Y4, X3
	VCVTPS2PD X3, Y3
	VADDPD Y3, Y2, Y2              // a: 4 partial sums
	VCVTPS2PD X5, Y6
	VEXTRACTF128 $1, Y5, X3
	VCVTPS2PD X3, Y3
	VADDPD Y3, Y6, Y6              // b: 4 partial sums
	VPERM2F128 $0x20, Y6, Y2, Y3
	VPERM2F128 $0x31, Y6, Y2, Y2
	VADDPD Y3, Y2, Y2              // [a, a | b, b] pairs
	VPERMILPD $0x5, Y2, Y3
	VADDPD Y3, Y2, Y2              // [Σa, Σa | Σb, Σb]
	VBROADCASTSD expc<>+80(SB), Y3 // 1.0 (float64)
	VDIVPD Y2, Y3, Y2
	VCVTPD2PSY Y2, X2

	// sigmoid(z): 1/(1+e) for z > 0, e/(1+e) if z's sign bit is set.
	VMULPS Y12, Y13, Y6
	VBLENDVPS Y15, Y6, Y13, Y6
	VMOVUPS Y6, (R8)

	// log1p(e) = 2s(1 + w·P(w)), w = s², P = 1/3 + w/5 + … + w⁵/13 by
	// Estrin: (1/3 + w/5) + w²((1/7 + w/9) + w²(1/11 + w/13)).
	VMULPS Y10, Y10, Y11           // w
	VMULPS Y11, Y11, Y12           // w²
	VBROADCASTSS expc<>+52(SB), Y3
	VBROADCASTSS expc<>+56(SB), Y8
	VFMADD231PS Y8, Y11, Y3        // 1/3 + w/5
	VBROADCASTSS expc<>+60(SB), Y6
	VBROADCASTSS expc<>+64(SB), Y8
	VFMADD231PS Y8, Y11, Y6        // 1/7 + w/9
	VBROADCASTSS expc<>+68(SB), Y7
	VBROADCASTSS expc<>+72(SB), Y8
	VFMADD231PS Y8, Y11, Y7        // 1/11 + w/13
	VFMADD213PS Y6, Y12, Y7
	VFMADD213PS Y3, Y12, Y7        // P
	VFMADD213PS Y9, Y11, Y7        // 1 + w·P
	VADDPS Y10, Y10, Y10
	VMULPS Y10, Y7, Y7             // log1p(e)
	VADDPS Y7, Y14, Y14
	VBROADCASTSS lo+44(FP), Y8
	VADDPS Y8, Y14, Y14
	VMOVUPS Y14, (DX)

	// Normalise the softmaxes.
	VBROADCASTSS X2, Y3
	VPERMILPS $0xAA, X2, X6
	VBROADCASTSS X6, Y6
	VMULPS Y3, Y4, Y4
	VMULPS Y6, Y5, Y5
	VMOVUPS Y4, 0(DI)
	VMOVUPS Y5, 32(DI)
	VZEROUPPER
	RET

// Constants of softplusScaleAVX2 beyond expc<>: musl logf's.
DATA logc<>+0(SB)/4, $0x004afb0d  // 0x3f800000 − 0x3f3504f3
DATA logc<>+4(SB)/4, $0x7f        // exponent bias
DATA logc<>+8(SB)/4, $0x007fffff  // mantissa mask
DATA logc<>+12(SB)/4, $0x3f3504f3 // bits of √½
DATA logc<>+16(SB)/4, $0x3f2aaaaa // Lg1 = 0xaaaaaa·2⁻²⁴
DATA logc<>+20(SB)/4, $0x3eccce13 // Lg2 = 0xccce13·2⁻²⁵
DATA logc<>+24(SB)/4, $0x3e91e9ee // Lg3 = 0x91e9ee·2⁻²⁵
DATA logc<>+28(SB)/4, $0x3e789e26 // Lg4 = 0xf89e26·2⁻²⁶
DATA logc<>+32(SB)/4, $0x3717f7d1 // ln2, low part (9.0580006145e-06)
DATA logc<>+36(SB)/4, $0x3f317180 // ln2, high part (6.9313812256e-01)
DATA logc<>+40(SB)/4, $0x3f000000 // ½
DATA logc<>+44(SB)/4, $0x7f800000 // +Inf
GLOBL logc<>(SB), RODATA|NOPTR, $48

// func softplusScaleAVX2(raw, e, loge, sig *float32, n int, m float32)
//
// For i < n (a multiple of 8): e[i] = m + softplus(r), loge[i] = log e[i],
// sig[i] = sigmoid(r), r = raw[i]; softplus(r) = max(r, 0) + log1p(t),
// t = e^{−|r|}, as Exp32, Log1p32 and Log32 compute them (the exponential
// clamped below at 2^−126 like softmaxSoftplusAVX2's). Where e is +Inf or
// NaN, loge = e.
TEXT ·softplusScaleAVX2(SB), NOSPLIT, $0-44
	MOVQ raw+0(FP), SI
	MOVQ e+8(FP), DI
	MOVQ loge+16(FP), DX
	MOVQ sig+24(FP), R8
	MOVQ n+32(FP), CX
	VBROADCASTSS m+40(FP), Y15
	VBROADCASTSS expc<>+40(SB), Y9 // 1
	SHRQ $3, CX
	JZ spdone

sploop:
	VMOVUPS (SI), Y0               // r
	VBROADCASTSS expc<>+76(SB), Y8
	VANDPS Y8, Y0, Y1              // |r|
	VXORPS Y5, Y5, Y5
	VMAXPS Y0, Y5, Y10             // max(r, 0); r if NaN
	VSUBPS Y1, Y5, Y1              // x = −|r|

	// t = e^x as Exp32, x ≤ 0.
	VBROADCASTSS expc<>+0(SB), Y8
	VMAXPS Y1, Y8, Y1
	VBROADCASTSS expc<>+4(SB), Y8
	VMULPS Y8, Y1, Y2
	VROUNDPS $0, Y2, Y2            // n
	VBROADCASTSS expc<>+8(SB), Y8
	VFNMADD231PS Y8, Y2, Y1
	VBROADCASTSS expc<>+12(SB), Y8
	VFNMADD231PS Y8, Y2, Y1        // ρ = x − n·ln2
	VBROADCASTSS expc<>+16(SB), Y3
	VBROADCASTSS expc<>+20(SB), Y8
	VFMADD213PS Y8, Y1, Y3
	VBROADCASTSS expc<>+24(SB), Y8
	VFMADD213PS Y8, Y1, Y3
	VBROADCASTSS expc<>+28(SB), Y8
	VFMADD213PS Y8, Y1, Y3
	VBROADCASTSS expc<>+32(SB), Y8
	VFMADD213PS Y8, Y1, Y3
	VBROADCASTSS expc<>+36(SB), Y8
	VFMADD213PS Y8, Y1, Y3
	VMULPS Y1, Y1, Y5
	VFMADD213PS Y1, Y5, Y3         // p·ρ² + ρ
	VADDPS Y9, Y3, Y3
	VCVTPS2DQ Y2, Y2
	VPBROADCASTD expc<>+44(SB), Y8
	VPADDD Y8, Y2, Y2
	VPSLLD $23, Y2, Y2
	VMULPS Y2, Y3, Y4              // t ∈ (0, 1]

	// sigmoid(r): q = 1/(1+t) for r ≥ 0, t·q where r's sign bit is set.
	VADDPS Y9, Y4, Y5
	VDIVPS Y5, Y9, Y5
	VMULPS Y4, Y5, Y6
	VBLENDVPS Y0, Y6, Y5, Y5
	VMOVUPS Y5, (R8)

	// log1p(t) as Log1p32: s = t/(2+t), w = s², 2s(1 + w·P(w)), P by
	// Estrin: (1/3 + w/5) + w²((1/7 + w/9) + w²(1/11 + w/13)).
	VBROADCASTSS expc<>+48(SB), Y8 // 2
	VADDPS Y8, Y4, Y6
	VDIVPS Y6, Y4, Y6              // s
	VMULPS Y6, Y6, Y7              // w
	VMULPS Y7, Y7, Y12             // w²
	VBROADCASTSS expc<>+52(SB), Y3
	VBROADCASTSS expc<>+56(SB), Y8
	VFMADD231PS Y8, Y7, Y3         // 1/3 + w/5
	VBROADCASTSS expc<>+60(SB), Y13
	VBROADCASTSS expc<>+64(SB), Y8
	VFMADD231PS Y8, Y7, Y13        // 1/7 + w/9
	VBROADCASTSS expc<>+68(SB), Y14
	VBROADCASTSS expc<>+72(SB), Y8
	VFMADD231PS Y8, Y7, Y14        // 1/11 + w/13
	VFMADD213PS Y13, Y12, Y14
	VFMADD213PS Y3, Y12, Y14       // P
	VFMADD213PS Y9, Y7, Y14        // 1 + w·P
	VADDPS Y6, Y6, Y6
	VMULPS Y6, Y14, Y14            // log1p(t)
	VADDPS Y14, Y10, Y11           // softplus(r)
	VADDPS Y15, Y11, Y11           // e
	VMOVUPS Y11, (DI)

	// log e as Log32 (musl logf): e = 2^k·(1+f), 1+f ∈ [√½, √2),
	// s = f/(2+f), z = s², w = z², log = s(f²/2 + t2 + t1) + k·ln2lo
	// − f²/2 + f + k·ln2hi.
	VPBROADCASTD logc<>+0(SB), Y8
	VPADDD Y8, Y11, Y12            // ix
	VPSRLD $23, Y12, Y13
	VPBROADCASTD logc<>+4(SB), Y8
	VPSUBD Y8, Y13, Y13
	VCVTDQ2PS Y13, Y13             // k
	VPBROADCASTD logc<>+8(SB), Y8
	VPAND Y8, Y12, Y12
	VPBROADCASTD logc<>+12(SB), Y8
	VPADDD Y8, Y12, Y12
	VSUBPS Y9, Y12, Y12            // f
	VBROADCASTSS expc<>+48(SB), Y8 // 2
	VADDPS Y8, Y12, Y6
	VDIVPS Y6, Y12, Y6             // s
	VMULPS Y6, Y6, Y7              // z
	VMULPS Y7, Y7, Y3              // w
	VBROADCASTSS logc<>+28(SB), Y14
	VBROADCASTSS logc<>+20(SB), Y8
	VFMADD213PS Y8, Y3, Y14        // Lg2 + w·Lg4
	VMULPS Y3, Y14, Y14            // t1
	VBROADCASTSS logc<>+24(SB), Y5
	VBROADCASTSS logc<>+16(SB), Y8
	VFMADD213PS Y8, Y3, Y5         // Lg1 + w·Lg3
	VMULPS Y7, Y5, Y5              // t2
	VADDPS Y14, Y5, Y5             // t2 + t1
	VBROADCASTSS logc<>+40(SB), Y8
	VMULPS Y8, Y12, Y3
	VMULPS Y12, Y3, Y3             // hfsq = f²/2
	VADDPS Y3, Y5, Y5
	VMULPS Y6, Y5, Y5              // s(hfsq + t2 + t1)
	VBROADCASTSS logc<>+32(SB), Y8
	VFMADD231PS Y8, Y13, Y5        // + k·ln2lo
	VSUBPS Y3, Y5, Y5              // − hfsq
	VADDPS Y12, Y5, Y5             // + f
	VBROADCASTSS logc<>+36(SB), Y8
	VFMADD231PS Y8, Y13, Y5        // + k·ln2hi

	// e = +Inf or NaN (raw +Inf or NaN): log e = e.
	VBROADCASTSS logc<>+44(SB), Y8
	VCMPPS $5, Y8, Y11, Y3         // !(e < +Inf)
	VBLENDVPS Y3, Y11, Y5, Y5
	VMOVUPS Y5, (DX)

	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, DX
	ADDQ $32, R8
	DECQ CX
	JNZ sploop

spdone:
	VZEROUPPER
	RET
