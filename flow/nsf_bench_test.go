package flow_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/tensor"
)

// BenchmarkNSF times the float32 NSF layers at batch 512, hidden [256, 256]
// and the default 8 bins: a training step (forward+backward), the forward
// pass alone and the inverse.
func BenchmarkNSF(b *testing.B) {
	const n = 512
	for _, typ := range []string{"nsf-coupling", "nsf-ar"} {
		for _, d := range []int{8, 43} {
			l, err := flow.NewLayer[float32](d, flow.LayerSpec{Type: typ, Hidden: []int{256, 256}}, rand.New(rand.NewPCG(1, 2)))
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(3, 4))
			x := tensor.New[float32](n, d)
			for i := range x.Data {
				x.Data[i] = float32(1.5 * rng.NormFloat64())
			}
			z, dz, dx := tensor.New[float32](n, d), tensor.New[float32](n, d), tensor.New[float32](n, d)
			for i := range dz.Data {
				dz.Data[i] = float32(rng.NormFloat64()) / n
			}
			ld, dld := make([]float32, n), make([]float32, n)
			for i := range dld {
				dld[i] = -1.0 / n
			}
			w := l.NewOp(nil)
			name := fmt.Sprintf("%s/D=%d", typ, d)
			b.Run(name+"/train", func(b *testing.B) {
				for b.Loop() {
					w.Forward(x, z, ld)
					w.Backward(dz, dld, dx)
				}
			})
			b.Run(name+"/forward", func(b *testing.B) {
				for b.Loop() {
					w.Forward(x, z, ld)
				}
			})
			w.Forward(x, z, ld)
			xi := tensor.New[float32](n, d)
			b.Run(name+"/inverse", func(b *testing.B) {
				for b.Loop() {
					w.Inverse(z, xi, ld)
				}
			})
		}
	}
}

// BenchmarkSplineElement times one spline element in float32: forward,
// backward and inverse separately.
func BenchmarkSplineElement(b *testing.B) {
	s, _ := flow.NewSpline[float32](8, 3)
	rng := rand.New(rand.NewPCG(1, 1))
	const m = 1024
	th := make([]float32, m*s.NumParams())
	for i := range th {
		th[i] = float32(rng.NormFloat64())
	}
	xs := make([]float32, m)
	for i := range xs {
		xs[i] = float32(2 * rng.NormFloat64())
	}
	P, R := s.NumParams(), s.ScratchLen()
	scr := make([]float32, m*R)
	dth := make([]float32, m*P)
	b.Run("forward", func(b *testing.B) {
		for b.Loop() {
			for i, x := range xs {
				s.Forward(x, th[i*P:(i+1)*P], scr[i*R:(i+1)*R])
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*m), "ns/elem")
	})
	b.Run("backward", func(b *testing.B) {
		for b.Loop() {
			for i := range xs {
				s.Backward(scr[i*R:(i+1)*R], 1, 1, dth[i*P:(i+1)*P])
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*m), "ns/elem")
	})
	b.Run("inverse", func(b *testing.B) {
		for b.Loop() {
			for i, x := range xs {
				s.Inverse(x, th[i*P:(i+1)*P], scr[:R])
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*m), "ns/elem")
	})
}
