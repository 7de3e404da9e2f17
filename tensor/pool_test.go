package tensor

import (
	"runtime"
	"sync/atomic"
	"testing"
)

// TestParallelFor: the parts cover [0, n) exactly once, each at least grain
// long (or the whole range), whatever the core count; and it runs beside
// GEMMs and inside serial sections.
func TestParallelFor(t *testing.T) {
	prev := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
	for _, procs := range []int{1, 2, 4} {
		runtime.GOMAXPROCS(procs)
		for _, tc := range []struct{ n, grain int }{
			{0, 10}, {1, 10}, {19, 10}, {20, 10}, {21, 10}, {1000, 7}, {1 << 16, 1 << 12}, {5, 0},
		} {
			hits := make([]atomic.Int32, tc.n)
			var parts, short atomic.Int32
			fn := func(lo, hi int) {
				parts.Add(1)
				if hi-lo < max(tc.grain, 1) && !(lo == 0 && hi == tc.n) {
					short.Add(1)
				}
				for i := lo; i < hi; i++ {
					hits[i].Add(1)
				}
			}
			ParallelFor(tc.n, tc.grain, fn)
			for i := range hits {
				if h := hits[i].Load(); h != 1 {
					t.Fatalf("procs=%d n=%d grain=%d: index %d covered %d times", procs, tc.n, tc.grain, i, h)
				}
			}
			if short.Load() > 0 {
				t.Errorf("procs=%d n=%d grain=%d: %d parts shorter than the grain", procs, tc.n, tc.grain, short.Load())
			}
			if tc.n == 0 && parts.Load() != 0 {
				t.Errorf("n=0: fn called %d times", parts.Load())
			}
		}
	}
	// Inside a serial section: one call over the whole range.
	runtime.GOMAXPROCS(2)
	BeginSerial()
	var calls atomic.Int32
	ParallelFor(1<<16, 1, func(lo, hi int) {
		calls.Add(1)
		if lo != 0 || hi != 1<<16 {
			t.Errorf("serial section: part [%d, %d)", lo, hi)
		}
	})
	EndSerial()
	if calls.Load() != 1 {
		t.Errorf("serial section: %d calls, want 1", calls.Load())
	}
}
