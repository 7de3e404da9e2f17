package flow_test

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/tensor"
)

// shift is a user-defined layer, z = x + b with a learnable b per column
// (log-det 0). A layer holds its parameters; NewOp binds an op that adds
// its gradients into grads (nil: the Params' own Grad).
type shift struct{ b *flow.Param[float64] }

func (l *shift) Dim() int                       { return len(l.b.Value) }
func (l *shift) Spec() flow.LayerSpec           { return flow.LayerSpec{Type: "shift"} }
func (l *shift) Params() []*flow.Param[float64] { return []*flow.Param[float64]{l.b} }
func (l *shift) Cost() flow.Cost                { return flow.Cost{Params: l.Dim(), InversePasses: 1} }
func (l *shift) NewOp(grads [][]float64) flow.Op[float64] {
	g := l.b.Grad
	if grads != nil {
		g = grads[0]
	}
	return &shiftOp{l: l, grad: g}
}

// shiftOp is one application of a shift: it keeps nothing between Forward
// and Backward but where its gradient goes.
type shiftOp struct {
	l    *shift
	grad []float64
}

func (o *shiftOp) Forward(x, z *flow.Mat[float64], ld []float64) {
	d := o.l.Dim()
	for i := range x.Data[:x.Rows*d] {
		z.Data[i] = x.Data[i] + o.l.b.Value[i%d]
	}
	clear(ld[:x.Rows])
}

func (o *shiftOp) Backward(dz *flow.Mat[float64], _ []float64, dx *flow.Mat[float64]) {
	d := o.l.Dim()
	for i, g := range dz.Data[:dz.Rows*d] {
		o.grad[i%d] += g
		if dx != nil {
			dx.Data[i] = g
		}
	}
}

func (o *shiftOp) Inverse(z, x *flow.Mat[float64], ld []float64) {
	d := o.l.Dim()
	for i := range z.Data[:z.Rows*d] {
		x.Data[i] = z.Data[i] - o.l.b.Value[i%d]
	}
	if ld != nil {
		clear(ld[:z.Rows])
	}
}

// A layer of your own needs only the five Layer methods and an Op; it then
// runs wherever autonf's layers do, sharded over cores included (one op
// and one gradient buffer per shard, the same parameters).
func ExampleLayer() {
	x := tensor.New[float64](256, 2)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range x.Data {
		x.Data[i] = rng.NormFloat64() + 3 // the data's mean is about (3, 3)
	}
	var grads [2][]float64
	for i, workers := range []int{1, 2} {
		f := flow.New[float64](2, &shift{b: flow.NewParam[float64]("b", 2)})
		f.Workers = workers
		f.ZeroGrad()
		if _, err := f.NLLGrad(x); err != nil {
			panic(err)
		}
		grads[i] = append([]float64(nil), f.GradData()...)
	}
	// dNLL/db = mean(x + b) under a standard normal base, with b = 0: about
	// 3 per column (a descent step moves b towards −3), the same on 1 and
	// 2 shards.
	fmt.Printf("gradient %.0f %.0f\n", grads[0][0], grads[0][1])
	fmt.Println("2 shards = 1 shard:", math.Abs(grads[0][0]-grads[1][0]) < 1e-12 && math.Abs(grads[0][1]-grads[1][1]) < 1e-12)
	// Output:
	// gradient 3 3
	// 2 shards = 1 shard: true
}
