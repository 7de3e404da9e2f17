//go:build !amd64 || noasm

package tensor

// hasBF16Asm: no bf16 assembly on this architecture or with noasm; the
// generic bf16 kernel is used.
const hasBF16Asm = false

func rowWords(dst []uint32, src []float32) { rowWordsGo(dst, src) }

func pairWords(dst []uint32, r0, r1 []float32) { pairWordsGo(dst, r0, r1) }

func panelWords(dst []uint32, b []float32, ldb, pairs int) int { return 0 }
