package tensor

import (
	"fmt"
	"runtime"
	"testing"
)

// BenchmarkGemmBF16 compares, shape by shape in one run, the float32 GEMM
// (fastest kernel, one thread) with GemmBF16 (A and B rounded and packed
// in the call) and GemmBF16Packed (A packed beforehand, as a layer whose
// input serves several products). GFLOP/s = 2·M·N·K / time.
func BenchmarkGemmBF16(b *testing.B) {
	for _, s := range benchShapes {
		tc := gemmCase{transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k}
		shape := fmt.Sprintf("%s_%dx%dx%d", tc.layout(), s.m, s.n, s.k)
		for _, path := range []string{"fp32", "bf16", "bf16packedA"} {
			b.Run(shape+"/"+path, func(b *testing.B) {
				prev := runtime.GOMAXPROCS(1)
				defer runtime.GOMAXPROCS(prev)
				benchGemmBF16(b, path, s.transA, s.transB, s.m, s.n, s.k)
			})
		}
	}
}

func benchGemmBF16(b *testing.B, path string, transA, transB bool, m, n, k int) {
	x, y, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	for i := range x {
		x[i] = float32(i%13) * 0.25
	}
	for i := range y {
		y[i] = float32(i%7) * 0.5
	}
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	var pa BF16Mat
	pa.Pack(transA, m, k, x, lda)
	run := func() {
		switch path {
		case "fp32":
			Gemm(transA, transB, m, n, k, 1, x, lda, y, ldb, 0, c, n)
		case "bf16":
			GemmBF16(transA, transB, m, n, k, 1, x, lda, y, ldb, 0, c, n)
		default:
			GemmBF16Packed(m, n, 0, k, 1, &pa, transB, y, ldb, 0, c, n)
		}
	}
	run()
	b.ResetTimer()
	for b.Loop() {
		run()
	}
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
