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
	params   []*flow.Param[T]
	steps    int
	twin     *tensor.Mat[T] // the α batch twice (paired baseline)
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
	s.AlphaOpt.Step(s.Cfg.AlphaLR)
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
	train.ClipGrads(s.params, s.Cfg.ClipNorm)
	s.ThetaOpt.Step(s.Cfg.ThetaLR)
	return l, nil
}

// Step is one search iteration: the α step on val, then the θ step on
// trainBatch (first-order DARTS). It appends a Record to History (unless
// Cfg.NoHistory) and returns it.
func (s *Searcher[T]) Step(trainBatch, val *tensor.Mat[T]) (Record, error) {
	l, cost, err := s.AlphaStep(val)
	if err != nil {
		return Record{}, err
	}
	tl, err := s.ThetaStep(trainBatch)
	if err != nil {
		return Record{}, err
	}
	s.steps++
	rec := Record{Step: s.steps, Weights: s.Net.Weights(), ValUpper: l.Upper, ValOriginal: l.Original, Cost: cost, TrainLoss: tl}
	if !s.Cfg.NoHistory {
		s.History = append(s.History, rec)
	}
	return rec, nil
}
