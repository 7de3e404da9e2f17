package flow_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/flow/flowtest"
)

func TestPlanar(t *testing.T) {
	for _, d := range slDims {
		rng := rand.New(rand.NewPCG(uint64(d), 10))
		for name, x := range slInputs(rng, d) {
			t.Run(fmt.Sprintf("D=%d/%s", d, name), func(t *testing.T) {
				l := slBuild(t, "planar", d, flow.LayerSpec{}, 1)
				slRandomize(l, rng, 1) // far from the identity
				slCheckAll(t, l, x, 1e-9)
			})
		}
	}
}

// TestPlanarNearSingular pushes wᵀû towards −1 (wᵀu very negative), where
// the map contracts strongly along w and Newton alone would overshoot.
func TestPlanarNearSingular(t *testing.T) {
	l := slBuild(t, "planar", 3, flow.LayerSpec{}, 1)
	ps := l.Params()
	copy(ps[0].Value, []float64{-3, -2, -1})  // u
	copy(ps[1].Value, []float64{1.5, 1, 0.5}) // w
	ps[2].Value[0] = 0.3
	x := flowtest.RandMat(rand.New(rand.NewPCG(2, 3)), 6, 3, 0.3)
	flowtest.CheckInverse(t, l, x, 1e-7)
	flowtest.CheckLogDet(t, l, x, 1e-5)
	flowtest.CheckGradients(t, l, x, 1e-5)
}

// TestPlanarZeroW: with w = 0 (the state of a layer built without rng) the
// layer is a translation and everything stays finite.
func TestPlanarZeroW(t *testing.T) {
	l, err := flow.NewLayer[float64](2, flow.LayerSpec{Type: "planar"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ps := l.Params()
	copy(ps[0].Value, []float64{0.5, -1})
	ps[2].Value[0] = 0.7
	x := flowtest.RandMat(rand.New(rand.NewPCG(2, 3)), 3, 2, 1)
	z, ld := flowtest.Forward(l, x)
	for r := 0; r < 3; r++ {
		if ld[r] != 0 || math.Abs(z.At(r, 0)-x.At(r, 0)-0.5*math.Tanh(0.7)) > 1e-15 {
			t.Errorf("row %d: z = %v, ld = %g; want the shift u·tanh(b)", r, z.Row(r), ld[r])
		}
	}
	flowtest.CheckInverse(t, l, x, 1e-12)
	// The reparameterisation is discontinuous at w = 0 (û ~ w/‖w‖²), so
	// only finiteness of the gradients is checked here.
	w := l.NewOp(nil)
	zz := flowtest.RandMat(rand.New(rand.NewPCG(1, 1)), 3, 2, 1)
	w.Forward(x, zz, make([]float64, 3))
	dx := flowtest.RandMat(rand.New(rand.NewPCG(1, 1)), 3, 2, 1)
	w.Backward(zz, []float64{1, 1, 1}, dx)
	if !flowtest.FiniteAll(dx.Data) {
		t.Errorf("dx not finite: %v", dx.Data)
	}
	for _, p := range l.Params() {
		if !flowtest.FiniteAll(p.Grad) {
			t.Errorf("grad %s not finite: %v", p.Name, p.Grad)
		}
	}
}
