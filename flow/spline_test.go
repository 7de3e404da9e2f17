package flow_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/autonf/autonf/flow"
)

func splineTestNear(a, b, tol float64) bool { return math.Abs(a-b) <= tol*(1+math.Abs(b)) }

func splineRandTheta(rng *rand.Rand, n int, scale float64) []float64 {
	th := make([]float64, n)
	for i := range th {
		th[i] = scale * rng.NormFloat64()
	}
	return th
}

// splineLoss is L = gy·y + gl·ld for one element.
func splineLoss(s *flow.Spline[float64], x float64, th []float64, gy, gl float64) float64 {
	scr := make([]float64, s.ScratchLen())
	y, ld := s.Forward(x, th, scr)
	return gy*y + gl*ld
}

// splineInputs are test points in and around [-B, B] for B = 3.
var splineInputs = []float64{
	-100, -3.5, -3 - 1e-9, -3, -3 + 1e-12, -2.999, -2.3, -1.7, -1, -0.5, -1e-3, 0,
	0.2, 0.77, 1.3, 2.2, 2.9, 3 - 1e-12, 3, 3 + 1e-12, 3.01, 7, 1e30, -1e30,
}

func TestSplineZeroParamsIsIdentity(t *testing.T) {
	s, err := flow.NewSpline[float64](8, 3)
	if err != nil {
		t.Fatal(err)
	}
	th := make([]float64, s.NumParams())
	scr := make([]float64, s.ScratchLen())
	for _, x := range splineInputs {
		y, ld := s.Forward(x, th, scr)
		if !splineTestNear(y, x, 1e-12) || math.Abs(ld) > 1e-12 {
			t.Errorf("x=%g: y=%g ld=%g, want identity", x, y, ld)
		}
	}
}

func TestSplineRoundTripAndLogDet(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, K := range []int{2, 3, 8, 16} {
		for _, scale := range []float64{0.5, 2, 5} {
			s, _ := flow.NewSpline[float64](K, 3)
			scr := make([]float64, s.ScratchLen())
			for trial := 0; trial < 20; trial++ {
				th := splineRandTheta(rng, s.NumParams(), scale)
				xs := append([]float64{}, splineInputs...)
				for i := 0; i < 20; i++ {
					xs = append(xs, 4*(2*rng.Float64()-1))
				}
				for _, x := range xs {
					y, ld := s.Forward(x, th, scr)
					xr, ldi := s.Inverse(y, th, scr)
					if !splineTestNear(xr, x, 1e-9) || !splineTestNear(ldi, ld, 1e-9) {
						t.Errorf("K=%d scale=%g x=%.17g: inverse gives %.17g (ld %g vs %g)", K, scale, x, xr, ldi, ld)
					}
					// log-det against the splineFinite-difference slope, away
					// from ±B where the second derivative jumps.
					if math.Abs(math.Abs(x)-3) < 1e-4 || math.Abs(x) > 1e6 {
						continue
					}
					const h = 1e-6
					yp, _ := s.Forward(x+h, th, scr)
					ym, _ := s.Forward(x-h, th, scr)
					fd := (yp - ym) / (2 * h)
					if !splineTestNear(math.Exp(ld), fd, 1e-6) || (fd > 1e-2 && !splineTestNear(ld, math.Log(fd), 1e-5)) {
						t.Errorf("K=%d scale=%g x=%g: ld %.10g, splineFinite-difference log slope %.10g", K, scale, x, ld, math.Log(fd))
					}
				}
			}
		}
	}
}

func TestSplineGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, K := range []int{2, 5, 8} {
		s, _ := flow.NewSpline[float64](K, 3)
		P := s.NumParams()
		scr := make([]float64, s.ScratchLen())
		dth := make([]float64, P)
		for trial := 0; trial < 30; trial++ {
			th := splineRandTheta(rng, P, 2)
			x := 3.5 * (2*rng.Float64() - 1)
			if trial < len(splineInputs) && math.Abs(splineInputs[trial]) < 1e6 && math.Abs(math.Abs(splineInputs[trial])-3) > 1e-5 {
				x = splineInputs[trial]
			}
			gy, gl := rng.NormFloat64(), rng.NormFloat64()
			s.Forward(x, th, scr)
			gx := s.Backward(scr, gy, gl, dth)
			const h = 1e-6
			fdx := (splineLoss(s, x+h, th, gy, gl) - splineLoss(s, x-h, th, gy, gl)) / (2 * h)
			if !splineTestNear(gx, fdx, 1e-6) {
				t.Errorf("K=%d x=%g: dL/dx %.10g, splineFinite difference %.10g", K, x, gx, fdx)
			}
			for i := range th {
				old := th[i]
				th[i] = old + h
				lp := splineLoss(s, x, th, gy, gl)
				th[i] = old - h
				lm := splineLoss(s, x, th, gy, gl)
				th[i] = old
				if fd := (lp - lm) / (2 * h); !splineTestNear(dth[i], fd, 1e-6) {
					t.Errorf("K=%d x=%g: dL/dθ[%d] %.10g, splineFinite difference %.10g", K, x, i, dth[i], fd)
				}
			}
		}
	}
}

// TestSplineEdges feeds the failure cases of other libraries: inputs at and
// around ±B, far outside, and extreme parameters, in both precisions.
func TestSplineEdges(t *testing.T) {
	t.Run("float64", func(t *testing.T) { splineEdges[float64](t) })
	t.Run("float32", func(t *testing.T) { splineEdges[float32](t) })
}

func splineFinite[T flow.Float](v T) bool {
	f := float64(v)
	return !math.IsNaN(f) && !math.IsInf(f, 0)
}

func splineEdges[T flow.Float](t *testing.T) {
	s, _ := flow.NewSpline[T](8, 3)
	P := s.NumParams()
	scr := make([]T, s.ScratchLen())
	dth := make([]T, P)
	rng := rand.New(rand.NewPCG(5, 6))
	eps := 0x1p-52
	if s.ScratchLen() > 0 && T(1+0x1p-30) == 1 {
		eps = 0x1p-23 // float32
	}
	thetas := map[string][]T{}
	for _, v := range []float64{50, -50, 1e4, -1e4} {
		th := make([]T, P)
		for i := range th {
			th[i] = T(v)
		}
		thetas["const"+splineFtoa(v)] = th
		alt := make([]T, P)
		for i := range alt {
			alt[i] = T(v * float64(1-2*(i%2)))
		}
		thetas["alt"+splineFtoa(v)] = alt
	}
	for i := 0; i < 5; i++ {
		th := make([]T, P)
		for j := range th {
			th[j] = T(50 * rng.NormFloat64())
		}
		thetas["rand50-"+splineFtoa(float64(i))] = th
	}
	for name, th := range thetas {
		for _, x64 := range splineInputs {
			x := T(x64)
			x64 = float64(x) // the value actually tested
			y, ld := s.Forward(x, th, scr)
			gx := s.Backward(scr, 1, 1, dth)
			if !splineFinite(y) || !splineFinite(ld) || !splineFinite(gx) {
				t.Fatalf("%s x=%g: y=%g ld=%g dx=%g", name, x64, y, ld, gx)
			}
			for i, g := range dth {
				if !splineFinite(g) {
					t.Fatalf("%s x=%g: dθ[%d]=%g", name, x64, i, g)
				}
			}
			if math.Abs(x64) > 3 {
				if y != x || ld != 0 || gx != 1 {
					t.Errorf("%s x=%g outside: y=%g ld=%g dx=%g, want identity", name, x64, y, ld, gx)
				}
				for i, g := range dth {
					if g != 0 {
						t.Errorf("%s x=%g outside: dθ[%d]=%g, want 0", name, x64, i, g)
					}
				}
			}
			if math.Abs(x64) == 3 && (!splineTestNear(float64(y), x64, 4*eps) || math.Abs(float64(ld)) > 1e-5) {
				t.Errorf("%s x=%g at the bound: y=%g ld=%g, want x and 0", name, x64, y, ld)
			}
			xr, ldi := s.Inverse(y, th, scr)
			if !splineFinite(xr) || !splineFinite(ldi) {
				t.Fatalf("%s inverse at y=%g: x=%g ld=%g", name, y, xr, ldi)
			}
			// A round trip through bins squashed to minimum size is only
			// as accurate as the slope allows; check the mild cases.
			if !splineTestNear(float64(xr), x64, 1e-2) && math.Abs(x64) < 1e6 {
				y2, _ := s.Forward(xr, th, scr)
				if !splineTestNear(float64(y2), float64(y), 1e-4) {
					t.Errorf("%s x=%g: inverse %g maps to %g, not %g", name, x64, xr, y2, y)
				}
			}
		}
		// The inverse on a grid of y, including ±B exactly.
		for i := -40; i <= 40; i++ {
			y := T(3.2 * float64(i) / 40)
			x, ld := s.Inverse(y, th, scr)
			if !splineFinite(x) || !splineFinite(ld) {
				t.Fatalf("%s inverse at y=%g: x=%g ld=%g", name, y, x, ld)
			}
		}
	}
}

func splineFtoa(v float64) string {
	switch {
	case v == 50:
		return "50"
	case v == -50:
		return "-50"
	case v == 1e4:
		return "1e4"
	case v == -1e4:
		return "-1e4"
	}
	return string(rune('0' + int(v)))
}

func TestSplineMonotone(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	s, _ := flow.NewSpline[float64](8, 3)
	scr := make([]float64, s.ScratchLen())
	for trial := 0; trial < 20; trial++ {
		th := splineRandTheta(rng, s.NumParams(), 3)
		prev := math.Inf(-1)
		for i := 0; i <= 4000; i++ {
			x := -3.5 + 7*float64(i)/4000
			y, _ := s.Forward(x, th, scr)
			if !(y > prev) {
				t.Fatalf("trial %d: not increasing at x=%g: y=%.17g after %.17g", trial, x, y, prev)
			}
			prev = y
		}
		// Continuous at the bounds.
		for _, b := range []float64{-3, 3} {
			yi, _ := s.Forward(b-1e-9*math.Copysign(1, b), th, scr)
			if math.Abs(yi-b) > 1e-8 {
				t.Errorf("trial %d: y(%g inside) = %.12g, want ≈ %g", trial, b, yi, b)
			}
		}
	}
}

func TestSplineErrors(t *testing.T) {
	for _, c := range []struct {
		k int
		b float64
	}{{1, 3}, {0, 3}, {-2, 3}, {501, 3}, {8, 0}, {8, -1}, {8, math.Inf(1)}, {8, math.NaN()}} {
		if _, err := flow.NewSpline[float64](c.k, c.b); err == nil {
			t.Errorf("NewSpline(%d, %g): no error", c.k, c.b)
		}
	}
}

func TestSplineAllocs(t *testing.T) {
	s, _ := flow.NewSpline[float32](8, 3)
	th := make([]float32, s.NumParams())
	scr := make([]float32, s.ScratchLen())
	dth := make([]float32, s.NumParams())
	n := testing.AllocsPerRun(100, func() {
		y, _ := s.Forward(0.3, th, scr)
		s.Backward(scr, 1, 1, dth)
		s.Inverse(y, th, scr)
	})
	if n != 0 {
		t.Errorf("%v allocations per element", n)
	}
}

// TestSplineFloat32MatchesFloat64 checks the float32 spline (which uses a
// fast exponential in its softmax) against the float64 one.
func TestSplineFloat32MatchesFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	s64, _ := flow.NewSpline[float64](8, 3)
	s32, _ := flow.NewSpline[float32](8, 3)
	P := s64.NumParams()
	scr64, scr32 := make([]float64, s64.ScratchLen()), make([]float32, s32.ScratchLen())
	d64, d32 := make([]float64, P), make([]float32, P)
	th32 := make([]float32, P)
	for trial := 0; trial < 2000; trial++ {
		for i := range th32 {
			th32[i] = float32(2 * rng.NormFloat64())
		}
		if trial%10 == 0 {
			th32[rng.IntN(P)] = float32(100 * rng.NormFloat64())
		}
		th64 := make([]float64, P)
		for i, v := range th32 {
			th64[i] = float64(v)
		}
		x := float32(3.3 * (2*rng.Float64() - 1))
		y64, ld64 := s64.Forward(float64(x), th64, scr64)
		y32, ld32 := s32.Forward(x, th32, scr32)
		gx64 := s64.Backward(scr64, 0.5, 1, d64)
		gx32 := s32.Backward(scr32, 0.5, 1, d32)
		// float32 knots are off by ~1e-7·B, which the slope amplifies.
		f := max(1, math.Exp(ld64))
		if !splineTestNear(float64(y32), y64, 1e-5*f) || !splineTestNear(float64(ld32), ld64, 1e-4*f) {
			t.Fatalf("x=%g: float32 y=%g ld=%g, float64 y=%g ld=%g", x, y32, ld32, y64, ld64)
		}
		scale := 1 + math.Abs(gx64)
		for _, g := range d64 {
			scale = max(scale, math.Abs(g))
		}
		if math.Abs(float64(gx32)-gx64) > 1e-3*scale*f {
			t.Fatalf("x=%g: float32 dx=%g, float64 %g", x, gx32, gx64)
		}
		for i, g := range d64 {
			if math.Abs(float64(d32[i])-g) > 1e-3*scale*f {
				t.Fatalf("x=%g: float32 dθ[%d]=%g, float64 %g", x, i, d32[i], g)
			}
		}
	}
}
