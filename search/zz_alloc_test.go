package search

import (
	"math/rand/v2"
	"testing"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/tensor"
)

func TestZZLayerAllocs(t *testing.T) {
	for _, sp := range []flow.LayerSpec{specPlanar, specRadial, specLU, specAC} {
		l, _ := flow.NewLayer[float32](3, sp, rand.New(rand.NewPCG(1, 1)))
		w := l.NewWork()
		big := tensor.Convert[float32](randMat(rand.New(rand.NewPCG(1, 2)), 16, 3, 1))
		z := tensor.New[float32](16, 3)
		dx := tensor.New[float32](16, 3)
		ld := make([]float32, 16)
		x := tensor.New[float32](16, 3)
		copy(x.Data, big.Data)
		run := func(n int) {
			x.Resize(n, 3)
			z.Resize(n, 3)
			dx.Resize(n, 3)
			l.Forward(w, x, z, ld[:n])
			l.Backward(w, z, ld[:n], dx)
		}
		run(16)
		a := testing.AllocsPerRun(20, func() { run(5); run(9) })
		t.Logf("%s: %v", sp.Type, a)
	}
}

func BenchmarkZZSample(b *testing.B) {
	sp := space{dim: 3, n: 2, cands: []flow.LayerSpec{specPlanar, specRadial, specLU, specAC},
		pre: []flow.LayerSpec{specLU}, suf: []flow.LayerSpec{specPlanar}}
	net := buildNet[float32](b, sp, 12)
	x := tensor.Convert[float32](randMat(rand.New(rand.NewPCG(1, 2)), 16, sp.dim, 1))
	for i := 0; i < 100; i++ {
		net.SampleLoss(x, true, true)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		net.SampleLoss(x, true, true)
	}
}
