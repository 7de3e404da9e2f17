package flow_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/tensor"
)

// BenchmarkSimpleLayers times one training step (forward + backward with
// parameter gradients), a forward and an inverse of each simple layer in
// float32 on a batch of 512 rows, at D = 8 and D = 43.
func BenchmarkSimpleLayers(b *testing.B) {
	const n = 512
	for _, typ := range slTypes {
		for _, d := range []int{8, 43} {
			l, err := flow.NewLayer[float32](d, flow.LayerSpec{Type: typ}, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(2, 2))
			x, z := tensor.New[float32](n, d), tensor.New[float32](n, d)
			dz, dx := tensor.New[float32](n, d), tensor.New[float32](n, d)
			for i := range x.Data {
				x.Data[i], dz.Data[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
			}
			ld, dld := make([]float32, n), make([]float32, n)
			for i := range dld {
				dld[i] = -1.0 / n
			}
			w := l.NewOp(nil)
			training := func(on bool) {
				if s, ok := l.(flow.TrainingSetter); ok {
					s.SetTraining(on)
				}
			}
			b.Run(fmt.Sprintf("%s/D=%d/train", typ, d), func(b *testing.B) {
				training(true)
				defer training(false)
				b.ReportAllocs()
				for b.Loop() {
					w.Forward(x, z, ld)
					w.Backward(dz, dld, dx)
				}
			})
			b.Run(fmt.Sprintf("%s/D=%d/forward", typ, d), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					w.Forward(x, z, ld)
				}
			})
			xr := tensor.New[float32](n, d)
			b.Run(fmt.Sprintf("%s/D=%d/inverse", typ, d), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					w.Inverse(z, xr, ld)
				}
			})
		}
	}
}
