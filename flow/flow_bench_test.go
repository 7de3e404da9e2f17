package flow_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/tensor"
	"github.com/autonf/autonf/train"
)

// The peer comparison of issue #2: 5-layer flows (hidden 2×256, batch 512)
// at D = 8 and 43 — training step (forward + backward + Adam), log-density
// and sampling throughput — and the reference step (one MADE 8→256→256→16).

func benchFlow(b *testing.B, typ string, layers, dim int) *flow.Flow[float32] {
	var ls []flow.LayerSpec
	for i := 0; i < layers; i++ {
		s := flow.LayerSpec{Type: typ, Hidden: []int{256, 256}}
		switch typ {
		case "maf", "nsf-ar":
			s.Order = []string{"natural", "reversed"}[i%2]
		default:
			s.Mask = []string{"even", "odd"}[i%2]
		}
		if typ == "nsf-ar" || typ == "nsf-coupling" {
			s.Bins = 8
		}
		ls = append(ls, s)
	}
	f, err := flow.Build[float32](&flow.Spec{Dim: dim, Layers: ls}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		b.Fatal(err)
	}
	return f
}

func randBatch(rows, dim int) *tensor.Mat[float32] {
	rng := rand.New(rand.NewPCG(2, 2))
	x := tensor.New[float32](rows, dim)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	return x
}

var peerFamilies = []string{"maf", "nsf-ar", "affine-coupling"}

// BenchmarkReferenceStep also reports the step's GEMM throughput, as
// executed (masked blocks skipped) and dense-equivalent (the FLOPs of full
// weight matrices, the count of issue 9), to set beside BenchmarkFMAPeak in
// package tensor.
func BenchmarkReferenceStep(b *testing.B) {
	f := benchFlow(b, "maf", 1, 8)
	benchTrainStep(b, f, randBatch(512, 8))
	exec, dense := f.Layers[0].(interface{ MADE() *flow.MLP[float32] }).MADE().TrainFLOPs(512)
	s := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(exec/s/1e9, "GFLOP/s")
	b.ReportMetric(dense/s/1e9, "dense-GFLOP/s")
}

func benchTrainStep(b *testing.B, f *flow.Flow[float32], x *tensor.Mat[float32]) {
	ps := f.Params()
	params := make([]*flow.Param[float32], len(ps))
	for i, p := range ps {
		params[i] = p.Param
	}
	opt := train.NewAdam(params)
	step := func() {
		f.ZeroGrad()
		if _, err := f.NLLGrad(x); err != nil {
			b.Fatal(err)
		}
		opt.Step(1e-4)
	}
	step()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step()
	}
	b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms/step")
}

func BenchmarkTrainStep5(b *testing.B) {
	for _, typ := range peerFamilies {
		for _, d := range []int{8, 43} {
			b.Run(fmt.Sprintf("%s/D=%d", typ, d), func(b *testing.B) {
				benchTrainStep(b, benchFlow(b, typ, 5, d), randBatch(512, d))
			})
		}
	}
}

func BenchmarkLogDensity5(b *testing.B) {
	for _, typ := range peerFamilies {
		for _, d := range []int{8, 43} {
			b.Run(fmt.Sprintf("%s/D=%d", typ, d), func(b *testing.B) {
				f := benchFlow(b, typ, 5, d)
				x := randBatch(4096, d)
				lp := make([]float32, x.Rows)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := f.LogProb(x, lp); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*x.Rows)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}

func BenchmarkSample5(b *testing.B) {
	for _, typ := range peerFamilies {
		for _, d := range []int{8, 43} {
			b.Run(fmt.Sprintf("%s/D=%d", typ, d), func(b *testing.B) {
				f := benchFlow(b, typ, 5, d)
				const n = 512
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					f.Sample(n, uint64(i))
				}
				b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}

// BenchmarkReferenceStepShards compares one shard (Workers=1: GEMMs split
// across cores by the worker pool) with data parallelism (one batch shard
// per core), in one run.
func BenchmarkReferenceStepShards(b *testing.B) {
	for _, w := range []int{1, 0} {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			f := benchFlow(b, "maf", 1, 8)
			f.Workers = w
			benchTrainStep(b, f, randBatch(512, 8))
		})
	}
}
