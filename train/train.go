package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/tensor"
)

// Config holds the training hyperparameters. Zero values take the defaults
// documented on each field.
type Config struct {
	Epochs      int     // maximum number of epochs (default 1000)
	Batch       int     // rows per step (default 512; the whole set if smaller)
	DropLast    bool    // skip each epoch's last, partial batch (default: train on it, as PyTorch's DataLoader does)
	LR          float64 // peak learning rate (default 1e-3)
	Warmup      int     // warm-up steps (default: 1 % of the maximum steps, at most 500; negative: none)
	MinLRFrac   float64 // final learning rate as a fraction of LR (default 0.01; negative: constant LR after warm-up)
	ClipNorm    float64 // global gradient-norm clip (default 5; negative: off)
	Patience    int     // epochs without validation improvement before stopping (default 20; negative: off)
	WeightDecay float64 // decoupled weight decay (default 0)
	Seed        uint64  // shuffling seed
	MaxBadSteps int     // consecutive non-finite steps before giving up (default 8)
	MaxTime     time.Duration
	// BF16 runs the conditioner MLPs' GEMMs of every training step in
	// bfloat16 with float32 accumulation (flow.SetBF16); weights,
	// gradients, the optimiser, validation and the returned flow stay
	// float32. It needs a CPU with AVX512-BF16 (tensor.HasBF16): Validate
	// refuses it elsewhere rather than run a slow emulation.
	BF16 bool

	// Checkpoint, when set, is called with the state needed to resume
	// training exactly (see State): after an epoch once CheckpointEvery has
	// passed since the last call (0: after every epoch), and when ctx is
	// cancelled or the time limit stops training. An error stops training.
	Checkpoint      func(*State) error
	CheckpointEvery time.Duration
	// Resume, when set, continues from a checkpointed state; the flow, the
	// data and every other field must be those of the run that wrote it
	// (the caller checks the options and data, Fit the shapes).
	Resume *State

	// OnEpoch, when set, is called after every epoch's validation.
	OnEpoch func(EpochStats)
	// OnStep, when set, is called after every step (for progress bars).
	OnStep func(epoch, step, stepsPerEpoch int, loss float64)
}

func (c *Config) defaults(steps int) {
	if c.Epochs <= 0 {
		c.Epochs = 1000
	}
	if c.Batch <= 0 {
		c.Batch = 512
	}
	if c.LR <= 0 {
		c.LR = 1e-3
	}
	if c.MinLRFrac == 0 {
		c.MinLRFrac = 0.01
	}
	if c.ClipNorm == 0 {
		c.ClipNorm = DefaultClipNorm
	}
	if c.Patience == 0 {
		c.Patience = 20
	}
	if c.MaxBadSteps <= 0 {
		c.MaxBadSteps = 8
	}
	if c.Warmup == 0 {
		c.Warmup = min(500, c.Epochs*steps/100)
	}
	if c.Warmup < 0 {
		c.Warmup = 0
	}
}

// Validate checks the hyperparameters before any work starts: every value
// must be finite and in range (zero selects a default where documented).
// Errors name the field.
func (c *Config) Validate() error {
	fin := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	lr := c.LR
	if lr == 0 {
		lr = 1e-3
	}
	switch {
	case c.Epochs < 0:
		return fmt.Errorf("train: Epochs must be ≥ 1, got %d", c.Epochs)
	case c.Batch < 0:
		return fmt.Errorf("train: Batch must be ≥ 1, got %d", c.Batch)
	case !fin(c.LR) || c.LR < 0 || c.LR > 10:
		return fmt.Errorf("train: LR must be a finite number in (0, 10], got %v", c.LR)
	case !fin(c.MinLRFrac) || c.MinLRFrac > 1:
		return fmt.Errorf("train: MinLRFrac must be a finite number ≤ 1, got %v", c.MinLRFrac)
	case !fin(c.ClipNorm):
		return fmt.Errorf("train: ClipNorm must be finite, got %v", c.ClipNorm)
	case !fin(c.WeightDecay) || c.WeightDecay < 0 || c.WeightDecay*lr >= 1:
		return fmt.Errorf("train: WeightDecay must be a finite number ≥ 0 with WeightDecay·LR < 1, got %v", c.WeightDecay)
	case c.MaxTime < 0:
		return fmt.Errorf("train: MaxTime must be ≥ 0, got %v", c.MaxTime)
	case c.CheckpointEvery < 0:
		return fmt.Errorf("train: CheckpointEvery must be ≥ 0, got %v", c.CheckpointEvery)
	case c.BF16 && !tensor.HasBF16():
		return fmt.Errorf("train: BF16 needs a CPU with AVX512-BF16 and this one lacks it; train in float32 (BF16 false)")
	}
	return nil
}

// EpochStats is one row of the training curve.
type EpochStats struct {
	Epoch    int           `json:"epoch"`
	TrainNLL float64       `json:"train_nll"` // mean over the epoch's steps
	ValNLL   float64       `json:"val_nll"`
	BestVal  float64       `json:"best_val_nll"`
	LR       float64       `json:"lr"`
	Elapsed  time.Duration `json:"elapsed_ns"`
	Improved bool          `json:"improved"`
}

// Result summarises a training run. The flow holds the best weights.
type Result struct {
	Epochs       int           `json:"epochs"`
	Steps        int           `json:"steps"`
	BestEpoch    int           `json:"best_epoch"`
	BestValNLL   float64       `json:"best_val_nll"`
	StopReason   string        `json:"stop_reason"`
	Elapsed      time.Duration `json:"elapsed_ns"`
	SkippedSteps int           `json:"skipped_steps"`
	Warnings     []string      `json:"warnings,omitempty"`
	Curve        []EpochStats  `json:"curve"`
}

// ErrDiverged is returned (wrapped) when training keeps producing
// non-finite values; the flow then holds the last good (best) weights.
var ErrDiverged = errors.New("training diverged")

// ErrNotTrained is returned (wrapped) when training stopped before any
// epoch reached a finite validation score, so there are no validated
// weights (the flow holds its initial weights). The message says why
// (time limit, interruption, non-finite validation, with the step and the
// layer) and Result is still returned.
var ErrNotTrained = errors.New("no finite validation score")

// Fit trains f on train (rows × D) with early stopping on val. On return,
// even with an error, f holds the best weights seen (the initial ones if no
// epoch finished). Cancelling ctx stops after the current step, restoring
// the best weights (StopReason "interrupted"); that is not an error if an
// epoch was validated. When no epoch reached a finite validation score the
// error wraps ErrNotTrained; when steps keep failing, ErrDiverged.
func Fit(ctx context.Context, f *flow.Flow[float32], trainX, valX *tensor.Mat[float32], cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if trainX.Cols != f.Dim || valX.Cols != f.Dim {
		return nil, fmt.Errorf("train: data has %d/%d columns, the flow expects %d", trainX.Cols, valX.Cols, f.Dim)
	}
	if trainX.Rows == 0 || valX.Rows == 0 {
		return nil, fmt.Errorf("train: empty training (%d rows) or validation (%d rows) set", trainX.Rows, valX.Rows)
	}
	if cfg.BF16 {
		if _, err := flow.SetBF16(f, true); err != nil {
			return nil, fmt.Errorf("train: BF16: %w", err)
		}
		flow.SetBF16(f, false)
	}
	batch := cfg.Batch
	if batch <= 0 {
		batch = 512
	}
	batch = min(batch, trainX.Rows)
	stepsPerEpoch := trainX.Rows / batch
	if !cfg.DropLast && trainX.Rows%batch != 0 {
		stepsPerEpoch++
	}
	cfg.defaults(stepsPerEpoch)
	cfg.Batch = batch
	if cfg.Epochs > math.MaxInt32/stepsPerEpoch {
		return nil, fmt.Errorf("train: %d epochs × %d steps is too many", cfg.Epochs, stepsPerEpoch)
	}
	totalSteps := cfg.Epochs * stepsPerEpoch

	named := f.Params()
	params := make([]*flow.Param[float32], len(named))
	for i, p := range named {
		params[i] = p.Param
	}
	opt := NewAdamFlat(params, f.ParamData(), f.GradData())
	// The best-weights snapshot also covers buffers (BatchNorm running
	// averages), which belong to the weights they were computed with.
	wts := newWeights(f, params)
	state := wts.state
	opt.WeightDecay = cfg.WeightDecay
	best := wts.snapshot(nil)

	pcg := rand.NewPCG(cfg.Seed, 0x7e57)
	rng := rand.New(pcg)
	perm := make([]int, trainX.Rows)
	for i := range perm {
		perm[i] = i
	}
	full := tensor.New[float32](batch, f.Dim)
	xb := &tensor.Mat[float32]{}
	valLP := make([]float32, min(valX.Rows, 1<<16))

	res := &Result{BestValNLL: math.Inf(1), BestEpoch: -1}
	start := time.Now()
	lrScale := 1.0
	bad := 0
	step := 0
	sinceBest := 0
	startEpoch, startStep := 0, 0
	sum, n := 0.0, 0
	shuffled := false
	var lastValErr error

	// Data-dependent initialisation (ActNorm) from the first batch.
	f.SetTraining(true)
	f.InitFromData(trainX.SliceRows(0, min(trainX.Rows, 4*batch)))
	best = wts.snapshot(best)

	if st := cfg.Resume; st != nil {
		if err := st.check(state, params, trainX.Rows, stepsPerEpoch, cfg.Epochs); err != nil {
			return nil, err
		}
		if err := pcg.UnmarshalBinary(st.RNG); err != nil {
			return nil, fmt.Errorf("resume: the checkpoint's random state: %w", err)
		}
		best = wts.join(st.Best)
		wts.restore(wts.join(st.Params))
		m, v := cloneAll(st.M), cloneAll(st.V)
		opt.SetState(m, v, st.AdamT)
		copy(perm, st.Perm)
		r := st.Result
		r.Curve = append([]EpochStats(nil), r.Curve...)
		r.Warnings = append([]string(nil), r.Warnings...)
		res = &r
		start = time.Now().Add(-time.Duration(st.ElapsedNS))
		lrScale, bad, step, sinceBest = st.LRScale, st.Bad, st.Step, st.SinceBest
		startEpoch, startStep, shuffled = st.Epoch, st.StepInEpoch, st.Shuffled
		sum, n = st.EpochLossSum, st.EpochLossN
	}
	lastCkpt := time.Now()

	// capture returns the state at the top of step s of epoch (before it).
	capture := func(epoch, s int) *State {
		m, v, t := opt.State()
		rb, _ := pcg.MarshalBinary()
		r := *res
		r.Curve = append([]EpochStats(nil), res.Curve...)
		r.Warnings = append([]string(nil), res.Warnings...)
		return &State{Epoch: epoch, StepInEpoch: s, Shuffled: shuffled, Step: step, EpochLossSum: sum, EpochLossN: n,
			LRScale: lrScale, Bad: bad, SinceBest: sinceBest, Result: r, ElapsedNS: int64(time.Since(start)),
			RNG: rb, Perm: append([]int(nil), perm...), AdamT: t,
			Params: wts.split(wts.snapshot(nil)), Best: wts.split(slices.Clone(best)), M: cloneAll(m), V: cloneAll(v)}
	}
	stop := func(reason string, epoch, s int) (*Result, error) {
		res.StopReason = reason
		var cerr error
		if cfg.Checkpoint != nil {
			cerr = cfg.Checkpoint(capture(epoch, s))
		}
		finish(res, f, wts, best, start)
		if cerr != nil {
			return res, fmt.Errorf("train: checkpoint: %w", cerr)
		}
		return res, notTrained(res, lastValErr)
	}

	for epoch := startEpoch; epoch < cfg.Epochs; epoch++ {
		if !shuffled {
			rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
			shuffled = true
		}
		f.SetTraining(true)
		_, _ = flow.SetBF16(f, cfg.BF16) // cannot fail: checked before training
		for s := startStep; s < stepsPerEpoch; s++ {
			if err := ctx.Err(); err != nil {
				return stop("interrupted", epoch, s)
			}
			if cfg.MaxTime > 0 && time.Since(start) > cfg.MaxTime {
				return stop("time limit", epoch, s)
			}
			rows := min(batch, trainX.Rows-s*batch)
			*xb = tensor.Mat[float32]{Rows: rows, Cols: f.Dim, Data: full.Data[:rows*f.Dim]}
			for r := 0; r < rows; r++ {
				copy(xb.Row(r), trainX.Row(perm[s*batch+r]))
			}
			wts.zeroGrad()
			loss, err := f.NLLGrad(xb)
			gn := wts.gradNorm()
			if err == nil && (math.IsNaN(gn) || math.IsInf(gn, 0)) {
				err = errors.New("non-finite gradient")
			}
			if err != nil {
				bad++
				res.SkippedSteps++
				lrScale *= 0.5
				res.Warnings = append(res.Warnings, fmt.Sprintf("epoch %d step %d: %v; step skipped, learning rate lowered to %.3g", epoch+1, step, err, cfg.LR*lrScale))
				if bad >= cfg.MaxBadSteps {
					res.StopReason = "diverged"
					finish(res, f, wts, best, start)
					return res, fmt.Errorf("%w: %d consecutive non-finite steps, last at epoch %d step %d: %v (best weights restored)", ErrDiverged, bad, epoch+1, step, err)
				}
				step++
				continue
			}
			bad = 0
			if cfg.ClipNorm > 0 && gn > cfg.ClipNorm {
				wts.scaleGrads(cfg.ClipNorm / gn)
			}
			lr := lrScale * cosine(cfg, step, totalSteps)
			opt.Step(lr)
			step++
			sum += loss
			n++
			if cfg.OnStep != nil {
				cfg.OnStep(epoch, s, stepsPerEpoch, loss)
			}
		}
		startStep = 0
		res.Steps = step
		res.Epochs = epoch + 1

		f.SetTraining(false)
		flow.SetBF16(f, false) // validation in float32
		val, verr := MeanNLL(f, valX, valLP)
		st := EpochStats{Epoch: epoch + 1, TrainNLL: sum / math.Max(1, float64(n)), ValNLL: val, LR: lrScale * cosine(cfg, step, totalSteps), Elapsed: time.Since(start)}
		sum, n = 0, 0
		shuffled = false
		if verr == nil && (math.IsNaN(val) || math.IsInf(val, 0)) {
			verr = fmt.Errorf("validation NLL is %v", val)
		}
		if verr != nil {
			lastValErr = fmt.Errorf("epoch %d (after step %d): validation: %w", epoch+1, step, verr)
			res.Warnings = append(res.Warnings, lastValErr.Error())
			sinceBest++
		} else if val < res.BestValNLL {
			res.BestValNLL, res.BestEpoch = val, epoch+1
			best = wts.snapshot(best)
			sinceBest = 0
			st.Improved = true
		} else {
			sinceBest++
		}
		st.BestVal = res.BestValNLL
		res.Curve = append(res.Curve, st)
		if cfg.OnEpoch != nil {
			cfg.OnEpoch(st)
		}
		if cfg.Patience > 0 && sinceBest >= cfg.Patience {
			res.StopReason = fmt.Sprintf("early stopping: no improvement for %d epochs", cfg.Patience)
			finish(res, f, wts, best, start)
			return res, notTrained(res, lastValErr)
		}
		if cfg.Checkpoint != nil && epoch+1 < cfg.Epochs && time.Since(lastCkpt) >= cfg.CheckpointEvery {
			if err := cfg.Checkpoint(capture(epoch+1, 0)); err != nil {
				finish(res, f, wts, best, start)
				return res, fmt.Errorf("train: checkpoint: %w", err)
			}
			lastCkpt = time.Now()
		}
	}
	res.StopReason = "maximum epochs"
	finish(res, f, wts, best, start)
	return res, notTrained(res, lastValErr)
}

// notTrained is the error for a run that ended without a validated epoch.
func notTrained(res *Result, lastValErr error) error {
	if res.BestEpoch >= 1 {
		return nil
	}
	why := res.StopReason
	if lastValErr != nil {
		why += "; last " + lastValErr.Error()
	}
	return fmt.Errorf("%w: training stopped (%s) after %d epochs and %d steps without a finite validation score; the weights are untrained", ErrNotTrained, why, res.Epochs, res.Steps)
}

func cosine(cfg Config, step, total int) float64 {
	if cfg.MinLRFrac < 0 {
		return CosineLR(cfg.LR, step, cfg.Warmup, 0, 1)
	}
	return CosineLR(cfg.LR, step, cfg.Warmup, total, cfg.MinLRFrac)
}

func finish(res *Result, f *flow.Flow[float32], wts *weights, best []float32, start time.Time) *Result {
	wts.restore(best)
	f.SetTraining(false)
	flow.SetBF16(f, false)
	res.Elapsed = time.Since(start)
	return res
}

// MeanNLL is the mean negative log-likelihood of x in evaluation mode,
// computed in chunks; buf is scratch (any length ≥ 1).
func MeanNLL(f *flow.Flow[float32], x *tensor.Mat[float32], buf []float32) (float64, error) {
	sum := 0.0
	for lo := 0; lo < x.Rows; lo += len(buf) {
		hi := min(lo+len(buf), x.Rows)
		out := buf[:hi-lo]
		if err := f.LogProb(x.SliceRows(lo, hi), out); err != nil {
			return math.NaN(), err
		}
		for _, v := range out {
			sum += float64(v)
		}
	}
	return -sum / float64(x.Rows), nil
}

func cloneAll(src [][]float32) [][]float32 {
	out := make([][]float32, len(src))
	for i, v := range src {
		out[i] = append([]float32(nil), v...)
	}
	return out
}
