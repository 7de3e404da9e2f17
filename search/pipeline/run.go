package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/internal/fsio"
	"github.com/autonf/autonf/model"
	"github.com/autonf/autonf/search"
	"github.com/autonf/autonf/search/cost"
	"github.com/autonf/autonf/search/strategy"
	"github.com/autonf/autonf/train"
)

// Units names the unit of every NLL and log-likelihood in a [Result].
const Units = "nats per row, in the units of the data file (the standardisation's log-Jacobian included)"

// Result is a finished run.
type Result struct {
	Options Options         `json:"-"`
	Space   *strategy.Space `json:"-"`
	Costs   *cost.Table     `json:"costs"`
	Prep    *model.Prepared `json:"-"`
	Units   string          `json:"units"`
	LogDet  float64         `json:"standardization_logdet"` // added to every flow log-density: log p(x) = log p_flow(y) + LogDet
	Runs    []*SearchRun    `json:"runs"`                   // one per seed, or one per λ of a sweep
	Seeds   *SeedSummary    `json:"seeds,omitempty"`        // with Seeds > 1
	Pareto  *ParetoSummary  `json:"pareto,omitempty"`       // with Pareto > 0
	Yard    []Yardstick     `json:"yardsticks,omitempty"`   // sorted by validation NLL
	Seconds float64         `json:"seconds"`
	Data    map[string]any  `json:"data"`
	log     io.Writer
}

// SearchRun is one search (one seed, one λ) with its derived, retrained
// architecture. NLLs are per row in the units of the data file.
type SearchRun struct {
	Seed      uint64      `json:"seed"`
	Lambda    float64     `json:"lambda"`
	Arch      []int       `json:"arch_index"`
	ArchName  string      `json:"arch"`
	Weights   [][]float64 `json:"final_weights"` // every slot's softmax weights at the end of the search
	MaxWeight []float64   `json:"max_weight"`    // every slot's largest weight
	Saturated bool        `json:"saturated"`     // every slot's max weight ≥ the saturation threshold
	// RelaxedNLL is L^U at the final weights and ArgmaxNLL the NLL of the
	// argmax path with the shared (supernet) parameters, both on the
	// validation set; Gap = RelaxedNLL − ArgmaxNLL is the binarisation gap
	// (0 at one-hot weights).
	RelaxedNLL     float64            `json:"relaxed_val_nll"`
	ArgmaxNLL      float64            `json:"argmax_val_nll"`
	Gap            float64            `json:"binarization_gap"`
	StopReason     string             `json:"stop_reason"`
	Warnings       []string           `json:"warnings,omitempty"`
	Phases         []strategy.Phase   `json:"phases"`
	Cost           float64            `json:"cost"`                // under the search's emphasis and source
	AllCosts       map[string]float64 `json:"all_costs,omitempty"` // under every emphasis
	SearchSeconds  float64            `json:"search_seconds"`
	RetrainSeconds float64            `json:"retrain_seconds,omitempty"`
	RetrainEpochs  int                `json:"retrain_epochs,omitempty"`
	// ValNLL is the retrained flow's best validation NLL; Test its test
	// evaluation (nil without a test set or without retraining).
	ValNLL float64     `json:"val_nll"`
	Test   *model.Eval `json:"test,omitempty"`
	Dir    string      `json:"dir,omitempty"`

	Spec   *flow.Spec       `json:"-"`
	Model  *model.Model     `json:"-"`
	Search *strategy.Result `json:"-"`
}

// Run validates opt, then loads and prepares the data as cfg says, and runs
// [RunPrepared]. Warnings of the data preparation go to opt.Log.
func Run(ctx context.Context, cfg model.DataConfig, opt Options) (*Result, error) {
	opt = opt.Defaults()
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	if err := checkDir(opt); err != nil {
		return nil, err
	}
	prep, err := model.PrepareData(cfg)
	if err != nil {
		return nil, err
	}
	for _, w := range prep.Warnings {
		logf(opt.Log, "warning: %s\n", w)
	}
	return RunPrepared(ctx, prep, opt)
}

// RunPrepared runs the search (one λ, K seeds or a λ sweep), derives,
// retrains and evaluates the architectures, trains the yardsticks, and
// writes opt.Dir.
func RunPrepared(ctx context.Context, prep *model.Prepared, opt Options) (*Result, error) {
	opt = opt.Defaults()
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	if err := checkDir(opt); err != nil {
		return nil, err
	}
	start := time.Now()
	specs, err := opt.candidateSpecs()
	if err != nil {
		return nil, err
	}
	space, err := strategy.NewSpaceFrom(prep.Train.Cols, opt.Layers, specs)
	if err != nil {
		return nil, err
	}
	res := &Result{Options: opt, Space: space, Prep: prep, Units: Units, LogDet: prep.Standardizer.LogDet(), log: opt.Log,
		Data: map[string]any{"files": prep.Files, "rows": prep.Rows, "columns": prep.Columns}}
	if opt.Dir != "" {
		if err := os.MkdirAll(opt.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("run directory: %w", err)
		}
		lock, err := fsio.LockDir(opt.Dir)
		if err != nil {
			return nil, fmt.Errorf("run directory: %w", err)
		}
		defer lock.Unlock()
	}
	logf(opt.Log, "search space: %d slots × %d candidates (%s) = %d architectures; data %d × %d, validation %d rows\n",
		opt.Layers, len(space.Candidates), strings.Join(space.Names(), ", "), space.NumArchs(), prep.Train.Rows, prep.Train.Cols, prep.Val.Rows)
	if res.Costs, err = runCosts(opt, space); err != nil {
		return nil, err
	}
	logf(opt.Log, "%s", res.Costs.Markdown())

	switch {
	case opt.Pareto > 0:
		if err := res.pareto(ctx); err != nil {
			return nil, err
		}
	default:
		for k := 0; k < opt.Seeds; k++ {
			o := opt
			o.Search.Seed = opt.Search.Seed + uint64(k)
			dir := opt.Dir
			if opt.Seeds > 1 && dir != "" {
				dir = filepath.Join(opt.Dir, fmt.Sprintf("seed-%02d", k+1))
			}
			run, err := res.searchOnce(ctx, o, dir)
			if err != nil {
				if opt.Seeds > 1 {
					return nil, fmt.Errorf("seed %d: %w", o.Search.Seed, err)
				}
				return nil, err
			}
			res.Runs = append(res.Runs, run)
		}
		if opt.Seeds > 1 {
			res.Seeds = summarizeSeeds(res.Runs)
		}
	}
	if err := res.yardsticks(ctx); err != nil {
		return nil, err
	}
	res.Seconds = time.Since(start).Seconds()
	if opt.Dir != "" {
		if err := res.WriteReport(opt.Dir); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// checkDir refuses to start over an existing run without Resume or Force,
// and a Resume without a checkpoint.
func checkDir(opt Options) error {
	if opt.Dir == "" {
		return nil
	}
	st, err := os.Stat(opt.Dir)
	if errors.Is(err, os.ErrNotExist) {
		if opt.Resume {
			return fmt.Errorf("resume: run directory %s does not exist, so there is no checkpoint to resume", opt.Dir)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("run directory: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("run directory %s exists and is not a directory", opt.Dir)
	}
	if opt.Resume {
		if !hasCheckpoint(opt.Dir) {
			return fmt.Errorf("resume: %s holds no checkpoint (checkpoint/state.json, or seed-*/ or lambda-*/ with one)", opt.Dir)
		}
		return nil
	}
	if opt.Force {
		return nil
	}
	for _, f := range []string{"report.md", "arch.json", "checkpoint", "model", "seed-01", "lambda-00", "summary.json"} {
		if _, err := os.Lstat(filepath.Join(opt.Dir, f)); err == nil {
			return fmt.Errorf("run directory %s already holds a run (%s): continue it with --resume, write over it with --force, or choose another --out", opt.Dir, f)
		}
	}
	return nil
}

func hasCheckpoint(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, "checkpoint", "state.json")); err == nil {
		return true
	}
	m, _ := filepath.Glob(filepath.Join(dir, "*", "checkpoint", "state.json"))
	return len(m) > 0
}

// runCosts prices the candidates, or, when resuming, reads the table the
// interrupted run used (Dir/costs.json), so that the resumed search
// optimises the same objective; a new run saves its table there.
func runCosts(opt Options, space *strategy.Space) (*cost.Table, error) {
	path := filepath.Join(opt.Dir, "costs.json")
	if opt.Dir != "" && opt.Resume {
		if b, err := fsio.ReadFile(path, 1<<20); err == nil {
			var t cost.Table
			if err := json.Unmarshal(b, &t); err != nil {
				return nil, fmt.Errorf("resume: %s: %w", path, err)
			}
			if !slices.Equal(t.Candidates, space.Names()) || len(t.Cost) != len(space.Candidates) || t.Emphasis != opt.Emphasis || t.Source != opt.Cost {
				return nil, fmt.Errorf("resume: %s prices %v (%s, %s), this search has %v (%s, %s); resume with the same candidates and costs, or start afresh with --force",
					path, t.Candidates, t.Emphasis, t.Source, space.Names(), opt.Emphasis, opt.Cost)
			}
			return &t, nil
		}
	}
	t, err := priceCosts(opt, space)
	if err != nil {
		return nil, err
	}
	if opt.Dir != "" {
		b, err := json.MarshalIndent(t, "", "  ")
		if err != nil {
			return nil, err
		}
		if err := fsio.WriteFile(path, b); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func priceCosts(opt Options, space *strategy.Space) (*cost.Table, error) {
	return cost.Price(space.Candidates, space.Dim, opt.Search.Batch, opt.Emphasis, opt.Cost, opt.costOptions())
}

// costOptions are the options of every cost table of a run: one
// reference (affine coupling at the default hidden sizes = 1) for the
// candidates and the presets alike.
func (o Options) costOptions() cost.Options {
	co := o.CostOptions
	if co.Seed == 0 {
		co.Seed = o.Search.Seed
	}
	if co.RefHidden == nil {
		co.RefHidden = o.Hidden
	}
	return co
}

// searchOnce runs one search at o.Lambda (o.Search.Seed), derives and
// retrains the architecture and evaluates it; dir (if any) receives
// arch.json, the model and the checkpoint.
func (r *Result) searchOnce(ctx context.Context, o Options, dir string) (*SearchRun, error) {
	sopt := o.Search
	sopt.Lambda = o.Lambda
	sopt.Costs = r.Costs.Cost
	sopt.OnStep = o.OnStep
	fp := r.fingerprint(o)
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		ckpt := filepath.Join(dir, "checkpoint")
		if o.Resume && hasCheckpointAt(ckpt) {
			st, saved, err := LoadCheckpoint(ckpt)
			if err != nil {
				return nil, fmt.Errorf("resume: %w", err)
			}
			if err := saved.Compare(fp); err != nil {
				return nil, fmt.Errorf("resume: %w", err)
			}
			sopt.Resume = st
			if st.Step > 0 {
				logf(r.log, "resuming in phase %d at step %d\n", st.Phase+1, st.Step)
			} else {
				logf(r.log, "resuming after phase %d\n", st.Phase)
			}
		}
		sopt.Checkpoint = func(st *strategy.State) error { return SaveCheckpoint(ckpt, st, fp) }
	}
	sres, err := strategy.Run(ctx, r.Space, r.Prep.Train, r.Prep.Val, sopt)
	if err != nil {
		return nil, err
	}
	if sres.StopReason == "interrupted" {
		p := sres.Phases[len(sres.Phases)-1]
		where := ""
		if dir != "" {
			where = fmt.Sprintf("; the checkpoint in %s continues it with --resume", filepath.Join(dir, "checkpoint"))
		}
		return nil, fmt.Errorf("search interrupted in round %d, block %d at step %d%s: %w", p.Round, p.Block+1, p.Steps, where, context.Canceled)
	}
	run := &SearchRun{Seed: o.Search.Seed, Lambda: o.Lambda, Arch: sres.Arch, ArchName: r.Space.ArchString(sres.Arch),
		Weights: sres.Weights, StopReason: sres.StopReason, Phases: sres.Phases, SearchSeconds: sres.Seconds,
		Spec: r.Space.Spec(sres.Arch, "autonf-search"), Search: sres, Dir: dir,
		ValNLL: math.NaN()}
	run.Saturated = sres.Saturated
	for _, w := range sres.Weights {
		run.MaxWeight = append(run.MaxWeight, slices.Max(w))
	}
	run.RelaxedNLL, run.ArgmaxNLL, run.Gap = r.dataNLL(sres.RelaxedNLL), r.dataNLL(sres.ArgmaxNLL), sres.Gap
	run.Warnings = sres.Warnings
	for _, w := range sres.Warnings {
		logf(r.log, "warning: %s\n", w)
	}
	run.Cost = search.PathCost(search.Broadcast(r.Costs.Cost, len(sres.Arch)), sres.Arch)
	logf(r.log, "found (λ=%g, seed %d, %.1f s): %s  [%s cost %.3g]%s\n", o.Lambda, o.Search.Seed, sres.Seconds, run.ArchName, r.Costs.Emphasis, run.Cost,
		map[bool]string{true: "  (saturated)", false: "  — NOT saturated: some slot's max weight < 0.99, the argmax of a mixture"}[run.Saturated])
	logf(r.log, "binarisation gap on validation (shared θ): L^U at the final weights %.4f, argmax path %.4f, gap %+.4f nats\n", run.RelaxedNLL, run.ArgmaxNLL, run.Gap)
	if dir != "" {
		if err := fsio.WriteFile(filepath.Join(dir, "arch.json"), run.Spec.JSON()); err != nil {
			return nil, err
		}
	}
	run.AllCosts = r.archCosts(sres.Arch)
	if o.NoRetrain {
		return run, nil
	}
	var fl *flow.Flow[float32]
	if o.WarmStart {
		fl = flow.New(r.Space.Dim, sres.Chosen...)
	} else if fl, err = flow.Build[float32](run.Spec, rand.New(rand.NewPCG(o.Search.Seed, 0xf10))); err != nil {
		return nil, err
	}
	m, tr, ev, err := r.retrain(ctx, fl, o.Search.Seed)
	if err != nil {
		return nil, fmt.Errorf("retraining %s: %w", run.ArchName, err)
	}
	run.Model, run.Test = m, ev
	run.ValNLL = r.dataNLL(tr.BestValNLL)
	run.RetrainSeconds, run.RetrainEpochs = tr.Elapsed.Seconds(), tr.Epochs
	if dir != "" {
		if err := m.Save(filepath.Join(dir, "model")); err != nil {
			return nil, err
		}
	}
	if ev != nil && ev.Warning() != "" {
		logf(r.log, "warning: %s\n", ev.Warning())
	}
	if ev != nil {
		logf(r.log, "retrained in %.1f s (%d epochs): validation NLL %.4f, test log-likelihood %.4f ± %.4f nats (n = %d)\n", run.RetrainSeconds, tr.Epochs, run.ValNLL, ev.Mean, ev.TwoSE, ev.N)
	} else {
		logf(r.log, "retrained in %.1f s (%d epochs): validation NLL %.4f nats (no test set)\n", run.RetrainSeconds, tr.Epochs, run.ValNLL)
	}
	return run, nil
}

func hasCheckpointAt(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "state.json"))
	return err == nil
}

// dataNLL converts a flow NLL on standardised rows to the units of the data
// file: −log p(x) = −log p_flow(y) − LogDet.
func (r *Result) dataNLL(flowNLL float64) float64 { return r.Prep.DataNLL(flowNLL) }

// retrain trains fl under the retraining budget, wraps it with the data's
// preprocessing and evaluates it on the test set (if any).
func (r *Result) retrain(ctx context.Context, fl *flow.Flow[float32], seed uint64) (*model.Model, *train.Result, *model.Eval, error) {
	o := r.Options
	cfg := train.Config{Epochs: o.Retrain.Epochs, Batch: o.Search.Batch, LR: o.Retrain.LR, Patience: o.Retrain.Patience, Seed: seed}
	tr, err := train.Fit(ctx, fl, r.Prep.Train, r.Prep.Val, cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, nil, fmt.Errorf("retraining interrupted: %w", err)
	}
	if math.IsNaN(tr.BestValNLL) || math.IsInf(tr.BestValNLL, 0) {
		return nil, nil, nil, fmt.Errorf("training never reached a finite validation NLL (%s)", tr.StopReason)
	}
	m := r.Prep.Model(fl, seed)
	m.Meta.Training, _ = json.Marshal(map[string]any{"epochs": tr.Epochs, "best_val_nll": r.dataNLL(tr.BestValNLL), "units": Units, "seconds": tr.Elapsed.Seconds(), "stop_reason": tr.StopReason})
	if r.Prep.TestTable == nil {
		return m, tr, nil, nil
	}
	ev, err := model.Evaluate(m, r.Prep.TestTable, seed)
	if err != nil {
		return nil, nil, nil, err
	}
	return m, tr, &ev, nil
}

// archCosts prices arch under all three emphases (the search's cost
// source), relative to affine coupling.
func (r *Result) archCosts(arch []int) map[string]float64 {
	out := map[string]float64{}
	for _, e := range []cost.Emphasis{cost.Train, cost.Forward, cost.Inverse} {
		t := r.Costs
		if e != r.Costs.Emphasis {
			o := r.Options
			o.Emphasis = e
			var err error
			if t, err = priceCosts(o, r.Space); err != nil {
				continue
			}
		}
		out[string(e)] = search.PathCost(search.Broadcast(t.Cost, len(arch)), arch)
	}
	return out
}

func logf(w io.Writer, format string, a ...any) {
	if w != nil {
		fmt.Fprintf(w, format, a...)
	}
}
