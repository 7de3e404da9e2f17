package flow_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/flow/flowtest"
)

func TestAffineCouplingNumerics(t *testing.T) {
	cases := []struct {
		dim    int
		mask   string
		act    string
		hidden []int
	}{
		{2, "even", "relu", []int{8, 8}},
		{2, "odd", "tanh", []int{8}},
		{3, "even", "relu", []int{10, 10}},
		{3, "odd", "elu", []int{10, 10}},
		{5, "even", "tanh", []int{12}},
		{6, "odd", "relu", []int{12, 12}},
		{6, "even", "relu", []int{12, 12}},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("D%d-%s-%s", c.dim, c.mask, c.act), func(t *testing.T) {
			spec := flow.LayerSpec{Type: "affine-coupling", Mask: c.mask, Activation: c.act, Hidden: c.hidden}
			l := affineNew(t, c.dim, spec, uint64(10+i))
			affineNumerics(t, l, 4, uint64(10+i))
			affineRowIndependence(t, l)

			// Jacobian structure: the identity half passes through, the
			// transformed half is diagonal in itself and depends on the
			// identity half.
			parity := 0
			if c.mask == "odd" {
				parity = 1
			}
			x := flowtest.RandMat(rand.New(rand.NewPCG(uint64(i), 2)), 2, c.dim, 1)
			J := flowtest.Jacobian(l, x, 1)
			coupled := false
			for a := 0; a < c.dim; a++ {
				for b := 0; b < c.dim; b++ {
					v := J.At(a, b)
					switch {
					case a%2 != parity: // identity row
						want := 0.0
						if a == b {
							want = 1
						}
						if math.Abs(v-want) > 1e-8 {
							t.Errorf("∂z_%d/∂x_%d = %g, want %g (z_%d passes through)", a, b, v, want, a)
						}
					case b%2 == parity && a != b:
						if math.Abs(v) > 1e-8 {
							t.Errorf("∂z_%d/∂x_%d = %g, want 0 (both transformed)", a, b, v)
						}
					case b%2 != parity && math.Abs(v) > 1e-6:
						coupled = true
					}
				}
			}
			if !coupled {
				t.Errorf("the transformed half does not depend on the identity half")
			}
		})
	}
}

func TestAffineCouplingMinScale(t *testing.T) {
	for _, d := range []int{2, 5} {
		l := affineNew(t, d, flow.LayerSpec{Type: "affine-coupling", Hidden: []int{8}, MinScale: 0.01}, 4)
		affineBoundCheck(t, l, (d+1)/2, true)
	}
}

func TestAffineCouplingSpec(t *testing.T) {
	l, err := flow.NewLayer[float64](5, flow.LayerSpec{Type: "affine-coupling"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := flow.LayerSpec{Type: "affine-coupling", Hidden: []int{256, 256}, Activation: "relu", Mask: "even", MinScale: flow.DefaultMinScale}
	if got := l.Spec(); !reflect.DeepEqual(got, want) {
		t.Errorf("Spec() = %+v, want %+v", got, want)
	}
	// Even mask at D=5: conditioner 2 → 256 → 256 → 2·3.
	ps := l.Params()
	if got := ps[0].Shape; !reflect.DeepEqual(got, []int{2, 256}) {
		t.Errorf("first weight shape %v, want [2 256]", got)
	}
	if got := ps[len(ps)-2].Shape; !reflect.DeepEqual(got, []int{256, 6}) {
		t.Errorf("last weight shape %v, want [256 6]", got)
	}
	total := 0
	for _, p := range ps {
		total += len(p.Value)
		for _, v := range p.Value {
			if v != 0 {
				t.Fatalf("rng nil: %s has non-zero value %g", p.Name, v)
			}
		}
	}
	if c := l.Cost(); c.Params != total || c.InversePasses != 1 || c.ForwardFLOPs <= 0 || c.InverseFLOPs != c.ForwardFLOPs {
		t.Errorf("Cost() = %+v (params stored: %d)", c, total)
	}
	// A saved spec rebuilds the identical layer.
	orig := affineNew(t, 4, flow.LayerSpec{Type: "affine-coupling", Mask: "odd", Hidden: []int{7}, Activation: "tanh", MinScale: 0.05}, 2)
	re, err := flow.NewLayer[float64](4, orig.Spec(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(re.Spec(), orig.Spec()) {
		t.Errorf("rebuilt spec %+v, want %+v", re.Spec(), orig.Spec())
	}
	for i, p := range orig.Params() {
		copy(re.Params()[i].Value, p.Value)
	}
	x := flowtest.RandMat(rand.New(rand.NewPCG(1, 1)), 4, 4, 1)
	z1, ld1 := flowtest.Forward(orig, x)
	z2, ld2 := flowtest.Forward(re, x)
	if !reflect.DeepEqual(z1, z2) || !reflect.DeepEqual(ld1, ld2) {
		t.Errorf("layer rebuilt from its spec computes something else")
	}

	affineSpecErrors(t, []struct {
		dim  int
		spec flow.LayerSpec
		want string
	}{
		{1, flow.LayerSpec{Type: "affine-coupling"}, "dim ≥ 2"},
		{3, flow.LayerSpec{Type: "affine-coupling", Mask: "checkerboard"}, "mask"},
		{3, flow.LayerSpec{Type: "affine-coupling", Hidden: []int{-4}}, "hidden"},
		{3, flow.LayerSpec{Type: "affine-coupling", Activation: "sigmoid"}, "activation"},
		{3, flow.LayerSpec{Type: "affine-coupling", MinScale: -2}, "min_scale"},
		{3, flow.LayerSpec{Type: "affine-coupling", Order: "reversed"}, "order"},
		{3, flow.LayerSpec{Type: "affine-coupling", TailBound: 3}, "tail_bound"},
	})
}

func TestAffineCouplingAllocs(t *testing.T) {
	affineAllocs(t, flow.LayerSpec{Type: "affine-coupling", Hidden: []int{32, 32}}, 7)
}

// TestAffineInFlow trains nothing but runs both affine layers inside a
// Flow built from a spec: the flow's log-density must match the sum of the
// layers' log-dets and the base density, and sampling must invert it.
func TestAffineInFlow(t *testing.T) {
	spec := &flow.Spec{Dim: 5, Layers: []flow.LayerSpec{
		{Type: "maf", Hidden: []int{16}},
		{Type: "affine-coupling", Hidden: []int{16}, Mask: "odd"},
		{Type: "maf", Hidden: []int{16}, Order: "reversed"},
		{Type: "affine-coupling", Hidden: []int{16}},
	}}
	f, err := flow.Build[float64](spec, rand.New(rand.NewPCG(5, 5)))
	if err != nil {
		t.Fatal(err)
	}
	x, lp := f.SampleAndLogProb(32, 9)
	lp2 := make([]float64, x.Rows)
	if err := f.LogProb(x, lp2); err != nil {
		t.Fatal(err)
	}
	for r := range lp {
		if math.Abs(lp[r]-lp2[r]) > 1e-9*(1+math.Abs(lp2[r])) {
			t.Errorf("row %d: log p from sampling %g, from LogProb %g", r, lp[r], lp2[r])
		}
	}
	if _, err := f.NLLGrad(x); err != nil {
		t.Fatal(err)
	}
}
