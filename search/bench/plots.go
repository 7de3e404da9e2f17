package bench

import (
	"fmt"
	"path/filepath"

	"github.com/autonf/autonf/report"
)

// Plots writes the PNGs of s into dir: random search against each search
// variant per dataset (random_DATASET.png) and the λ sweep against the
// exhaustive front per cost source (pareto_SOURCE.png).
func Plots(s *Summary, dir string) error {
	for _, c := range s.Random {
		if len(c.K) == 0 {
			continue
		}
		series := []report.Series{
			{Name: "random search, median", X: c.Seconds, Y: c.Median},
			{Name: "random search, 25 %", X: c.Seconds, Y: c.Q25},
			{Name: "random search, 75 %", X: c.Seconds, Y: c.Q75},
		}
		for _, v := range s.Variants {
			if v.Dataset == c.Dataset && v.Regret.N > 0 {
				series = append(series, report.Series{Name: v.Variant + " (median)", X: []float64{v.Total.Median}, Y: []float64{v.Regret.Median}})
			}
		}
		p := filepath.Join(dir, "random_"+c.Dataset+".png")
		if err := report.LinePlot(p, fmt.Sprintf("%s: regret of the pick vs compute", c.Dataset), "seconds (random search: its trainings; AutoNF: search + one training of the pick)", "regret (test nats vs validation-best)", series); err != nil {
			return fmt.Errorf("bench: %s: %w", p, err)
		}
	}
	for _, ps := range s.Pareto {
		if len(ps.Costs) == 0 {
			continue
		}
		var t Truth
		for _, tt := range s.Truth {
			if tt.Dataset == ps.Dataset {
				t = tt
			}
		}
		var found, front, refs []report.Point
		for _, a := range t.Archs {
			found = append(found, report.Point{Label: a.Name, Cost: archCost(a.Arch, ps.Costs), NLL: a.Val.Mean})
		}
		for _, f := range ps.Front {
			front = append(front, report.Point{Label: f.Name, Cost: f.Cost, NLL: f.Val})
		}
		for _, pt := range ps.Points {
			if pt.Cost.N > 0 {
				// the mean cost and test NLL of the picks at this λ
				refs = append(refs, report.Point{Label: fmt.Sprintf("λ=%g", pt.Lambda), Cost: pt.Cost.Mean, NLL: valOfPicks(t, pt)})
			}
		}
		if len(found) == 0 {
			continue
		}
		p := filepath.Join(dir, "pareto_"+ps.Source+".png")
		if err := report.ParetoFront(p, fmt.Sprintf("%s: validation NLL vs %s cost; λ-sweep picks", ps.Dataset, ps.Source), ps.Source+" cost (affine coupling = 1 per layer)", found, front, refs); err != nil {
			return fmt.Errorf("bench: %s: %w", p, err)
		}
	}
	return nil
}

// valOfPicks is the mean validation NLL (ground truth) of a λ's picks.
func valOfPicks(t Truth, pt ParetoPoint) float64 {
	sum, n := 0.0, 0
	for name, k := range pt.Picks {
		for _, a := range t.Archs {
			if a.Name == name {
				sum += float64(k) * a.Val.Mean
				n += k
			}
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}
