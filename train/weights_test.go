package train

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/autonf/autonf/flow"
)

// TestWeightsFlatEqualsPerParam: Fit's gradient clearing, norm, scaling,
// snapshot and restore over the flow's flat buffers give bit for bit what
// the per-parameter loops give, buffers (BatchNorm) included, and the
// per-parameter fallback still works once the flow is no longer flat.
func TestWeightsFlatEqualsPerParam(t *testing.T) {
	spec := &flow.Spec{Dim: 3, Base: "diag-normal", Layers: []flow.LayerSpec{
		{Type: "maf", Hidden: []int{8}}, {Type: "lu-linear"}, {Type: "batchnorm"}, {Type: "nsf-coupling", Hidden: []int{8}},
	}}
	f, err := flow.Build[float32](spec, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	var params []*flow.Param[float32]
	for _, p := range f.Params() {
		params = append(params, p.Param)
	}
	w := newWeights(f, params)
	if !w.flat() {
		t.Fatal("a built flow is not flat")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	fill := func() {
		for _, p := range w.state {
			for i := range p.Value {
				p.Value[i] = float32(rng.NormFloat64())
			}
			for i := range p.Grad {
				p.Grad[i] = float32(rng.NormFloat64())
			}
		}
	}
	perParam := func() []float32 {
		var v []float32
		for _, p := range w.state {
			v = append(v, p.Value...)
		}
		return v
	}
	grads := func() []float32 {
		var v []float32
		for _, p := range params {
			v = append(v, p.Grad...)
		}
		return v
	}
	check := func(t *testing.T) {
		fill()
		if a, b := w.gradNorm(), GradNorm(params); a != b {
			t.Errorf("gradNorm %v, GradNorm %v", a, b)
		}
		g := grads()
		w.scaleGrads(0.37)
		for i := range g {
			g[i] *= float32(0.37)
		}
		if !slices.Equal(grads(), g) {
			t.Error("scaleGrads differs from an elementwise scale")
		}
		snap := w.snapshot(nil)
		if !slices.Equal(snap, perParam()) {
			t.Error("the snapshot is not the state's values in order")
		}
		if got := w.join(w.split(snap)); !slices.Equal(got, snap) {
			t.Error("join(split(s)) != s")
		}
		fill()
		w.restore(snap)
		if !slices.Equal(perParam(), snap) {
			t.Error("restore did not bring the snapshot back")
		}
		w.zeroGrad()
		for _, v := range grads() {
			if v != 0 {
				t.Fatal("zeroGrad left a gradient")
			}
		}
	}
	t.Run("flat", check)
	// A second flow over the same layers re-points the parameters: the
	// first flow's buffers are stale and the per-parameter loops take over.
	flow.New[float32](3, f.Layers...)
	if w.flat() {
		t.Fatal("the weights still report stale flat buffers")
	}
	t.Run("per-parameter", check)
}
