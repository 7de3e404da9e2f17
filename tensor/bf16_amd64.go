//go:build amd64 && !noasm

package tensor

import (
	"os"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// kernBF16 is the 12×32 AVX512-BF16 micro-kernel (bf16_amd64.s, generated
// by bf16_asmgen.go); see bf16Kernel for the contract.
//
//go:noescape
func kernBF16(kc2 int, a *uint32, rsA, csA int, b *uint32, c *float32, ldc int, alpha, beta float32)

// cvtRowBF16 sets dst[p] = pair word of (src[2p], src[2p+1]) for p < n/2,
// n a positive multiple of 32 (VCVTNE2PS2BF16).
//
//go:noescape
func cvtRowBF16(dst *uint32, src *float32, n int)

// cvtPairBF16 sets dst[j] = pair word of (r0[j], r1[j]) for j < n, n a
// positive multiple of 16 (VCVTNEPS2BF16).
//
//go:noescape
func cvtPairBF16(dst *uint32, r0, r1 *float32, n int)

// cvtPanelBF16 packs one 32-column B panel of kc2 ≥ 1 full pairs:
// dst[32p+j] = pair word of (src[2p*ldb+j], src[(2p+1)*ldb+j]).
//
//go:noescape
func cvtPanelBF16(dst *uint32, src *float32, ldb, kc2 int)

// peakBF16 and peakFMA run n iterations of 24 independent VDPBF16PS or
// VFMADD231PS on ZMM registers (benchmarks only).
func peakBF16(n int)
func peakFMA(n int)

var bf16AVX512 = &bf16Kernel{name: "avx512bf16", fn: func(kc2 int, a []uint32, rsA, csA int, b []uint32, c []float32, ldc int, alpha, beta float32) {
	kernBF16(kc2, unsafe.SliceData(a), rsA, csA, unsafe.SliceData(b), unsafe.SliceData(c), ldc, alpha, beta)
}}

// hasBF16Asm: the CPU (and the OS, for the ZMM state) supports AVX512-BF16.
var hasBF16Asm = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512BF16

func init() {
	// AUTONF_GEMM=generic also forces the generic bf16 kernel.
	if hasBF16Asm && os.Getenv("AUTONF_GEMM") != "generic" {
		bf16Active = bf16AVX512
	}
}

// rowWords is rowWordsGo, 32 values at a time in assembly where the CPU
// has AVX512-BF16 (same rounding).
func rowWords(dst []uint32, src []float32) {
	n := 0
	if hasBF16Asm && len(src) >= 32 {
		n = len(src) &^ 31
		_ = dst[n/2-1]
		cvtRowBF16(&dst[0], &src[0], n)
	}
	rowWordsGo(dst[n/2:], src[n:])
}

// pairWords is pairWordsGo, 16 columns at a time in assembly where the CPU
// has AVX512-BF16.
func pairWords(dst []uint32, r0, r1 []float32) {
	n := 0
	if hasBF16Asm && r1 != nil && len(dst) >= 16 {
		n = len(dst) &^ 15
		_, _ = r0[n-1], r1[n-1]
		cvtPairBF16(&dst[0], &r0[0], &r1[0], n)
	}
	var t1 []float32
	if r1 != nil {
		t1 = r1[n:]
	}
	pairWordsGo(dst[n:], r0[n:], t1)
}

// panelWords packs the first full pairs of a 32-column B panel (op(B) not
// transposed, all 32 columns present) in assembly and returns how many
// pairs it packed (0 without AVX512-BF16).
func panelWords(dst []uint32, b []float32, ldb, pairs int) int {
	if !hasBF16Asm || pairs == 0 {
		return 0
	}
	_ = dst[pairs*bfNR-1]
	_ = b[(2*pairs-1)*ldb+bfNR-1]
	cvtPanelBF16(&dst[0], &b[0], ldb, pairs)
	return pairs
}
