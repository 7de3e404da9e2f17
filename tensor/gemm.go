package tensor

import (
	"fmt"
	"unsafe"
)

// Gemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices, where
// op(A) is m×k (A is m×k, or k×m when transA), op(B) is k×n (B is k×n, or n×k
// when transB) and C is m×n. lda, ldb, ldc are the row strides. When beta is
// 0, C is overwritten (NaNs in C do not propagate).
//
// float32 runs on the fastest kernel the CPU supports (see KernelName) and
// splits large products across GOMAXPROCS threads; it does not allocate in
// steady state. float64 runs a plain Go loop used as the reference in
// gradient checks.
//
// Gemm panics if a stride is smaller than its row width or a slice is too
// short for the shape and stride. The slices may be shared with the package's
// worker goroutines for the duration of the call, so they escape to the heap.
func Gemm[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	if Is32[T]() {
		sgemm(transA, transB, m, n, k, float32(alpha), f32(a), lda, f32(b), ldb, float32(beta), f32(c), ldc)
		return
	}
	gemmLoop(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// f32 reinterprets a []T whose element is 4 bytes wide (float32 or a named
// float32 type) as []float32 without copying.
func f32[T Float](s []T) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}

// MatMul computes C = op(A)·op(B) + beta·C on whole matrices.
func MatMul[T Float](c, a, b *Mat[T], transA, transB bool, beta T) {
	m, k := a.Rows, a.Cols
	if transA {
		m, k = k, m
	}
	n := b.Cols
	if transB {
		n = b.Rows
	}
	kb := b.Rows
	if transB {
		kb = b.Cols
	}
	if c.Rows != m || c.Cols != n || kb != k {
		panic("tensor.MatMul: shape mismatch")
	}
	Gemm(transA, transB, m, n, k, 1, a.Data, a.Cols, b.Data, b.Cols, beta, c.Data, c.Cols)
}

// checkGemm validates shapes, strides and slice lengths (the assembly
// kernels read and write memory without bounds checks).
func checkGemm(transA, transB bool, m, n, k, la, lda, lb, ldb, lc, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("tensor.Gemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkOperand("A", ar, ac, la, lda)
	checkOperand("B", br, bc, lb, ldb)
	checkOperand("C", m, n, lc, ldc)
}

func checkOperand(name string, rows, cols, l, ld int) {
	if cols > 0 && ld < cols {
		panic(fmt.Sprintf("tensor.Gemm: ld%s=%d < %d columns", name, ld, cols))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if need := (rows-1)*ld + cols; l < need {
		panic(fmt.Sprintf("tensor.Gemm: %s has %d values, %dx%d with stride %d needs %d", name, l, rows, cols, ld, need))
	}
}

// gemmLoop is the plain Go GEMM used for float64 (and, in tests, as a
// structure-independent check). Loops are ordered so that the innermost one
// walks contiguous memory: axpy over rows of B when B is not transposed, dot
// products over rows of B when it is. No term is skipped, so NaN and Inf in A
// or B propagate as IEEE arithmetic says.
func gemmLoop[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(ci)
		} else if beta != 1 {
			for j := range ci {
				ci[j] *= beta
			}
		}
		if k == 0 {
			continue
		}
		if transB {
			for j := range ci {
				bj := b[j*ldb : j*ldb+k]
				var s T
				if transA {
					for p, bv := range bj {
						s += a[p*lda+i] * bv
					}
				} else {
					ai := a[i*lda : i*lda+k]
					for p, bv := range bj {
						s += ai[p] * bv
					}
				}
				ci[j] += alpha * s
			}
			continue
		}
		for p := 0; p < k; p++ {
			var av T
			if transA {
				av = a[p*lda+i]
			} else {
				av = a[i*lda+p]
			}
			av *= alpha
			bp := b[p*ldb : p*ldb+n]
			for j, bv := range bp {
				ci[j] += av * bv
			}
		}
	}
}
