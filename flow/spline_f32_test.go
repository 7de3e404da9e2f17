package flow_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/autonf/autonf/flow"
)

// TestSplineFloat32AllBins checks the float32 spline's three code paths
// (K = 8: one SIMD call; K < 8: padded to 8; K > 8: scalar) against the
// float64 spline: forward values, log-determinants, gradients and the
// inverse, with TestSplineFloat32MatchesFloat64's tolerances, plus the
// identity for zero parameters and a float32 round trip.
func TestSplineFloat32AllBins(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	// Worst errors over the trials, in units of each check's tolerance.
	// Mean absolute errors of y and ld.
	var wy, wld, wg, wx, wldi, sy, sld float64
	var nn int
	rel := func(a, b, tol float64) float64 { return math.Abs(a-b) / (tol * (1 + math.Abs(b))) }
	defer func() {
		t.Logf("worst error / tolerance: y %.3f, ld %.3f, gradients %.3f, inverse x %.3f, inverse ld %.3f", wy, wld, wg, wx, wldi)
		t.Logf("mean |error|: y %.3g, ld %.3g", sy/float64(nn), sld/float64(nn))
	}()
	for _, K := range []int{2, 3, 5, 7, 8, 9, 12} {
		s64, _ := flow.NewSpline[float64](K, 3)
		s32, _ := flow.NewSpline[float32](K, 3)
		P := s64.NumParams()
		scr64, scr32 := make([]float64, s64.ScratchLen()), make([]float32, s32.ScratchLen())
		d64, d32 := make([]float64, P), make([]float32, P)
		th32, th64 := make([]float32, P), make([]float64, P)
		for trial := 0; trial < 3000; trial++ {
			for i := range th32 {
				th32[i] = float32(2 * rng.NormFloat64())
				if trial%3 == 0 {
					th32[i] = 0
				}
			}
			if trial%10 == 1 && trial%3 != 0 {
				th32[rng.IntN(P)] = float32(100 * rng.NormFloat64())
			}
			for i, v := range th32 {
				th64[i] = float64(v)
			}
			x := float32(3.3 * (2*rng.Float64() - 1))
			y64, ld64 := s64.Forward(float64(x), th64, scr64)
			y32, ld32 := s32.Forward(x, th32, scr32)
			gx64 := s64.Backward(scr64, 0.5, 1, d64)
			gx32 := s32.Backward(scr32, 0.5, 1, d32)
			if trial%3 == 0 && (math.Abs(float64(y32-x)) > 4e-7 || math.Abs(float64(ld32)) > 4e-7) {
				t.Errorf("K=%d x=%g zero parameters: y=%g ld=%g, want identity", K, x, y32, ld32)
			}
			// float32 knots are sums of K float32 widths: their ~1e-7·B
			// errors, amplified by the slope and the curvature (measured
			// by the gradient scale), dominate, also in the float32 code
			// before the fast path.
			f := max(1, math.Exp(ld64))
			scale := 1 + math.Abs(gx64)
			for _, g := range d64 {
				scale = max(scale, math.Abs(g))
			}
			wy, wld = max(wy, rel(float64(y32), y64, 1e-5*f)), max(wld, rel(float64(ld32), ld64, 1e-4*f*scale))
			sy += math.Abs(float64(y32) - y64)
			sld += math.Abs(float64(ld32) - ld64)
			nn++
			if !splineTestNear(float64(y32), y64, 1e-5*f) || !splineTestNear(float64(ld32), ld64, 1e-4*f*scale) {
				t.Errorf("K=%d x=%g: float32 y=%g ld=%g, float64 y=%g ld=%g", K, x, y32, ld32, y64, ld64)
			}
			wg = max(wg, math.Abs(float64(gx32)-gx64)/(1e-3*scale*f))
			for i, g := range d64 {
				wg = max(wg, math.Abs(float64(d32[i])-g)/(1e-3*scale*f))
			}
			if math.Abs(float64(gx32)-gx64) > 1e-3*scale*f {
				t.Errorf("K=%d x=%g: float32 dx=%g, float64 %g", K, x, gx32, gx64)
			}
			for i, g := range d64 {
				if math.Abs(float64(d32[i])-g) > 1e-3*scale*f {
					t.Errorf("K=%d x=%g: float32 dθ[%d]=%g, float64 %g", K, x, i, d32[i], g)
				}
			}
			// Inverse of the float32 y, in both precisions.
			// float32 knot errors are amplified by dx/dy = e^{−ld}, and
			// the log-determinant's error by the curvature as well (the
			// float32 code before the fast path needs 1e-3 here too).
			xi32, ldi32 := s32.Inverse(y32, th32, scr32)
			xi64, ldi64 := s64.Inverse(float64(y32), th64, scr64)
			fi := math.Exp(math.Abs(ldi64))
			wx, wldi = max(wx, rel(float64(xi32), xi64, 1e-4*fi)), max(wldi, rel(float64(ldi32), ldi64, 1e-3*fi*scale))
			if !splineTestNear(float64(xi32), xi64, 1e-4*fi) || !splineTestNear(float64(ldi32), ldi64, 1e-3*fi*scale) {
				t.Errorf("K=%d y=%g: float32 inverse x=%g ld=%g, float64 x=%g ld=%g", K, y32, xi32, ldi32, xi64, ldi64)
			}
		}
	}
}

// TestSplineFloat32NaN checks that NaN parameters give NaN, not silently
// finite, results in float32 as in float64.
func TestSplineFloat32NaN(t *testing.T) {
	for _, K := range []int{3, 8, 12} {
		s, _ := flow.NewSpline[float32](K, 3)
		P := s.NumParams()
		scr, dth := make([]float32, s.ScratchLen()), make([]float32, P)
		for pos := 0; pos < 2*K; pos++ { // widths and heights
			th := make([]float32, P)
			th[pos] = float32(math.NaN())
			y, ld := s.Forward(0.1, th, scr)
			if y == y && ld == ld {
				t.Errorf("K=%d NaN θ[%d]: y=%g ld=%g", K, pos, y, ld)
			}
			s.Backward(scr, 1, 1, dth)
		}
	}
}
