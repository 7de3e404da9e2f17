package train

import (
	"math"

	"github.com/autonf/autonf/flow"
)

// weights is Fit's view of a flow's training state: the learnable
// parameters (in Params order) and the buffers (BatchNorm running
// averages). When the flow keeps its parameters and gradients in one flat
// buffer each (Flow.ParamData, Flow.GradData), clearing, measuring and
// scaling the gradients and snapshotting or restoring the parameters are
// one-slice operations over those buffers; otherwise (a flow whose
// parameters are not views of flat buffers) they loop over the Params.
// Both ways give bit-identical results.
//
// A snapshot is one slice: the parameters laid out as ParamData, then each
// buffer in order.
type weights struct {
	theta, grad []float32              // the flow's flat buffers; nil when it is not flat
	params      []*flow.Param[float32] // learnable, in Params order
	state       []*flow.Param[float32] // params, then buffers
	n           int                    // length of a snapshot
}

func newWeights(f *flow.Flow[float32], params []*flow.Param[float32]) *weights {
	w := &weights{params: params, state: append([]*flow.Param[float32](nil), params...)}
	for _, b := range f.Buffers() {
		w.state = append(w.state, b.Param)
	}
	if theta, grad := f.ParamData(), f.GradData(); viewsOf(params, theta, grad) {
		w.theta, w.grad = theta, grad
	}
	for _, p := range w.state {
		w.n += len(p.Value)
	}
	return w
}

// flat reports whether the parameters are still views of the flat buffers
// (checked on every use, so a flow re-pointed under Fit stays correct).
func (w *weights) flat() bool { return w.theta != nil && viewsOf(w.params, w.theta, w.grad) }

// zeroGrad clears every gradient.
func (w *weights) zeroGrad() {
	if w.flat() {
		clear(w.grad)
		return
	}
	for _, p := range w.params {
		clear(p.Grad)
	}
}

// gradNorm is GradNorm over the parameters.
func (w *weights) gradNorm() float64 {
	if w.flat() {
		return math.Sqrt(addSquares(0, w.grad))
	}
	return GradNorm(w.params)
}

// scaleGrads is ScaleGrads over the parameters.
func (w *weights) scaleGrads(c float64) {
	if w.flat() {
		scale(w.grad, c)
		return
	}
	ScaleGrads(w.params, c)
}

// rest returns the state tensors a snapshot holds one by one and the
// offset at which they start: the buffers after one copy of the flat
// parameters, or everything.
func (w *weights) rest(flat bool) ([]*flow.Param[float32], int) {
	if flat {
		return w.state[len(w.params):], len(w.theta)
	}
	return w.state, 0
}

// snapshot copies the state into dst (allocated when nil) and returns it.
func (w *weights) snapshot(dst []float32) []float32 {
	if dst == nil {
		dst = make([]float32, w.n)
	}
	flat := w.flat()
	if flat {
		copy(dst, w.theta)
	}
	ps, off := w.rest(flat)
	for _, p := range ps {
		off += copy(dst[off:], p.Value)
	}
	return dst
}

// restore copies a snapshot back into the state.
func (w *weights) restore(src []float32) {
	flat := w.flat()
	if flat {
		copy(w.theta, src)
	}
	ps, off := w.rest(flat)
	for _, p := range ps {
		off += copy(p.Value, src[off:off+len(p.Value)])
	}
}

// split returns per-tensor views of a snapshot (the checkpoint's layout:
// one tensor per parameter and buffer).
func (w *weights) split(v []float32) [][]float32 {
	out := make([][]float32, len(w.state))
	off := 0
	for i, p := range w.state {
		k := len(p.Value)
		out[i] = v[off : off+k : off+k]
		off += k
	}
	return out
}

// join is the inverse of split: one snapshot from per-tensor values (whose
// lengths State.check has verified).
func (w *weights) join(ts [][]float32) []float32 {
	v := make([]float32, 0, w.n)
	for _, t := range ts {
		v = append(v, t...)
	}
	return v
}
