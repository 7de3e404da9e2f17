package cost_test

import (
	"fmt"
	"math"
	"slices"
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
	if _, err := cost.ParseSource("guess"); err == nil || !strings.Contains(err.Error(), "measured, params or flops, or paper") {
		t.Fatal(err)
	}
	for _, s := range []string{"measured", "params", "flops", "paper"} {
		if src, err := cost.ParseSource(s); err != nil || string(src) != s {
			t.Errorf("ParseSource(%q) = %q, %v", s, src, err)
		}
	}
	if _, err := cost.Price(cands(nil), 4, 32, "fast", cost.Params, cost.Options{}); err == nil {
		t.Error("Price accepted emphasis fast")
	}
	if _, err := cost.Price(cands(nil), 4, 32, cost.Train, "guess", cost.Options{}); err == nil {
		t.Error("Price accepted source guess")
	}
	if _, err := cost.Price(cands(nil), 0, 32, cost.Train, cost.Params, cost.Options{}); err == nil {
		t.Error("Price accepted dimension 0")
	}
	if _, err := cost.Price(cands(nil), 4, 0, cost.Train, cost.Measured, cost.Options{CacheDir: "-"}); err == nil {
		t.Error("Price accepted batch 0")
	}
}

// TestPaperCosts: the paper's Table 1 per family and emphasis, the
// autoregressive inverses ∝ D, and an 8-layer affine-coupling flow
// costing exactly 8.
func TestPaperCosts(t *testing.T) {
	fams := []string{"affine-coupling", "nsf-coupling", "nsf-ar", "maf"}
	var cs []cost.Candidate
	for _, f := range fams {
		cs = append(cs, cost.Candidate{Name: f, Spec: flow.LayerSpec{Type: "chain", Layers: flow.CandidateBlock(f, []int{16}, 4)}})
	}
	// A bare transform is priced like its block.
	cs = append(cs, cost.Candidate{Name: "bare maf", Spec: flow.LayerSpec{Type: "maf", Hidden: []int{512, 512}}})
	const d = 7
	for _, c := range []struct {
		e    cost.Emphasis
		want []float64
	}{
		{cost.Train, []float64{1, 1.4325, 1.664, 1.08, 1.08}},
		{cost.Forward, []float64{1, 1.3375, 1.4975, 1.055, 1.055}},
		{cost.Inverse, []float64{1, 1.365, 1.55 * d, 1.10 * d, 1.10 * d}},
	} {
		tb, err := cost.Price(cs, d, 64, c.e, cost.Paper, cost.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range c.want {
			if math.Abs(tb.Cost[i]-w) > 1e-12 {
				t.Errorf("%s: %s costs %g, want %g", c.e, tb.Candidates[i], tb.Cost[i], w)
			}
		}
		eight := 0.0
		for range 8 {
			eight += tb.Cost[0]
		}
		if eight != 8 {
			t.Errorf("%s: 8 affine-coupling layers cost %g, want 8", c.e, eight)
		}
		if md := tb.Markdown(); !strings.Contains(md, "paper units") || !strings.Contains(md, "Table 1, reverse-engineered") || !strings.Contains(md, "| nsf-ar |") {
			t.Errorf("markdown:\n%s", md)
		}
	}
	for _, bad := range []cost.Candidate{
		{Name: "planar", Spec: flow.LayerSpec{Type: "planar"}},
		{Name: "radial-chain", Spec: flow.LayerSpec{Type: "chain", Layers: []flow.LayerSpec{{Type: "reverse"}, {Type: "radial"}}}},
		{Name: "two transforms", Spec: flow.LayerSpec{Type: "chain", Layers: []flow.LayerSpec{{Type: "maf"}, {Type: "maf"}}}},
		{Name: "empty chain", Spec: flow.LayerSpec{Type: "chain"}},
	} {
		_, err := cost.Price(append(slices.Clone(cs), bad), d, 64, cost.Train, cost.Paper, cost.Options{})
		if err == nil || !strings.Contains(err.Error(), "the paper's cost table has no entry for "+bad.Name) ||
			!strings.Contains(err.Error(), "measured, params or flops") {
			t.Errorf("%s: %v", bad.Name, err)
		}
	}
}

// TestRefHidden: the reference width sets the scale; with it, an affine
// coupling of that width costs 1 wherever it stands in the list.
func TestRefHidden(t *testing.T) {
	cs := append(cands([]int{32}), cands([]int{8})[1])
	cs[3].Name = "affine-coupling small"
	tb, err := cost.Price(cs, 6, 64, cost.Train, cost.Params, cost.Options{RefHidden: []int{8}})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(tb.Cost[3]-1) > 1e-12 || !(tb.Cost[1] > 1) {
		t.Fatalf("costs %v: want the 8-wide affine coupling at 1 and the 32-wide above it", tb.Cost)
	}
	def, err := cost.Price(cs, 6, 64, cost.Train, cost.Params, cost.Options{})
	if err != nil || math.Abs(def.Cost[1]-1) > 1e-12 {
		t.Fatalf("without RefHidden the first candidate's width is the reference: %v %v", def.Cost, err)
	}
}

// The paper's Table 1 for the inverse (sampling) emphasis: autoregressive
// inverses grow with the dimension.
func ExamplePrice_paper() {
	var cs []cost.Candidate
	for _, f := range cost.PaperFamilies() {
		cs = append(cs, cost.Candidate{Name: f, Spec: flow.LayerSpec{Type: "chain", Layers: flow.CandidateBlock(f, []int{64, 64}, 8)}})
	}
	t, err := cost.Price(cs, 10, 256, cost.Inverse, cost.Paper, cost.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, n := range t.Candidates {
		fmt.Printf("%s %.4g\n", n, t.Cost[i])
	}
	// Output:
	// maf 11
	// nsf-ar 15.5
	// affine-coupling 1
	// nsf-coupling 1.365
}
