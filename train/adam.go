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

	// One-buffer mode (NewAdamFlat): the parameters are views, in order,
	// of value and grad, and m, v are views of fm, fv.
	value, grad, fm, fv []T

	// A large update is split across cores (tensor.ParallelFor): cur holds
	// its arguments and chunk (a method value made once, so steps do not
	// allocate) runs one part.
	cur   adamArgs[T]
	chunk func(lo, hi int)
}

// adamArgs are the arguments of one update.
type adamArgs[T flow.Float] struct {
	value, grad, m, v []T
	b1, b2            float64
	step, eps, decay  T
}

// adamGrain is the smallest part of an update given to a core of its own:
// ≈ 0.9 MB of memory traffic, tens of microseconds.
const adamGrain = 1 << 15

// NewAdamFlat is NewAdam for parameters that are views, in order, of one
// value buffer and one gradient buffer (a flow's ParamData and GradData):
// each Step is then one update over the whole buffer, and the moments are
// one buffer each (State still returns per-parameter views). The result is
// bit-identical to NewAdam's. When the parameters are not such views
// (value nil, or another order) it is NewAdam.
func NewAdamFlat[T flow.Float](params []*flow.Param[T], value, grad []T) *Adam[T] {
	if !viewsOf(params, value, grad) {
		return NewAdam(params)
	}
	a := &Adam[T]{Params: params, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8,
		value: value, grad: grad, fm: make([]T, len(value)), fv: make([]T, len(value))}
	off := 0
	for _, p := range params {
		k := len(p.Value)
		a.m = append(a.m, a.fm[off:off+k:off+k])
		a.v = append(a.v, a.fv[off:off+k:off+k])
		off += k
	}
	return a
}

// viewsOf reports whether params are consecutive views of value and grad
// covering them exactly.
func viewsOf[T flow.Float](params []*flow.Param[T], value, grad []T) bool {
	if value == nil || len(grad) != len(value) {
		return false
	}
	off := 0
	for _, p := range params {
		k := len(p.Value)
		if k > 0 && (off+k > len(value) || &p.Value[0] != &value[off] || len(p.Grad) != k || &p.Grad[0] != &grad[off]) {
			return false
		}
		off += k
	}
	return off == len(value)
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
	if a.value != nil && !viewsOf(a.Params, a.value, a.grad) {
		a.value, a.grad = nil, nil // re-pointed since (another flow over the same layers): per parameter
	}
	if a.value != nil {
		a.update(a.value, a.grad, a.fm, a.fv, b1, b2, step, eps, decay)
		return
	}
	for i, p := range a.Params {
		a.update(p.Value, p.Grad, a.m[i], a.v[i], b1, b2, step, eps, decay)
	}
}

// update applies one step to a value slice with its gradient and moments,
// in parts across cores when it is large (element-wise, so the result does
// not depend on the split).
func (a *Adam[T]) update(value, grad, m, v []T, b1, b2 float64, step, eps, decay T) {
	if len(value) < 2*adamGrain {
		a.updatePart(value, grad, m, v, b1, b2, step, eps, decay)
		return
	}
	a.cur = adamArgs[T]{value, grad, m, v, b1, b2, step, eps, decay}
	if a.chunk == nil {
		a.chunk = a.updateChunk
	}
	tensor.ParallelFor(len(value), adamGrain, a.chunk)
	a.cur = adamArgs[T]{}
}

// updateChunk runs part [lo, hi) of the update in a.cur.
func (a *Adam[T]) updateChunk(lo, hi int) {
	c := &a.cur
	a.updatePart(c.value[lo:hi], c.grad[lo:hi], c.m[lo:hi], c.v[lo:hi], c.b1, c.b2, c.step, c.eps, c.decay)
}

// updatePart is update on one goroutine.
func (a *Adam[T]) updatePart(value, grad, m, v []T, b1, b2 float64, step, eps, decay T) {
	if a.WeightDecay == 0 {
		if p32, ok := tensor.As32(value); ok {
			g32, _ := tensor.As32(grad)
			m32, _ := tensor.As32(m)
			v32, _ := tensor.As32(v)
			tensor.Adam32(p32, g32, m32, v32, float32(b1), float32(b2), float32(step), float32(eps))
			return
		}
	}
	tb1, tb2 := T(b1), T(b2)
	for j, g := range grad {
		m[j] = tb1*m[j] + (1-tb1)*g
		v[j] = tb2*v[j] + (1-tb2)*g*g
		if a.WeightDecay != 0 {
			value[j] *= decay
		}
		value[j] -= step * m[j] / (T(math.Sqrt(float64(v[j]))) + eps)
	}
}

// State returns the optimiser's moment buffers and step count (for
// checkpoints).
func (a *Adam[T]) State() (m, v [][]T, t int) { return a.m, a.v, a.t }

// SetState restores what State returned (copied into the one-buffer
// moments when the shapes match, else taken as they are).
func (a *Adam[T]) SetState(m, v [][]T, t int) {
	if a.value != nil && sameShapes(a.m, m) && sameShapes(a.v, v) {
		for i := range m {
			copy(a.m[i], m[i])
			copy(a.v[i], v[i])
		}
		a.t = t
		return
	}
	a.value, a.grad = nil, nil
	a.m, a.v, a.t = m, v, t
}

func sameShapes[T flow.Float](a, b [][]T) bool {
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

// GradNorm returns the global L2 norm of all gradients.
func GradNorm[T flow.Float](params []*flow.Param[T]) float64 {
	s := 0.0
	for _, p := range params {
		s = addSquares(s, p.Grad)
	}
	return math.Sqrt(s)
}

// addSquares returns s + Σ g², accumulated in float64 in order (so one
// call over a flat gradient buffer equals GradNorm's loop over its views,
// bit for bit).
func addSquares[T flow.Float](s float64, g []T) float64 {
	for _, v := range g {
		s += float64(v) * float64(v)
	}
	return s
}

// scale multiplies every entry of g by c.
func scale[T flow.Float](g []T, c float64) {
	tc := T(c)
	for j := range g {
		g[j] *= tc
	}
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
	for _, p := range params {
		scale(p.Grad, c)
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
