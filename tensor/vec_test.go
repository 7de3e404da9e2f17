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

func TestAddMulAdam(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, n := range []int{1, 5, 8, 13, 64, 333} {
		r := func() []float32 {
			v := make([]float32, n)
			for i := range v {
				v[i] = float32(rng.NormFloat64())
			}
			return v
		}
		a, b := r(), r()
		sum, prod := make([]float32, n), make([]float32, n)
		for i := range a {
			sum[i], prod[i] = a[i]+b[i], a[i]*b[i]
		}
		a2 := append([]float32(nil), a...)
		Add32(a, b)
		Mul32(a2, b)
		for i := range a {
			if a[i] != sum[i] || a2[i] != prod[i] {
				t.Fatalf("n=%d i=%d: add %v want %v, mul %v want %v", n, i, a[i], sum[i], a2[i], prod[i])
			}
		}
		p, g, m, v := r(), r(), r(), r()
		for i := range v {
			v[i] = v[i] * v[i]
		}
		const b1, b2, step, eps = 0.9, 0.999, 1e-3, 1e-8
		wp, wm, wv := make([]float64, n), make([]float64, n), make([]float64, n)
		for i := range p {
			wm[i] = b1*float64(m[i]) + (1-b1)*float64(g[i])
			wv[i] = b2*float64(v[i]) + (1-b2)*float64(g[i])*float64(g[i])
			wp[i] = float64(p[i]) - step*wm[i]/(math.Sqrt(wv[i])+eps)
		}
		Adam32(p, g, m, v, b1, b2, step, eps)
		for i := range p {
			if math.Abs(float64(p[i])-wp[i]) > 1e-6*(1+math.Abs(wp[i])) || math.Abs(float64(m[i])-wm[i]) > 1e-6 || math.Abs(float64(v[i])-wv[i]) > 1e-6*(1+wv[i]) {
				t.Fatalf("n=%d i=%d: adam p %v m %v v %v, want %v %v %v", n, i, p[i], m[i], v[i], wp[i], wm[i], wv[i])
			}
		}
	}
}

func TestBiasAdd32(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, n := range []int{1, 3, 7, 8, 9, 31, 32, 33, 86, 256, 1027} {
		for _, relu := range []bool{false, true} {
			v := make([]float32, n)
			bias := make([]float32, n+3) // longer than v: only its prefix is used
			for i := range v {
				v[i] = float32(rng.NormFloat64())
			}
			for i := range bias {
				bias[i] = float32(rng.NormFloat64())
			}
			v[n/2] = float32(math.NaN())
			want := make([]float32, n)
			for i, x := range v {
				s := float64(x) + float64(bias[i]) // exact in float64, then rounded once
				if relu && s < 0 {
					s = 0
				}
				want[i] = float32(s)
			}
			BiasAdd32(v, bias, relu)
			for i, x := range v {
				if math.IsNaN(float64(want[i])) {
					if !math.IsNaN(float64(x)) {
						t.Fatalf("n=%d relu=%v: NaN at %d did not propagate (got %v)", n, relu, i, x)
					}
					continue
				}
				if x != want[i] {
					t.Fatalf("n=%d relu=%v: v[%d] = %v, want %v", n, relu, i, x, want[i])
				}
			}
		}
	}
}
