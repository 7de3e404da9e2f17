package tensor

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// BenchmarkFMAPeak measures the float32 FMA ceiling (24 independent
// 512-bit FMAs in a loop, as in ../shared/notes/gemm.md) on one core and on
// all of them (one goroutine per core), in GFLOP/s: the denominator of the
// reference step's fraction of peak in BENCHMARKS.md.
func BenchmarkFMAPeak(b *testing.B) {
	if !fmaPeak(1) {
		b.Skip("no AVX-512F on this CPU (or a noasm build): no FMA-peak kernel")
	}
	const iters = 1 << 20 // 805 MFLOP per call
	for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run(map[bool]string{true: "cores=1", false: "cores=all"}[workers == 1], func(b *testing.B) {
			start := time.Now()
			for i := 0; i < b.N; i++ {
				var wg sync.WaitGroup
				for w := 0; w < workers; w++ {
					wg.Add(1)
					go func() { defer wg.Done(); fmaPeak(iters) }()
				}
				wg.Wait()
			}
			flops := float64(b.N) * float64(workers) * iters * 768
			b.ReportMetric(flops/time.Since(start).Seconds()/1e9, "GFLOP/s")
		})
	}
}
