package cost_test

import (
	"math"
	"strings"
	"testing"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/search/cost"
)

func cands(hidden []int) []cost.Candidate {
	var cs []cost.Candidate
	for _, typ := range []string{"maf", "affine-coupling", "nsf-ar"} {
		cs = append(cs, cost.Candidate{Name: typ, Spec: flow.LayerSpec{Type: "chain", Layers: flow.CandidateBlock(typ, hidden, 4)}})
	}
	return cs
}

func TestPriceSources(t *testing.T) {
	for _, src := range []cost.Source{cost.Params, cost.FLOPs, cost.Measured} {
		for _, e := range []cost.Emphasis{cost.Train, cost.Forward, cost.Inverse} {
			tb, err := cost.Price(cands([]int{16}), 6, 64, e, src, cost.Options{CacheDir: t.TempDir(), Repeats: 3})
			if err != nil {
				t.Fatal(err)
			}
			// The affine-coupling candidate is the reference's twin: cost 1
			// exactly for counts. (Measured costs are timings: no assertion
			// on their values, which depend on the machine's load.)
			if src != cost.Measured && math.Abs(tb.Cost[1]-1) > 1e-12 {
				t.Errorf("%s/%s: affine coupling costs %.3g, want 1", src, e, tb.Cost[1])
			}
			for i, c := range tb.Cost {
				if !(c > 0) {
					t.Errorf("%s/%s: %s costs %v", src, e, tb.Candidates[i], c)
				}
			}
			if !strings.Contains(tb.Markdown(), "| nsf-ar |") {
				t.Error("markdown lacks a row")
			}
		}
	}
}

// Autoregressive inverses take D passes: their FLOP price grows with D while
// coupling's stays put.
func TestInverseCostGrowsWithDim(t *testing.T) {
	var ratios []float64
	for _, d := range []int{4, 32} {
		tb, err := cost.Price(cands([]int{16}), d, 64, cost.Inverse, cost.FLOPs, cost.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ratios = append(ratios, tb.Cost[0])
	}
	if ratios[1] < 4*ratios[0] {
		t.Fatalf("MAF inverse cost %.3g at D=4, %.3g at D=32: want growth ∝ D", ratios[0], ratios[1])
	}
}

func TestMeasuredIsCached(t *testing.T) {
	dir := t.TempDir()
	a, err := cost.Price(cands([]int{8}), 3, 32, cost.Train, cost.Measured, cost.Options{CacheDir: dir, Repeats: 3})
	if err != nil || a.Cached {
		t.Fatalf("first: %v cached=%v", err, a.Cached)
	}
	b, err := cost.Price(cands([]int{8}), 3, 32, cost.Train, cost.Measured, cost.Options{CacheDir: dir, Repeats: 3})
	if err != nil || !b.Cached || b.Cost[0] != a.Cost[0] {
		t.Fatalf("second: %v cached=%v", err, b.Cached)
	}
	c, _ := cost.Price(cands([]int{8}), 4, 32, cost.Train, cost.Measured, cost.Options{CacheDir: dir, Repeats: 3})
	if c.Cached {
		t.Fatal("another dimension hit the cache")
	}
}

func TestParseErrors(t *testing.T) {
	if _, err := cost.ParseEmphasis("fast"); err == nil || !strings.Contains(err.Error(), "train, forward or inverse") {
		t.Fatal(err)
	}
	if _, err := cost.ParseSource("guess"); err == nil || !strings.Contains(err.Error(), "measured, params or flops") {
		t.Fatal(err)
	}
}
