package strategy

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/search"
	"github.com/autonf/autonf/tensor"
	"github.com/autonf/autonf/train"
)

// Options configure a search run. Zero values take the documented defaults.
type Options struct {
	// Strategy: "grow" (search block b with blocks < b fixed at their
	// argmax, then append the next; the paper's Grow) or "block" (the
	// paper's Block: Grow first, then rounds that revisit every block in
	// turn with all others fixed).
	//
	// Block's rule, precisely: round 1 is Grow. Each later round revisits
	// the blocks in order. A revisit starts from uniform weights (the
	// block's logits reset to 0; every candidate's θ is kept; KeepLogits
	// restores the old behaviour of starting from the block's saturated
	// logits, which practically never changes a choice) and is searched
	// like any phase (warm-up, annealing, stopping rules below). If its
	// argmax differs from the block's current choice, the new choice is
	// kept only if it lowers the α objective of the argmax flow, its
	// validation NLL (whole validation set, the shared θ after the
	// revisit) + Lambda·cost, below that of the current choice; otherwise
	// the current choice and its logits are restored (Phase.Reverted). Block stops after the first round after round 1
	// in which no choice changed, or after MaxRounds rounds after the
	// first (default 3): at most (1+MaxRounds)·blocks phases, and the
	// α objective of the argmax flow never rises at an accepted change.
	Strategy string
	Block    int // slots searched jointly (default 4; the whole flow with the sample estimator)

	Estimator search.Estimator
	Loss      search.LossKind
	Lambda    float64
	Costs     []float64 // per candidate (normalised); nil: no cost term

	Batch   int     // rows per α and θ batch (default 512)
	ThetaLR float64 // Adam learning rate of θ (default 2e-3)
	// AlphaLR is α's Adam learning rate (default 1e-2, chosen with TempEnd
	// by measurement; Adam moves a logit by at most ≈ AlphaLR per step).
	AlphaLR  float64
	ClipNorm float64 // θ gradient clip (default 5)
	Seed     uint64

	// Convergence to one architecture (the mechanism and its defaults were
	// chosen by measurement: BENCHMARKS.md, "Search convergence (issue
	// 6)"). Each phase first takes Warmup θ-only steps with α frozen
	// (default Steps/10; negative: none), so that every candidate is
	// trained on its share of the batch before α compares them. Then the
	// weights are w = softmax(α/τ) with the temperature τ annealed
	// geometrically from 1 (at the end of the warm-up) to TempEnd at step
	// Steps: τ(s) = TempEnd^((s − Warmup)/(Steps − Warmup)). Annealing
	// does not change which candidate has the largest logit; it turns a
	// logit gap g into a weight ratio e^{g/τ}, so that a gap that α's
	// small steps (Adam moves a logit by ≈ AlphaLR per step) would need
	// thousands of steps to build saturates the weights within the budget,
	// while θ keeps training on the increasingly one-hot mixture (which
	// closes the binarisation gap). TempEnd: default 1e-3; 1 turns
	// annealing off (τ = 1, the pre-issue-6 behaviour).
	Warmup  int
	TempEnd float64
	// KeepLogits: Block revisits start from the block's previous logits
	// instead of uniform weights.
	KeepLogits bool
	// ThetaUniform (sample estimator only) mixes uniform weights into the
	// paths drawn for θ steps (search.Supernet.ThetaUniform), so that a
	// candidate's θ does not fall behind merely because its weight is low
	// (the sample estimator's rich-get-richer bias; measured in
	// BENCHMARKS.md). 0 (default): the mixing follows the temperature,
	// ε = τ(s): θ paths are uniform during the warm-up and become those of
	// L^U as the weights saturate, so the chosen path ends trained in its
	// own context. A value in (0, 1]: that ε at every step; negative: none
	// (θ paths drawn from the weights, the pre-issue-6 behaviour).
	ThetaUniform float64

	// Stopping rules of one phase (one block's search): at most Steps
	// steps (default 500); after MinSteps (default Steps/5), every
	// CheckEvery steps (default 25) the phase ends when every slot of the
	// block is saturated (max weight ≥ Saturation, default 0.99). A phase
	// that reaches the step budget unsaturated says so in its StopReason
	// and Saturated. With Stable > 0 (default 0: off) a phase also ends
	// when the argmax has not changed for Stable checks in a row while
	// every slot's max weight is at least Confident (default 0.9); such a
	// phase may end unsaturated.
	Steps, MinSteps, CheckEvery, Stable int
	Saturation, Confident               float64
	MaxRounds                           int // block strategy: rounds after the first (default 3)

	// MaxBadSteps: a step whose loss or gradient is not finite is skipped
	// (neither α nor θ is updated) and halves the θ learning rate for the
	// rest of the run (as train does); the search fails after MaxBadSteps
	// consecutive such steps (default 5), with an error naming the step
	// and the layer.
	MaxBadSteps int

	// OnStep, when set, is called after every step.
	OnStep func(Progress)
	// Checkpoint, when set, is called with the state needed to resume (see
	// State): every CheckpointEvery steps within a phase (default 100;
	// negative: only at phase ends), after every finished phase, and once
	// more when ctx is cancelled. Each call gets a fresh deep copy, which
	// the hook may keep.
	Checkpoint      func(*State) error
	CheckpointEvery int
	// Resume, when set, continues a run from a checkpointed state, at the
	// step where it stopped: a resumed run ends exactly as the
	// uninterrupted run with the same options would.
	Resume *State
}

func (o *Options) defaults(layers int) error {
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
	if o.Saturation <= 0 {
		o.Saturation = 0.99
	}
	if o.Confident <= 0 {
		o.Confident = 0.9
	}
	if o.MaxRounds <= 0 {
		o.MaxRounds = 3
	}
	if o.CheckpointEvery == 0 {
		o.CheckpointEvery = 100
	}
	switch {
	case o.Warmup == 0:
		o.Warmup = o.Steps / 10
	case o.Warmup < 0:
		o.Warmup = 0
	}
	if o.Warmup >= o.Steps {
		return fmt.Errorf("search: warm-up of %d steps leaves none of the %d steps for α", o.Warmup, o.Steps)
	}
	if o.TempEnd == 0 {
		o.TempEnd = 1e-3
	}
	if o.AlphaLR == 0 {
		o.AlphaLR = 1e-2
	}
	if !(o.TempEnd > 0 && o.TempEnd <= 1) {
		return fmt.Errorf("search: final temperature %g must be in (0, 1] (1: no annealing)", o.TempEnd)
	}
	if o.ThetaUniform > 1 {
		return fmt.Errorf("search: ThetaUniform %g must be at most 1", o.ThetaUniform)
	}
	if o.MaxBadSteps <= 0 {
		o.MaxBadSteps = 5
	}
	if o.Saturation >= 1 {
		return fmt.Errorf("search: saturation threshold %g must be below 1", o.Saturation)
	}
	return nil
}

// temperature is τ at step (1-based) of a phase.
func (o *Options) temperature(step int) float64 {
	if step <= o.Warmup || o.TempEnd == 1 {
		return 1
	}
	return math.Pow(o.TempEnd, float64(step-o.Warmup)/float64(o.Steps-o.Warmup))
}

// Progress is reported after every step.
type Progress struct {
	Round, Block, Step int
	Upper, Original    float64 // validation losses at the α step (Original NaN with the sample estimator)
	Arch               []int   // current argmax of every slot (−1: not searched yet)
	Weights            [][]float64
	Temperature        float64 // τ of the weights at this step
	Warmup             bool    // a θ-only warm-up step (α frozen)
}

// Phase records one block's search.
type Phase struct {
	Round      int     `json:"round"`
	Block      int     `json:"block"`
	Slots      []int   `json:"slots"`
	Steps      int     `json:"steps"`
	StopReason string  `json:"stop_reason"`
	Seconds    float64 `json:"seconds"`
	Choice     []int   `json:"choice"` // the block's choice after the phase
	// Weights are the block's final weights softmax(α/τ) per slot, at the
	// final temperature Temperature; Saturated says whether every slot's
	// max weight reached Options.Saturation.
	Weights     [][]float64 `json:"weights"`
	Temperature float64     `json:"temperature"`
	Saturated   bool        `json:"saturated"`
	// Binarisation gap on the whole validation set, in the units of the
	// data the search ran on: RelaxedNLL is L^U of the phase's supernet at
	// its final weights (exact tree with the exact estimator, one sampled
	// path per row with the sample estimator); ArgmaxNLL is the NLL of the
	// phase's argmax path with the shared θ; Gap = RelaxedNLL − ArgmaxNLL.
	RelaxedNLL float64 `json:"relaxed_nll"`
	ArgmaxNLL  float64 `json:"argmax_nll"`
	Gap        float64 `json:"gap"`
	// Reverted: a Block revisit whose argmax (Proposed; validation NLL
	// ArgmaxNLL) did not lower the α objective (NLL + λ·cost) below that of
	// the block's previous choice (validation NLL PreviousNLL); the
	// previous choice and logits were kept.
	Reverted    bool            `json:"reverted,omitempty"`
	Proposed    []int           `json:"proposed,omitempty"`
	PreviousNLL float64         `json:"previous_nll,omitempty"`
	History     []search.Record `json:"-"`
}

// State is what a checkpoint holds: the position of the strategy, the
// choices and logits so far, and every candidate's parameters; within a
// phase (Step > 0) also the step reached, both Adam optimisers' states and
// the stopping rule's counters.
//
// Randomness needs no stored generator state: the batches of step s of
// phase p (and, with the sample estimator, the paths drawn) come from
// generators seeded with (Seed, p, s), so a resumed run draws exactly what
// the uninterrupted run would have drawn.
//
// Params, ThetaM and ThetaV (float32, as large as the supernet) are not
// JSON-encoded; [State.Tensors] and [State.SetTensors] convert them to and
// from named tensors (e.g. for a safetensors file).
type State struct {
	Phase  int   `json:"phase"` // phases finished
	Choice []int `json:"choice"`
	// Alpha holds the logits; after a phase, its block's logits are
	// divided by the phase's final temperature, so softmax(Alpha) are the
	// final weights.
	Alpha          [][]float64 `json:"alpha"`
	Phases         []Phase     `json:"phases,omitempty"`         // the finished phases (without History)
	ChangedInRound bool        `json:"changed_in_round"`         // block strategy: a choice changed in the current round
	Seconds        float64     `json:"seconds,omitempty"`        // wall time of the run so far, all parts
	ThetaLRScale   float64     `json:"theta_lr_scale,omitempty"` // θ learning-rate factor after non-finite steps (0: 1)
	Warnings       []string    `json:"warnings,omitempty"`

	// Position within phase Phase (0: at its start; the fields below are
	// then unused).
	Step         int         `json:"step"`
	PhaseSeconds float64     `json:"phase_seconds,omitempty"`
	StableChecks int         `json:"stable_checks,omitempty"`
	BadSteps     int         `json:"bad_steps,omitempty"` // consecutive non-finite steps
	LastArgmax   []int       `json:"last_argmax,omitempty"`
	StartAlpha   [][]float64 `json:"start_alpha,omitempty"` // the block's logits before the phase
	AlphaM       [][]float64 `json:"alpha_adam_m,omitempty"`
	AlphaV       [][]float64 `json:"alpha_adam_v,omitempty"`
	AlphaT       int         `json:"alpha_adam_t,omitempty"`
	ThetaM       [][]float32 `json:"-"`
	ThetaV       [][]float32 `json:"-"`
	ThetaT       int         `json:"theta_adam_t,omitempty"`

	Params map[string][]float32 `json:"-"`
}

const (
	thetaMPrefix = "adam.theta.m."
	thetaVPrefix = "adam.theta.v."
)

// Tensors returns Params and the θ optimiser's moment buffers as named
// tensors (moments as "adam.theta.m.<i>" and "adam.theta.v.<i>").
func (s *State) Tensors() map[string][]float32 {
	out := make(map[string][]float32, len(s.Params)+2*len(s.ThetaM))
	for k, v := range s.Params {
		out[k] = v
	}
	for i := range s.ThetaM {
		out[fmt.Sprintf("%s%d", thetaMPrefix, i)] = s.ThetaM[i]
		out[fmt.Sprintf("%s%d", thetaVPrefix, i)] = s.ThetaV[i]
	}
	return out
}

// SetTensors is the inverse of Tensors: it fills Params, ThetaM and ThetaV.
func (s *State) SetTensors(ts map[string][]float32) error {
	s.Params = map[string][]float32{}
	nm, nv := 0, 0
	for k, v := range ts {
		switch {
		case strings.HasPrefix(k, thetaMPrefix):
			nm++
		case strings.HasPrefix(k, thetaVPrefix):
			nv++
		default:
			s.Params[k] = v
		}
	}
	if nm != nv {
		return fmt.Errorf("checkpoint: %d first and %d second Adam moments", nm, nv)
	}
	s.ThetaM, s.ThetaV = nil, nil
	for i := 0; i < nm; i++ {
		m, okm := ts[fmt.Sprintf("%s%d", thetaMPrefix, i)]
		v, okv := ts[fmt.Sprintf("%s%d", thetaVPrefix, i)]
		if !okm || !okv {
			return fmt.Errorf("checkpoint: Adam moment %d is missing", i)
		}
		s.ThetaM = append(s.ThetaM, m)
		s.ThetaV = append(s.ThetaV, v)
	}
	return nil
}

// Result is a finished search.
type Result struct {
	Arch       []int
	Weights    [][]float64 // final weights of every slot (softmax of State.Alpha)
	Phases     []Phase
	Seconds    float64 // wall time of the whole run, including the parts before a resume
	StopReason string
	// Saturated: every phase ended with every slot's max weight ≥
	// Options.Saturation (false for an interrupted run).
	Saturated bool
	// The final binarisation gap on the whole validation set, in the units
	// of the data the search ran on: RelaxedNLL is L^U of the mixture over
	// all slots at Weights (exact when it has at most 256 paths, else
	// estimated with one sampled path per row), ArgmaxNLL the NLL of Arch
	// with the shared θ (the searched parameters, before any retraining),
	// Gap = RelaxedNLL − ArgmaxNLL.
	RelaxedNLL, ArgmaxNLL, Gap float64
	// Warnings lists the skipped non-finite steps.
	Warnings []string
	// Chosen holds the chosen candidates' layers with their searched
	// parameters (for warm-starting the retraining).
	Chosen []flow.Layer[float32]
}

// maxExactGapPaths bounds the paths of the final L^U evaluation done with
// the exact tree.
const maxExactGapPaths = 256

// Run searches the architecture of s on train (θ steps) and val (α steps).
//
// When ctx is cancelled, Run checkpoints the position reached (if
// opt.Checkpoint is set) and returns the architecture so far with
// StopReason "interrupted".
func Run(ctx context.Context, s *Space, trainX, valX *tensor.Mat[float32], opt Options) (*Result, error) {
	if err := opt.defaults(s.Layers); err != nil {
		return nil, err
	}
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
	before := st.Seconds // wall time of the parts before a resume
	elapsed := func() float64 { return before + time.Since(start).Seconds() }
	if st.ThetaLRScale == 0 {
		st.ThetaLRScale = 1
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
	if st.Phase > len(plans) || (st.Phase == len(plans) && st.Step > 0) {
		return nil, fmt.Errorf("resume: the checkpoint is at phase %d, this search has %d phases (different --strategy or --block?)", st.Phase+1, len(plans))
	}

	pcg := rand.NewPCG(0, 0)
	rng := rand.New(pcg)
	tb := tensor.New[float32](min(opt.Batch, trainX.Rows), s.Dim)
	vb := tensor.New[float32](min(opt.Batch, valX.Rows), s.Dim)
	nllBuf := make([]float32, min(opt.Batch, valX.Rows))
	res := &Result{StopReason: "all phases done", Phases: slices.Clone(st.Phases)}
	interrupted := false
	for pi := st.Phase; pi < len(plans); pi++ {
		p := plans[pi]
		resumeStep := 0
		if pi == st.Phase {
			resumeStep = st.Step
		}
		changedAtStart := st.ChangedInRound
		if resumeStep == 0 {
			if p.block == 0 && p.round > 2 && !st.ChangedInRound {
				res.StopReason = fmt.Sprintf("stable: round %d changed no choice", p.round-1)
				break
			}
			if p.block == 0 {
				st.ChangedInRound = false
			}
		}
		slots := blocks[p.block]
		prefix, suffix := fixedLayers(cands, st.Choice, slots)
		var slotLayers [][]flow.Layer[float32]
		for _, i := range slots {
			slotLayers = append(slotLayers, cands[i])
		}
		net, err := search.New(s.Dim, prefix, slotLayers, suffix)
		if err != nil {
			return nil, err
		}
		// The block's logits before the phase (restored when a revisit is
		// reverted).
		var startAlpha [][]float64
		if resumeStep > 0 {
			if len(st.StartAlpha) != len(slots) {
				return nil, fmt.Errorf("resume: the checkpoint's phase has %d slots, this one %d", len(st.StartAlpha), len(slots))
			}
			startAlpha = cloneRows(st.StartAlpha)
		} else {
			for _, i := range slots {
				startAlpha = append(startAlpha, slices.Clone(st.Alpha[i]))
			}
		}
		reset := p.round > 1 && !opt.KeepLogits && resumeStep == 0
		for k, i := range slots {
			if reset {
				clear(net.Alpha[k])
			} else {
				copy(net.Alpha[k], st.Alpha[i])
			}
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
		stableChecks, badSteps := 0, 0
		prevSeconds := 0.0
		if resumeStep > 0 {
			if err := setAdam(srch, st); err != nil {
				return nil, err
			}
			if len(st.LastArgmax) != len(last) {
				return nil, fmt.Errorf("resume: the checkpoint's phase has %d slots, this one %d", len(st.LastArgmax), len(last))
			}
			last = slices.Clone(st.LastArgmax)
			stableChecks, badSteps = st.StableChecks, st.BadSteps
			prevSeconds = st.PhaseSeconds
			ph.Steps = resumeStep
		}
		// snapshot writes the position after step (0: the phase is over, and
		// pi is the next phase to run).
		snapshot := func(phase, step int) error {
			if opt.Checkpoint == nil {
				return nil
			}
			cp := &State{Phase: phase, Choice: slices.Clone(st.Choice), Alpha: cloneRows(st.Alpha),
				Phases: clonePhases(res.Phases), ChangedInRound: st.ChangedInRound, Params: snapshotParams(cands),
				Seconds: elapsed(), ThetaLRScale: st.ThetaLRScale, Warnings: slices.Clone(st.Warnings)}
			if phase == pi && step == 0 { // not started: as before the round's reset
				cp.ChangedInRound = changedAtStart
			}
			if step > 0 {
				for k, i := range slots {
					copy(cp.Alpha[i], net.Alpha[k])
				}
				cp.Step, cp.PhaseSeconds, cp.StableChecks, cp.BadSteps, cp.LastArgmax = step, prevSeconds+time.Since(t0).Seconds(), stableChecks, badSteps, slices.Clone(last)
				cp.StartAlpha = cloneRows(startAlpha)
				am, av, at := srch.AlphaOpt.State()
				tm, tv, tt := srch.ThetaOpt.State()
				cp.AlphaM, cp.AlphaV, cp.AlphaT = cloneRows(am), cloneRows(av), at
				cp.ThetaM, cp.ThetaV, cp.ThetaT = cloneRows(tm), cloneRows(tv), tt
			}
			if err := opt.Checkpoint(cp); err != nil {
				return fmt.Errorf("checkpoint: %w", err)
			}
			return nil
		}
		net.Temperature = opt.temperature(max(resumeStep, 1))
		for step := resumeStep + 1; step <= opt.Steps; step++ {
			if err := ctx.Err(); err != nil {
				interrupted = true
				break
			}
			seedStep(pcg, opt.Seed, pi, step)
			if opt.Estimator == search.Sampled {
				net.Seed(mix(opt.Seed^0x5a3d1e, uint64(pi)<<32|uint64(step)))
			}
			fillBatch(tb, trainX, rng)
			fillBatch(vb, valX, rng)
			tau := opt.temperature(step)
			net.Temperature = tau
			switch {
			case opt.ThetaUniform == 0:
				net.ThetaUniform = tau
			case opt.ThetaUniform > 0:
				net.ThetaUniform = opt.ThetaUniform
			}
			srch.AlphaFrozen = step <= opt.Warmup
			srch.ThetaLRScale = st.ThetaLRScale
			ph.Steps = step
			rec, err := srch.Step(tb, vb)
			stop := false
			switch {
			case errors.Is(err, flow.ErrNonFinite):
				// Skip the step (Step applied neither update) and lower θ's
				// learning rate, as training does.
				badSteps++
				st.ThetaLRScale *= 0.5
				where := fmt.Sprintf("round %d, block %d, step %d", p.round, p.block+1, step)
				var nf *search.NonFiniteError
				if errors.As(err, &nf) && nf.Stage == "slot" && nf.Slot < len(slots) && nf.Candidate < m {
					where += fmt.Sprintf(", layer %d (%s)", slots[nf.Slot]+1, s.Candidates[nf.Candidate].Name)
				}
				st.Warnings = append(st.Warnings, fmt.Sprintf("%s: %v; step skipped, θ learning rate lowered to %.3g", where, err, cfg.ThetaLR*st.ThetaLRScale))
				if badSteps >= opt.MaxBadSteps {
					return nil, fmt.Errorf("search diverged: %d consecutive non-finite steps, the last at %s: %w (lower the θ or α learning rate, or check the data's scale)", badSteps, where, err)
				}
			case err != nil:
				return nil, fmt.Errorf("round %d, block %d, step %d: %w", p.round, p.block+1, step, err)
			default:
				badSteps = 0
				rec.Step = step
				if len(srch.History) > 0 {
					srch.History[len(srch.History)-1].Step = step
				}
				arch := slices.Clone(st.Choice)
				for k, i := range slots {
					arch[i] = argmax(rec.Weights[k])
				}
				if opt.OnStep != nil {
					opt.OnStep(Progress{Round: p.round, Block: p.block, Step: step, Upper: rec.ValUpper, Original: rec.ValOriginal,
						Arch: arch, Weights: rec.Weights, Temperature: tau, Warmup: srch.AlphaFrozen})
				}
				if step >= opt.MinSteps && step%opt.CheckEvery == 0 {
					if saturated(rec.Weights, opt.Saturation) {
						ph.StopReason = fmt.Sprintf("saturated: every slot's max weight ≥ %.2f", opt.Saturation)
						stop = true
						break
					}
					cur := net.Argmax()
					if slices.Equal(cur, last) {
						stableChecks++
					} else {
						stableChecks = 0
					}
					last = cur
					if opt.Stable > 0 && stableChecks >= opt.Stable && saturated(rec.Weights, opt.Confident) {
						ph.StopReason = fmt.Sprintf("argmax unchanged for %d checks (%d steps), every slot's max weight ≥ %.2f", opt.Stable, opt.Stable*opt.CheckEvery, opt.Confident)
						stop = true
					}
				}
			}
			if stop {
				break
			}
			if opt.CheckpointEvery > 0 && step%opt.CheckpointEvery == 0 && step < opt.Steps {
				if err := snapshot(pi, step); err != nil {
					return nil, err
				}
			}
		}
		w := net.Weights()
		ph.Weights, ph.Temperature, ph.Saturated = w, net.Temperature, saturated(w, opt.Saturation)
		if interrupted {
			// Checkpoint the position reached; the phase is not finished.
			res.StopReason = "interrupted"
			if err := snapshot(pi, ph.Steps); err != nil {
				return nil, err
			}
			ph.StopReason = "interrupted"
			ph.History = srch.History
			ph.Seconds = prevSeconds + time.Since(t0).Seconds()
			ph.Choice = net.Argmax()
			for k, i := range slots {
				foldTemperature(st.Alpha[i], net.Alpha[k], net.Temperature)
				st.Choice[i] = ph.Choice[k]
			}
			res.Phases = append(res.Phases, ph)
			break
		}
		if !ph.Saturated && ph.StopReason == "step budget" {
			k, mw := leastSaturated(w)
			ph.StopReason = fmt.Sprintf("step budget: NOT saturated (slot %d's max weight %.3f < %.2f)", slots[k]+1, mw, opt.Saturation)
		}
		ph.History = srch.History
		choice := net.Argmax()
		ph.RelaxedNLL, ph.ArgmaxNLL, err = evalGap(net, opt.Estimator, valX, nllBuf, mix(opt.Seed^0x9a7, uint64(pi)))
		if err != nil {
			return nil, fmt.Errorf("round %d, block %d: validation: %w", p.round, p.block+1, err)
		}
		ph.Gap = ph.RelaxedNLL - ph.ArgmaxNLL
		prev := make([]int, len(slots))
		for k, i := range slots {
			prev[k] = st.Choice[i]
		}
		if p.round > 1 && !slices.Equal(prev, choice) {
			// A revisit that changes the block's choice must lower the
			// argmax flow's validation NLL.
			prevFlow := flow.New(s.Dim, archLayers(cands, st.Choice)...)
			prevFlow.SetTraining(false)
			ph.PreviousNLL, err = train.MeanNLL(prevFlow, valX, nllBuf)
			if err != nil {
				return nil, fmt.Errorf("round %d, block %d: validation of the previous choice: %w", p.round, p.block+1, err)
			}
			if !(ph.ArgmaxNLL+opt.Lambda*archCost(opt.Costs, choice) < ph.PreviousNLL+opt.Lambda*archCost(opt.Costs, prev)) {
				ph.Reverted, ph.Proposed = true, choice
				choice = prev
			}
		}
		for k, i := range slots {
			switch {
			case ph.Reverted:
				copy(st.Alpha[i], startAlpha[k])
			default:
				foldTemperature(st.Alpha[i], net.Alpha[k], net.Temperature)
			}
			if st.Choice[i] != choice[k] && p.round > 1 {
				st.ChangedInRound = true
			}
			st.Choice[i] = choice[k]
		}
		if p.round == 1 {
			st.ChangedInRound = true
		}
		ph.Choice = choice
		ph.Seconds = prevSeconds + time.Since(t0).Seconds()
		res.Phases = append(res.Phases, ph)
		st.Phase, st.Step = pi+1, 0
		if err := snapshot(pi+1, 0); err != nil {
			return nil, err
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
	res.Saturated = !interrupted && len(res.Phases) > 0
	for _, ph := range res.Phases {
		res.Saturated = res.Saturated && ph.Saturated
	}
	if len(res.Phases) > 0 {
		var err error
		res.RelaxedNLL, res.ArgmaxNLL, err = finalGap(s.Dim, cands, st, valX, nllBuf, mix(opt.Seed^0xf1a, 1))
		if err != nil {
			return nil, fmt.Errorf("search: validation of the result: %w", err)
		}
		res.Gap = res.RelaxedNLL - res.ArgmaxNLL
	}
	for _, l := range res.Chosen {
		if ts, ok := l.(flow.TrainingSetter); ok {
			ts.SetTraining(false)
		}
	}
	res.Warnings = slices.Clone(st.Warnings)
	res.Seconds = elapsed()
	return res, nil
}

// archCost is the summed cost of the candidates (0 without costs).
func archCost(costs []float64, arch []int) float64 {
	v := 0.0
	for _, j := range arch {
		if costs != nil && j >= 0 {
			v += costs[j]
		}
	}
	return v
}

// fixedLayers returns the chosen layers before and after the block slots
// (slots not chosen yet are left out).
func fixedLayers(cands [][]flow.Layer[float32], choice, slots []int) (prefix, suffix []flow.Layer[float32]) {
	for i := 0; i < slots[0]; i++ {
		if choice[i] >= 0 {
			prefix = append(prefix, cands[i][choice[i]])
		}
	}
	for i := slots[len(slots)-1] + 1; i < len(choice); i++ {
		if choice[i] >= 0 {
			suffix = append(suffix, cands[i][choice[i]])
		}
	}
	return prefix, suffix
}

// archLayers returns the layers of the chosen candidates (slots not chosen
// yet are left out).
func archLayers(cands [][]flow.Layer[float32], choice []int) []flow.Layer[float32] {
	var ls []flow.Layer[float32]
	for i, j := range choice {
		if j >= 0 {
			ls = append(ls, cands[i][j])
		}
	}
	return ls
}

// foldTemperature writes α/τ into dst, so that softmax(dst) is the
// weights at temperature τ.
func foldTemperature(dst, alpha []float64, tau float64) {
	if tau <= 0 {
		tau = 1
	}
	for j, v := range alpha {
		dst[j] = v / tau
	}
}

// evalGap returns L^U of net at its current weights and the NLL of its
// argmax path on the whole of val (in chunks of len(buf) rows), with every
// layer in evaluation mode. With the sample estimator L^U is estimated with
// one path per row, drawn from a generator seeded with seed.
func evalGap(net *search.Supernet[float32], est search.Estimator, val *tensor.Mat[float32], buf []float32, seed uint64) (relaxed, argmaxNLL float64, err error) {
	net.SetTraining(false)
	defer net.SetTraining(true)
	if est == search.Sampled {
		net.Seed(seed)
	}
	sum := 0.0
	for lo := 0; lo < val.Rows; lo += len(buf) {
		hi := min(lo+len(buf), val.Rows)
		x := val.SliceRows(lo, hi)
		var l float64
		if est == search.Sampled {
			l, err = net.SampleLoss(x, false, false)
		} else {
			l, err = net.Loss(x, search.Upper, false, false)
		}
		if err != nil {
			return math.NaN(), math.NaN(), err
		}
		sum += l * float64(hi-lo)
	}
	relaxed = sum / float64(val.Rows)
	argmaxNLL, err = train.MeanNLL(net.DerivedFlow(), val, buf)
	return relaxed, argmaxNLL, err
}

// finalGap evaluates the final mixture: every slot at its final weights
// softmax(st.Alpha), exactly with at most maxExactGapPaths paths, else with
// the sample estimator.
func finalGap(dim int, cands [][]flow.Layer[float32], st *State, val *tensor.Mat[float32], buf []float32, seed uint64) (float64, float64, error) {
	net, err := search.New(dim, nil, cands, nil)
	if err != nil {
		return 0, 0, err
	}
	for i := range net.Alpha {
		copy(net.Alpha[i], st.Alpha[i])
	}
	// The argmax of α must be the result (a reverted revisit or a tie
	// could otherwise differ): pin it by nudging the chosen logit.
	for i, j := range st.Choice {
		if argmax(net.Alpha[i]) != j {
			net.Alpha[i][j] = slices.Max(net.Alpha[i]) + 1e-9
		}
	}
	est := search.Exact
	if net.NumPaths() > maxExactGapPaths {
		est = search.Sampled
	}
	return evalGap(net, est, val, buf, seed)
}

// leastSaturated returns the slot (index in w) with the smallest max weight
// and that weight.
func leastSaturated(w [][]float64) (int, float64) {
	k, mw := 0, math.Inf(1)
	for i, row := range w {
		if v := slices.Max(row); v < mw {
			k, mw = i, v
		}
	}
	return k, mw
}

// seedStep re-seeds the batch generator for step `step` of phase pi, so
// that the batches depend on (seed, phase, step) only and a resumed run
// draws the same batches as an uninterrupted one.
func seedStep(pcg *rand.PCG, seed uint64, pi, step int) {
	pcg.Seed(mix(seed, 0x5e4c), mix(uint64(pi)<<32|uint64(step), seed))
}

// mix is splitmix64's finaliser applied to a + golden·b.
func mix(a, b uint64) uint64 {
	z := a + 0x9e3779b97f4a7c15*(b+1)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func setAdam(srch *search.Searcher[float32], st *State) error {
	am, _, _ := srch.AlphaOpt.State()
	tm, _, _ := srch.ThetaOpt.State()
	if !sameShape(am, st.AlphaM) || !sameShape(am, st.AlphaV) {
		return fmt.Errorf("resume: the checkpoint's α optimiser state does not fit this search")
	}
	if !sameShape(tm, st.ThetaM) || !sameShape(tm, st.ThetaV) {
		return fmt.Errorf("resume: the checkpoint's θ optimiser state (%d buffers) does not fit this search (%d)", len(st.ThetaM), len(tm))
	}
	srch.AlphaOpt.SetState(cloneRows(st.AlphaM), cloneRows(st.AlphaV), st.AlphaT)
	srch.ThetaOpt.SetState(cloneRows(st.ThetaM), cloneRows(st.ThetaV), st.ThetaT)
	return nil
}

func sameShape[T any](a, b [][]T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
	}
	return true
}

func cloneRows[T any](rows [][]T) [][]T {
	out := make([][]T, len(rows))
	for i, r := range rows {
		out[i] = slices.Clone(r)
	}
	return out
}

func clonePhases(ps []Phase) []Phase {
	out := make([]Phase, len(ps))
	for i, p := range ps {
		p.Slots, p.Choice, p.History = slices.Clone(p.Slots), slices.Clone(p.Choice), nil
		out[i] = p
	}
	return out
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
	to.Phase, to.Step = from.Phase, from.Step
	copy(to.Choice, from.Choice)
	for i := range to.Alpha {
		copy(to.Alpha[i], from.Alpha[i])
	}
	to.Phases = clonePhases(from.Phases)
	to.ChangedInRound = from.ChangedInRound
	to.PhaseSeconds, to.StableChecks, to.LastArgmax = from.PhaseSeconds, from.StableChecks, slices.Clone(from.LastArgmax)
	to.Seconds, to.ThetaLRScale, to.Warnings = from.Seconds, from.ThetaLRScale, slices.Clone(from.Warnings)
	to.BadSteps, to.StartAlpha = from.BadSteps, cloneRows(from.StartAlpha)
	to.AlphaM, to.AlphaV, to.AlphaT = from.AlphaM, from.AlphaV, from.AlphaT
	to.ThetaM, to.ThetaV, to.ThetaT = from.ThetaM, from.ThetaV, from.ThetaT
	return nil
}
