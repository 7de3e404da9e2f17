package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// softplusScale64 is the float64 reference of SoftplusScale32 for a
// float32 input: e = softplus(r) + m, log e, sigmoid(r).
func softplusScale64(r, m float32) (e, logE, sig float64) {
	x := float64(r)
	sp := math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x)))
	e = sp + float64(m)
	return e, math.Log(e), 1 / (1 + math.Exp(-x))
}

func TestSoftplusScale32(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var raw []float32
	for _, v := range []float32{0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, 1e-7, -1e-7, 0.5, -0.5, 1, -1,
		15, -15, 17, -17, 30, -30, 80, -80, 87.3, -87.3, 88, -88, 100, -100, 1e10, -1e10, 3e38, -3e38} {
		raw = append(raw, v)
	}
	for len(raw) < 2051 { // a tail that is not a multiple of 8
		switch len(raw) % 3 {
		case 0:
			raw = append(raw, float32(rng.NormFloat64()*3))
		case 1:
			raw = append(raw, float32((rng.Float64()*2-1)*40))
		default:
			raw = append(raw, float32(rng.NormFloat64()*1e-3))
		}
	}
	for _, m := range []float32{1e-3, 1e-6, 0.25} { // m > 0, as minScale {
		n := len(raw)
		e, lg, sg := make([]float32, n), make([]float32, n), make([]float32, n)
		SoftplusScale32(raw, e, lg, sg, m)
		for i, r := range raw {
			we, wl, ws := softplusScale64(r, m)
			check := func(what string, got float32, want, rel, abs float64) {
				t.Helper()
				if d := math.Abs(float64(got) - want); !(d <= rel*math.Abs(want)+abs) {
					t.Fatalf("m=%g raw[%d]=%g: %s = %g, want %g (diff %.3g)", m, i, r, what, got, want, d)
				}
			}
			check("e", e[i], we, 5e-7, 1e-38)
			check("log e", lg[i], wl, 5e-7, 2e-7)
			check("sigmoid", sg[i], ws, 5e-7, 2e-38)
			// The portable path (the tail, and CPUs without AVX2) too.
			se, sl, ss := softplusScale32(r, m)
			check("scalar e", se, we, 5e-7, 1e-38)
			check("scalar log e", sl, wl, 5e-7, 2e-7)
			check("scalar sigmoid", ss, ws, 5e-7, 2e-38)
		}
	}
}

func TestSoftplusScale32NonFinite(t *testing.T) {
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	tests := []struct {
		raw          float32
		e, logE, sig float64 // NaN: want NaN
	}{
		{inf, math.Inf(1), math.Inf(1), 1},
		{-inf, 1e-3, math.Log(float64(float32(1e-3))), 0},
		{nan, math.NaN(), math.NaN(), math.NaN()},
	}
	for _, tc := range tests {
		for _, n := range []int{1, 8, 16} { // scalar tail, vector, vector
			raw := make([]float32, n)
			for i := range raw {
				raw[i] = tc.raw
			}
			e, lg, sg := make([]float32, n), make([]float32, n), make([]float32, n)
			SoftplusScale32(raw, e, lg, sg, 1e-3)
			for i := range raw {
				for _, p := range []struct {
					what string
					got  float32
					want float64
				}{{"e", e[i], tc.e}, {"log e", lg[i], tc.logE}, {"sigmoid", sg[i], tc.sig}} {
					g := float64(p.got)
					ok := math.IsNaN(p.want) && math.IsNaN(g) || g == p.want ||
						math.Abs(g-p.want) <= 1e-6*math.Abs(p.want)+1e-37
					if !ok {
						t.Errorf("raw=%g n=%d lane %d: %s = %g, want %g", tc.raw, n, i, p.what, g, p.want)
					}
				}
			}
		}
	}
}

func BenchmarkSoftplusScale32(b *testing.B) {
	const n = 4096
	raw := make([]float32, n)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range raw {
		raw[i] = float32(rng.NormFloat64())
	}
	e, lg, sg := make([]float32, n), make([]float32, n), make([]float32, n)
	b.Run("vector", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			SoftplusScale32(raw, e, lg, sg, 1e-3)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/elem")
	})
	b.Run("scalar", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for j, r := range raw {
				e[j], lg[j], sg[j] = softplusScale32(r, 1e-3)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/elem")
	})
}
