package model

import (
	"math"

	"github.com/autonf/autonf/data"
)

// Eval summarises per-row log-likelihoods (nats, in the units of the
// user's file): the mean with two standard errors and the row count.
type Eval struct {
	N     int     `json:"n"`
	Mean  float64 `json:"loglik_mean"`
	TwoSE float64 `json:"loglik_2se"`
}

// Summarize returns the mean of lp with two standard errors of the mean.
func Summarize(lp []float64) Eval {
	n := float64(len(lp))
	if len(lp) == 0 {
		return Eval{Mean: math.NaN(), TwoSE: math.NaN()}
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
	return Eval{N: len(lp), Mean: mean, TwoSE: 2 * se}
}

// Evaluate computes the log-likelihood of every row of t under m (user
// units; dequantisation noise drawn from seed) and summarises it.
func Evaluate(m *Model, t *data.Table, seed uint64) (Eval, error) {
	lp, err := m.LogProb(t, seed)
	if err != nil {
		return Eval{}, err
	}
	return Summarize(lp), nil
}
