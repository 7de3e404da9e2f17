package tensor

import (
	"fmt"
	"runtime"
	"testing"
)

// benchShapes are the shapes of /work/shared/notes/gemm.md: the MLP's
// forward (NN), input gradient (NT) and weight gradient (TN, K = batch).
var benchShapes = []struct {
	transA, transB bool
	m, n, k        int
}{
	{false, false, 512, 256, 256},
	{false, false, 512, 256, 43},
	{false, false, 512, 86, 256},
	{false, true, 512, 256, 256},
	{true, false, 256, 256, 512},
}

// BenchmarkGemm reports GFLOP/s for every float32 path, on one thread and on
// all GOMAXPROCS threads.
func BenchmarkGemm(b *testing.B) {
	for _, name := range kernelNames {
		for _, s := range benchShapes {
			for _, procs := range []int{1, runtime.GOMAXPROCS(0)} {
				tc := gemmCase{transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k}
				b.Run(fmt.Sprintf("%s/%s_%dx%dx%d/threads%d", name, tc.layout(), s.m, s.n, s.k, procs), func(b *testing.B) {
					useKernel(b, name)
					prev := runtime.GOMAXPROCS(procs)
					defer runtime.GOMAXPROCS(prev)
					benchGemm(b, s.transA, s.transB, s.m, s.n, s.k)
				})
			}
		}
	}
}

func benchGemm(b *testing.B, transA, transB bool, m, n, k int) {
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
	Gemm(transA, transB, m, n, k, 1, x, lda, y, ldb, 0, c, n)
	b.ResetTimer()
	for b.Loop() {
		Gemm(transA, transB, m, n, k, 1, x, lda, y, ldb, 0, c, n)
	}
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkGemmCrossover times square-ish problems around the threading
// threshold on one thread and on all threads (parallelThreshold forced to 0)
// to place parallelMinFlops.
func BenchmarkGemmCrossover(b *testing.B) {
	for _, s := range [][3]int{{16, 32, 32}, {32, 32, 32}, {48, 64, 64}, {64, 64, 64}, {96, 96, 96}, {128, 128, 128}, {192, 128, 128}, {256, 256, 256}} {
		for _, procs := range []int{1, runtime.GOMAXPROCS(0)} {
			b.Run(fmt.Sprintf("NN_%dx%dx%d/threads%d", s[0], s[1], s[2], procs), func(b *testing.B) {
				useThreads(b, procs)
				benchGemm(b, false, false, s[0], s[1], s[2])
			})
		}
	}
}
