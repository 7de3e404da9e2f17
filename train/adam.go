package train

import (
	"math"

	"github.com/autonf/autonf/tensor"

	"github.com/autonf/autonf/flow"
)

// Adam is the Adam optimiser (Kingma & Ba 2015) over a fixed list of
// parameters, with optional decoupled weight decay (AdamW).
type Adam[T flow.Float] struct {
	Params      []*flow.Param[T]
	Beta1       float64
	Beta2       float64
	Eps         float64
	WeightDecay float64
	m, v        [][]T
	t           int
}

// NewAdam creates an optimiser with the usual defaults (0.9, 0.999, 1e-8).
func NewAdam[T flow.Float](params []*flow.Param[T]) *Adam[T] {
	a := &Adam[T]{Params: params, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
	for _, p := range params {
		a.m = append(a.m, make([]T, len(p.Value)))
		a.v = append(a.v, make([]T, len(p.Value)))
	}
	return a
}

// Step applies one update with learning rate lr using the current Grad.
func (a *Adam[T]) Step(lr float64) {
	a.t++
	b1, b2 := a.Beta1, a.Beta2
	c1 := 1 - math.Pow(b1, float64(a.t))
	c2 := 1 - math.Pow(b2, float64(a.t))
	step := T(lr * math.Sqrt(c2) / c1)
	eps := T(a.Eps * math.Sqrt(c2))
	decay := T(1 - lr*a.WeightDecay)
	tb1, tb2 := T(b1), T(b2)
	for i, p := range a.Params {
		m, v := a.m[i], a.v[i]
		if a.WeightDecay == 0 {
			if p32, ok := tensor.As32(p.Value); ok {
				g32, _ := tensor.As32(p.Grad)
				m32, _ := tensor.As32(m)
				v32, _ := tensor.As32(v)
				tensor.Adam32(p32, g32, m32, v32, float32(b1), float32(b2), float32(step), float32(eps))
				continue
			}
		}
		for j, g := range p.Grad {
			m[j] = tb1*m[j] + (1-tb1)*g
			v[j] = tb2*v[j] + (1-tb2)*g*g
			if a.WeightDecay != 0 {
				p.Value[j] *= decay
			}
			p.Value[j] -= step * m[j] / (T(math.Sqrt(float64(v[j]))) + eps)
		}
	}
}

// State returns the optimiser's moment buffers and step count (for
// checkpoints).
func (a *Adam[T]) State() (m, v [][]T, t int) { return a.m, a.v, a.t }

// SetState restores what State returned.
func (a *Adam[T]) SetState(m, v [][]T, t int) { a.m, a.v, a.t = m, v, t }

// GradNorm returns the global L2 norm of all gradients.
func GradNorm[T flow.Float](params []*flow.Param[T]) float64 {
	s := 0.0
	for _, p := range params {
		for _, g := range p.Grad {
			s += float64(g) * float64(g)
		}
	}
	return math.Sqrt(s)
}

// DefaultClipNorm is the global gradient-norm clip that a ClipNorm option
// of 0 stands for, in this package and in search.
const DefaultClipNorm = 5.0

// ClipGrads scales the gradients down to global L2 norm clipNorm when
// their norm exceeds it, with the one rule every ClipNorm option follows:
// 0 means DefaultClipNorm, negative means no clipping. It returns the norm
// before clipping.
func ClipGrads[T flow.Float](params []*flow.Param[T], clipNorm float64) float64 {
	if clipNorm == 0 {
		clipNorm = DefaultClipNorm
	}
	g := GradNorm(params)
	if clipNorm > 0 && g > clipNorm {
		ScaleGrads(params, clipNorm/g)
	}
	return g
}

// ScaleGrads multiplies every gradient by c.
func ScaleGrads[T flow.Float](params []*flow.Param[T], c float64) {
	tc := T(c)
	for _, p := range params {
		for j := range p.Grad {
			p.Grad[j] *= tc
		}
	}
}

// CosineLR is the learning rate at step t of total: linear warm-up over
// warmup steps, then cosine decay from base to base·minFrac.
func CosineLR(base float64, t, warmup, total int, minFrac float64) float64 {
	if warmup > 0 && t < warmup {
		return base * float64(t+1) / float64(warmup)
	}
	if total <= warmup {
		return base
	}
	p := float64(t-warmup) / float64(total-warmup)
	if p > 1 {
		p = 1
	}
	return base * (minFrac + (1-minFrac)*0.5*(1+math.Cos(math.Pi*p)))
}
