package bench

import (
	"math"
	"reflect"
	"testing"
)

func TestStat(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want Stat
	}{
		{[]float64{3}, Stat{N: 1, Mean: 3, Min: 3, Median: 3, Max: 3}},
		{[]float64{4, 1, 3, 2}, Stat{N: 4, Mean: 2.5, SD: math.Sqrt(5.0 / 3), Min: 1, Median: 2.5, Max: 4}},
		{nil, Stat{}},
	} {
		got := stat(tc.in)
		if math.Abs(got.SD-tc.want.SD) > 1e-12 {
			t.Errorf("stat(%v).SD = %v, want %v", tc.in, got.SD, tc.want.SD)
		}
		got.SD = tc.want.SD
		if got != tc.want {
			t.Errorf("stat(%v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
	if r := spearman([]float64{1, 2, 3, 4}, []float64{10, 20, 30, 40}); math.Abs(r-1) > 1e-12 {
		t.Errorf("spearman of a monotone pair = %v", r)
	}
	if r := spearman([]float64{1, 2, 3, 4}, []float64{4, 3, 2, 1}); math.Abs(r+1) > 1e-12 {
		t.Errorf("spearman of a reversed pair = %v", r)
	}
}

// synthetic ground truth: 4 architectures × 2 seeds with known NLLs.
func synthetic() []Training {
	val := map[string][2]float64{"0": {1, 1.2}, "1": {2, 2}, "2": {0.5, 0.7}, "3": {3, 3}}
	test := map[string][2]float64{"0": {1.0, 1.0}, "1": {1.5, 1.7}, "2": {2, 2}, "3": {4, 4}}
	var ts []Training
	for _, k := range []string{"0", "1", "2", "3"} {
		a := int(k[0] - '0')
		for s := 0; s < 2; s++ {
			ts = append(ts, Training{Dataset: "d", Arch: []int{a}, Name: "a" + k, Seed: uint64(s), ValNLL: val[k][s], TestNLL: test[k][s], Seconds: float64(a + 1)})
		}
	}
	return ts
}

func TestTruthAndScores(t *testing.T) {
	tr := truthOf("d", 4, synthetic())
	names := []string{}
	for _, a := range tr.Archs {
		names = append(names, a.Name)
	}
	if !reflect.DeepEqual(names, []string{"a2", "a0", "a1", "a3"}) {
		t.Fatalf("order by validation = %v", names)
	}
	if tr.TestBest != 1 || tr.ExhaustiveSeconds != 1+2+3+4 || tr.Spread != 3 {
		t.Errorf("test-best %d, exhaustive %v s, spread %v", tr.TestBest, tr.ExhaustiveSeconds, tr.Spread)
	}
	if p := tr.rankPct([]int{1}, func(r ArchRow) float64 { return r.Val.Mean }); p != 50 {
		t.Errorf("rank of a1 = %v %%, want 50", p)
	}
	runs := []SearchRun{
		{Dataset: "d", Variant: "whole", Arch: []int{2}, Name: "a2", Seconds: 3},
		{Dataset: "d", Variant: "whole", Arch: []int{0}, Name: "a0", Seconds: 5},
	}
	rc := randomCurve(tr, 4000, 1)
	v := scoreVariant(tr, rc, "d", "whole", runs)
	// Regrets: a2 is the validation-best (0), a0 tests 1 nat better (−1).
	if v.Regret.Min != -1 || v.Regret.Max != 0 || v.ValBestHits != 1 || math.Abs(v.ValRegret.Max-0.5) > 1e-12 {
		t.Errorf("variant score %+v", v)
	}
	if v.Total.Min != 3+3 || v.Total.Max != 5+1 {
		t.Errorf("search + training seconds %+v", v.Total)
	}
	// Random search: one draw is each architecture with probability 1/4;
	// regrets 0, −1, −0.4 (a1: 1.6 − 2), 2; all four: the validation-best.
	if rc.Median[3] != 0 {
		t.Errorf("random search after every draw: %v", rc.Median[3])
	}
	if math.Abs(rc.Seconds[0]-2.5) > 0.1 || math.Abs(rc.Seconds[3]-10) > 1e-9 {
		t.Errorf("random search seconds %v", rc.Seconds)
	}
	if m := rc.match(-2, 6); m.K != 0 {
		t.Errorf("an unreachable target was matched: %+v", m)
	}
}
