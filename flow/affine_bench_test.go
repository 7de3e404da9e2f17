package flow_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/tensor"
)

// affineBench runs the three benchmark kinds (a training step =
// forward+backward, forward only, inverse) of a float32 layer at batch 512.
func affineBench(b *testing.B, typ string) {
	const rows = 512
	for _, d := range []int{8, 43} {
		spec := flow.LayerSpec{Type: typ, Hidden: []int{256, 256}}
		rng := rand.New(rand.NewPCG(1, 2))
		l, err := flow.NewLayer[float32](d, spec, rng)
		if err != nil {
			b.Fatal(err)
		}
		x, z, dz, dx, xr := tensor.New[float32](rows, d), tensor.New[float32](rows, d),
			tensor.New[float32](rows, d), tensor.New[float32](rows, d), tensor.New[float32](rows, d)
		for i := range x.Data {
			x.Data[i] = float32(rng.NormFloat64())
			dz.Data[i] = float32(rng.NormFloat64()) / rows
		}
		ld, dld := make([]float32, rows), make([]float32, rows)
		for i := range dld {
			dld[i] = -1.0 / rows
		}
		w := l.NewOp(nil)
		// Grow the workspace outside the timed loops.
		w.Forward(x, z, ld)
		w.Backward(dz, dld, dx)
		b.Run(fmt.Sprintf("train/D%d", d), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w.Forward(x, z, ld)
				w.Backward(dz, dld, dx)
			}
		})
		b.Run(fmt.Sprintf("forward/D%d", d), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w.Forward(x, z, ld)
			}
		})
		w.Forward(x, z, ld)
		b.Run(fmt.Sprintf("inverse/D%d", d), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w.Inverse(z, xr, ld)
			}
		})
	}
}

// BenchmarkMAF: MADE 2×256, batch 512, float32.
func BenchmarkMAF(b *testing.B) { affineBench(b, "maf") }

// BenchmarkAffineCoupling: conditioner MLP 2×256, batch 512, float32.
func BenchmarkAffineCoupling(b *testing.B) { affineBench(b, "affine-coupling") }
