package strategy

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/search"
	"github.com/autonf/autonf/tensor"
)

// Options configure a search run. Zero values take the documented defaults.
type Options struct {
	// Strategy: "grow" (search block b with blocks < b fixed at their
	// argmax, then append the next; the paper's Grow) or "block" (Grow
	// first, then re-optimise each block in turn with all others fixed,
	// until a round changes no choice or MaxRounds; the paper's Block).
	Strategy string
	Block    int // slots searched jointly (default 4; the whole flow with the sample estimator)

	Estimator search.Estimator
	Loss      search.LossKind
	Lambda    float64
	Costs     []float64 // per candidate (normalised); nil: no cost term

	Batch            int     // rows per α and θ batch (default 512)
	ThetaLR, AlphaLR float64 // Adam learning rates (default 2e-3 each)
	ClipNorm         float64 // θ gradient clip (default 5)
	Seed             uint64

	// Stopping rules of one phase (one block's search): at most Steps
	// steps (default 500); after MinSteps (default Steps/5), every
	// CheckEvery steps (default 25) the phase ends when every slot of the
	// block is saturated (max weight ≥ Saturation, default 0.99) or the
	// argmax has not changed for Stable checks in a row (default 4).
	Steps, MinSteps, CheckEvery, Stable int
	Saturation                          float64
	MaxRounds                           int // block strategy: rounds after the first (default 3)

	// OnStep, when set, is called after every step.
	OnStep func(Progress)
	// Checkpoint, when set, is called after every finished phase with the
	// state needed to resume (see State).
	Checkpoint func(*State) error
	// Resume, when set, continues a run from a checkpointed state.
	Resume *State
}

func (o *Options) defaults(layers int) {
	if o.Strategy == "" {
		o.Strategy = "grow"
	}
	if o.Block <= 0 {
		o.Block = 4
		if o.Estimator == search.Sampled {
			o.Block = layers
		}
	}
	o.Block = min(o.Block, layers)
	if o.Batch <= 0 {
		o.Batch = 512
	}
	if o.ClipNorm == 0 {
		o.ClipNorm = 5
	}
	if o.Steps <= 0 {
		o.Steps = 500
	}
	if o.MinSteps <= 0 {
		o.MinSteps = o.Steps / 5
	}
	if o.CheckEvery <= 0 {
		o.CheckEvery = 25
	}
	if o.Stable <= 0 {
		o.Stable = 4
	}
	if o.Saturation <= 0 {
		o.Saturation = 0.99
	}
	if o.MaxRounds <= 0 {
		o.MaxRounds = 3
	}
}

// Progress is reported after every step.
type Progress struct {
	Round, Block, Step int
	Upper, Original    float64 // validation losses at the α step (Original NaN with the sample estimator)
	Arch               []int   // current argmax of every slot (−1: not searched yet)
	Weights            [][]float64
}

// Phase records one block's search.
type Phase struct {
	Round      int             `json:"round"`
	Block      int             `json:"block"`
	Slots      []int           `json:"slots"`
	Steps      int             `json:"steps"`
	StopReason string          `json:"stop_reason"`
	Seconds    float64         `json:"seconds"`
	Choice     []int           `json:"choice"`
	History    []search.Record `json:"-"`
}

// State is what a checkpoint holds: the position of the strategy, the
// choices and logits so far, and every candidate's parameters.
type State struct {
	Phase  int                  `json:"phase"` // phases finished
	Choice []int                `json:"choice"`
	Alpha  [][]float64          `json:"alpha"`
	Params map[string][]float32 `json:"-"`
}

// Result is a finished search.
type Result struct {
	Arch       []int
	Weights    [][]float64 // final softmax weights of every slot
	Phases     []Phase
	Seconds    float64
	StopReason string
	// Chosen holds the chosen candidates' layers with their searched
	// parameters (for warm-starting the retraining).
	Chosen []flow.Layer[float32]
}

// Run searches the architecture of s on train (θ steps) and val (α steps).
func Run(ctx context.Context, s *Space, trainX, valX *tensor.Mat[float32], opt Options) (*Result, error) {
	opt.defaults(s.Layers)
	if opt.Strategy != "grow" && opt.Strategy != "block" {
		return nil, fmt.Errorf("search: strategy %q is unknown (want grow or block)", opt.Strategy)
	}
	if opt.Costs != nil && len(opt.Costs) != len(s.Candidates) {
		return nil, fmt.Errorf("search: %d costs for %d candidates", len(opt.Costs), len(s.Candidates))
	}
	if trainX.Cols != s.Dim || valX.Cols != s.Dim {
		return nil, fmt.Errorf("search: data has %d columns, the space %d", trainX.Cols, s.Dim)
	}
	n, m := s.Layers, len(s.Candidates)
	start := time.Now()

	// Every (slot, candidate) owns its layer and parameters for the whole run.
	cands := make([][]flow.Layer[float32], n)
	for i := range cands {
		for j, c := range s.Candidates {
			l, err := flow.NewLayer[float32](s.Dim, c.Spec, rand.New(rand.NewPCG(opt.Seed, uint64(i*m+j+1))))
			if err != nil {
				return nil, err
			}
			cands[i] = append(cands[i], l)
		}
	}
	st := &State{Choice: slices.Repeat([]int{-1}, n), Alpha: make([][]float64, n)}
	for i := range st.Alpha {
		st.Alpha[i] = make([]float64, m)
	}
	if opt.Resume != nil {
		if err := restoreState(opt.Resume, st, cands); err != nil {
			return nil, err
		}
	}

	var blocks [][]int
	for lo := 0; lo < n; lo += opt.Block {
		var b []int
		for i := lo; i < min(lo+opt.Block, n); i++ {
			b = append(b, i)
		}
		blocks = append(blocks, b)
	}
	type plan struct{ round, block int }
	var plans []plan
	for b := range blocks {
		plans = append(plans, plan{1, b})
	}
	if opt.Strategy == "block" && len(blocks) > 1 {
		for r := 2; r <= opt.MaxRounds+1; r++ {
			for b := range blocks {
				plans = append(plans, plan{r, b})
			}
		}
	}

	rng := rand.New(rand.NewPCG(opt.Seed, 0x5e4c))
	tb := tensor.New[float32](min(opt.Batch, trainX.Rows), s.Dim)
	vb := tensor.New[float32](min(opt.Batch, valX.Rows), s.Dim)
	res := &Result{StopReason: "all phases done"}
	changedInRound := false
	for pi := st.Phase; pi < len(plans); pi++ {
		p := plans[pi]
		if p.block == 0 && p.round > 2 && !changedInRound {
			res.StopReason = fmt.Sprintf("stable: round %d changed no choice", p.round-1)
			break
		}
		if p.block == 0 {
			changedInRound = false
		}
		slots := blocks[p.block]
		var prefix, suffix []flow.Layer[float32]
		for i := 0; i < slots[0]; i++ {
			if st.Choice[i] >= 0 {
				prefix = append(prefix, cands[i][st.Choice[i]])
			}
		}
		for i := slots[len(slots)-1] + 1; i < n; i++ {
			if st.Choice[i] >= 0 {
				suffix = append(suffix, cands[i][st.Choice[i]])
			}
		}
		var slotLayers [][]flow.Layer[float32]
		for _, i := range slots {
			slotLayers = append(slotLayers, cands[i])
		}
		net, err := search.New(s.Dim, prefix, slotLayers, suffix)
		if err != nil {
			return nil, err
		}
		for k, i := range slots {
			copy(net.Alpha[k], st.Alpha[i])
		}
		cfg := search.Config{ThetaLR: opt.ThetaLR, AlphaLR: opt.AlphaLR, Lambda: opt.Lambda, Kind: opt.Loss,
			Estimator: opt.Estimator, Seed: opt.Seed + uint64(pi) + 1, ClipNorm: opt.ClipNorm}
		if opt.Costs != nil {
			cfg.Costs = search.Broadcast(opt.Costs, len(slots))
		}
		srch, err := search.NewSearcher(net, cfg)
		if err != nil {
			return nil, err
		}
		net.SetTraining(true)
		ph := Phase{Round: p.round, Block: p.block, Slots: slots, StopReason: "step budget"}
		t0 := time.Now()
		last := net.Argmax()
		stableChecks := 0
		for step := 1; step <= opt.Steps; step++ {
			if err := ctx.Err(); err != nil {
				res.StopReason = "interrupted"
				ph.StopReason = "interrupted"
				break
			}
			fillBatch(tb, trainX, rng)
			fillBatch(vb, valX, rng)
			rec, err := srch.Step(tb, vb)
			if err != nil {
				return nil, fmt.Errorf("round %d, block %d, step %d: %w", p.round, p.block+1, step, err)
			}
			ph.Steps = step
			arch := slices.Clone(st.Choice)
			for k, i := range slots {
				arch[i] = argmax(rec.Weights[k])
			}
			if opt.OnStep != nil {
				opt.OnStep(Progress{Round: p.round, Block: p.block, Step: step, Upper: rec.ValUpper, Original: rec.ValOriginal, Arch: arch, Weights: rec.Weights})
			}
			if step >= opt.MinSteps && step%opt.CheckEvery == 0 {
				if saturated(rec.Weights, opt.Saturation) {
					ph.StopReason = fmt.Sprintf("saturated: every slot's max weight ≥ %.2f", opt.Saturation)
					break
				}
				cur := net.Argmax()
				if slices.Equal(cur, last) {
					stableChecks++
				} else {
					stableChecks = 0
				}
				last = cur
				if stableChecks >= opt.Stable {
					ph.StopReason = fmt.Sprintf("argmax unchanged for %d checks (%d steps)", opt.Stable, opt.Stable*opt.CheckEvery)
					break
				}
			}
		}
		ph.History = srch.History
		ph.Seconds = time.Since(t0).Seconds()
		choice := net.Argmax()
		for k, i := range slots {
			copy(st.Alpha[i], net.Alpha[k])
			if st.Choice[i] != choice[k] && p.round > 1 {
				changedInRound = true
			}
			st.Choice[i] = choice[k]
		}
		if p.round == 1 {
			changedInRound = true
		}
		ph.Choice = choice
		res.Phases = append(res.Phases, ph)
		st.Phase = pi + 1
		if res.StopReason == "interrupted" {
			break
		}
		if opt.Checkpoint != nil {
			st.Params = snapshotParams(cands)
			if err := opt.Checkpoint(st); err != nil {
				return nil, fmt.Errorf("checkpoint: %w", err)
			}
		}
	}
	for i, j := range st.Choice {
		if j < 0 { // interrupted before this slot was searched: take the uniform argmax
			st.Choice[i] = 0
		}
		res.Chosen = append(res.Chosen, cands[i][st.Choice[i]])
	}
	res.Arch = st.Choice
	for _, a := range st.Alpha {
		res.Weights = append(res.Weights, softmax(a))
	}
	for _, l := range res.Chosen {
		if ts, ok := l.(flow.TrainingSetter); ok {
			ts.SetTraining(false)
		}
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

func fillBatch(dst, src *tensor.Mat[float32], rng *rand.Rand) {
	for r := 0; r < dst.Rows; r++ {
		copy(dst.Row(r), src.Row(rng.IntN(src.Rows)))
	}
}

func saturated(w [][]float64, at float64) bool {
	for _, row := range w {
		if slices.Max(row) < at {
			return false
		}
	}
	return true
}

func argmax(v []float64) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

func softmax(a []float64) []float64 {
	mx := slices.Max(a)
	out := make([]float64, len(a))
	s := 0.0
	for i, v := range a {
		out[i] = math.Exp(v - mx)
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}

func paramKey(i, j int, name string) string { return fmt.Sprintf("slot%d.cand%d.%s", i, j, name) }

func snapshotParams(cands [][]flow.Layer[float32]) map[string][]float32 {
	out := map[string][]float32{}
	for i, row := range cands {
		for j, l := range row {
			for _, p := range l.Params() {
				out[paramKey(i, j, p.Name)] = slices.Clone(p.Value)
			}
		}
	}
	return out
}

func restoreState(from, to *State, cands [][]flow.Layer[float32]) error {
	if len(from.Choice) != len(to.Choice) || len(from.Alpha) != len(to.Alpha) {
		return fmt.Errorf("resume: the checkpoint is for %d slots, this search has %d", len(from.Choice), len(to.Choice))
	}
	for i, row := range cands {
		if len(from.Alpha[i]) != len(row) {
			return fmt.Errorf("resume: the checkpoint has %d candidates at slot %d, this search %d", len(from.Alpha[i]), i, len(row))
		}
		for j, l := range row {
			for _, p := range l.Params() {
				v, ok := from.Params[paramKey(i, j, p.Name)]
				if !ok || len(v) != len(p.Value) {
					return fmt.Errorf("resume: the checkpoint lacks %s (a different search space?)", paramKey(i, j, p.Name))
				}
				copy(p.Value, v)
			}
		}
	}
	to.Phase = from.Phase
	copy(to.Choice, from.Choice)
	for i := range to.Alpha {
		copy(to.Alpha[i], from.Alpha[i])
	}
	return nil
}
