package strategy_test

import (
	"context"
	"slices"
	"testing"

	"github.com/autonf/autonf/data"
	"github.com/autonf/autonf/search"
	"github.com/autonf/autonf/search/strategy"
	"github.com/autonf/autonf/tensor"
)

func toy(t *testing.T, n int, seed uint64) *tensor.Mat[float32] {
	tb, err := data.Toy("8gaussians", n, seed)
	if err != nil {
		t.Fatal(err)
	}
	return tensor.FromSlice(tb.Rows, tb.Cols, tb.Float32())
}

func TestSpaceErrors(t *testing.T) {
	cases := []struct {
		dim, layers int
		names       []string
	}{
		{2, 0, []string{"planar"}}, {2, 2, nil}, {2, 2, []string{"planar", "planar"}}, {2, 2, []string{"glow"}}, {1, 2, []string{"affine-coupling"}},
	}
	for _, c := range cases {
		if _, err := strategy.NewSpace(c.dim, c.layers, c.names, []int{8}, 4); err == nil {
			t.Errorf("NewSpace(%d, %d, %v) accepted", c.dim, c.layers, c.names)
		}
	}
	s, err := strategy.NewSpace(3, 2, []string{"maf", "planar"}, []int{8}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.Spec([]int{0, 1}, "x").Layers); n != 4 { // [reverse, lu, maf] + planar
		t.Fatalf("flattened spec has %d layers, want 4", n)
	}
	if len(s.AllArchs()) != 4 || s.NumArchs() != 4 {
		t.Fatal("enumeration")
	}
}

// TestGrowAndBlock runs both strategies on a small space; the Block
// strategy's first round is Grow, and the run ends with a full architecture
// whose layers carry the searched parameters.
func TestGrowAndBlock(t *testing.T) {
	s, err := strategy.NewSpace(2, 4, []string{"planar", "radial", "affine-coupling"}, []int{16}, 4)
	if err != nil {
		t.Fatal(err)
	}
	tr, va := toy(t, 2000, 1), toy(t, 500, 2)
	for _, strat := range []string{"grow", "block"} {
		var ckpts int
		res, err := strategy.Run(context.Background(), s, tr, va, strategy.Options{
			Strategy: strat, Block: 2, Steps: 60, Batch: 128, AlphaLR: 0.05, Seed: 3,
			Checkpoint: func(*strategy.State) error { ckpts++; return nil },
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Arch) != 4 || len(res.Chosen) != 4 || ckpts != len(res.Phases) {
			t.Fatalf("%s: arch %v, %d chosen, %d checkpoints for %d phases", strat, res.Arch, len(res.Chosen), ckpts, len(res.Phases))
		}
		if strat == "grow" && len(res.Phases) != 2 {
			t.Fatalf("grow ran %d phases, want 2 blocks", len(res.Phases))
		}
		if strat == "block" && len(res.Phases) < 4 {
			t.Fatalf("block ran %d phases, want at least 2 rounds of 2 blocks", len(res.Phases))
		}
		for i, w := range res.Weights {
			if slices.Index(w, slices.Max(w)) != res.Arch[i] {
				t.Fatalf("%s: slot %d argmax %d ≠ arch %d", strat, i, slices.Index(w, slices.Max(w)), res.Arch[i])
			}
		}
	}
}

// TestResume: a run resumed from its first checkpoint finishes with the
// same architecture as an uninterrupted run.
func TestResume(t *testing.T) {
	s, err := strategy.NewSpace(2, 4, []string{"planar", "affine-coupling"}, []int{8}, 4)
	if err != nil {
		t.Fatal(err)
	}
	tr, va := toy(t, 1000, 1), toy(t, 300, 2)
	var first *strategy.State
	opt := strategy.Options{Block: 2, Steps: 40, Batch: 64, AlphaLR: 0.05, Seed: 5, Estimator: search.Exact}
	opt.Checkpoint = func(st *strategy.State) error {
		if first == nil {
			cp := *st
			cp.Choice = slices.Clone(st.Choice)
			cp.Alpha = make([][]float64, len(st.Alpha))
			for i := range st.Alpha {
				cp.Alpha[i] = slices.Clone(st.Alpha[i])
			}
			first = &cp
		}
		return nil
	}
	full, err := strategy.Run(context.Background(), s, tr, va, opt)
	if err != nil {
		t.Fatal(err)
	}
	opt2 := opt
	opt2.Checkpoint = nil
	opt2.Resume = first
	resumed, err := strategy.Run(context.Background(), s, tr, va, opt2)
	if err != nil {
		t.Fatal(err)
	}
	if len(resumed.Phases) != len(full.Phases)-1 {
		t.Fatalf("resumed run ran %d phases, want %d", len(resumed.Phases), len(full.Phases)-1)
	}
	if !slices.Equal(resumed.Arch[:2], full.Arch[:2]) {
		t.Fatalf("resumed first block %v, original %v", resumed.Arch[:2], full.Arch[:2])
	}
}

func TestSampleEstimatorWholeFlow(t *testing.T) {
	s, err := strategy.NewSpace(2, 6, []string{"planar", "radial", "affine-coupling"}, []int{8}, 4)
	if err != nil {
		t.Fatal(err)
	}
	res, err := strategy.Run(context.Background(), s, toy(t, 1000, 1), toy(t, 300, 2), strategy.Options{
		Estimator: search.Sampled, Steps: 40, Batch: 128, Seed: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Phases) != 1 || len(res.Phases[0].Slots) != 6 {
		t.Fatalf("sample estimator: %d phases over %v, want one phase over all 6 slots", len(res.Phases), res.Phases[0].Slots)
	}
}
