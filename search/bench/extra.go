package bench

import (
	"fmt"
	"math"

	"github.com/autonf/autonf/model"
	"github.com/autonf/autonf/search/strategy"
)

// Convergence is what a search reports about its convergence to one
// architecture: whether every phase saturated (every slot's max weight ≥
// the saturation threshold) and the binarisation gap on the whole
// validation set with the shared parameters. NLLs are in the units of the
// user's file (the gap, a difference, is the same in any units); nil when
// the search reported a non-finite value.
type Convergence struct {
	Saturated       bool     `json:"saturated"`
	PhasesSaturated int      `json:"phases_saturated"`
	Reverted        int      `json:"reverted"` // Block revisits whose change was rejected
	RelaxedNLL      *float64 `json:"relaxed_nll"`
	ArgmaxNLL       *float64 `json:"argmax_nll"`
	Gap             *float64 `json:"gap"`
}

func finite(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

// convergenceOf converts res's diagnostics to user units (logDet: the
// standardisation's log-Jacobian).
func convergenceOf(res *strategy.Result, p *model.Prepared) Convergence {
	c := Convergence{Saturated: res.Saturated, RelaxedNLL: finite(p.DataNLL(res.RelaxedNLL)), ArgmaxNLL: finite(p.DataNLL(res.ArgmaxNLL)), Gap: finite(res.Gap)}
	for _, ph := range res.Phases {
		if ph.Saturated {
			c.PhasesSaturated++
		}
		if ph.Reverted {
			c.Reverted++
		}
	}
	return c
}

// ConvergenceScore summarises the convergence of a variant's runs.
type ConvergenceScore struct {
	Runs      int  `json:"runs"`
	Saturated int  `json:"saturated"` // runs whose every phase saturated
	Gap       Stat `json:"gap"`
	Reverted  Stat `json:"reverted"`
}

func scoreConvergence(cs []Convergence) ConvergenceScore {
	s := ConvergenceScore{Runs: len(cs)}
	var gap, rev []float64
	for _, c := range cs {
		if c.Saturated {
			s.Saturated++
		}
		if c.Gap != nil {
			gap = append(gap, *c.Gap)
		}
		rev = append(rev, float64(c.Reverted))
	}
	s.Gap, s.Reverted = stat(gap), stat(rev)
	return s
}

func (s ConvergenceScore) cells() string {
	if s.Runs == 0 {
		return " — | — |"
	}
	gap := "—"
	if s.Gap.N > 0 {
		gap = medRange(s.Gap)
	}
	return fmt.Sprintf(" %d/%d | %s |", s.Saturated, s.Runs, gap)
}
