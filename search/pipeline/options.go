package pipeline

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/autonf/autonf/search"
	"github.com/autonf/autonf/search/cost"
	"github.com/autonf/autonf/search/strategy"
)

// Limits on the sizes Options may ask for. They bound memory and time
// before anything is allocated; each is far above what a 2-core machine
// can use.
const (
	MaxLayers     = 64      // slots n
	MaxSteps      = 1000000 // search steps per block
	MaxBatch      = 1 << 16 // rows per batch
	MaxEpochs     = 100000  // retraining epochs
	MaxSeeds      = 100     // seeds K of one search
	MaxPareto     = 50      // λ values of a sweep
	MaxExhaustive = 256     // architectures trained by Exhaustive
	MaxRandom     = 10000   // architectures trained by Random
)

// Options configure one AutoNF run. Zero values take the defaults
// documented on each field (see [Options.Defaults]).
type Options struct {
	// The search space: Layers slots, each choosing one of Candidates
	// (names from strategy.CandidateNames), whose conditioners have Hidden
	// hidden sizes and whose splines have Bins bins.
	Layers     int      // default 8
	Candidates []string // default maf, nsf-ar, affine-coupling, nsf-coupling
	Hidden     []int    // default 64, 64
	Bins       int      // default 8

	// The cost term λ·C_mix of the α objective: costs under Emphasis
	// (train, forward, inverse) from Cost (measured, params, flops, …).
	Emphasis    cost.Emphasis // default train
	Cost        cost.Source   // default measured
	CostOptions cost.Options
	Lambda      float64

	// Estimator: "sample" (default: one path per row, the whole flow as one
	// block; chosen by measurement, see the README) or "exact" (every path
	// of a block of Search.Block slots, default 4). It sets
	// Search.Estimator.
	Estimator string

	// Search holds the strategy's options (strategy, block, loss, steps,
	// batch, learning rates, seed, checkpoint interval). Its Estimator,
	// Lambda, Costs, OnStep, Checkpoint and Resume are set by the pipeline.
	Search strategy.Options

	// Retraining of the derived architecture (and of every yardstick):
	// Retrain.Epochs default 200, Patience 20, LR 1e-3, Batch the search's
	// batch, Seed the search's seed.
	Retrain   RetrainOptions
	NoRetrain bool // stop after the search: arch.json only
	WarmStart bool // retrain from the supernet's parameters instead of from scratch

	// Seeds runs K searches with seeds Search.Seed, Search.Seed+1, …
	// (default 1) and summarises the test log-likelihood (mean ± s.d.) and
	// how often each architecture was picked.
	Seeds int
	// Pareto sweeps λ over K values (0 and K−1 geometric values) instead
	// of searching at Lambda.
	Pareto int

	// Yardsticks, each trained from scratch under the retraining budget:
	// Exhaustive trains every architecture of the space (at most
	// MaxExhaustive); Random trains N distinct random ones; Matched trains
	// n × each candidate at the searched sizes; Presets names hand-crafted
	// presets trained at their own sizes ("auto": those of the candidates'
	// families).
	Exhaustive bool
	Random     int
	Matched    bool
	Presets    []string

	// Dir is the run directory ("": write nothing). Without Resume or
	// Force, a directory that already holds a run is refused.
	Dir    string
	Resume bool // continue from Dir/checkpoint (refused if made with other data or options)
	Force  bool // write over an existing run in Dir

	// Log receives progress lines (nil: none); OnStep is called after
	// every search step.
	Log    io.Writer
	OnStep func(strategy.Progress)
}

// RetrainOptions is the training budget of a derived architecture.
type RetrainOptions struct {
	Epochs   int
	Patience int
	LR       float64
}

// DefaultCandidates are the paper's four transform blocks.
var DefaultCandidates = []string{"maf", "nsf-ar", "affine-coupling", "nsf-coupling"}

// Defaults returns o with every zero value replaced by its default.
func (o Options) Defaults() Options {
	if o.Layers == 0 {
		o.Layers = 8
	}
	if len(o.Candidates) == 0 {
		o.Candidates = slices.Clone(DefaultCandidates)
	}
	if len(o.Hidden) == 0 {
		o.Hidden = []int{64, 64}
	}
	if o.Bins == 0 {
		o.Bins = 8
	}
	if o.Emphasis == "" {
		o.Emphasis = cost.Train
	}
	if o.Cost == "" {
		o.Cost = cost.Measured
	}
	if o.Search.Strategy == "" {
		o.Search.Strategy = "grow"
	}
	if o.Search.Batch == 0 {
		o.Search.Batch = 512
	}
	if o.Search.Steps == 0 {
		o.Search.Steps = 500
	}
	if o.Estimator == "" {
		o.Estimator = "sample"
	}
	if est, err := search.ParseEstimator(o.Estimator); err == nil {
		o.Search.Estimator = est
	}
	if o.Search.Block == 0 {
		o.Search.Block = 4
		if o.Search.Estimator == search.Sampled {
			o.Search.Block = o.Layers
		}
	}
	o.Search.Block = min(o.Search.Block, max(o.Layers, 1))
	if o.Retrain.Epochs == 0 {
		o.Retrain.Epochs = 200
	}
	if o.Retrain.Patience == 0 {
		o.Retrain.Patience = 20
	}
	if o.Retrain.LR == 0 {
		o.Retrain.LR = 1e-3
	}
	if o.Seeds == 0 {
		o.Seeds = 1
	}
	return o
}

// Validate checks o (after [Options.Defaults]) without touching data or
// files other than Dir's state: every problem is reported, by the name a
// user knows it by.
func (o Options) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if o.Layers < 1 || o.Layers > MaxLayers {
		bad("layers must be in 1..%d, got %d", MaxLayers, o.Layers)
	}
	if len(o.Candidates) == 0 {
		bad("no candidates given (from %s)", strings.Join(strategy.CandidateNames(), ", "))
	}
	specs, err := o.candidateSpecs()
	if err != nil {
		errs = append(errs, err)
	} else if err := strategy.ValidateSpace(o.Layers, specs); err != nil {
		errs = append(errs, err)
	} else if err := cost.Check(strategy.CostCandidates(specs), o.Emphasis, o.Cost); err != nil {
		errs = append(errs, err)
	}
	if !finiteAtLeast(o.Lambda, 0) {
		bad("lambda must be a finite number ≥ 0, got %v", o.Lambda)
	}
	s := o.Search
	if s.Strategy != "grow" && s.Strategy != "block" {
		bad("strategy %q is unknown (want grow or block)", s.Strategy)
	}
	if s.Block < 1 || s.Block > MaxLayers {
		bad("block must be in 1..%d, got %d", MaxLayers, s.Block)
	}
	if _, err := search.ParseEstimator(o.Estimator); err != nil {
		errs = append(errs, err)
	}
	if s.Loss != search.Upper && s.Loss != search.Original {
		bad("loss %v is unknown (want upper or original)", s.Loss)
	}
	if s.Estimator == search.Sampled && s.Loss == search.Original {
		bad("the sample estimator supports the upper-bound loss only (use --estimator exact with --loss original)")
	}
	if s.Estimator == search.Exact && len(o.Candidates) > 0 && o.Layers >= 1 {
		if paths := pow(len(o.Candidates), min(s.Block, o.Layers)); paths > search.MaxPaths {
			bad("the exact estimator over blocks of %d slots × %d candidates has %d paths (limit %d): use a smaller block or the sample estimator", min(s.Block, o.Layers), len(o.Candidates), paths, search.MaxPaths)
		}
	}
	if s.Steps < 1 || s.Steps > MaxSteps {
		bad("steps must be in 1..%d, got %d", MaxSteps, s.Steps)
	}
	if s.Batch < 1 || s.Batch > MaxBatch {
		bad("batch must be in 1..%d, got %d", MaxBatch, s.Batch)
	}
	for _, lr := range []struct {
		name string
		v    float64
	}{{"theta learning rate", s.ThetaLR}, {"alpha learning rate", s.AlphaLR}, {"retraining learning rate", o.Retrain.LR}} {
		if lr.v != 0 && !(finiteAtLeast(lr.v, 0) && lr.v > 0 && lr.v <= 10) {
			bad("%s must be a finite number in (0, 10], got %v", lr.name, lr.v)
		}
	}
	if o.Retrain.Epochs < 1 || o.Retrain.Epochs > MaxEpochs {
		bad("retraining epochs must be in 1..%d, got %d", MaxEpochs, o.Retrain.Epochs)
	}
	if o.Retrain.Patience < -1 || o.Retrain.Patience > MaxEpochs {
		bad("retraining patience must be in 1..%d (or −1: off), got %d", MaxEpochs, o.Retrain.Patience)
	}
	if o.Seeds < 1 || o.Seeds > MaxSeeds {
		bad("seeds must be in 1..%d, got %d", MaxSeeds, o.Seeds)
	}
	if o.Pareto < 0 || o.Pareto == 1 || o.Pareto > MaxPareto {
		bad("pareto must be 0 (off) or in 2..%d, got %d", MaxPareto, o.Pareto)
	}
	if o.Pareto > 0 && o.Seeds > 1 {
		bad("pareto and seeds > 1 cannot be combined (run one sweep per seed)")
	}
	if o.Pareto > 0 && o.NoRetrain {
		bad("a λ sweep compares retrained architectures; it cannot be combined with no-retrain")
	}
	if o.NoRetrain && (o.Exhaustive || o.Random > 0 || o.Matched || len(o.Presets) > 0) {
		bad("yardsticks (exhaustive, random, matched, presets) are trained; they cannot be combined with no-retrain")
	}
	n := 1 << 30
	if len(o.Candidates) > 0 && o.Layers >= 1 {
		n = pow(len(o.Candidates), o.Layers)
	}
	if o.Exhaustive && n > MaxExhaustive {
		bad("exhaustive: %d slots × %d candidates is %d architectures, at most %d can be trained", o.Layers, len(o.Candidates), n, MaxExhaustive)
	}
	if o.Random < 0 || o.Random > MaxRandom {
		bad("random must be in 0..%d, got %d", MaxRandom, o.Random)
	} else if o.Random > n {
		bad("random: %d distinct architectures asked for, the space has %d", o.Random, n)
	}
	if o.Resume && o.Dir == "" {
		bad("resume needs a run directory")
	}
	return errors.Join(errs...)
}

func finiteAtLeast(v, lo float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) && v >= lo }

// pow is m^n, saturating at 1<<30.
func pow(m, n int) int {
	p := 1
	for i := 0; i < n; i++ {
		p *= m
		if p > 1<<30 {
			return 1 << 30
		}
	}
	return p
}

// candidateSpecs parses Candidates (each entry a family, optionally with
// ":hidden=…:bins=…") with Hidden and Bins as the defaults.
func (o Options) candidateSpecs() ([]strategy.CandidateSpec, error) {
	return strategy.ParseCandidates(strings.Join(o.Candidates, ","), o.Hidden, o.Bins)
}
