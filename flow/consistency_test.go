package flow_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/tensor"
)

// TestSpecRefusesInapplicableFields checks the cases that used to pass
// silently: every layer type refuses fields it does not read, with an
// error that names the field.
func TestSpecRefusesInapplicableFields(t *testing.T) {
	cases := []struct {
		spec  flow.LayerSpec
		field string
	}{
		{flow.LayerSpec{Type: "planar", Hidden: []int{8}}, "hidden"},
		{flow.LayerSpec{Type: "actnorm", Bins: 8}, "bins"},
		{flow.LayerSpec{Type: "nsf-coupling", Order: "reversed"}, "order"},
		{flow.LayerSpec{Type: "nsf-ar", Mask: "odd"}, "mask"},
		{flow.LayerSpec{Type: "nsf-ar", MinScale: 0.1}, "min_scale"},
		{flow.LayerSpec{Type: "maf", Bins: 8}, "bins"},
		{flow.LayerSpec{Type: "reverse", Seed: 3}, "seed"},
		{flow.LayerSpec{Type: "lu-linear", Momentum: 0.1}, "momentum"},
		{flow.LayerSpec{Type: "chain", Layers: []flow.LayerSpec{{Type: "radial", Activation: "tanh"}}}, "activation"},
	}
	for _, c := range cases {
		_, err := flow.NewLayer[float32](4, c.spec, rand.New(rand.NewPCG(1, 1)))
		if err == nil || !strings.Contains(err.Error(), c.field) || !strings.Contains(err.Error(), "do not apply") {
			t.Errorf("%+v: error %v, want a refusal naming %q", c.spec, err, c.field)
		}
	}
}

// TestPresetsDoNotShareSlices changes a returned preset and checks that
// the next one is unaffected.
func TestPresetsDoNotShareSlices(t *testing.T) {
	for _, name := range []string{"maf5", "realnvp5", "nsf-ar-8", "nsf-c-8"} {
		a, err := flow.PresetSpec(name, 4)
		if err != nil {
			t.Fatal(err)
		}
		for i := range a.Layers {
			for j := range a.Layers[i].Hidden {
				a.Layers[i].Hidden[j] = 1
			}
		}
		b, _ := flow.PresetSpec(name, 4)
		for _, l := range b.Layers {
			for _, h := range l.Hidden {
				if h != 256 {
					t.Fatalf("%s: changing one returned spec changed the preset (hidden %v)", name, l.Hidden)
				}
			}
		}
	}
	h := []int{8, 8}
	blk := flow.CandidateBlock("maf", h, 0)
	h[0] = 1
	if blk[2].Hidden[0] != 8 {
		t.Error("CandidateBlock shares the caller's hidden slice")
	}
}

// TestZeroLayerTransform: a flow without layers is the identity, chunk by
// chunk (it used to copy the first 4096-row chunk into every chunk).
func TestZeroLayerTransform(t *testing.T) {
	f := flow.New[float64](2)
	x := tensor.New[float64](9000, 2)
	for i := range x.Data {
		x.Data[i] = float64(i)
	}
	z, ld := f.Transform(x)
	for i, v := range z.Data {
		if v != x.Data[i] {
			t.Fatalf("z[%d] = %g, want %g", i, v, x.Data[i])
		}
	}
	for r, v := range ld {
		if v != 0 {
			t.Fatalf("ld[%d] = %g, want 0", r, v)
		}
	}
}

// TestFlowLayersEditable: appending to or replacing Flow.Layers after the
// flow was built is picked up by the next call (ops, parameters, flat
// buffers), as is a Flow made as a struct literal.
func TestFlowLayersEditable(t *testing.T) {
	mk := func(spec flow.LayerSpec, seed uint64) flow.Layer[float64] {
		l, err := flow.NewLayer[float64](3, spec, rand.New(rand.NewPCG(seed, 1)))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	a, b := mk(flow.LayerSpec{Type: "maf", Hidden: []int{8}}, 1), mk(flow.LayerSpec{Type: "lu-linear"}, 2)
	x := tensor.New[float64](300, 3)
	for i := range x.Data {
		x.Data[i] = float64(i%7) - 3
	}
	ref := flow.New[float64](3, a, b)
	want := make([]float64, x.Rows)
	if err := ref.LogProb(x, want); err != nil {
		t.Fatal(err)
	}
	nRef := ref.NumParams()
	check := func(name string, f *flow.Flow[float64]) {
		t.Helper()
		got := make([]float64, x.Rows)
		if err := f.LogProb(x, got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for r := range got {
			if got[r] != want[r] {
				t.Fatalf("%s: row %d log p %g, want %g", name, r, got[r], want[r])
			}
		}
		if f.NumParams() != nRef || len(f.ParamData()) != nRef {
			t.Fatalf("%s: %d parameters (%d flat), want %d", name, f.NumParams(), len(f.ParamData()), nRef)
		}
		f.Workers = 2
		if _, err := f.NLLGrad(x); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	appended := flow.New[float64](3, a)
	appended.Workers = 2
	if _, err := appended.NLLGrad(x); err != nil { // builds shards over the old layer list
		t.Fatal(err)
	}
	appended.Layers = append(appended.Layers, b)
	check("appended", appended)
	replaced := flow.New[float64](3, a, mk(flow.LayerSpec{Type: "reverse"}, 3))
	replaced.Layers[1] = b
	check("replaced", replaced)
	check("literal", &flow.Flow[float64]{Dim: 3, Layers: []flow.Layer[float64]{a, b}})
}
