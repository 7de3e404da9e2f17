package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestReLUKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{1, 3, 7, 8, 9, 31, 32, 33, 100, 1027} {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		v[n/2] = float32(math.NaN())
		if n > 2 {
			v[1] = float32(math.Copysign(0, -1))
		}
		want := make([]float32, n)
		for i, x := range v {
			want[i] = x
			if x < 0 || (x == 0 && math.Signbit(float64(x))) {
				want[i] = 0
			}
		}
		g := make([]float32, n)
		for i := range g {
			g[i] = float32(rng.NormFloat64())
		}
		wantG := make([]float32, n)
		ReLU32(v)
		for i, x := range v {
			if math.IsNaN(float64(want[i])) {
				if !math.IsNaN(float64(x)) {
					t.Fatalf("n=%d: NaN at %d did not propagate (got %v)", n, i, x)
				}
				continue
			}
			if x != want[i] {
				t.Fatalf("n=%d: relu[%d] = %v, want %v", n, i, x, want[i])
			}
		}
		for i := range g {
			if v[i] > 0 {
				wantG[i] = g[i]
			}
		}
		ReLUGrad32(v, g)
		for i := range g {
			if g[i] != wantG[i] {
				t.Fatalf("n=%d: relu grad[%d] = %v, want %v", n, i, g[i], wantG[i])
			}
		}
	}
}
