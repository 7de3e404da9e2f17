package flow

import (
	"math/rand/v2"
	"testing"

	"github.com/autonf/autonf/tensor"
)

// TestShardsShareLayers: a flow of autonf's layers shards on its own layers
// (one gradient buffer per shard, no replica built from the spec), and
// gives the serial gradients.
func TestShardsShareLayers(t *testing.T) {
	spec := &Spec{Dim: 4, Base: "diag-normal", Layers: []LayerSpec{
		{Type: "chain", Layers: CandidateBlock("nsf-coupling", []int{8}, 4)},
		{Type: "maf", Hidden: []int{8}}, {Type: "planar"}, {Type: "radial"}, {Type: "actnorm"},
	}}
	x := tensor.New[float64](256, 4)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range x.Data {
		x.Data[i] = rng.NormFloat64()
	}
	var grads [2][]float64
	for i, w := range []int{1, 2} {
		f, err := Build[float64](spec, rand.New(rand.NewPCG(3, 4)))
		if err != nil {
			t.Fatal(err)
		}
		f.Workers = w
		f.ZeroGrad()
		if _, err := f.NLLGrad(x); err != nil {
			t.Fatal(err)
		}
		grads[i] = append([]float64(nil), f.GradData()...)
		if w == 2 {
			if f.par == nil || !f.par.shared || len(f.par.grads) != 1 {
				t.Fatal("the 2-worker flow did not shard on shared layers")
			}
			for k := range f.Layers {
				if f.par.replicas[0].Layers[k] != f.Layers[k] {
					t.Fatal("the shard runs a different layer")
				}
			}
		}
	}
	for k := range grads[0] {
		if d := grads[0][k] - grads[1][k]; d > 1e-12 || d < -1e-12 {
			t.Fatalf("gradient %d: serial %.15g, sharded %.15g", k, grads[0][k], grads[1][k])
		}
	}
}
