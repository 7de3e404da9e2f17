package flow

import (
	"fmt"
	"github.com/autonf/autonf/tensor"
	"math/rand/v2"
)

func init() {
	RegisterType(LayerType{Name: "chain", Fields: []string{"layers"},
		Example: LayerSpec{Type: "chain", Layers: []LayerSpec{{Type: "reverse"}, {Type: "lu-linear"}, {Type: "maf", Hidden: []int{6}}}}},
		newChainFromSpec[float32], newChainFromSpec[float64])
}

// Chain composes layers into one: Forward applies them in order and sums
// their log-determinants. The AutoNF search uses chains as candidates
// ([reverse permutation → LU linear → transform]).
type Chain[T Float] struct {
	Layers []Layer[T]
	dim    int
}

// NewChain composes layers of equal dimension.
func NewChain[T Float](layers ...Layer[T]) *Chain[T] {
	c := &Chain[T]{Layers: layers}
	if len(layers) > 0 {
		c.dim = layers[0].Dim()
	}
	return c
}

func newChainFromSpec[T Float](dim int, spec LayerSpec, rng *rand.Rand) (Layer[T], error) {
	if len(spec.Layers) == 0 {
		return nil, fmt.Errorf("chain: no sub-layers (give them in \"layers\")")
	}
	c := &Chain[T]{dim: dim}
	for i, s := range spec.Layers {
		l, err := NewLayer[T](dim, s, rng)
		if err != nil {
			return nil, fmt.Errorf("chain layer %d (%s): %w", i, s.Type, err)
		}
		c.Layers = append(c.Layers, l)
	}
	return c, nil
}

// Dim implements Layer.
func (c *Chain[T]) Dim() int { return c.dim }

// Spec implements Layer.
func (c *Chain[T]) Spec() LayerSpec {
	s := LayerSpec{Type: "chain"}
	for _, l := range c.Layers {
		s.Layers = append(s.Layers, l.Spec())
	}
	return s
}

// Params implements Layer; names are prefixed with the sub-layer index.
func (c *Chain[T]) Params() []*Param[T] {
	var ps []*Param[T]
	for i, l := range c.Layers {
		for _, p := range l.Params() {
			q := *p
			q.Name = fmt.Sprintf("%d.%s", i, p.Name)
			ps = append(ps, &q)
		}
	}
	return ps
}

// Buffers returns the sub-layers' buffers, named like Params.
func (c *Chain[T]) Buffers() []*Param[T] {
	var bs []*Param[T]
	for i, l := range c.Layers {
		if h, ok := l.(BufferHolder[T]); ok {
			for _, b := range h.Buffers() {
				q := *b
				q.Name = fmt.Sprintf("%d.%s", i, b.Name)
				bs = append(bs, &q)
			}
		}
	}
	return bs
}

// Cost implements Layer: the sum over sub-layers (passes: the maximum).
func (c *Chain[T]) Cost() Cost {
	var s Cost
	for _, l := range c.Layers {
		k := l.Cost()
		s.Params += k.Params
		s.ForwardFLOPs += k.ForwardFLOPs
		s.InverseFLOPs += k.InverseFLOPs
		s.InversePasses = max(s.InversePasses, k.InversePasses)
	}
	return s
}

type chainWork[T Float] struct {
	ops   []Op[T]   // one per sub-layer
	outs  []*Mat[T] // outputs of all but the last sub-layer
	iouts []*Mat[T] // Inverse's intermediate rows, apart so a pending Backward stays valid
	ld    []T
	g1    *Mat[T]
	g2    *Mat[T]
}

// NewWork implements Layer.
func (c *Chain[T]) NewWork() Work { return c.work(nil) }

// NewOp implements ShardedLayer: each sub-layer's op is bound to its share
// of grads. It returns nil when grads is not nil and a sub-layer is not a
// ShardedLayer (see bindable).
func (c *Chain[T]) NewOp(grads [][]T) Op[T] {
	w := c.work(grads)
	if w == nil {
		return nil
	}
	return bindOp[T](c, w)
}

func (c *Chain[T]) work(grads [][]T) *chainWork[T] {
	w := &chainWork[T]{g1: &Mat[T]{}, g2: &Mat[T]{}}
	off := 0
	for _, l := range c.Layers {
		k := len(l.Params())
		var op Op[T]
		if grads == nil {
			op = NewOp(l)
		} else if sl, ok := l.(ShardedLayer[T]); ok {
			op = sl.NewOp(grads[off : off+k])
		}
		if op == nil {
			return nil
		}
		off += k
		w.ops = append(w.ops, op)
		w.outs = append(w.outs, &Mat[T]{})
		w.iouts = append(w.iouts, &Mat[T]{})
	}
	return w
}

// Forward implements Layer.
func (c *Chain[T]) Forward(wk Work, x, z *Mat[T], ld []T) { c.forward(wk.(*chainWork[T]), x, z, ld) }

func (c *Chain[T]) forward(w *chainWork[T], x, z *Mat[T], ld []T) {
	w.ld = tensor.Grow(w.ld, x.Rows)
	clear(ld[:x.Rows])
	cur := x
	n := len(c.Layers)
	for i, op := range w.ops {
		out := z
		if i < n-1 {
			out = w.outs[i]
			out.Resize(x.Rows, c.dim)
		}
		op.Forward(cur, out, w.ld)
		for r, v := range w.ld {
			ld[r] += v
		}
		cur = out
	}
}

// Backward implements Layer.
func (c *Chain[T]) Backward(wk Work, dz *Mat[T], dld []T, dx *Mat[T]) {
	c.backward(wk.(*chainWork[T]), dz, dld, dx)
}

func (c *Chain[T]) backward(w *chainWork[T], dz *Mat[T], dld []T, dx *Mat[T]) {
	g := dz
	for i := len(c.Layers) - 1; i >= 0; i-- {
		var d *Mat[T]
		if i > 0 {
			d = w.g1
			if g == w.g1 {
				d = w.g2
			}
			d.Resize(dz.Rows, c.dim)
		} else {
			d = dx
		}
		w.ops[i].Backward(g, dld, d)
		g = d
	}
}

// Inverse implements Layer.
func (c *Chain[T]) Inverse(wk Work, z, x *Mat[T], ld []T) { c.inverse(wk.(*chainWork[T]), z, x, ld) }

func (c *Chain[T]) inverse(w *chainWork[T], z, x *Mat[T], ld []T) {
	if ld != nil {
		w.ld = tensor.Grow(w.ld, z.Rows)
		clear(ld[:z.Rows])
	}
	cur := z
	for i := len(c.Layers) - 1; i >= 0; i-- {
		out := x
		if i > 0 {
			out = w.iouts[i]
			out.Resize(z.Rows, c.dim)
		}
		var lp []T
		if ld != nil {
			lp = w.ld
		}
		w.ops[i].Inverse(cur, out, lp)
		if ld != nil {
			for r, v := range w.ld {
				ld[r] += v
			}
		}
		cur = out
	}
}

// SetTraining forwards the mode to sub-layers that have one.
func (c *Chain[T]) SetTraining(training bool) {
	for _, l := range c.Layers {
		if s, ok := l.(TrainingSetter); ok {
			s.SetTraining(training)
		}
	}
}
