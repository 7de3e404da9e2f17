package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
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

// Fit trains f on train (rows × D) with early stopping on val. On return,
// even with an error, f holds the best weights seen (the initial ones if no
// epoch finished). Cancelling ctx stops after the current step, restoring
// the best weights; that is not an error (StopReason says "interrupted").
func Fit(ctx context.Context, f *flow.Flow[float32], trainX, valX *tensor.Mat[float32], cfg Config) (*Result, error) {
	if trainX.Cols != f.Dim || valX.Cols != f.Dim {
		return nil, fmt.Errorf("train: data has %d/%d columns, the flow expects %d", trainX.Cols, valX.Cols, f.Dim)
	}
	if trainX.Rows == 0 || valX.Rows == 0 {
		return nil, fmt.Errorf("train: empty training (%d rows) or validation (%d rows) set", trainX.Rows, valX.Rows)
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
	totalSteps := cfg.Epochs * stepsPerEpoch

	named := f.Params()
	params := make([]*flow.Param[float32], len(named))
	for i, p := range named {
		params[i] = p.Param
	}
	opt := NewAdamFlat(params, f.ParamData(), f.GradData())
	// The best-weights snapshot also covers buffers (BatchNorm running
	// averages), which belong to the weights they were computed with.
	state := append([]*flow.Param[float32](nil), params...)
	for _, b := range f.Buffers() {
		state = append(state, b.Param)
	}
	opt.WeightDecay = cfg.WeightDecay
	best := snapshot(state, nil)

	rng := rand.New(rand.NewPCG(cfg.Seed, 0x7e57))
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

	// Data-dependent initialisation (ActNorm) from the first batch.
	f.SetTraining(true)
	f.InitFromData(trainX.SliceRows(0, min(trainX.Rows, 4*batch)))
	best = snapshot(state, best)

	sinceBest := 0
	for epoch := 0; epoch < cfg.Epochs; epoch++ {
		rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		f.SetTraining(true)
		sum, n := 0.0, 0
		for s := 0; s < stepsPerEpoch; s++ {
			if err := ctx.Err(); err != nil {
				res.StopReason = "interrupted"
				return finish(res, f, state, best, start), nil
			}
			if cfg.MaxTime > 0 && time.Since(start) > cfg.MaxTime {
				res.StopReason = "time limit"
				return finish(res, f, state, best, start), nil
			}
			rows := min(batch, trainX.Rows-s*batch)
			*xb = tensor.Mat[float32]{Rows: rows, Cols: f.Dim, Data: full.Data[:rows*f.Dim]}
			for r := 0; r < rows; r++ {
				copy(xb.Row(r), trainX.Row(perm[s*batch+r]))
			}
			for _, p := range params {
				clear(p.Grad)
			}
			loss, err := f.NLLGrad(xb)
			gn := GradNorm(params)
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
					finish(res, f, state, best, start)
					return res, fmt.Errorf("%w: %d consecutive non-finite steps, last at epoch %d step %d: %v (best weights restored)", ErrDiverged, bad, epoch+1, step, err)
				}
				step++
				continue
			}
			bad = 0
			if cfg.ClipNorm > 0 && gn > cfg.ClipNorm {
				ScaleGrads(params, cfg.ClipNorm/gn)
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
		res.Steps = step
		res.Epochs = epoch + 1

		f.SetTraining(false)
		val, verr := MeanNLL(f, valX, valLP)
		st := EpochStats{Epoch: epoch + 1, TrainNLL: sum / math.Max(1, float64(n)), ValNLL: val, LR: lrScale * cosine(cfg, step, totalSteps), Elapsed: time.Since(start)}
		if verr != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("epoch %d: validation: %v", epoch+1, verr))
		} else if val < res.BestValNLL {
			res.BestValNLL, res.BestEpoch = val, epoch+1
			best = snapshot(state, best)
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
			return finish(res, f, state, best, start), nil
		}
	}
	res.StopReason = "maximum epochs"
	return finish(res, f, state, best, start), nil
}

func cosine(cfg Config, step, total int) float64 {
	if cfg.MinLRFrac < 0 {
		return CosineLR(cfg.LR, step, cfg.Warmup, 0, 1)
	}
	return CosineLR(cfg.LR, step, cfg.Warmup, total, cfg.MinLRFrac)
}

func finish(res *Result, f *flow.Flow[float32], params []*flow.Param[float32], best [][]float32, start time.Time) *Result {
	restore(params, best)
	f.SetTraining(false)
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

func snapshot(params []*flow.Param[float32], dst [][]float32) [][]float32 {
	if dst == nil {
		dst = make([][]float32, len(params))
		for i, p := range params {
			dst[i] = make([]float32, len(p.Value))
		}
	}
	for i, p := range params {
		copy(dst[i], p.Value)
	}
	return dst
}

func restore(params []*flow.Param[float32], src [][]float32) {
	for i, p := range params {
		copy(p.Value, src[i])
	}
}
