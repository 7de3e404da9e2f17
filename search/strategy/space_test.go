package strategy_test

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/search/cost"
	"github.com/autonf/autonf/search/strategy"
)

func TestParseCandidates(t *testing.T) {
	type want struct {
		name   string
		hidden []int
		bins   int
	}
	cases := []struct {
		list      string
		defHidden []int
		defBins   int
		want      []want
	}{
		{"nsf-ar:hidden=256x2:bins=16,nsf-ar:hidden=64x2,maf,affine-coupling", []int{128, 128}, 8, []want{
			{"nsf-ar[256x2,K16]", []int{256, 256}, 16}, {"nsf-ar[64x2,K8]", []int{64, 64}, 8},
			{"maf", []int{128, 128}, 0}, {"affine-coupling", []int{128, 128}, 0}}},
		{"maf:hidden=64", []int{16}, 4, []want{{"maf[64x1]", []int{64}, 0}}},
		{"nsf-coupling:bins=4:hidden=128-64", []int{16}, 8, []want{{"nsf-coupling[128-64,K4]", []int{128, 64}, 4}}},
		{" planar , radial ", []int{8}, 4, []want{{"planar", nil, 0}, {"radial", nil, 0}}},
		{"maf,maf:hidden=64x2", []int{128, 128}, 8, []want{{"maf[128x2]", []int{128, 128}, 0}, {"maf[64x2]", []int{64, 64}, 0}}},
		// No default width: flow's 256×2, written out; no default bins: K = 8.
		{"nsf-ar,affine-coupling", nil, 0, []want{{"nsf-ar", []int{256, 256}, 8}, {"affine-coupling", []int{256, 256}, 0}}},
		{"nsf-ar: hidden = 4096x4 : bins = 256", nil, 0, []want{{"nsf-ar[4096x4,K256]", []int{4096, 4096, 4096, 4096}, 256}}},
	}
	for _, c := range cases {
		got, err := strategy.ParseCandidates(c.list, c.defHidden, c.defBins)
		if c.want == nil {
			if err == nil {
				t.Errorf("%q accepted", c.list)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.list, err)
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("%q: %d candidates, want %d", c.list, len(got), len(c.want))
			continue
		}
		for i, w := range c.want {
			g := got[i]
			if g.Name != w.name || !slices.Equal(g.Hidden, w.hidden) || g.Bins != w.bins {
				t.Errorf("%q: candidate %d is %+v, want %+v", c.list, i+1, g, w)
			}
		}
	}
}

func TestParseCandidatesErrors(t *testing.T) {
	many := strings.TrimSuffix(strings.Repeat("planar,", 33), ",")
	cases := []struct {
		list      string
		defHidden []int
		defBins   int
		want      string
	}{
		{"", nil, 0, "no candidates"},
		{"  ", nil, 0, "no candidates"},
		{"maf,,planar", nil, 0, "candidate 2 is empty"},
		{"maf,", nil, 0, "candidate 2 is empty"},
		{"planar,glow", nil, 0, `candidate "glow" is unknown (number 2 in the list); candidates: maf,`},
		{"glow:hidden=8", nil, 0, `candidate "glow" is unknown`},
		{"maf,nsf-ar:hiden=64", nil, 0, "candidate 2 (nsf-ar:hiden=64): unknown key hiden; keys: hidden, bins"},
		{"planar:hidden=64", nil, 0, "candidate 1 (planar:hidden=64): planar has no conditioner network, so hidden does not apply"},
		{"radial:bins=8", nil, 0, "radial is not a spline"},
		{"maf:bins=8", nil, 0, "candidate 1 (maf:bins=8): maf is not a spline, so bins does not apply (bins applies to nsf-ar, nsf-coupling)"},
		{"nsf-ar:hidden=1e9", nil, 0, `hidden "1e9": want widths like 256x2`},
		{"nsf-ar:hidden=1000000000x2", nil, 0, `hidden "1000000000x2"`},
		{"nsf-ar:hidden=4097", nil, 0, `hidden "4097"`},
		{"nsf-ar:hidden=64x5", nil, 0, `hidden "64x5"`},
		{"nsf-ar:hidden=64x0", nil, 0, `hidden "64x0"`},
		{"nsf-ar:hidden=0x2", nil, 0, `hidden "0x2"`},
		{"nsf-ar:hidden=-64", nil, 0, `hidden "-64"`},
		{"nsf-ar:hidden=64-64-64-64-64", nil, 0, `at most 4 layers`},
		{"nsf-ar:hidden=64x2x2", nil, 0, `hidden "64x2x2"`},
		{"nsf-ar:hidden=64,,maf", nil, 0, "candidate 2 is empty"},
		{"nsf-ar:bins=1", nil, 0, `bins "1": want a whole number in 2..256`},
		{"nsf-ar:bins=257", nil, 0, `bins "257"`},
		{"nsf-ar:bins=8.5", nil, 0, `bins "8.5"`},
		{"nsf-ar:hidden=64:hidden=32", nil, 0, "hidden given twice"},
		{"nsf-ar:bins=4:bins=4", nil, 0, "bins given twice"},
		{"maf:hidden", nil, 0, `"hidden" is not key=value; write e.g. maf:hidden=64x2`},
		{"maf:=64", nil, 0, "is not key=value"},
		{"maf:hidden=", nil, 0, "is not key=value"},
		{"radial:", nil, 0, "is not key=value"},
		{"maf,maf", nil, 0, "candidate 2 (maf) is the same as candidate 1 (maf): both are maf[256x2]"},
		{"nsf-ar:hidden=64x2,nsf-ar:hidden=64-64:bins=8", nil, 8, "candidate 2 (nsf-ar:hidden=64-64:bins=8) is the same as candidate 1"},
		{"planar,planar", nil, 0, "the same as candidate 1"},
		{many, nil, 0, "33 candidates; at most 32"},
		{"maf", []int{5000}, 0, "default hidden sizes [5000]: hidden width 5000 is out of range; want 1..4096"},
		{"maf", []int{8, 8, 8, 8, 8}, 0, "default hidden sizes"},
		{"maf", []int{0}, 0, "default hidden sizes"},
		{"nsf-ar", nil, 1, "default bins 1 is out of range; want 2..256"},
		{"nsf-ar", nil, -3, "default bins -3"},
	}
	for _, c := range cases {
		_, err := strategy.ParseCandidates(c.list, c.defHidden, c.defBins)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseCandidates(%.40q): %v; want an error containing %q", c.list, err, c.want)
		}
	}
}

// TestSpaceBounds: absurd sizes are refused with a clear error before
// anything of their size is allocated.
func TestSpaceBounds(t *testing.T) {
	cases := []struct {
		dim, layers int
		list        string
		want        string
	}{
		{2, 0, "planar", "must be in 1..64, got 0"},
		{2, 65, "planar", "must be in 1..64, got 65"},
		{2, 100000, "planar", "got 100000"},
		{2, -1, "planar", "got -1"},
		{0, 2, "planar", "dimension must be positive"},
		{1, 2, "planar,nsf-coupling", "nsf-coupling needs at least 2 dimensions"},
		{1000, 4, "nsf-ar:hidden=4096x4:bins=256", "parameters"},
		{2000, 64, "planar,lu-linear", "parameters"},
	}
	for _, c := range cases {
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		_, err := strategy.NewSpace(c.dim, c.layers, strings.Split(c.list, ","), []int{8}, 4)
		runtime.ReadMemStats(&m1)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewSpace(%d, %d, %s): %v; want an error containing %q", c.dim, c.layers, c.list, err, c.want)
		}
		if a := m1.TotalAlloc - m0.TotalAlloc; a > 64<<20 {
			t.Errorf("NewSpace(%d, %d, %s) allocated %d MiB before refusing", c.dim, c.layers, c.list, a>>20)
		}
	}
	many := slices.Repeat([]string{"planar"}, 33)
	if _, err := strategy.NewSpace(2, 2, many, nil, 0); err == nil || !strings.Contains(err.Error(), "at most 32") {
		t.Errorf("33 candidates: %v", err)
	}
	if _, err := strategy.NewSpace(2, 2, []string{"maf,planar"}, nil, 0); err == nil || !strings.Contains(err.Error(), "comma") {
		t.Errorf("a name with a comma: %v", err)
	}
	if _, err := strategy.NewSpace(3, 64, []string{"maf", "planar"}, []int{8}, 0); err != nil {
		t.Errorf("64 slots refused: %v", err)
	}
}

func TestNewSpaceFrom(t *testing.T) {
	cases := []struct {
		cands []strategy.CandidateSpec
		names []string // nil: an error containing want
		want  string
	}{
		{[]strategy.CandidateSpec{{Family: "maf", Hidden: []int{8}}, {Family: "planar"}}, []string{"maf", "planar"}, ""},
		{[]strategy.CandidateSpec{{Family: "maf", Hidden: []int{8}}, {Family: "maf", Hidden: []int{16}}}, []string{"maf[8x1]", "maf[16x1]"}, ""},
		{[]strategy.CandidateSpec{{Family: "nsf-ar"}, {Family: "nsf-ar", Bins: 4, Name: "small"}}, []string{"nsf-ar[256x2,K8]", "small"}, ""},
		{[]strategy.CandidateSpec{{Family: "maf", Name: "x"}, {Family: "planar", Name: "x"}}, nil, `both named "x"`},
		{[]strategy.CandidateSpec{{Family: "maf", Name: "a"}, {Family: "maf", Hidden: []int{256, 256}, Name: "b"}}, nil, "the same layer (maf[256x2])"},
		{[]strategy.CandidateSpec{{Family: "planar", Hidden: []int{8}}}, nil, "planar has no conditioner network"},
		{[]strategy.CandidateSpec{{Family: "maf", Bins: 8}}, nil, "maf is not a spline"},
		{[]strategy.CandidateSpec{{Family: "nsf-ar", Bins: 1}}, nil, "bins 1 is out of range"},
		{[]strategy.CandidateSpec{{Family: "maf", Hidden: []int{1 << 30}}}, nil, "hidden width 1073741824 is out of range"},
		{[]strategy.CandidateSpec{{Family: "glow"}}, nil, `unknown family "glow"`},
		{nil, nil, "no candidates"},
	}
	for i, c := range cases {
		s, err := strategy.NewSpaceFrom(3, 2, c.cands)
		if c.names == nil {
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("case %d: %v; want an error containing %q", i, err, c.want)
			}
			continue
		}
		if err != nil {
			t.Errorf("case %d: %v", i, err)
			continue
		}
		if !slices.Equal(s.Names(), c.names) {
			t.Errorf("case %d: names %v, want %v", i, s.Names(), c.names)
		}
	}
}

// TestSpaceCandidateSizes: each candidate's layers carry its own sizes,
// in the built flow and in the cost table (params and flops grow with the
// width and the bins; the paper's table ignores both).
func TestSpaceCandidateSizes(t *testing.T) {
	cands, err := strategy.ParseCandidates("nsf-ar:hidden=32x2:bins=16,nsf-ar:hidden=8x2,maf,affine-coupling", []int{8}, 4)
	if err != nil {
		t.Fatal(err)
	}
	s, err := strategy.NewSpaceFrom(4, 3, cands)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.ArchString([]int{0, 1, 2}), "nsf-ar[32x2,K16] → nsf-ar[8x2,K4] → maf"; got != want {
		t.Fatalf("ArchString %q, want %q", got, want)
	}
	sp := s.Spec([]int{0, 1, 2}, "x")
	var got []string
	for _, l := range sp.Layers {
		if len(l.Hidden) > 0 {
			got = append(got, fmt.Sprintf("%s%v/%d", l.Type, l.Hidden, l.Bins))
		}
	}
	if want := []string{"nsf-ar[32 32]/16", "nsf-ar[8 8]/4", "maf[8]/0"}; !slices.Equal(got, want) {
		t.Fatalf("spec layers %v, want %v", got, want)
	}
	fl, err := flow.Build[float64](sp, nil)
	if err != nil {
		t.Fatalf("the spec does not build: %v", err)
	}
	if fl == nil {
		t.Fatal("nil flow")
	}
	// The spec owns its slices.
	for i := range sp.Layers {
		if len(sp.Layers[i].Hidden) > 0 {
			sp.Layers[i].Hidden[0] = 999
		}
	}
	if s.CandidateSpecs[0].Hidden[0] != 32 || s.Candidates[0].Spec.Layers[2].Hidden[0] != 32 {
		t.Fatal("editing a derived spec changed the space")
	}

	for _, src := range []cost.Source{cost.Params, cost.FLOPs} {
		tb, err := cost.Price(s.Candidates, s.Dim, 32, cost.Train, src, cost.Options{RefHidden: []int{8}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(tb.Candidates, s.Names()) {
			t.Fatalf("%s: table names %v, want %v", src, tb.Candidates, s.Names())
		}
		if !(tb.Cost[0] > tb.Cost[1]) {
			t.Errorf("%s: nsf-ar at 32×2, K=16 costs %.3g, not more than at 8×2, K=4 (%.3g)", src, tb.Cost[0], tb.Cost[1])
		}
		if math.Abs(tb.Cost[3]-1) > 1e-12 {
			t.Errorf("%s: affine coupling at the reference width costs %.3g, want 1", src, tb.Cost[3])
		}
	}
	// Bins alone raise the price too.
	kb, err := strategy.ParseCandidates("nsf-coupling:bins=4,nsf-coupling:bins=32", []int{8}, 8)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := strategy.NewSpaceFrom(4, 1, kb)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := cost.Price(ks.Candidates, 4, 32, cost.Forward, cost.Params, cost.Options{})
	if err != nil || !(tb.Cost[1] > tb.Cost[0]) {
		t.Errorf("params: K=32 %v not above K=4 (%v)", tb.Cost, err)
	}
	pt, err := cost.Price(s.Candidates, s.Dim, 32, cost.Train, cost.Paper, cost.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if pt.Cost[0] != pt.Cost[1] || pt.Cost[0] != 1.664 {
		t.Errorf("paper: nsf-ar at two sizes costs %v, want 1.664 for both", pt.Cost[:2])
	}
}

// TestPresetsWithSizedCandidates: references follow the families once
// each, presets take the first candidate's size of their family (else the
// defaults), and PresetCost matches layers by family and size.
func TestPresetsWithSizedCandidates(t *testing.T) {
	s, err := strategy.NewSpace(4, 2, []string{"nsf-ar:hidden=32x2:bins=16", "nsf-ar:hidden=8x2", "maf", "planar"}, []int{16}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.RefPresets(), []string{"nsf-ar-8", "maf5", "planar-2"}; !slices.Equal(got, want) {
		t.Fatalf("RefPresets %v, want %v", got, want)
	}
	sizes := func(sp *flow.Spec) []string {
		var out []string
		for _, l := range sp.Layers {
			if len(l.Hidden) > 0 {
				e := fmt.Sprintf("%s%v/%d", l.Type, l.Hidden, l.Bins)
				if !slices.Contains(out, e) {
					out = append(out, e)
				}
			}
		}
		return out
	}
	for _, c := range []struct {
		preset string
		want   []string
	}{
		{"nsf-ar-8", []string{"nsf-ar[32 32]/16"}},
		{"maf5", []string{"maf[16]/0"}},
		{"realnvp5", []string{"affine-coupling[16]/0"}}, // not a candidate family: the defaults
		{"nsf-c-8", []string{"nsf-coupling[16]/4"}},
	} {
		sp, err := s.PresetSpec(c.preset, []int{16}, 4)
		if err != nil {
			t.Fatal(err)
		}
		if got := sizes(sp); !slices.Equal(got, c.want) {
			t.Errorf("%s at %v, want %v", c.preset, got, c.want)
		}
	}
	costs := []float64{3, 1.5, 2, 0.25}
	sp, _ := s.PresetSpec("nsf-ar-8", []int{16}, 4)
	got, counts, err := s.PresetCost(sp, costs, []int{16}, 4, nil)
	if err != nil || got != 8*3 || counts["nsf-ar[32x2,K16]"] != 8 {
		t.Fatalf("nsf-ar-8: %g %v %v; want 24 as 8 × nsf-ar[32x2,K16]", got, counts, err)
	}
	// A hand-made spec mixing both nsf-ar sizes and one size that is no candidate.
	mixed := &flow.Spec{Name: "mixed", Dim: 4}
	for _, h := range [][]int{{32, 32}, {8, 8}, {8, 8}, {64, 64}} {
		bins := 4
		if h[0] == 32 {
			bins = 16
		}
		mixed.Layers = append(mixed.Layers, flow.CandidateBlock("nsf-ar", h, bins)...)
	}
	if _, _, err := s.PresetCost(mixed, costs, nil, 0, nil); err == nil || !strings.Contains(err.Error(), "nsf-ar[64x2,K4] match no candidate") {
		t.Fatalf("an unmatched size priced without extra: %v", err)
	}
	got, counts, err = s.PresetCost(mixed, costs, nil, 0, func(c []cost.Candidate) ([]float64, error) {
		if len(c) != 1 || c[0].Name != "nsf-ar[64x2,K4]" || c[0].Spec.Layers[2].Hidden[0] != 64 {
			t.Fatalf("extra candidates %+v", c)
		}
		return []float64{7}, nil
	})
	if err != nil || got != 3+2*1.5+7 || counts["nsf-ar[8x2,K4]"] != 2 || counts["nsf-ar[64x2,K4]"] != 1 {
		t.Fatalf("mixed: %g %v %v", got, counts, err)
	}
	if _, _, err := s.PresetCost(mixed, costs[:2], nil, 0, nil); err == nil {
		t.Fatal("PresetCost accepted 2 costs for 4 candidates")
	}
}

// TestValidateBeforeData: the slot count, the candidates and the cost
// source are checked without the data's dimension.
func TestValidateBeforeData(t *testing.T) {
	paper, err := strategy.ParseCandidates("nsf-ar:hidden=64x2,nsf-ar:hidden=8x1:bins=4,maf", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	toy, err := strategy.ParseCandidates("planar,affine-coupling", []int{8}, 0)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		layers int
		cands  []strategy.CandidateSpec
		src    cost.Source
		want   string // "" = valid
	}{
		{8, paper, cost.Paper, ""},
		{8, toy, cost.Params, ""},
		{8, toy, cost.Paper, "the paper's cost table has no entry for planar"},
		{0, paper, cost.Paper, "must be in 1..64"},
		{100000, toy, cost.Params, "got 100000"},
		{2, []strategy.CandidateSpec{{Family: "planar", Hidden: []int{8}}}, cost.Params, "hidden does not apply"},
		{2, nil, cost.Params, "no candidates"},
	}
	for i, c := range cases {
		err := strategy.ValidateSpace(c.layers, c.cands)
		if err == nil {
			cc := strategy.CostCandidates(c.cands)
			for j := range cc {
				if cc[j].Name != c.cands[j].Name {
					t.Errorf("case %d: cost candidate %q, want %q", i, cc[j].Name, c.cands[j].Name)
				}
			}
			err = cost.Check(cc, cost.Train, c.src)
		}
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("case %d: %v; want %q", i, err, c.want)
		}
	}
	// The cost candidates are those of the space built later.
	s, err := strategy.NewSpaceFrom(5, 2, paper)
	if err != nil {
		t.Fatal(err)
	}
	if cc := strategy.CostCandidates(paper); fmt.Sprint(cc) != fmt.Sprint(s.Candidates) {
		t.Errorf("CostCandidates %v, the space's %v", cc, s.Candidates)
	}
}

// A search space whose candidates carry their own widths and bins.
func ExampleParseCandidates() {
	cands, err := strategy.ParseCandidates("nsf-ar:hidden=256x2:bins=16,nsf-ar:hidden=64x2,maf", []int{128, 128}, 8)
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := strategy.NewSpaceFrom(6, 3, cands)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Names())
	fmt.Println(s.ArchString([]int{0, 2, 1}))
	_, err = strategy.ParseCandidates("maf,nsf-ar:hiden=64", nil, 0)
	fmt.Println(err)
	// Output:
	// [nsf-ar[256x2,K16] nsf-ar[64x2,K8] maf]
	// nsf-ar[256x2,K16] → maf → nsf-ar[64x2,K8]
	// search space: candidate 2 (nsf-ar:hiden=64): unknown key hiden; keys: hidden, bins
}
