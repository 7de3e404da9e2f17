package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

func relErr(got float32, want float64) float64 {
	if want == 0 {
		return math.Abs(float64(got))
	}
	return math.Abs(float64(got)-want) / math.Abs(want)
}

func TestExp32(t *testing.T) {
	worst := 0.0
	for i := 0; i <= 2_000_000; i++ {
		x := float32(-87.3 + 176*float64(i)/2_000_000)
		if x > 88.7 {
			break
		}
		e := relErr(Exp32(x), math.Exp(float64(x)))
		worst = max(worst, e)
	}
	if worst > 3e-7 {
		t.Errorf("Exp32: worst relative error %g", worst)
	}
	for _, c := range []struct{ x, want float32 }{
		{0, 1}, {-100, 0}, {float32(math.Inf(-1)), 0}, {float32(math.Inf(1)), float32(math.Inf(1))}, {89, float32(math.Inf(1))},
	} {
		if got := Exp32(c.x); got != c.want {
			t.Errorf("Exp32(%g) = %g, want %g", c.x, got, c.want)
		}
	}
	if v := Exp32(float32(math.NaN())); v == v {
		t.Errorf("Exp32(NaN) = %g", v)
	}
	if v := Exp32(88.7); math.IsInf(float64(v), 0) || relErr(v, math.Exp(float64(float32(88.7)))) > 3e-7 {
		t.Errorf("Exp32(88.7) = %g", v)
	}
}

func TestLog32(t *testing.T) {
	worst := 0.0
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2_000_000; i++ {
		x := float32(math.Exp(rng.Float64()*170 - 85))
		if i < 100_000 {
			x = float32(0.5 + 1.5*float64(i)/100_000)
		}
		want := math.Log(float64(x))
		got := Log32(x)
		// ulp-scaled error: relative to max(|log x|, 1/8)
		e := math.Abs(float64(got)-want) / max(math.Abs(want), 0.125)
		worst = max(worst, e)
	}
	if worst > 2.5e-7 {
		t.Errorf("Log32: worst error %g", worst)
	}
	if v := Log32(1); v != 0 {
		t.Errorf("Log32(1) = %g", v)
	}
	for _, x := range []float32{0, -1, 1e-40, float32(math.Inf(1)), float32(math.NaN())} {
		want := float32(math.Log(float64(x)))
		got := Log32(x)
		if !(got == want || (got != got && want != want)) {
			t.Errorf("Log32(%g) = %g, want %g", x, got, want)
		}
	}
}

func TestLog1p32(t *testing.T) {
	worst := 0.0
	for i := 0; i <= 1_000_000; i++ {
		x := float32(float64(i) / 1_000_000)
		worst = max(worst, relErr(Log1p32(x), math.Log1p(float64(x))))
	}
	for i := 0; i < 250; i++ { // down to float32's smallest normals
		x := float32(math.Pow(2, -float64(i)/2))
		worst = max(worst, relErr(Log1p32(x), math.Log1p(float64(x))))
	}
	if worst > 4e-7 {
		t.Errorf("Log1p32: worst relative error %g", worst)
	}
}

func softmaxRef(src []float32) []float64 {
	m := src[0]
	for _, v := range src {
		m = max(m, v)
	}
	var s float64
	out := make([]float64, len(src))
	for i, v := range src {
		out[i] = math.Exp(float64(v - m)) // v − m rounds in float32 in the code under test too
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}

// spRef is the float64 reference of SoftmaxSoftplus8's softplus part.
func spRef(u, off, lo float32) (d, slope float64) {
	z := float64(u + off) // the float32 sum, as in the code
	return float64(lo) + max(z, 0) + math.Log1p(math.Exp(-math.Abs(z))), 1 / (1 + math.Exp(-z))
}

type ssFunc func(pq *[16]float32, d, slope *[8]float32, src []float32, off, lo float32)

func checkSoftmaxSoftplus8(t *testing.T, name string, f ssFunc) {
	rng := rand.New(rand.NewPCG(3, 4))
	const off, lo = 0.5413248, 1e-3
	src := make([]float32, 24)
	var pq [16]float32
	var d, sl [8]float32
	for trial := 0; trial < 30000; trial++ {
		n := trial % 9
		scale := []float64{0.01, 1, 5, 30, 1e4}[trial%5]
		for i := range src {
			src[i] = float32(scale * rng.NormFloat64())
		}
		f(&pq, &d, &sl, src[:16+n], off, lo)
		for g := 0; g < 2; g++ {
			want := softmaxRef(src[8*g : 8*g+8])
			for i, w := range want {
				got := float64(pq[8*g+i])
				// relative 1e-6 in float32's normal range; the clamp
				// leaves ≤ 1.2e-38 where the exact value underflows
				if math.Abs(got-w) > 1e-6*w+1.2e-38 {
					t.Fatalf("%s: src %v: pq[%d] = %g, want %g", name, src, 8*g+i, got, w)
				}
			}
		}
		for i := 0; i < 8; i++ {
			u := float32(0)
			if i < n {
				u = src[16+i]
			}
			wd, ws := spRef(u, off, lo)
			if math.Abs(float64(d[i])-wd) > 4e-7*wd {
				t.Fatalf("%s: u=%g: d=%g, want %g", name, u, d[i], wd)
			}
			if math.Abs(float64(sl[i])-ws) > 4e-7*ws+1.2e-38 {
				t.Fatalf("%s: u=%g: slope=%g, want %g", name, u, sl[i], ws)
			}
		}
	}
	// Softmax in place over src, NaN and Inf.
	for i := range src {
		src[i] = float32(i % 8)
	}
	f((*[16]float32)(src), &d, &sl, src[:16], off, lo)
	want := softmaxRef([]float32{0, 1, 2, 3, 4, 5, 6, 7})
	for i := range 16 {
		if math.Abs(float64(src[i])-want[i%8]) > 1e-6*want[i%8] {
			t.Fatalf("%s in place: %v", name, src)
		}
	}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, bad := range []float32{nan, inf} {
		for pos := 0; pos < 16; pos++ {
			for i := range src {
				src[i] = float32(i % 5)
			}
			src[pos] = bad
			f(&pq, &d, &sl, src, off, lo)
			g := pos / 8
			for i := 0; i < 8; i++ {
				if v := pq[8*g+i]; v == v {
					t.Fatalf("%s: %g at %d: pq[%d] = %g, want NaN", name, bad, pos, 8*g+i, v)
				}
				if v := pq[8*(1-g)+i]; v != v {
					t.Fatalf("%s: %g at %d leaked into the other group", name, bad, pos)
				}
			}
		}
	}
	copy(src[16:], []float32{nan, inf, -inf, 0})
	f(&pq, &d, &sl, src[:20], off, lo)
	if d[0] == d[0] || sl[0] == sl[0] {
		t.Errorf("%s: NaN gives d=%g slope=%g", name, d[0], sl[0])
	}
	if !math.IsInf(float64(d[1]), 1) || sl[1] != 1 {
		t.Errorf("%s: +Inf gives d=%g slope=%g", name, d[1], sl[1])
	}
	if d[2] != lo || sl[2] > 1.2e-38 {
		t.Errorf("%s: −Inf gives d=%g slope=%g", name, d[2], sl[2])
	}
}

func TestSoftmaxSoftplus8(t *testing.T) {
	checkSoftmaxSoftplus8(t, "go", softmaxSoftplusGo)
	if hasExpAsm {
		checkSoftmaxSoftplus8(t, "avx2", SoftmaxSoftplus8)
	}
}

func BenchmarkSoftmaxSoftplus8(b *testing.B) {
	src := make([]float32, 23)
	for i := range src {
		src[i] = float32(i%7) * 0.3
	}
	var pq [16]float32
	var d, sl [8]float32
	b.Run("asm", func(b *testing.B) {
		for b.Loop() {
			SoftmaxSoftplus8(&pq, &d, &sl, src, 0.5, 1e-3)
		}
	})
	b.Run("go", func(b *testing.B) {
		for b.Loop() {
			softmaxSoftplusGo(&pq, &d, &sl, src, 0.5, 1e-3)
		}
	})
}
