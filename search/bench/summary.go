package bench

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// Stat summarises values: count, mean, standard deviation (0 when N < 2),
// min, median and max.
type Stat struct {
	N      int     `json:"n"`
	Mean   float64 `json:"mean"`
	SD     float64 `json:"sd"`
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	Max    float64 `json:"max"`
}

func stat(v []float64) Stat {
	s := Stat{N: len(v)}
	if len(v) == 0 {
		return s
	}
	for _, x := range v {
		s.Mean += x
	}
	s.Mean /= float64(len(v))
	if len(v) > 1 {
		ss := 0.0
		for _, x := range v {
			ss += (x - s.Mean) * (x - s.Mean)
		}
		s.SD = math.Sqrt(ss / float64(len(v)-1))
	}
	c := slices.Clone(v)
	slices.Sort(c)
	s.Min, s.Max = c[0], c[len(c)-1]
	s.Median = quantile(c, 0.5)
	return s
}

// quantile of sorted values (linear interpolation).
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	h := q * float64(len(sorted)-1)
	lo := int(math.Floor(h))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (h-float64(lo))*(sorted[hi]-sorted[lo])
}

// ArchRow is one architecture of the ground truth, over its seeds.
type ArchRow struct {
	Arch    []int  `json:"arch"`
	Name    string `json:"name"`
	Val     Stat   `json:"val_nll"`
	Test    Stat   `json:"test_nll"`
	Seconds Stat   `json:"seconds"`
	Failed  int    `json:"failed_seeds"`
	Rank    int    `json:"rank"` // 1 = lowest mean validation NLL
}

// Truth is the exhaustive ground truth of one dataset: every
// architecture ranked by mean validation NLL.
type Truth struct {
	Dataset string    `json:"dataset"`
	Archs   []ArchRow `json:"archs"` // sorted by mean validation NLL
	Space   int       `json:"space"` // architectures in the space
	// Missing counts architectures with no successful training.
	Missing  int `json:"missing"`
	ValBest  int `json:"val_best"`  // index in Archs (0)
	TestBest int `json:"test_best"` // index in Archs of the lowest mean test NLL
	// ExhaustiveSeconds is one enumeration: the sum over architectures of
	// the mean training seconds.
	ExhaustiveSeconds float64 `json:"exhaustive_seconds"`
	Spread            float64 `json:"test_spread"` // worst − best mean test NLL
	// NoiseSD is the seed s.d. of the validation-best's test NLL.
	NoiseSD float64 `json:"noise_sd"`
	// Spearman is the rank correlation of mean validation and mean test NLL.
	Spearman float64 `json:"spearman_val_test"`
}

func (t *Truth) find(arch []int) (ArchRow, bool) {
	for _, a := range t.Archs {
		if slices.Equal(a.Arch, arch) {
			return a, true
		}
	}
	return ArchRow{}, false
}

// rankPct is the percentage of the space's architectures whose score is
// strictly lower than that of arch (0: the best).
func (t *Truth) rankPct(arch []int, score func(ArchRow) float64) float64 {
	a, ok := t.find(arch)
	if !ok {
		return 100
	}
	better := 0
	for _, b := range t.Archs {
		if score(b) < score(a) {
			better++
		}
	}
	return 100 * float64(better) / float64(t.Space)
}

func truthOf(name string, space int, ts []Training) Truth {
	t := Truth{Dataset: name, Space: space}
	by := map[string][]Training{}
	var order []string
	for _, tr := range ts {
		if tr.Dataset != name {
			continue
		}
		k := archKey(tr.Arch)
		if _, ok := by[k]; !ok {
			order = append(order, k)
		}
		by[k] = append(by[k], tr)
	}
	for _, k := range order {
		var val, test, secs []float64
		row := ArchRow{Arch: by[k][0].Arch, Name: by[k][0].Name}
		for _, tr := range by[k] {
			secs = append(secs, tr.Seconds)
			if tr.Error != "" {
				row.Failed++
				continue
			}
			val, test = append(val, tr.ValNLL), append(test, tr.TestNLL)
		}
		row.Seconds = stat(secs)
		t.ExhaustiveSeconds += row.Seconds.Mean
		if len(val) == 0 {
			t.Missing++
			continue
		}
		row.Val, row.Test = stat(val), stat(test)
		t.Archs = append(t.Archs, row)
	}
	t.Missing += space - len(order)
	slices.SortStableFunc(t.Archs, func(a, b ArchRow) int { return cmp.Compare(a.Val.Mean, b.Val.Mean) })
	for i := range t.Archs {
		t.Archs[i].Rank = i + 1
	}
	if len(t.Archs) == 0 {
		return t
	}
	for i, a := range t.Archs {
		if a.Test.Mean < t.Archs[t.TestBest].Test.Mean {
			t.TestBest = i
		}
		t.Spread = math.Max(t.Spread, a.Test.Mean-t.Archs[t.TestBest].Test.Mean)
	}
	worst := t.Archs[0].Test.Mean
	for _, a := range t.Archs {
		worst = math.Max(worst, a.Test.Mean)
	}
	t.Spread = worst - t.Archs[t.TestBest].Test.Mean
	t.NoiseSD = t.Archs[0].Test.SD
	var v, te []float64
	for _, a := range t.Archs {
		v, te = append(v, a.Val.Mean), append(te, a.Test.Mean)
	}
	t.Spearman = spearman(v, te)
	return t
}

func ranks(v []float64) []float64 {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return v[idx[a]] < v[idx[b]] })
	r := make([]float64, len(v))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && v[idx[j+1]] == v[idx[i]] {
			j++
		}
		for k := i; k <= j; k++ {
			r[idx[k]] = float64(i+j)/2 + 1
		}
		i = j + 1
	}
	return r
}

func spearman(a, b []float64) float64 {
	if len(a) < 2 {
		return math.NaN()
	}
	ra, rb := ranks(a), ranks(b)
	ma, mb := stat(ra).Mean, stat(rb).Mean
	var sab, saa, sbb float64
	for i := range ra {
		sab += (ra[i] - ma) * (rb[i] - mb)
		saa += (ra[i] - ma) * (ra[i] - ma)
		sbb += (rb[i] - mb) * (rb[i] - mb)
	}
	if saa == 0 || sbb == 0 {
		return math.NaN()
	}
	return sab / math.Sqrt(saa*sbb)
}

// VariantScore scores one search variant on one dataset over its seeds.
type VariantScore struct {
	Dataset string         `json:"dataset"`
	Variant string         `json:"variant"`
	Label   string         `json:"label"`
	Runs    int            `json:"runs"`
	Failed  int            `json:"failed"`
	Picks   map[string]int `json:"picks"`
	// RankPct: percentage of the architectures with a lower mean
	// validation NLL than the pick (0: the validation-best).
	RankPct Stat `json:"rank_pct"`
	// Regret: mean test NLL of the pick − that of the validation-best
	// architecture (both from the ground truth; negative when the pick
	// tests better than the validation-best).
	Regret Stat `json:"regret"`
	// ValRegret: the same on validation NLL (≥ 0 by construction).
	ValRegret Stat `json:"val_regret"`
	Seconds   Stat `json:"seconds"`
	// Total: search seconds + one training of the pick (its mean training
	// seconds in the ground truth): the compute to a usable model, which
	// random search compares with.
	Total Stat `json:"total_seconds"`
	// PerTraining: search seconds / mean seconds of one training of the
	// pick (ground truth).
	PerTraining Stat `json:"per_training"`
	// FracExhaustive: median search seconds / one exhaustive enumeration.
	FracExhaustive float64          `json:"frac_exhaustive"`
	MinMaxWeight   Stat             `json:"min_max_weight"`
	ValBestHits    int              `json:"val_best_hits"`
	Changed        Stat             `json:"changed"` // revisits that changed a choice
	Random         Match            `json:"random_match"`
	Conv           ConvergenceScore `json:"convergence"`
}

// Match says how much compute random search (simulated from the ground
// truth) needs to reach a target regret.
type Match struct {
	Target  float64 `json:"target_regret"`
	K       int     `json:"trainings"` // 0: not reached
	Seconds float64 `json:"seconds"`   // expected training seconds of K draws
	Ratio   float64 `json:"ratio"`     // Seconds / the search's median total seconds (search + one training)
}

// RandomCurve is random search without replacement over the ground truth:
// after k trainings, the regret of the best-so-far by validation, over
// many random orders.
type RandomCurve struct {
	Dataset string    `json:"dataset"`
	Orders  int       `json:"orders"`
	K       []int     `json:"k"`
	Seconds []float64 `json:"seconds"` // mean cumulative training seconds
	Median  []float64 `json:"median_regret"`
	Q25     []float64 `json:"q25_regret"`
	Q75     []float64 `json:"q75_regret"`
}

func randomCurve(t Truth, orders int, seed uint64) RandomCurve {
	n := len(t.Archs)
	c := RandomCurve{Dataset: t.Dataset, Orders: orders}
	if n == 0 {
		return c
	}
	rng := rand.New(rand.NewPCG(seed, 0x7a4d))
	reg := make([][]float64, n)
	secs := make([]float64, n)
	best := t.Archs[0].Test.Mean
	for o := 0; o < orders; o++ {
		perm := rng.Perm(n)
		bi, cum := -1, 0.0
		for k, i := range perm {
			cum += t.Archs[i].Seconds.Mean
			if bi < 0 || t.Archs[i].Val.Mean < t.Archs[bi].Val.Mean {
				bi = i
			}
			reg[k] = append(reg[k], t.Archs[bi].Test.Mean-best)
			secs[k] += cum / float64(orders)
		}
	}
	for k := 0; k < n; k++ {
		slices.Sort(reg[k])
		c.K = append(c.K, k+1)
		c.Seconds = append(c.Seconds, secs[k])
		c.Median = append(c.Median, quantile(reg[k], 0.5))
		c.Q25 = append(c.Q25, quantile(reg[k], 0.25))
		c.Q75 = append(c.Q75, quantile(reg[k], 0.75))
	}
	return c
}

func (c RandomCurve) match(target, searchSeconds float64) Match {
	m := Match{Target: target}
	for i, v := range c.Median {
		if v <= target+1e-12 {
			m.K, m.Seconds = c.K[i], c.Seconds[i]
			if searchSeconds > 0 {
				m.Ratio = m.Seconds / searchSeconds
			}
			return m
		}
	}
	return m
}

// ToyScore summarises one loss of the toy study over its seeds.
type ToyScore struct {
	Loss    string         `json:"loss"`
	Anneal  bool           `json:"anneal"`
	Label   string         `json:"label"`
	Runs    int            `json:"runs"`
	Failed  int            `json:"failed"`
	Picks   map[string]int `json:"picks"`
	TestNLL Stat           `json:"test_nll"` // retrained from scratch
	ValNLL  Stat           `json:"val_nll"`
	// MaxWeight: per slot, the mean over seeds of the slot's max weight.
	MaxWeight    []float64        `json:"mean_max_weight"`
	MinMaxWeight Stat             `json:"min_max_weight"`
	RankPct      Stat             `json:"rank_pct"` // in the toy ground truth
	Regret       Stat             `json:"regret"`   // against the toy ground truth
	Seconds      Stat             `json:"search_seconds"`
	Conv         ConvergenceScore `json:"convergence"`
}

// ToySummary is the toy study: both losses, and on how many seeds they
// picked the same architecture.
type ToySummary struct {
	Truth  Truth      `json:"truth"`
	Scores []ToyScore `json:"scores"` // τ = 1 (M1, M2), then annealed (M1, M2)
	Same   []ToySame  `json:"same"`
}

// ToySame counts the seeds where M1 and M2 picked the same architecture,
// for one temperature setting.
type ToySame struct {
	Anneal   bool `json:"anneal"`
	SamePick int  `json:"same_pick"`
	Seeds    int  `json:"seeds"` // seeds with both runs
}

// ParetoPoint is one λ of the sweep under one cost table, over its seeds.
type ParetoPoint struct {
	Lambda float64        `json:"lambda"`
	Runs   int            `json:"runs"`
	Picks  map[string]int `json:"picks"`
	Cost   Stat           `json:"cost"` // the pick's cost (Σ of its candidates' costs)
	Test   Stat           `json:"test_nll"`
	// RankPct by validation NLL + λ·cost among all architectures.
	RankPct Stat `json:"rank_pct"`
	// PenRegret: (test + λ·cost) of the pick − that of the exhaustive
	// architecture minimising validation NLL + λ·cost.
	PenRegret Stat `json:"penalised_regret"`
	// MatchedRegret: test NLL of the pick − test NLL of the
	// validation-best architecture costing no more than the pick.
	MatchedRegret Stat `json:"matched_cost_regret"`
	// OnFront: picks on the exhaustive validation front.
	OnFront int `json:"on_front"`
}

// FrontPoint is an architecture of the exhaustive Pareto front (cost vs
// mean validation NLL; its test NLL beside).
type FrontPoint struct {
	Name string  `json:"name"`
	Cost float64 `json:"cost"`
	Val  float64 `json:"val_nll"`
	Test float64 `json:"test_nll"`
}

// ParetoScore is the λ sweep under one cost table against the exhaustive
// front (chosen on validation).
type ParetoScore struct {
	Dataset    string        `json:"dataset"`
	Source     string        `json:"source"`
	Costs      []float64     `json:"candidate_costs"`
	Candidates []string      `json:"candidates"`
	Front      []FrontPoint  `json:"front"`
	Points     []ParetoPoint `json:"points"`
}

// Summary is everything the Markdown section reports, computed from the
// raw units.
type Summary struct {
	Truth    []Truth        `json:"truth"`
	Variants []VariantScore `json:"variants"`
	Random   []RandomCurve  `json:"random"`
	Toy      ToySummary     `json:"toy"`
	Pareto   []ParetoScore  `json:"pareto"`
	Units    int            `json:"units"`
	Done     int            `json:"done"`
}

func spaceSize(layers, cands int) int {
	n := 1
	for i := 0; i < layers; i++ {
		n *= cands
	}
	return n
}

// Summarize computes the scores of r's finished units.
func Summarize(r *Results) *Summary {
	sc := r.Scale
	s := &Summary{Units: countUnits(sc)}
	if r.done == nil {
		r.index()
	}
	s.Done = len(r.done)
	space := spaceSize(sc.Layers, len(sc.Candidates))
	for _, d := range sc.Datasets {
		t := truthOf(d, space, r.Trainings)
		s.Truth = append(s.Truth, t)
		rc := randomCurve(t, sc.RandomOrders, sc.DataSeed)
		s.Random = append(s.Random, rc)
		for _, v := range sc.Variants {
			s.Variants = append(s.Variants, scoreVariant(t, rc, d, v, r.Searches))
		}
	}
	s.Toy = scoreToy(r, sc)
	for _, src := range sc.CostSources {
		s.Pareto = append(s.Pareto, scorePareto(r, s, src))
	}
	return s
}

func scoreVariant(t Truth, rc RandomCurve, d, v string, runs []SearchRun) VariantScore {
	vr, _ := variantByName(v)
	vs := VariantScore{Dataset: d, Variant: v, Label: vr.Label, Picks: map[string]int{}}
	var rank, reg, vreg, secs, total, per, mw, changed []float64
	var picked []SearchRun
	for _, s := range runs {
		if s.Dataset != d || s.Variant != v || s.CostSource != "" {
			continue
		}
		vs.Runs++
		if s.Error != "" {
			vs.Failed++
			continue
		}
		picked = append(picked, s)
		vs.Picks[s.Name]++
		secs = append(secs, s.Seconds)
		mw = append(mw, s.MinMaxW)
		changed = append(changed, float64(s.Changed))
		a, ok := t.find(s.Arch)
		if !ok || len(t.Archs) == 0 {
			continue
		}
		rank = append(rank, t.rankPct(s.Arch, func(r ArchRow) float64 { return r.Val.Mean }))
		reg = append(reg, a.Test.Mean-t.Archs[0].Test.Mean)
		vreg = append(vreg, a.Val.Mean-t.Archs[0].Val.Mean)
		total = append(total, s.Seconds+a.Seconds.Mean)
		if a.Seconds.Mean > 0 {
			per = append(per, s.Seconds/a.Seconds.Mean)
		}
		if slices.Equal(a.Arch, t.Archs[0].Arch) {
			vs.ValBestHits++
		}
	}
	vs.RankPct, vs.Regret, vs.ValRegret, vs.Seconds, vs.PerTraining = stat(rank), stat(reg), stat(vreg), stat(secs), stat(per)
	vs.MinMaxWeight, vs.Changed, vs.Total = stat(mw), stat(changed), stat(total)
	if t.ExhaustiveSeconds > 0 {
		vs.FracExhaustive = vs.Seconds.Median / t.ExhaustiveSeconds
	}
	if vs.Regret.N > 0 {
		vs.Random = rc.match(vs.Regret.Median, vs.Total.Median)
	}
	var cs []Convergence
	for _, p := range picked {
		cs = append(cs, p.Conv)
	}
	vs.Conv = scoreConvergence(cs)
	return vs
}

func scoreToy(r *Results, sc Scale) ToySummary {
	ts := ToySummary{Truth: truthOf(toyName, spaceSize(sc.ToyLayers, 2), r.ToyTruth)}
	for _, anneal := range []bool{false, true} {
		byLoss := map[string]map[uint64]ToyRun{}
		for _, loss := range []string{"original", "upper"} {
			label := map[string]string{"original": "M1: original loss L^O", "upper": "M2: upper bound L^U"}[loss]
			if anneal {
				label += ", annealed τ (default)"
			} else {
				label += ", τ = 1 (paper)"
			}
			score := ToyScore{Loss: loss, Anneal: anneal, Label: label, Picks: map[string]int{}}
			byLoss[loss] = map[uint64]ToyRun{}
			var test, val, mw, rank, reg, secs []float64
			var cs []Convergence
			nw := 0
			for _, t := range r.Toy {
				if t.Loss != loss || t.Anneal != anneal {
					continue
				}
				score.Runs++
				if t.Error != "" {
					score.Failed++
					continue
				}
				nw++
				cs = append(cs, t.Conv)
				byLoss[loss][t.Seed] = t
				score.Picks[t.Name]++
				test, val, secs = append(test, t.TestNLL), append(val, t.ValNLL), append(secs, t.SearchSeconds)
				m := 1.0
				for i, w := range t.Weights {
					if len(score.MaxWeight) <= i {
						score.MaxWeight = append(score.MaxWeight, 0)
					}
					score.MaxWeight[i] += slices.Max(w)
					m = math.Min(m, slices.Max(w))
				}
				mw = append(mw, m)
				if a, ok := ts.Truth.find(t.Arch); ok {
					rank = append(rank, ts.Truth.rankPct(t.Arch, func(r ArchRow) float64 { return r.Val.Mean }))
					reg = append(reg, a.Test.Mean-ts.Truth.Archs[0].Test.Mean)
				}
			}
			for i := range score.MaxWeight {
				score.MaxWeight[i] /= float64(nw)
			}
			score.TestNLL, score.ValNLL, score.MinMaxWeight, score.RankPct, score.Regret, score.Seconds = stat(test), stat(val), stat(mw), stat(rank), stat(reg), stat(secs)
			score.Conv = scoreConvergence(cs)
			ts.Scores = append(ts.Scores, score)
		}
		same := ToySame{Anneal: anneal}
		for seed, a := range byLoss["original"] {
			if b, ok := byLoss["upper"][seed]; ok {
				same.Seeds++
				if slices.Equal(a.Arch, b.Arch) {
					same.SamePick++
				}
			}
		}
		ts.Same = append(ts.Same, same)
	}
	return ts
}

func archCost(arch []int, costs []float64) float64 {
	c := 0.0
	for _, j := range arch {
		c += costs[j]
	}
	return c
}

func scorePareto(r *Results, s *Summary, src string) ParetoScore {
	sc := r.Scale
	d := sc.ParetoDataset
	ps := ParetoScore{Dataset: d, Source: src}
	var costs []float64
	for _, c := range r.Costs {
		if c.Dataset == d && c.Source == src {
			costs, ps.Candidates = c.Cost, c.Candidates
		}
	}
	ps.Costs = costs
	var t Truth
	for _, tt := range s.Truth {
		if tt.Dataset == d {
			t = tt
		}
	}
	if costs == nil || len(t.Archs) == 0 {
		return ps
	}
	// The exhaustive front on validation: sorted by cost, keep strictly
	// improving validation NLL.
	idx := make([]int, len(t.Archs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		return cmp.Or(cmp.Compare(archCost(t.Archs[a].Arch, costs), archCost(t.Archs[b].Arch, costs)), cmp.Compare(t.Archs[a].Val.Mean, t.Archs[b].Val.Mean))
	})
	bestVal := math.Inf(1)
	onFront := map[string]bool{}
	for _, i := range idx {
		a := t.Archs[i]
		if a.Val.Mean < bestVal {
			bestVal = a.Val.Mean
			ps.Front = append(ps.Front, FrontPoint{Name: a.Name, Cost: archCost(a.Arch, costs), Val: a.Val.Mean, Test: a.Test.Mean})
			onFront[archKey(a.Arch)] = true
		}
	}
	for _, l := range sc.Lambdas {
		pt := ParetoPoint{Lambda: l, Picks: map[string]int{}}
		score := func(a ArchRow) float64 { return a.Val.Mean + l*archCost(a.Arch, costs) }
		opt := t.Archs[0]
		for _, a := range t.Archs {
			if score(a) < score(opt) {
				opt = a
			}
		}
		var cst, test, rank, pen, matched []float64
		for _, run := range r.Searches {
			if run.CostSource != src || run.Dataset != d || run.Lambda != l || run.Error != "" {
				continue
			}
			pt.Runs++
			pt.Picks[run.Name]++
			a, ok := t.find(run.Arch)
			if !ok {
				continue
			}
			c := archCost(a.Arch, costs)
			cst, test = append(cst, c), append(test, a.Test.Mean)
			rank = append(rank, t.rankPct(a.Arch, score))
			pen = append(pen, (a.Test.Mean+l*c)-(opt.Test.Mean+l*archCost(opt.Arch, costs)))
			ref := a
			for _, b := range t.Archs { // sorted by validation: the first within budget
				if archCost(b.Arch, costs) <= c+1e-12 {
					ref = b
					break
				}
			}
			matched = append(matched, a.Test.Mean-ref.Test.Mean)
			if onFront[archKey(a.Arch)] {
				pt.OnFront++
			}
		}
		pt.Cost, pt.Test, pt.RankPct, pt.PenRegret, pt.MatchedRegret = stat(cst), stat(test), stat(rank), stat(pen), stat(matched)
		ps.Points = append(ps.Points, pt)
	}
	return ps
}
