package pipeline

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"

	"github.com/autonf/autonf/report"
)

// ParetoSummary is a λ sweep: the λ values, the runs on the validation
// Pareto front (indices into Result.Runs, by increasing cost) and the run
// with the lowest validation NLL. Test figures are reported beside the
// runs and never used to choose.
type ParetoSummary struct {
	Lambdas []float64 `json:"lambdas"`
	Front   []int     `json:"front"`
	Best    int       `json:"best"`
}

// pareto runs one search per λ of the sweep.
func (r *Result) pareto(ctx context.Context) error {
	o := r.Options
	ps := &ParetoSummary{Lambdas: Lambdas(r.Costs.Cost, o.Pareto)}
	for i, lam := range ps.Lambdas {
		oo := o
		oo.Lambda = lam
		dir := ""
		if o.Dir != "" {
			dir = filepath.Join(o.Dir, fmt.Sprintf("lambda-%02d", i))
		}
		run, err := r.searchOnce(ctx, oo, dir)
		if err != nil {
			return fmt.Errorf("λ=%g: %w", lam, err)
		}
		r.Runs = append(r.Runs, run)
	}
	ps.Front, ps.Best = chooseOnValidation(r.Runs)
	r.Pareto = ps
	logf(r.log, "pareto: %d of %d λ values are non-dominated on validation\n", len(ps.Front), len(r.Runs))
	return nil
}

// Lambdas returns 0 and k−1 geometric values up to the λ at which one
// slot's cost spread is worth 2 nats: λ_max = 2 / (c_max − c_min), the
// smallest λ_max/100.
func Lambdas(c []float64, k int) []float64 {
	spread := slices.Max(c) - slices.Min(c)
	if spread <= 0 {
		spread = 1
	}
	hi := 2 / spread
	out := []float64{0}
	for i := 1; i < k; i++ {
		out = append(out, hi*math.Pow(100, float64(i-k+1)/float64(max(1, k-2))))
	}
	return out
}

// chooseOnValidation returns the runs on the (cost, validation NLL) Pareto
// front, by increasing cost, and the run of lowest validation NLL (−1 if
// none is finite). Test figures play no part.
func chooseOnValidation(runs []*SearchRun) (front []int, best int) {
	pts := make([]report.Point, len(runs))
	for i, run := range runs {
		pts[i] = report.Point{Label: fmt.Sprintf("λ=%.3g", run.Lambda), Cost: run.Cost, NLL: run.ValNLL}
	}
	best = -1
	for i, run := range runs {
		if !math.IsNaN(run.ValNLL) && (best < 0 || run.ValNLL < runs[best].ValNLL) {
			best = i
		}
	}
	return report.NonDominated(pts), best
}
