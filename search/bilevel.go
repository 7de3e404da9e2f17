package search

import (
	"errors"
	"fmt"
	"math"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/tensor"
	"github.com/autonf/autonf/train"
)

// Config sets up a [Searcher].
type Config struct {
	ThetaLR   float64   // Adam learning rate of θ (default 2e-3)
	AlphaLR   float64   // Adam learning rate of α (default 2e-3)
	Lambda    float64   // weight λ of the cost term in the α objective
	Costs     Costs     // c_i^j; nil for no cost term
	Kind      LossKind  // objective of both steps (default Upper)
	Estimator Estimator // Exact (default) or Sampled (Upper only)
	Seed      uint64    // seed of the sample estimator's generator (0: keep)
	ClipNorm  float64   // clip the θ gradient to this global L2 norm (0: train.DefaultClipNorm; negative: off), as train.Config
	// Unpaired turns off the sample estimator's paired baseline: by
	// default each α step evaluates the validation batch twice, with
	// independent paths, and uses each row's twin as its baseline.
	Unpaired  bool
	NoHistory bool // do not record History
}

// ErrNonFiniteGrad is returned (wrapped, with the parameter's name) by
// AlphaStep and ThetaStep when the loss is finite but a gradient is not;
// errors.Is(err, flow.ErrNonFinite) holds for it too.
var ErrNonFiniteGrad = fmt.Errorf("non-finite gradient: %w", flow.ErrNonFinite)

// Record is one Searcher step, for plots.
type Record struct {
	Step        int
	Weights     [][]float64 // w_i after the α update
	ValUpper    float64     // L^U on the validation batch at the α step (sample estimate with Sampled)
	ValOriginal float64     // L^O on the validation batch (NaN with Sampled)
	Cost        float64     // C_mix at the α step (0 without costs)
	TrainLoss   float64     // the θ objective on the training batch, before the θ update
}

// Searcher runs the first-order DARTS alternation of AutoNF: an α step on a
// validation batch (objective L + λ·C_mix) and a θ step on a training batch
// (objective L), each with its own Adam optimiser.
type Searcher[T flow.Float] struct {
	Net      *Supernet[T]
	Cfg      Config
	ThetaOpt *train.Adam[T]
	AlphaOpt *train.Adam[float64]
	History  []Record

	// AlphaFrozen makes AlphaStep compute the validation losses without
	// updating α or its optimiser (θ warm-up).
	AlphaFrozen bool
	// ThetaLRScale multiplies Cfg.ThetaLR (0 means 1); lowered by callers
	// after non-finite steps.
	ThetaLRScale float64

	params []*flow.Param[T]
	steps  int
	twin   *tensor.Mat[T] // the α batch twice (paired baseline)
	saved  alphaSave      // α and its optimiser before the α step of Step
}

// alphaSave holds α and its Adam state, to undo an α step.
type alphaSave struct {
	val, m, v []float64
	t         int
}

// NewSearcher wraps net with the optimisers of cfg (zero learning rates get
// the defaults).
func NewSearcher[T flow.Float](net *Supernet[T], cfg Config) (*Searcher[T], error) {
	if cfg.ThetaLR == 0 {
		cfg.ThetaLR = 2e-3
	}
	if cfg.AlphaLR == 0 {
		cfg.AlphaLR = 2e-3
	}
	if cfg.Kind != Upper && cfg.Kind != Original {
		return nil, fmt.Errorf("search: unknown loss kind %v", cfg.Kind)
	}
	switch cfg.Estimator {
	case Exact:
		if k := net.NumPaths(); k > MaxPaths {
			return nil, fmt.Errorf("search: %d paths exceed the exact estimator's limit %d; use the sample estimator or block-wise search", k, MaxPaths)
		}
	case Sampled:
		if cfg.Kind != Upper {
			return nil, errors.New("search: the sample estimator supports the upper-bound loss only")
		}
	default:
		return nil, fmt.Errorf("search: unknown estimator %v", cfg.Estimator)
	}
	if cfg.Costs != nil {
		if err := net.checkCosts(cfg.Costs); err != nil {
			return nil, err
		}
	}
	if cfg.Seed != 0 {
		net.Seed(cfg.Seed)
	}
	params := net.Params()
	return &Searcher[T]{
		Net:      net,
		Cfg:      cfg,
		ThetaOpt: train.NewAdam(params),
		AlphaOpt: train.NewAdam([]*flow.Param[float64]{net.AlphaParam()}),
		params:   params,
		twin:     &tensor.Mat[T]{},
	}, nil
}

// AlphaStep takes one Adam step on α, minimising L + λ·C_mix on the batch
// val. It returns the losses at the current α (before the update), the
// cost, and any error (α is then left unchanged).
func (s *Searcher[T]) AlphaStep(val *tensor.Mat[T]) (Losses, float64, error) {
	n := s.Net
	clear(n.AlphaParam().Grad)
	var l Losses
	var err error
	if s.Cfg.Estimator == Sampled {
		l.Original = math.NaN()
		if s.Cfg.Unpaired {
			l.Upper, err = n.SampleLoss(val, false, true)
		} else {
			d := val.Rows * val.Cols
			s.twin.Resize(2*val.Rows, val.Cols)
			copy(s.twin.Data[:d], val.Data[:d])
			copy(s.twin.Data[d:], val.Data[:d])
			n.PairedBaseline = true
			l.Upper, err = n.SampleLoss(s.twin, false, true)
			n.PairedBaseline = false
		}
	} else {
		l, err = n.Evaluate(val, s.Cfg.Kind, false, true)
	}
	if err != nil {
		return l, 0, fmt.Errorf("α step: %w", err)
	}
	cost := 0.0
	if s.Cfg.Costs != nil {
		cost = n.AddCostGrad(s.Cfg.Costs, s.Cfg.Lambda)
	}
	if !allFinite(n.AlphaParam().Grad) {
		return l, cost, fmt.Errorf("α step: %w", ErrNonFiniteGrad)
	}
	if !s.AlphaFrozen {
		s.AlphaOpt.Step(s.Cfg.AlphaLR)
	}
	return l, cost, nil
}

// ThetaStep takes one Adam step on θ, minimising L on the batch train, and
// returns the loss before the update (θ is left unchanged on error).
func (s *Searcher[T]) ThetaStep(trainBatch *tensor.Mat[T]) (float64, error) {
	n := s.Net
	for _, p := range s.params {
		clear(p.Grad)
	}
	var l float64
	var err error
	if s.Cfg.Estimator == Sampled {
		l, err = n.SampleLoss(trainBatch, true, false)
	} else {
		l, err = n.Loss(trainBatch, s.Cfg.Kind, true, false)
	}
	if err != nil {
		return l, fmt.Errorf("θ step: %w", err)
	}
	g := train.GradNorm(s.params)
	if !finite(g) {
		for _, p := range s.params {
			if !allFinite(p.Grad) {
				return l, fmt.Errorf("θ step: %s: %w", p.Name, ErrNonFiniteGrad)
			}
		}
		return l, fmt.Errorf("θ step: %w", ErrNonFiniteGrad)
	}
	train.ClipGrads(s.params, s.Cfg.ClipNorm)
	lr := s.Cfg.ThetaLR
	if s.ThetaLRScale > 0 {
		lr *= s.ThetaLRScale
	}
	s.ThetaOpt.Step(lr)
	return l, nil
}

// Step is one search iteration: the α step on val, then the θ step on
// trainBatch (first-order DARTS). It appends a Record to History (unless
// Cfg.NoHistory) and returns it. On error neither step is applied: a
// failed θ step also undoes the α step (α and its optimiser state), so the
// caller can skip the iteration (errors.Is(err, flow.ErrNonFinite) for
// non-finite losses and gradients).
func (s *Searcher[T]) Step(trainBatch, val *tensor.Mat[T]) (Record, error) {
	s.saveAlpha()
	l, cost, err := s.AlphaStep(val)
	if err != nil {
		return Record{}, err
	}
	tl, err := s.ThetaStep(trainBatch)
	if err != nil {
		s.restoreAlpha()
		return Record{}, err
	}
	s.steps++
	rec := Record{Step: s.steps, Weights: s.Net.Weights(), ValUpper: l.Upper, ValOriginal: l.Original, Cost: cost, TrainLoss: tl}
	if !s.Cfg.NoHistory {
		s.History = append(s.History, rec)
	}
	return rec, nil
}

func (s *Searcher[T]) saveAlpha() {
	a := s.Net.AlphaParam().Value
	m, v, t := s.AlphaOpt.State()
	s.saved.val = append(s.saved.val[:0], a...)
	s.saved.m = append(s.saved.m[:0], m[0]...)
	s.saved.v = append(s.saved.v[:0], v[0]...)
	s.saved.t = t
}

func (s *Searcher[T]) restoreAlpha() {
	copy(s.Net.AlphaParam().Value, s.saved.val)
	m, v, _ := s.AlphaOpt.State()
	copy(m[0], s.saved.m)
	copy(v[0], s.saved.v)
	s.AlphaOpt.SetState(m, v, s.saved.t)
}
