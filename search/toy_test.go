package search

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/autonf/autonf/data"
	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/tensor"
)

// batcher draws random minibatches (with replacement) from a table.
type batcher struct {
	src *tensor.Mat[float32]
	b   *tensor.Mat[float32]
	rng *rand.Rand
}

func newBatcher(t testing.TB, name string, n int, seed uint64, batch int) *batcher {
	t.Helper()
	tab, err := data.Toy(name, n, seed)
	if err != nil {
		t.Fatal(err)
	}
	return &batcher{
		src: tensor.FromSlice(tab.Rows, tab.Cols, tab.Float32()),
		b:   tensor.New[float32](batch, tab.Cols),
		rng: rand.New(rand.NewPCG(seed, 77)),
	}
}

func (b *batcher) next() *tensor.Mat[float32] {
	d := b.src.Cols
	for r := 0; r < b.b.Rows; r++ {
		i := b.rng.IntN(b.src.Rows)
		copy(b.b.Data[r*d:(r+1)*d], b.src.Data[i*d:(i+1)*d])
	}
	return b.b
}

// TestToyStudy is the paper's toy study: 4 slots with candidates {planar,
// radial} on 2-D data, alternating θ steps (training batch) and α steps
// (validation batch) on L^U with Adam (lr 2e-3): the upper bound drives
// every slot's weights to one-hot.
func TestToyStudy(t *testing.T) {
	start := time.Now()
	rng := rand.New(rand.NewPCG(1, 2))
	net, err := NewFromSpecs[float32](2, Uniform(4, []flow.LayerSpec{{Type: "planar"}, {Type: "radial"}}), rng)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSearcher(net, Config{Kind: Upper})
	if err != nil {
		t.Fatal(err)
	}
	tr := newBatcher(t, "8gaussians", 4096, 1, 256)
	va := newBatcher(t, "8gaussians", 1024, 2, 256)
	const steps = 2500
	for i := 0; i < steps; i++ {
		if _, err := s.Step(tr.next(), va.next()); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	h := s.History
	first, last := h[0], h[len(h)-1]
	t.Logf("%d steps in %v: val L^U %.3f → %.3f, L^O %.3f → %.3f; weights %.3f; arch %v",
		steps, time.Since(start).Round(time.Millisecond), first.ValUpper, last.ValUpper, first.ValOriginal, last.ValOriginal, last.Weights, net.Argmax())
	for i, w := range last.Weights {
		if slices.Max(w) < 0.9 {
			t.Errorf("slot %d: weights %v, want max ≥ 0.9", i, w)
		}
	}
	if last.ValUpper >= first.ValUpper {
		t.Errorf("validation L^U did not decrease: %.3f → %.3f", first.ValUpper, last.ValUpper)
	}
	for _, r := range h {
		if r.ValUpper < r.ValOriginal-1e-4 {
			t.Fatalf("step %d: L^U %.6f < L^O %.6f", r.Step, r.ValUpper, r.ValOriginal)
		}
	}
}

// TestToyStudySampled searches a whole 8-slot {planar, radial} flow with the
// sample estimator (2^8 paths, each step linear in the number of slots),
// with α lr 5e-3 (the score-function gradient is noisier than the exact one).
func TestToyStudySampled(t *testing.T) {
	start := time.Now()
	rng := rand.New(rand.NewPCG(3, 4))
	net, err := NewFromSpecs[float32](2, Uniform(8, []flow.LayerSpec{{Type: "planar"}, {Type: "radial"}}), rng)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSearcher(net, Config{Estimator: Sampled, Seed: 9, AlphaLR: 5e-3})
	if err != nil {
		t.Fatal(err)
	}
	tr := newBatcher(t, "8gaussians", 4096, 1, 256)
	va := newBatcher(t, "8gaussians", 1024, 2, 256)
	const steps = 4000
	for i := 0; i < steps; i++ {
		if _, err := s.Step(tr.next(), va.next()); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	h := s.History
	first, last := h[0], h[len(h)-1]
	t.Logf("%d steps in %v: val L^U (sampled) %.3f → %.3f; weights %.3f; arch %v",
		steps, time.Since(start).Round(time.Millisecond), first.ValUpper, last.ValUpper, last.Weights, net.Argmax())
	for i, w := range last.Weights {
		if slices.Max(w) < 0.9 {
			t.Errorf("slot %d: weights %v, want max ≥ 0.9", i, w)
		}
	}
}
