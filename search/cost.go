package search

import (
	"fmt"

	"github.com/autonf/autonf/flow"
)

// Costs gives the cost c_i^j of candidate j at slot i (same shape as
// Supernet.Alpha).
type Costs [][]float64

// Broadcast repeats one per-candidate cost list c (len m) for n slots.
func Broadcast(c []float64, n int) Costs {
	out := make(Costs, n)
	for i := range out {
		out[i] = c
	}
	return out
}

// LayerCosts derives costs from the candidates' static cost descriptors,
// e.g. metric = func(c flow.Cost) float64 { return c.ForwardFLOPs }. Scale
// them (or λ) so that λ·C is commensurate with the NLL.
func LayerCosts[T flow.Float](s *Supernet[T], metric func(flow.Cost) float64) Costs {
	out := make(Costs, len(s.Slots))
	for i, c := range s.Slots {
		out[i] = make([]float64, len(c))
		for j, l := range c {
			out[i][j] = metric(l.Cost())
		}
	}
	return out
}

// checkCosts verifies that c has the shape of Alpha.
func (s *Supernet[T]) checkCosts(c Costs) error {
	if len(c) != len(s.Slots) {
		return fmt.Errorf("search: costs for %d slots, the supernet has %d", len(c), len(s.Slots))
	}
	for i, ci := range c {
		if len(ci) != len(s.Slots[i]) {
			return fmt.Errorf("search: slot %d: %d costs for %d candidates", i, len(ci), len(s.Slots[i]))
		}
	}
	return nil
}

// CostValue returns C_mix = Σ_i Σ_j w_i^j c_i^j at the current α. c must
// have the shape of Alpha (it panics otherwise).
func (s *Supernet[T]) CostValue(c Costs) float64 {
	if err := s.checkCosts(c); err != nil {
		panic(err)
	}
	s.refreshWeights()
	v := 0.0
	for i, w := range s.w {
		for j, wj := range w {
			v += wj * c[i][j]
		}
	}
	return v
}

// AddCostGrad adds λ·∂C_mix/∂α into AlphaGrad and returns C_mix, with
// ∂C_mix/∂α_i^j = w_i^j·(c_i^j − Σ_l w_i^l c_i^l)/τ. c must have the shape of
// Alpha (it panics otherwise).
func (s *Supernet[T]) AddCostGrad(c Costs, lambda float64) float64 {
	v := s.CostValue(c)
	lambda *= s.invTemp()
	for i, w := range s.w {
		mean := 0.0
		for j, wj := range w {
			mean += wj * c[i][j]
		}
		for j, wj := range w {
			s.AlphaGrad[i][j] += lambda * wj * (c[i][j] - mean)
		}
	}
	return v
}

// PathCost is Σ_i c_i^{arch_i}, the cost of one architecture (C_mix at
// one-hot weights).
func PathCost(c Costs, arch []int) float64 {
	v := 0.0
	for i, j := range arch {
		v += c[i][j]
	}
	return v
}
