package flow_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/autonf/autonf/flow"
)

// TestSplineFloat32FiniteDifferences checks the float32 spline's Backward
// against finite differences of its own float32 Forward (all three code
// paths: K < 8, K = 8, K > 8), for L = a·y + b·log dy/dx. The step is
// large enough that float32 rounding (~1e−7 relative) stays well below
// the tolerance. log dy/dx has a kink at each knot (the spline is C¹, its
// log-slope only C⁰), so where the central difference straddles one the
// check falls back to the one-sided difference on Backward's side; such
// points must stay rare.
func TestSplineFloat32FiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	const h, tol = 2e-3, 5e-3
	for _, K := range []int{3, 8, 11} {
		s, _ := flow.NewSpline[float32](K, 3)
		P := s.NumParams()
		scr, fscr := make([]float32, s.ScratchLen()), make([]float32, s.ScratchLen())
		th, dth := make([]float32, P), make([]float32, P)
		checks, kinks := 0, 0
		// check compares the backward value g with differences of f at
		// offsets ±h (central) or ±h/4 (one-sided, at a kink).
		check := func(what string, x float32, g float32, f func(d float32) float64) {
			checks++
			num := (f(h) - f(-h)) / (2 * h)
			if math.Abs(float64(g)-num) <= tol*(1+math.Abs(num)) {
				return
			}
			f0 := f(0)
			left, right := (f0-f(-h/4))/(h/4), (f(h/4)-f0)/(h/4)
			for _, one := range []float64{left, right} {
				if math.Abs(float64(g)-one) <= 4*tol*(1+math.Abs(one)) {
					kinks++
					return
				}
			}
			t.Errorf("K=%d x=%g: %s backward %.6g, finite differences %.6g (central), %.6g / %.6g (one-sided)", K, x, what, g, num, left, right)
		}
		for trial := 0; trial < 200; trial++ {
			for i := range th {
				th[i] = float32(0.7 * rng.NormFloat64())
			}
			x := float32(2.8 * (2*rng.Float64() - 1))
			a, b := float32(rng.NormFloat64()), float32(rng.NormFloat64())
			loss := func(x float32) float64 {
				y, ld := s.Forward(x, th, fscr)
				return float64(a)*float64(y) + float64(b)*float64(ld)
			}
			s.Forward(x, th, scr)
			gx := s.Backward(scr, a, b, dth)
			check("dL/dx", x, gx, func(d float32) float64 { return loss(x + d) })
			for i := range th {
				old := th[i]
				check("dL/dθ", x, dth[i], func(d float32) float64 {
					th[i] = old + d
					defer func() { th[i] = old }()
					return loss(x)
				})
			}
		}
		if kinks*20 > checks {
			t.Errorf("K=%d: %d of %d checks needed the one-sided fallback", K, kinks, checks)
		}
	}
}
