package flow_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/flow/flowtest"
	"github.com/autonf/autonf/tensor"
)

func TestRadial(t *testing.T) {
	for _, d := range slDims {
		rng := rand.New(rand.NewPCG(uint64(d), 20))
		for name, x := range slInputs(rng, d) {
			for _, sign := range []float64{-1, 1} { // contracting (β < 0) and expanding (β > 0)
				t.Run(fmt.Sprintf("D=%d/%s/beta%+g", d, name, sign), func(t *testing.T) {
					l := slBuild(t, "radial", d, flow.LayerSpec{}, 1)
					slRandomize(l, rng, 1)
					ps := l.Params()
					ps[2].Value[0] = ps[1].Value[0] + sign*(0.5+math.Abs(rng.NormFloat64())) // β̂ vs α̂
					slCheckAll(t, l, x, 1e-9)
				})
			}
		}
	}
}

// TestRadialAtCentre: rows exactly at x0 and β ≈ −α (the most contracting
// map allowed) stay finite in every direction.
func TestRadialAtCentre(t *testing.T) {
	for _, betaRaw := range []float64{-30, 0.3, 2} {
		l := slBuild(t, "radial", 3, flow.LayerSpec{}, 1)
		ps := l.Params()
		copy(ps[0].Value, []float64{0.5, -1, 2})
		ps[1].Value[0] = 0.2
		ps[2].Value[0] = betaRaw
		x := tensor.New[float64](3, 3)
		copy(x.Row(0), ps[0].Value)                  // exactly at x0
		copy(x.Row(1), []float64{0.5 + 1e-9, -1, 2}) // next to it
		copy(x.Row(2), []float64{1.5, 0, 3})         // away
		z, ld := flowtest.Forward(l, x)
		if !flowtest.FiniteAll(z.Data) || !flowtest.FiniteAll(ld) {
			t.Fatalf("β̂=%g: forward not finite: z=%v ld=%v", betaRaw, z.Data, ld)
		}
		for j := 0; j < 3; j++ {
			if z.At(0, j) != x.At(0, j) {
				t.Errorf("β̂=%g: x0 must be a fixed point, z = %v", betaRaw, z.Row(0))
			}
		}
		xr, ldi := flowtest.Inverse(l, z)
		if !flowtest.FiniteAll(xr.Data) || !flowtest.FiniteAll(ldi) {
			t.Fatalf("β̂=%g: inverse not finite: %v %v", betaRaw, xr.Data, ldi)
		}
		w := l.NewOp(nil)
		zz := tensor.New[float64](3, 3)
		w.Forward(x, zz, make([]float64, 3))
		dx := tensor.New[float64](3, 3)
		dz := flowtest.RandMat(rand.New(rand.NewPCG(1, 1)), 3, 3, 1)
		w.Backward(dz, []float64{1, 1, 1}, dx)
		if !flowtest.FiniteAll(dx.Data) {
			t.Errorf("β̂=%g: backward not finite: %v", betaRaw, dx.Data)
		}
		for _, p := range l.Params() {
			if !flowtest.FiniteAll(p.Grad) {
				t.Errorf("β̂=%g: grad %s not finite: %v", betaRaw, p.Name, p.Grad)
			}
		}
		if betaRaw > -1 {
			flowtest.CheckInverse(t, l, x, 1e-9)
		}
	}
}
