package search

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/tensor"
	"github.com/autonf/autonf/train"
)

// The search defaults (search/pipeline/options.go) on MINIBOONE's shape:
// D = 43, the paper's four candidates with conditioners of 64×2 hidden
// units and 8 spline bins, batches of 512 rows, float32.
const (
	benchDim   = 43
	benchBatch = 512
	benchBins  = 8
)

var benchHidden = []int{64, 64}

var benchFamilies = []string{"maf", "nsf-ar", "affine-coupling", "nsf-coupling"}

func benchCands() []flow.LayerSpec { return benchCandsHidden(benchHidden) }

func benchCandsHidden(hidden []int) []flow.LayerSpec {
	var cs []flow.LayerSpec
	for _, f := range benchFamilies {
		cs = append(cs, flow.LayerSpec{Type: "chain", Layers: flow.CandidateBlock(f, hidden, benchBins)})
	}
	return cs
}

func benchData(seed uint64) *tensor.Mat[float32] {
	rng := rand.New(rand.NewPCG(seed, 7))
	x := tensor.New[float32](benchBatch, benchDim)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	return x
}

// benchMixedArch is the architecture of the ordinary flow timed beside
// the search steps: slot i takes candidate i mod 4, so a flow of n layers
// holds the candidates in about equal shares (the argmax at uniform α
// would be maf everywhere, the cheapest candidate).
func benchMixedArch(n int) []int {
	a := make([]int, n)
	for i := range a {
		a[i] = i % len(benchFamilies)
	}
	return a
}

// BenchmarkSearchStep times one Searcher.Step (the α step on a validation
// batch, then the θ step on a training batch, as the search loop runs
// them) with the exact estimator over B = 1…4 slots (4^B paths) and with
// the sample estimator over 4 and 8 slots, beside one training step
// (NLLGrad and Adam) of an ordinary flow of the same number of layers.
func BenchmarkSearchStep(b *testing.B) {
	tr, va := benchData(1), benchData(2)
	step := func(b *testing.B, n int, est Estimator) { stepWith(b, n, est, benchCands(), 0, tr, va) }
	for n := 1; n <= 4; n++ {
		b.Run(fmt.Sprintf("exact/B=%d", n), func(b *testing.B) { step(b, n, Exact) })
	}
	for _, n := range []int{4, 8} {
		b.Run(fmt.Sprintf("sample/n=%d", n), func(b *testing.B) { step(b, n, Sampled) })
	}
	for _, n := range []int{1, 2, 3, 4, 8} {
		b.Run(fmt.Sprintf("train/n=%d", n), func(b *testing.B) {
			cs := benchCands()
			sp := &flow.Spec{Format: flow.SpecFormat, Name: "bench", Dim: benchDim, Base: "normal"}
			for _, j := range benchMixedArch(n) {
				sp.Layers = append(sp.Layers, cs[j])
			}
			f, err := flow.Build[float32](sp, rand.New(rand.NewPCG(3, 4)))
			if err != nil {
				b.Fatal(err)
			}
			f.InitFromData(tr)
			named := f.Params()
			ps := make([]*flow.Param[float32], len(named))
			for i, p := range named {
				ps[i] = p.Param
			}
			opt := train.NewAdamFlat(ps, f.ParamData(), f.GradData())
			one := func() {
				f.ZeroGrad()
				if _, err := f.NLLGrad(tr); err != nil {
					b.Fatal(err)
				}
				train.ClipGrads(ps, train.DefaultClipNorm)
				opt.Step(1e-3)
			}
			one()
			b.ResetTimer()
			for b.Loop() {
				one()
			}
		})
	}
	// Tree- or candidate-level parallelism (Workers 0: GOMAXPROCS) against
	// none (Workers 1: the large GEMMs split over the cores instead), with
	// the paper's 256×2 conditioners, whose GEMMs are large enough to split.
	big := benchCandsHidden([]int{256, 256})
	for _, w := range []int{1, 0} {
		b.Run(fmt.Sprintf("exact/B=2/h=256/workers=%d", w), func(b *testing.B) { stepWith(b, 2, Exact, big, w, tr, va) })
		b.Run(fmt.Sprintf("sample/n=4/h=256/workers=%d", w), func(b *testing.B) { stepWith(b, 4, Sampled, big, w, tr, va) })
	}
}

// stepWith times Searcher.Step over n slots of cands with the given
// estimator and Supernet.Workers.
func stepWith(b *testing.B, n int, est Estimator, cands []flow.LayerSpec, workers int, tr, va *tensor.Mat[float32]) {
	net, err := NewFromSpecs[float32](benchDim, Uniform(n, cands), rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		b.Fatal(err)
	}
	net.Workers = workers
	if err := net.InitFromData(tr); err != nil {
		b.Fatal(err)
	}
	s, err := NewSearcher(net, Config{Estimator: est, Seed: 5, NoHistory: true})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Step(tr, va); err != nil { // warm the workspaces
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Step(tr, va); err != nil {
			b.Fatal(err)
		}
	}
}
