package tensor

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/floats"
)

func TestNumHelpers(t *testing.T) {
	if !Is32[float32]() || Is32[float64]() {
		t.Fatal("Is32 wrong")
	}
	if _, ok := As32([]float64{1}); ok {
		t.Error("As32 accepted float64")
	}
	if v, ok := As32([]float32{1, 2}); !ok || len(v) != 2 || v[1] != 2 {
		t.Error("As32 float32")
	}
	s := make([]int, 2, 8)
	if g := Grow(s, 5); len(g) != 5 || &g[0] != &s[0] {
		t.Error("Grow did not reuse storage")
	}
	if g := Grow(s, 9); len(g) != 9 {
		t.Error("Grow did not allocate")
	}
	for _, c := range []struct {
		v    []float64
		want bool
	}{{[]float64{1, 2}, true}, {[]float64{1, math.NaN()}, false}, {[]float64{math.Inf(-1)}, false}, {nil, true}} {
		if AllFinite(c.v) != c.want {
			t.Errorf("AllFinite(%v) != %v", c.v, c.want)
		}
	}
}

// TestSoftmaxLogSumExp compares with gonum's LogSumExp in float64, and the
// float32 softmax with the float64 one.
func TestSoftmaxLogSumExp(t *testing.T) {
	for _, u := range [][]float64{{0}, {1, 2, 3}, {-1000, 0, 1000}, {5, 5, 5, 5}, {-3.5, 2.25, 0.1, 40, -40}} {
		ref := floats.LogSumExp(u)
		if got := LogSumExp(u); math.Abs(got-ref) > 1e-12*(1+math.Abs(ref)) {
			t.Errorf("LogSumExp(%v) = %g, gonum %g", u, got, ref)
		}
		p := make([]float64, len(u))
		Softmax(u, p)
		u32, p32 := make([]float32, len(u)), make([]float32, len(u))
		for i, v := range u {
			u32[i] = float32(v)
		}
		Softmax(u32, p32)
		for i := range u {
			want := math.Exp(u[i] - ref)
			if math.Abs(p[i]-want) > 1e-14 {
				t.Errorf("Softmax(%v)[%d] = %g, want %g", u, i, p[i], want)
			}
			if math.Abs(float64(p32[i])-want) > 1e-6 {
				t.Errorf("float32 Softmax(%v)[%d] = %g, want %g", u, i, p32[i], want)
			}
		}
	}
	if v := LogSumExp([]float64{math.Inf(-1)}); !math.IsInf(v, -1) {
		t.Errorf("LogSumExp(−Inf) = %g", v)
	}
	for _, x := range []float64{-50, -1, 0, 0.5, 30, 800} {
		want := math.Log1p(math.Exp(x))
		if x > 30 {
			want = x
		}
		if got := Softplus(x); math.Abs(got-want) > 1e-12*(1+math.Abs(want)) {
			t.Errorf("Softplus(%g) = %g, want %g", x, got, want)
		}
	}
}
