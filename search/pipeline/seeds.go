package pipeline

import (
	"cmp"
	"math"
	"slices"
)

// SeedSummary summarises K searches that differ in their seed only.
type SeedSummary struct {
	K int `json:"k"`
	// Test log-likelihood (per row, data units) of the retrained picks:
	// mean and sample standard deviation over the seeds (NaN without a
	// test set); ValNLL likewise for the retrained validation NLL.
	TestMean float64 `json:"test_loglik_mean"`
	TestSD   float64 `json:"test_loglik_sd"`
	ValMean  float64 `json:"val_nll_mean"`
	ValSD    float64 `json:"val_nll_sd"`
	// Picks counts how often each architecture was picked, most often
	// first.
	Picks         []Pick  `json:"picks"`
	Saturated     int     `json:"saturated_runs"` // runs whose every slot ended at max weight ≥ 0.99
	SearchSeconds float64 `json:"search_seconds_mean"`
}

// Pick is an architecture and how many seeds picked it.
type Pick struct {
	Arch  string `json:"arch"`
	Count int    `json:"count"`
}

func summarizeSeeds(runs []*SearchRun) *SeedSummary {
	s := &SeedSummary{K: len(runs)}
	var test, val, secs []float64
	counts := map[string]int{}
	for _, r := range runs {
		if r.Test != nil {
			test = append(test, r.Test.Mean)
		}
		val = append(val, r.ValNLL)
		secs = append(secs, r.SearchSeconds)
		counts[r.ArchName]++
		if r.Saturated {
			s.Saturated++
		}
	}
	s.TestMean, s.TestSD = meanSD(test)
	s.ValMean, s.ValSD = meanSD(val)
	s.SearchSeconds, _ = meanSD(secs)
	for a, c := range counts {
		s.Picks = append(s.Picks, Pick{a, c})
	}
	slices.SortFunc(s.Picks, func(a, b Pick) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Arch, b.Arch)
	})
	return s
}

// meanSD returns the mean and the sample standard deviation (NaN, NaN for
// no values; the s.d. is 0 for one value).
func meanSD(v []float64) (float64, float64) {
	if len(v) == 0 {
		return math.NaN(), math.NaN()
	}
	m := 0.0
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	if len(v) == 1 {
		return m, 0
	}
	ss := 0.0
	for _, x := range v {
		ss += (x - m) * (x - m)
	}
	return m, math.Sqrt(ss / float64(len(v)-1))
}
