package flow_test

import (
	"math/rand/v2"
	"testing"

	"github.com/autonf/autonf/flow"
)

// BenchmarkSplineElemK8 times one float32 spline element with K = 8 in
// ns/elem: forward, forward+backward (a training step's spline work) and
// inverse, on 1024 elements with θ ~ N(0, 1) and x ~ N(0, 2²) (≈13 %
// outside [−3, 3]).
func BenchmarkSplineElemK8(b *testing.B) {
	s, _ := flow.NewSpline[float32](8, 3)
	rng := rand.New(rand.NewPCG(1, 1))
	const m = 1024
	P, R := s.NumParams(), s.ScratchLen()
	th := make([]float32, m*P)
	for i := range th {
		th[i] = float32(rng.NormFloat64())
	}
	xs := make([]float32, m)
	for i := range xs {
		xs[i] = float32(2 * rng.NormFloat64())
	}
	scr := make([]float32, m*R)
	dth := make([]float32, m*P)
	perElem := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*m), "ns/elem")
	}
	b.Run("forward", func(b *testing.B) {
		for b.Loop() {
			for i, x := range xs {
				s.Forward(x, th[i*P:(i+1)*P], scr[i*R:(i+1)*R])
			}
		}
		perElem(b)
	})
	b.Run("forward+backward", func(b *testing.B) {
		for b.Loop() {
			for i, x := range xs {
				s.Forward(x, th[i*P:(i+1)*P], scr[i*R:(i+1)*R])
			}
			for i := range xs {
				s.Backward(scr[i*R:(i+1)*R], 1, 1, dth[i*P:(i+1)*P])
			}
		}
		perElem(b)
	})
	b.Run("inverse", func(b *testing.B) {
		for b.Loop() {
			for i, x := range xs {
				s.Inverse(x, th[i*P:(i+1)*P], scr[:R])
			}
		}
		perElem(b)
	})
}
