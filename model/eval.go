package model

import (
	"fmt"
	"math"
	"slices"

	"github.com/autonf/autonf/data"
)

// Eval summarises per-row log-likelihoods (nats, in the units of the
// user's file): the mean with two standard errors and the row count, and,
// because a few rows far outside the training range can wreck a mean (an
// affine flow may give them log-densities of −10²⁰), the median, a trimmed
// mean, the minimum and a count of such rows.
type Eval struct {
	N     int     `json:"n"`
	Mean  float64 `json:"loglik_mean"`
	TwoSE float64 `json:"loglik_2se"`
	// Median and TrimmedMean (the mean of the rows between the TrimFrac
	// and 1−TrimFrac quantiles) are robust to a few extreme rows.
	Median      float64 `json:"loglik_median"`
	TrimmedMean float64 `json:"loglik_trimmed_mean"`
	Min         float64 `json:"loglik_min"`
	// Outliers counts the rows with a value more than OutlierZ training
	// standard deviations from the training mean (Evaluate only; Summarize
	// leaves it 0). MaxAbsZ is the largest such distance seen.
	Outliers int     `json:"outlier_rows"`
	MaxAbsZ  float64 `json:"max_abs_z"`
}

// TrimFrac is the fraction of rows dropped at each end for Eval.TrimmedMean.
const TrimFrac = 0.05

// OutlierZ is the distance from the training mean, in training standard
// deviations, beyond which Evaluate counts a row as far outside the
// training range.
const OutlierZ = 10

// Summarize returns the mean of lp with two standard errors of the mean,
// the median, the trimmed mean and the minimum. For an empty lp every
// statistic is NaN; Evaluate refuses non-finite summaries.
func Summarize(lp []float64) Eval {
	n := float64(len(lp))
	if len(lp) == 0 {
		nan := math.NaN()
		return Eval{Mean: nan, TwoSE: nan, Median: nan, TrimmedMean: nan, Min: nan}
	}
	mean := 0.0
	for _, v := range lp {
		mean += v
	}
	mean /= n
	ss := 0.0
	for _, v := range lp {
		ss += (v - mean) * (v - mean)
	}
	se := 0.0
	if len(lp) > 1 {
		se = math.Sqrt(ss/(n-1)) / math.Sqrt(n)
	}
	s := slices.Clone(lp)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	k := int(TrimFrac * n)
	tm := 0.0
	for _, v := range s[k : len(s)-k] {
		tm += v
	}
	tm /= float64(len(s) - 2*k)
	return Eval{N: len(lp), Mean: mean, TwoSE: 2 * se, Median: med, TrimmedMean: tm, Min: s[0]}
}

// Evaluate computes the log-likelihood of every row of t under m (user
// units; dequantisation noise drawn from seed) and summarises it,
// counting the rows far outside the training range (see OutlierZ). A
// summary that is not finite (no rows, or a sum that overflows) is an
// error, so that no NaN or Inf reaches a report.
func Evaluate(m *Model, t *data.Table, seed uint64) (Eval, error) {
	lp, err := m.LogProb(t, seed)
	if err != nil {
		return Eval{}, err
	}
	ev := Summarize(lp)
	ev.Outliers, ev.MaxAbsZ = m.Outliers(t)
	if ev.N == 0 {
		return Eval{}, fmt.Errorf("%s: no rows to evaluate", t.Source)
	}
	for _, v := range []float64{ev.Mean, ev.TwoSE, ev.Median, ev.TrimmedMean, ev.Min, ev.MaxAbsZ} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Eval{}, fmt.Errorf("%s: the log-likelihood summary is not finite (mean %v ± %v, median %v over %d rows; %d rows far outside the training range)", t.Source, ev.Mean, ev.TwoSE, ev.Median, ev.N, ev.Outliers)
		}
	}
	return ev, nil
}

// Outliers counts the rows of t (the model's columns, user units) with a
// kept column more than OutlierZ training standard deviations from its
// training mean, and returns the largest such distance over all rows.
func (m *Model) Outliers(t *data.Table) (rows int, maxAbsZ float64) {
	s := m.Standardizer
	if t.Cols != len(m.Columns) {
		return 0, 0
	}
	for i := 0; i < t.Rows; i++ {
		r := t.Row(i)
		far := false
		for k, j := range s.Keep {
			z := math.Abs(r[j]-s.Mean[k]) / s.Std[k]
			maxAbsZ = max(maxAbsZ, z)
			far = far || z > OutlierZ
		}
		if far {
			rows++
		}
	}
	return rows, maxAbsZ
}

// Warning returns a sentence for a report when the evaluation has rows far
// outside the training range, or "" when it has none.
func (e Eval) Warning() string {
	if e.Outliers == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d rows lie more than %d training standard deviations from the training mean (up to %.3g); they can dominate the mean (%.4g): median %.4g, %g%%-trimmed mean %.4g",
		e.Outliers, e.N, OutlierZ, e.MaxAbsZ, e.Mean, e.Median, 100*TrimFrac, e.TrimmedMean)
}
