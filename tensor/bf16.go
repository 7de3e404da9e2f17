package tensor

import (
	"fmt"
	"math"
)

// Mixed-precision GEMM: C(float32) = alpha·A·B + beta·C where A and B are
// rounded to bfloat16 (8-bit significand) and the products are accumulated
// in float32. On CPUs with AVX512-BF16 the micro-kernel is VDPBF16PS
// (bf16_amd64.s); elsewhere, or with the noasm build tag, a pure-Go kernel
// with the same input rounding runs (slowly: it is the fallback, not a fast
// path). The product of two bf16 values is exact in float32, so both
// kernels differ only in the order of the float32 additions.
//
// Layout: k is taken in pairs. A pair word is 32 bits: the bf16 of an
// even k in the low half, of the next k in the high half. A is rounded
// once per call (or once per matrix with BF16Mat.Pack, reused by
// GemmBF16Packed) into a matrix of pair words with row and pair strides
// (row-major for A, pair-major for Aᵀ, so that both pack with contiguous
// vector conversions), its rows zero-padded to a multiple of 12; B is
// packed per K block into 32-column panels of pair words. The micro-kernel
// broadcasts one of A's words (VPBROADCASTD) and multiplies it with 16 of
// B's words per VDPBF16PS. The bf16 GEMM runs on the calling goroutine.

// bf16 tile and blocking.
const (
	bfMR      = 12  // rows of the register tile
	bfNR      = 32  // columns of the register tile
	bfKC2     = 256 // pairs of k per packed B block (512 values of k)
	bfNC      = 256 // columns per packed B block, a multiple of bfNR
	bfMaxRows = 1 << 26
)

// RoundBF16 returns the bfloat16 nearest to x as its 16-bit pattern, with
// the semantics of VCVTNE2PS2BF16: round to nearest, ties to even;
// denormal inputs become zero of the same sign; NaNs stay NaNs (quieted);
// ±Inf and values that round past the largest bf16 give ±Inf.
func RoundBF16(x float32) uint16 {
	u := math.Float32bits(x)
	switch {
	case u&0x7f800000 == 0: // zero or denormal
		return uint16(u>>16) & 0x8000
	case u&0x7fffffff > 0x7f800000: // NaN
		return uint16(u>>16) | 0x40
	}
	u += 0x7fff + (u>>16)&1
	return uint16(u >> 16)
}

// BF16ToFloat32 widens a bfloat16 bit pattern to float32 (exact).
func BF16ToFloat32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// pairWord packs the bf16 of x (even k, low half) and y (odd k, high half).
func pairWord(x, y float32) uint32 {
	return uint32(RoundBF16(x)) | uint32(RoundBF16(y))<<16
}

// bf16Kernel is the 12×32 bf16 micro-kernel: C[0:12, 0:32] = alpha·A·B +
// beta·C for kc2 ≥ 1 pairs, pair p of A's row i the word a[i*rsA+p*csA], b
// a packed B panel (word b[32p+j]), C row i at c[i*ldc:]. beta == 0 must
// not read C.
type bf16Kernel struct {
	name string
	fn   func(kc2 int, a []uint32, rsA, csA int, b []uint32, c []float32, ldc int, alpha, beta float32)
}

var bf16Generic = &bf16Kernel{name: "generic", fn: kernBF16Generic}

// bf16Active is the kernel in use: the AVX512-BF16 one where the CPU has
// it (bf16_amd64.go), else bf16Generic.
var bf16Active = bf16Generic

// HasBF16 reports whether GemmBF16 runs on hardware bf16 instructions
// (AVX512-BF16). When false it still works, on a slow pure-Go kernel with
// the same rounding: callers that use bf16 for speed should check it.
func HasBF16() bool { return bf16Active != bf16Generic }

// BF16KernelName reports which bf16 GEMM kernel is in use: "avx512bf16" or
// "generic".
func BF16KernelName() string { return bf16Active.name }

// BF16Mat is op(A) (M×K) rounded to bf16 and packed for GemmBF16Packed:
// pair p of row i (the bf16 of A(i, 2p) in the low half, of A(i, 2p+1) in
// the high half) is the word data[i*rs + p*cs], rows padded with zeros to
// a multiple of the tile height. The zero value is empty; Pack fills it,
// reusing its storage.
type BF16Mat struct {
	M, K   int
	k2     int // pairs: ceil(K/2)
	rs, cs int
	data   []uint32
}

// Pack rounds op(A) to bf16 and packs it: op(A) is m×k, A is m×k with row
// stride lda, or k×m when trans. It panics on a bad shape, like Gemm.
func (p *BF16Mat) Pack(trans bool, m, k int, a []float32, lda int) {
	ar, ac := m, k
	if trans {
		ar, ac = k, m
	}
	if m < 0 || k < 0 || m > bfMaxRows || k > bfMaxRows {
		panic(fmt.Sprintf("tensor.BF16Mat.Pack: dimension out of range m=%d k=%d", m, k))
	}
	checkOperand("A", ar, ac, len(a), lda)
	p.M, p.K = m, k
	p.k2 = (k + 1) / 2
	m12 := (m + bfMR - 1) / bfMR * bfMR
	p.data = Grow(p.data, m12*p.k2)
	if !trans {
		// row i: the pair words of A's row i, contiguous
		p.rs, p.cs = p.k2, 1
		for i := 0; i < m; i++ {
			rowWords(p.data[i*p.k2:(i+1)*p.k2], a[i*lda:i*lda+k])
		}
		clear(p.data[m*p.k2:])
		return
	}
	// pair q: rows 2q and 2q+1 of A interleaved, contiguous in i
	p.rs, p.cs = 1, m12
	for q := 0; q < p.k2; q++ {
		d := p.data[q*m12 : (q+1)*m12]
		var r1 []float32
		if 2*q+1 < k {
			r1 = a[(2*q+1)*lda : (2*q+1)*lda+m]
		}
		pairWords(d[:m], a[2*q*lda:2*q*lda+m], r1)
		clear(d[m:])
	}
}

// rowWordsGo sets dst[p] = pair word of (src[2p], src[2p+1]), the odd
// last value pairing with zero; len(dst) = ceil(len(src)/2).
func rowWordsGo(dst []uint32, src []float32) {
	q := 0
	for ; q+1 < len(src); q += 2 {
		dst[q/2] = pairWord(src[q], src[q+1])
	}
	if q < len(src) {
		dst[q/2] = uint32(RoundBF16(src[q]))
	}
}

// pairWordsGo sets dst[j] = pair word of (r0[j], r1[j]); r1 nil means zero
// high halves.
func pairWordsGo(dst []uint32, r0, r1 []float32) {
	r0 = r0[:len(dst)]
	if r1 == nil {
		for j, v := range r0 {
			dst[j] = uint32(RoundBF16(v))
		}
		return
	}
	r1 = r1[:len(dst)]
	for j, v := range r0 {
		dst[j] = pairWord(v, r1[j])
	}
}

// bfBuf holds one call's packing buffers.
type bfBuf struct {
	a    BF16Mat
	b    []uint32 // bfKC2×bfNC words
	col  []uint32 // bfKC2 words: one column of a transposed B
	tile []float32
}

var bfBufs = make(chan *bfBuf, 4)

func getBFBuf() *bfBuf {
	select {
	case b := <-bfBufs:
		return b
	default:
		return &bfBuf{b: make([]uint32, bfKC2*bfNC), col: make([]uint32, bfKC2), tile: make([]float32, bfMR*bfNR)}
	}
}

func putBFBuf(b *bfBuf) {
	select {
	case bfBufs <- b:
	default:
	}
}

// GemmBF16 is Gemm for float32 with A and B rounded to bf16 (RoundBF16)
// and float32 accumulation: C = alpha·op(A)·op(B) + beta·C. The arguments
// are those of Gemm and are checked the same way (it panics on a bad shape
// or stride). It runs on the calling goroutine (no worker threads) and does
// not allocate in steady state.
func GemmBF16(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	buf := getBFBuf()
	buf.a.Pack(transA, m, k, a, lda)
	gemmBF16(buf, m, n, 0, k, alpha, &buf.a, transB, b, ldb, beta, c, ldc)
	putBFBuf(buf)
}

// GemmBF16Packed computes C = alpha·A[0:m, k0:k0+k]·op(B) + beta·C, with A
// packed by BF16Mat.Pack (so that one rounding of A serves several
// products), op(B) k×n (B k×n, or n×k when transB) rounded to bf16, and C
// m×n. k0 must be even; m ≤ a.M, k0+k ≤ a.K. When k is odd and k0+k < a.K,
// the value A(i, k0+k) shares a pair with the last used k and is multiplied
// by zero: it must be finite. It panics on a bad shape, like Gemm.
func GemmBF16Packed(m, n, k0, k int, alpha float32, a *BF16Mat, transB bool, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 || k0 < 0 || k0%2 != 0 || m > a.M || k0+k > a.K {
		panic(fmt.Sprintf("tensor.GemmBF16Packed: m=%d n=%d k0=%d k=%d outside the packed %d×%d A (k0 must be even)", m, n, k0, k, a.M, a.K))
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkOperand("B", br, bc, len(b), ldb)
	checkOperand("C", m, n, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	buf := getBFBuf()
	gemmBF16(buf, m, n, k0, k, alpha, a, transB, b, ldb, beta, c, ldc)
	putBFBuf(buf)
}

// gemmBF16 runs the blocked product (arguments validated, m, n, k > 0).
func gemmBF16(buf *bfBuf, m, n, k0, k int, alpha float32, a *BF16Mat, transB bool, b []float32, ldb int, beta float32, c []float32, ldc int) {
	kn := bf16Active
	k2 := (k + 1) / 2
	p0 := k0 / 2
	tile := buf.tile
	for jc := 0; jc < n; jc += bfNC {
		nc := min(bfNC, n-jc)
		for pc := 0; pc < k2; pc += bfKC2 {
			kc2 := min(bfKC2, k2-pc)
			packBBF16(buf.b, buf.col, transB, b, ldb, 2*pc, min(2*kc2, k-2*pc), kc2, jc, nc)
			bt := beta
			if pc > 0 {
				bt = 1
			}
			for ic := 0; ic < m; ic += bfMR {
				rows := min(bfMR, m-ic)
				ap := a.data[ic*a.rs+(p0+pc)*a.cs:]
				for jr := 0; jr < nc; jr += bfNR {
					cols := min(bfNR, nc-jr)
					bp := buf.b[jr*kc2 : (jr+bfNR)*kc2]
					co := ic*ldc + jc + jr
					if rows == bfMR && cols == bfNR {
						kn.fn(kc2, ap, a.rs, a.cs, bp, c[co:], ldc, alpha, bt)
						continue
					}
					kn.fn(kc2, ap, a.rs, a.cs, bp, tile, bfNR, alpha, 0)
					for i := 0; i < rows; i++ {
						ci := c[co+i*ldc : co+i*ldc+cols]
						ti := tile[i*bfNR : i*bfNR+cols]
						if bt == 0 {
							copy(ci, ti)
						} else {
							for j, v := range ti {
								ci[j] = bt*ci[j] + v
							}
						}
					}
				}
			}
		}
	}
}

// packBBF16 packs op(B)[q0:q0+kq, jc:jc+nc] (kq ≤ 2·kc2 values of k) as
// bf16 pair words into bfNR-column panels of kc2 pairs (the panel of
// column jc+jr at dst[jr*kc2:]), zero-padding the last pair and columns.
// col is scratch of kc2 words.
func packBBF16(dst, col []uint32, transB bool, b []float32, ldb, q0, kq, kc2, jc, nc int) {
	for jr := 0; jr < nc; jr += bfNR {
		cols := min(bfNR, nc-jr)
		d := dst[jr*kc2 : (jr+bfNR)*kc2]
		if transB {
			// op(B)(q, j) = b[j*ldb+q]: column j's pairs are contiguous in B
			for j := 0; j < cols; j++ {
				s := b[(jc+jr+j)*ldb+q0:][:kq]
				cw := col[:(kq+1)/2]
				rowWords(cw, s)
				for p, w := range cw {
					d[p*bfNR+j] = w
				}
				for p := len(cw); p < kc2; p++ {
					d[p*bfNR+j] = 0
				}
			}
			if cols < bfNR {
				for p := 0; p < kc2; p++ {
					clear(d[p*bfNR+cols : (p+1)*bfNR])
				}
			}
			continue
		}
		p0 := 0
		if cols == bfNR {
			p0 = panelWords(d, b[q0*ldb+jc+jr:], ldb, kq/2)
		}
		for p := p0; p < kc2; p++ {
			dp := d[p*bfNR : (p+1)*bfNR]
			q := q0 + 2*p
			if 2*p >= kq {
				clear(dp)
				continue
			}
			r0 := b[q*ldb+jc+jr:][:cols]
			var r1 []float32
			if 2*p+1 < kq {
				r1 = b[(q+1)*ldb+jc+jr:][:cols]
			}
			pairWords(dp[:cols], r0, r1)
			clear(dp[cols:])
		}
	}
}

// kernBF16Generic is the portable bf16 micro-kernel (same contract as
// kernBF16): per pair it adds the odd-k product, then the even-k one, in
// float32 (the order of Intel's VDPBF16PS pseudo-code; each product is
// exact).
func kernBF16Generic(kc2 int, a []uint32, rsA, csA int, b []uint32, c []float32, ldc int, alpha, beta float32) {
	var acc [bfMR][bfNR]float32
	b = b[:kc2*bfNR]
	for p := 0; p < kc2; p++ {
		bp := b[p*bfNR : (p+1)*bfNR]
		for i := range acc {
			aw := a[i*rsA+p*csA]
			alo := math.Float32frombits(aw << 16)
			ahi := math.Float32frombits(aw &^ 0xffff)
			row := &acc[i]
			for j, bw := range bp {
				s := row[j] + ahi*math.Float32frombits(bw&^0xffff)
				row[j] = s + alo*math.Float32frombits(bw<<16)
			}
		}
	}
	for i := range acc {
		ci := c[i*ldc : i*ldc+bfNR]
		for j, v := range acc[i] {
			if beta == 0 {
				ci[j] = alpha * v
			} else {
				ci[j] = beta*ci[j] + alpha*v
			}
		}
	}
}
