package pipeline

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/model"
	"github.com/autonf/autonf/search"
	"github.com/autonf/autonf/search/cost"
)

// Yardstick is a discrete flow trained from scratch under the retraining
// budget, to compare a search with. NLLs are per row in data units.
type Yardstick struct {
	// Kind: "exhaustive" or "random" (architectures of the space),
	// "matched" (n × one candidate, at the searched sizes) or "preset" (a
	// hand-crafted preset at its own sizes).
	Kind    string      `json:"kind"`
	Name    string      `json:"name"`
	Arch    []int       `json:"arch_index,omitempty"`
	Layers  int         `json:"layers"`
	Cost    float64     `json:"cost"` // NaN where the cost source cannot price it
	ValNLL  float64     `json:"val_nll"`
	Test    *model.Eval `json:"test,omitempty"`
	Seconds float64     `json:"seconds"`
	// DominatedBy lists the found architectures (by λ or seed) that are no
	// worse in validation NLL and cost and better in one (presets and
	// matched yardsticks).
	DominatedBy []string `json:"dominated_by,omitempty"`
	Err         string   `json:"error,omitempty"`
}

// yardsticks trains every yardstick the options ask for and sorts them by
// validation NLL.
func (r *Result) yardsticks(ctx context.Context) error {
	o := r.Options
	s := r.Space
	seed := o.Search.Seed
	var jobs []Yardstick
	var specs []*flow.Spec
	add := func(kind string, arch []int) {
		jobs = append(jobs, Yardstick{Kind: kind, Name: s.ArchString(arch), Arch: arch, Layers: len(arch),
			Cost: search.PathCost(search.Broadcast(r.Costs.Cost, len(arch)), arch)})
		specs = append(specs, s.Spec(arch, kind))
	}
	if o.Exhaustive {
		for _, a := range s.AllArchs() {
			add("exhaustive", a)
		}
	}
	if o.Random > 0 {
		for _, a := range distinctArchs(s.Layers, len(s.Candidates), o.Random, rand.New(rand.NewPCG(seed, 0x4a4d))) {
			add("random", a)
		}
	}
	if o.Matched {
		for j := range s.Candidates {
			add("matched", slices.Repeat([]int{j}, s.Layers))
		}
	}
	presets := o.Presets
	if len(presets) == 1 && presets[0] == "auto" {
		presets = s.RefPresets()
	}
	for _, name := range presets {
		sp, err := flow.PresetSpec(name, s.Dim)
		if err != nil {
			return fmt.Errorf("preset %s: %w", name, err)
		}
		y := Yardstick{Kind: "preset", Name: name, Layers: len(sp.Layers)}
		y.Cost = r.presetCost(sp)
		jobs = append(jobs, y)
		specs = append(specs, sp)
	}
	for k := range jobs {
		y := &jobs[k]
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("yardsticks interrupted after %d of %d: %w", k, len(jobs), err)
		}
		fl, err := flow.Build[float32](specs[k], rand.New(rand.NewPCG(seed, 0xf10)))
		if err == nil {
			_, tr, ev, ferr := r.retrain(ctx, fl, seed)
			if err = ferr; err == nil {
				y.ValNLL, y.Test, y.Seconds = r.dataNLL(tr.BestValNLL), ev, tr.Elapsed.Seconds()
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("yardsticks interrupted after %d of %d: %w", k, len(jobs), ctx.Err())
			}
			y.Err, y.ValNLL = err.Error(), math.NaN()
			logf(r.log, "warning: %s %s: %v\n", y.Kind, y.Name, err)
			continue
		}
		logf(r.log, "%s %d/%d: %s  val NLL %.4f  (%.1f s)\n", y.Kind, k+1, len(jobs), y.Name, y.ValNLL, y.Seconds)
	}
	for k := range jobs {
		y := &jobs[k]
		if y.Kind != "matched" && y.Kind != "preset" || y.Err != "" {
			continue
		}
		for _, run := range r.Runs {
			if math.IsNaN(run.ValNLL) {
				continue
			}
			if run.Cost <= y.Cost && run.ValNLL <= y.ValNLL && (run.Cost < y.Cost || run.ValNLL < y.ValNLL) {
				y.DominatedBy = append(y.DominatedBy, r.runLabel(run))
			}
		}
	}
	slices.SortStableFunc(jobs, func(a, b Yardstick) int { return cmpNaNLast(a.ValNLL, b.ValNLL) })
	r.Yard = jobs
	return nil
}

// runLabel names a run by what distinguishes it.
func (r *Result) runLabel(run *SearchRun) string {
	switch {
	case r.Options.Pareto > 0:
		return fmt.Sprintf("λ=%.3g", run.Lambda)
	case r.Options.Seeds > 1:
		return fmt.Sprintf("seed %d", run.Seed)
	}
	return "search"
}

// presetCost prices a whole preset as one candidate on the search's cost
// scale (affine coupling at the searched sizes = 1); where the cost source
// cannot price it whole, layer by layer with the candidates' costs
// (strategy.Space.PresetCost); NaN if neither works.
func (r *Result) presetCost(sp *flow.Spec) float64 {
	o := r.Options
	whole := cost.Candidate{Name: sp.Name, Spec: flow.LayerSpec{Type: "chain", Layers: sp.Layers}}
	t, err := cost.Price(append(slices.Clone(r.Space.Candidates), whole), r.Space.Dim, o.Search.Batch, o.Emphasis, o.Cost, o.costOptions())
	if err == nil {
		return t.Cost[len(t.Cost)-1]
	}
	c, _, err := r.Space.PresetCost(sp, r.Costs.Cost, o.Hidden, o.Bins, nil)
	if err != nil {
		return math.NaN()
	}
	return c
}

// distinctArchs draws k distinct architectures of n slots × m candidates
// (k ≤ m^n), uniformly without replacement.
func distinctArchs(n, m, k int, rng *rand.Rand) [][]int {
	total := pow(m, n)
	decode := func(idx int) []int {
		a := make([]int, n)
		for i := n - 1; i >= 0; i-- {
			a[i] = idx % m
			idx /= m
		}
		return a
	}
	var out [][]int
	if total <= 1<<20 {
		perm := rng.Perm(total)
		for _, idx := range perm[:min(k, total)] {
			out = append(out, decode(idx))
		}
		return out
	}
	seen := map[string]bool{}
	for len(out) < k {
		a := make([]int, n)
		for i := range a {
			a[i] = rng.IntN(m)
		}
		key := fmt.Sprint(a)
		if !seen[key] {
			seen[key] = true
			out = append(out, a)
		}
	}
	return out
}

func cmpNaNLast(a, b float64) int {
	switch an, bn := math.IsNaN(a), math.IsNaN(b); {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	}
	return cmp.Compare(a, b)
}
