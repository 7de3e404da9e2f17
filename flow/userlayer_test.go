package flow_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/flow/flowtest"
)

// userScale is a user-defined, unregistered layer: z = x·e^s + t with
// learnable s and t per column.
type userScale[T flow.Float] struct {
	s, t *flow.Param[T]
}

type userScaleWork[T flow.Float] struct {
	x      *flow.Mat[T]
	gs, gt []T // where Backward adds the gradients
}

// shardedUserScale is userScale as a flow.ShardedLayer: it keeps all
// per-call state in its work, and its Backward adds into the work's
// gradient slices. bound counts the workspaces bound to shard buffers.
type shardedUserScale[T flow.Float] struct {
	*userScale[T]
	bound *int
}

// userScaleOp is the user layer's typed op.
type userScaleOp[T flow.Float] struct {
	l *userScale[T]
	w *userScaleWork[T]
}

func (o userScaleOp[T]) Forward(x, z *flow.Mat[T], ld []T) { o.l.Forward(o.w, x, z, ld) }
func (o userScaleOp[T]) Backward(dz *flow.Mat[T], dld []T, dx *flow.Mat[T]) {
	o.l.Backward(o.w, dz, dld, dx)
}
func (o userScaleOp[T]) Inverse(z, x *flow.Mat[T], ld []T) { o.l.Inverse(o.w, z, x, ld) }

func (l shardedUserScale[T]) NewOp(grads [][]T) flow.Op[T] {
	if grads == nil {
		return userScaleOp[T]{l.userScale, l.NewWork().(*userScaleWork[T])}
	}
	*l.bound++
	return userScaleOp[T]{l.userScale, &userScaleWork[T]{gs: grads[0], gt: grads[1]}}
}

func newUserScale[T flow.Float](d int) *userScale[T] {
	l := &userScale[T]{s: flow.NewParam[T]("s", d), t: flow.NewParam[T]("t", d)}
	for j := 0; j < d; j++ {
		l.s.Value[j], l.t.Value[j] = T(0.1*float64(j)-0.2), T(0.3-0.05*float64(j))
	}
	return l
}

func (l *userScale[T]) Dim() int                 { return len(l.s.Value) }
func (l *userScale[T]) Spec() flow.LayerSpec     { return flow.LayerSpec{Type: "user-scale"} }
func (l *userScale[T]) Params() []*flow.Param[T] { return []*flow.Param[T]{l.s, l.t} }
func (l *userScale[T]) NewWork() flow.Work {
	return &userScaleWork[T]{gs: l.s.Grad, gt: l.t.Grad}
}
func (l *userScale[T]) Cost() flow.Cost { return flow.Cost{Params: 2 * l.Dim()} }
func (l *userScale[T]) logDet() (s T)   { return sum(l.s.Value) }
func sum[T flow.Float](v []T) (s T) {
	for _, x := range v {
		s += x
	}
	return s
}
func (l *userScale[T]) Forward(w flow.Work, x, z *flow.Mat[T], ld []T) {
	w.(*userScaleWork[T]).x = x
	d := l.Dim()
	for r := 0; r < x.Rows; r++ {
		for j := 0; j < d; j++ {
			z.Data[r*d+j] = x.Data[r*d+j]*T(math.Exp(float64(l.s.Value[j]))) + l.t.Value[j]
		}
		ld[r] = l.logDet()
	}
}
func (l *userScale[T]) Backward(w flow.Work, dz *flow.Mat[T], dld []T, dx *flow.Mat[T]) {
	wk := w.(*userScaleWork[T])
	x := wk.x
	d := l.Dim()
	for r := 0; r < dz.Rows; r++ {
		for j := 0; j < d; j++ {
			e := T(math.Exp(float64(l.s.Value[j])))
			g := dz.Data[r*d+j]
			wk.gs[j] += g*x.Data[r*d+j]*e + dld[r]
			wk.gt[j] += g
			if dx != nil {
				dx.Data[r*d+j] = g * e
			}
		}
	}
}
func (l *userScale[T]) Inverse(_ flow.Work, z, x *flow.Mat[T], ld []T) {
	d := l.Dim()
	for r := 0; r < z.Rows; r++ {
		for j := 0; j < d; j++ {
			x.Data[r*d+j] = (z.Data[r*d+j] - l.t.Value[j]) / T(math.Exp(float64(l.s.Value[j])))
		}
		if ld != nil {
			ld[r] = l.logDet()
		}
	}
}

// shifted wraps a registered layer but adds 0.5 to its output while
// reporting the wrapped layer's spec: a replica built from the spec would
// silently compute without the shift.
type shifted[T flow.Float] struct{ flow.Layer[T] }

func (l shifted[T]) Forward(w flow.Work, x, z *flow.Mat[T], ld []T) {
	l.Layer.Forward(w, x, z, ld)
	for i := range z.Data[:x.Rows*x.Cols] {
		z.Data[i] += 0.5
	}
}
func (l shifted[T]) Inverse(w flow.Work, z, x *flow.Mat[T], ld []T) {
	zs := z.Clone()
	for i := range zs.Data {
		zs.Data[i] -= 0.5
	}
	l.Layer.Inverse(w, zs, x, ld)
}

// TestUserLayersOnTwoCores: flows with a user-defined (unregistered) layer
// and with a wrapper layer give the same NLL and gradients on 2 workers as
// on 1 (batch 256); they used to panic ("cannot replicate …") or compute
// with the unwrapped layer in the other shard. A user layer that is a
// flow.ShardedLayer runs sharded on the same parameters (no replica); the
// others run unsharded.
func TestUserLayersOnTwoCores(t *testing.T) {
	const d, rows = 3, 256
	build := map[string]func() *flow.Flow[float64]{
		"unregistered": func() *flow.Flow[float64] {
			maf, _ := flow.NewLayer[float64](d, flow.LayerSpec{Type: "maf", Hidden: []int{8}}, rand.New(rand.NewPCG(1, 1)))
			return flow.New[float64](d, newUserScale[float64](d), maf)
		},
		"wrapper": func() *flow.Flow[float64] {
			maf, _ := flow.NewLayer[float64](d, flow.LayerSpec{Type: "maf", Hidden: []int{8}}, rand.New(rand.NewPCG(1, 1)))
			return flow.New[float64](d, shifted[float64]{maf})
		},
	}
	bound := 0
	build["sharded-user-layer"] = func() *flow.Flow[float64] {
		maf, _ := flow.NewLayer[float64](d, flow.LayerSpec{Type: "maf", Hidden: []int{8}}, rand.New(rand.NewPCG(1, 1)))
		return flow.New[float64](d, shardedUserScale[float64]{newUserScale[float64](d), &bound}, maf)
	}
	for name, mk := range build {
		t.Run(name, func(t *testing.T) {
			x := flowtest.RandMat(rand.New(rand.NewPCG(2, 2)), rows, d, 1)
			var nll [2]float64
			var grads [2][]float64
			for i, workers := range []int{1, 2} {
				f := mk()
				f.Workers = workers
				f.ZeroGrad()
				var err error
				if nll[i], err = f.NLLGrad(x); err != nil {
					t.Fatal(err)
				}
				for _, p := range f.Params() {
					grads[i] = append(grads[i], p.Grad...)
				}
				s, lp := f.SampleAndLogProb(rows, 1)
				if s.Rows != rows || len(lp) != rows {
					t.Fatal("sampling on 2 workers failed")
				}
			}
			if math.Abs(nll[0]-nll[1]) > 1e-12 {
				t.Errorf("NLL: 1 worker %.15g, 2 workers %.15g", nll[0], nll[1])
			}
			for k := range grads[0] {
				if math.Abs(grads[0][k]-grads[1][k]) > 1e-12 {
					t.Fatalf("gradient %d: 1 worker %.15g, 2 workers %.15g", k, grads[0][k], grads[1][k])
				}
			}
		})
	}
	if bound == 0 {
		t.Error("the user's ShardedLayer was not run sharded (no workspace bound to a shard's gradients)")
	}
}

// TestFlatParameters: a built flow keeps every parameter and gradient in
// one buffer each, in Params order.
func TestFlatParameters(t *testing.T) {
	spec, _ := flow.PresetSpec("nsf-c-8", 3)
	spec.Base = "diag-normal"
	for i := range spec.Layers {
		if spec.Layers[i].Hidden != nil {
			spec.Layers[i].Hidden = []int{4}
		}
	}
	f, err := flow.Build[float32](spec, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	theta, grad := f.ParamData(), f.GradData()
	if theta == nil || len(theta) != f.NumParams() || len(grad) != len(theta) {
		t.Fatalf("flat buffers: %d values, %d grads, %d parameters", len(theta), len(grad), f.NumParams())
	}
	off := 0
	for _, p := range f.Params() {
		if &p.Value[0] != &theta[off] || &p.Grad[0] != &grad[off] {
			t.Fatalf("%s is not a view of the flat buffers at %d", p.Name, off)
		}
		off += len(p.Value)
	}
	// A second flow over the same layers takes the storage over; the first
	// notices and falls back to per-parameter loops.
	g := flow.New[float32](3, f.Layers...)
	if g.ParamData() == nil {
		t.Fatal("the second flow is not flat")
	}
	if f.ParamData() != nil {
		t.Error("the first flow still reports flat buffers it no longer owns")
	}
	f.ZeroGrad() // must not panic or clear the wrong buffer
}
