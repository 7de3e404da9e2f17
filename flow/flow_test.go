package flow_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/flow/flowtest"
	"github.com/autonf/autonf/tensor"
)

func mustLayer[T flow.Float](t *testing.T, dim int, s flow.LayerSpec, seed uint64) flow.Layer[T] {
	t.Helper()
	l, err := flow.NewLayer[T](dim, s, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// perturb moves every parameter by N(0, scale²) so layers are far from
// their near-identity initialisation.
func perturb[T flow.Float](ps []*flow.Param[T], scale float64, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 2))
	for _, p := range ps {
		for i := range p.Value {
			if p.Value[i] != 0 { // keep masked (structural) zeros
				p.Value[i] += T(scale * rng.NormFloat64())
			}
		}
	}
}

func chainSpec(hidden []int) flow.LayerSpec {
	return flow.LayerSpec{Type: "chain", Layers: []flow.LayerSpec{
		{Type: "reverse"}, {Type: "lu-linear"}, {Type: "affine-coupling", Hidden: hidden},
	}}
}

func TestChainNumerics(t *testing.T) {
	for _, d := range []int{2, 3, 5} {
		l := mustLayer[float64](t, d, chainSpec([]int{8}), uint64(d))
		perturb(l.Params(), 0.3, uint64(d))
		x := flowtest.RandMat(rand.New(rand.NewPCG(3, uint64(d))), 5, d, 1.5)
		flowtest.CheckGradients(t, l, x, 1e-6)
		flowtest.CheckLogDet(t, l, x, 1e-6)
		flowtest.CheckInverse(t, l, x, 1e-9)
	}
}

// TestFlowNLLGrad checks the whole flow's loss gradient (base term, sum of
// log-dets, chaining through layers) against finite differences.
func TestFlowNLLGrad(t *testing.T) {
	for _, base := range []string{"normal", "diag-normal"} {
		t.Run(base, func(t *testing.T) {
			spec := &flow.Spec{Dim: 3, Base: base, Layers: []flow.LayerSpec{
				{Type: "affine-coupling", Hidden: []int{8}}, {Type: "lu-linear"}, {Type: "planar"}, {Type: "maf", Hidden: []int{8}},
			}}
			f, err := flow.Build[float64](spec, rand.New(rand.NewPCG(1, 2)))
			if err != nil {
				t.Fatal(err)
			}
			ps := f.Params()
			raw := make([]*flow.Param[float64], len(ps))
			for i, p := range ps {
				raw[i] = p.Param
			}
			perturb(raw, 0.2, 5)
			if f.BaseMean != nil {
				for i := range f.BaseMean.Value {
					f.BaseMean.Value[i] = 0.3 * float64(i+1)
					f.BaseLogStd.Value[i] = -0.2 * float64(i)
				}
			}
			x := flowtest.RandMat(rand.New(rand.NewPCG(9, 9)), 6, 3, 1)
			f.ZeroGrad()
			if _, err := f.NLLGrad(x); err != nil {
				t.Fatal(err)
			}
			nll := func() float64 {
				lp := make([]float64, x.Rows)
				if err := f.LogProb(x, lp); err != nil {
					t.Fatal(err)
				}
				s := 0.0
				for _, v := range lp {
					s -= v
				}
				return s / float64(x.Rows)
			}
			const eps = 1e-6
			for _, p := range ps {
				for i := 0; i < len(p.Value); i += 1 + len(p.Value)/7 {
					if p.Value[i] == 0 {
						continue // a MADE-masked (structurally zero) weight
					}
					old := p.Value[i]
					p.Value[i] = old + eps
					a := nll()
					p.Value[i] = old - eps
					b := nll()
					p.Value[i] = old
					num := (a - b) / (2 * eps)
					if math.Abs(num-p.Grad[i]) > 1e-6*(1+math.Abs(num)) {
						t.Errorf("%s[%d]: grad %.9g, finite difference %.9g", p.Name, i, p.Grad[i], num)
					}
				}
			}
		})
	}
}

func TestFlowSampleLogProbConsistent(t *testing.T) {
	spec := &flow.Spec{Dim: 2, Layers: []flow.LayerSpec{{Type: "affine-coupling", Hidden: []int{8}}, {Type: "affine-coupling", Hidden: []int{8}, Mask: "odd"}}}
	f, err := flow.Build[float64](spec, rand.New(rand.NewPCG(4, 4)))
	if err != nil {
		t.Fatal(err)
	}
	x, lp := f.SampleAndLogProb(5000, 3)
	lp2 := make([]float64, x.Rows)
	if err := f.LogProb(x, lp2); err != nil {
		t.Fatal(err)
	}
	for i := range lp {
		if math.Abs(lp[i]-lp2[i]) > 1e-9 {
			t.Fatalf("row %d: sampling log-prob %.12g, LogProb %.12g", i, lp[i], lp2[i])
		}
	}
	z, ld := f.Transform(x)
	xr := f.Inverse(z)
	for i := range x.Data {
		if math.Abs(xr.Data[i]-x.Data[i]) > 1e-9 {
			t.Fatalf("Inverse(Transform(x)) differs at %d", i)
		}
	}
	if len(ld) != x.Rows {
		t.Fatal("Transform log-det length")
	}
}

func TestNonFiniteReported(t *testing.T) {
	spec := &flow.Spec{Dim: 2, Layers: []flow.LayerSpec{{Type: "reverse"}, {Type: "affine-coupling", Hidden: []int{4}}}}
	f, err := flow.Build[float32](spec, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	// Poison the coupling's weights: the second layer must be blamed.
	p := f.Layers[1].Params()[0]
	p.Value[0] = float32(math.NaN())
	x := tensor.New[float32](4, 2)
	for i := range x.Data {
		x.Data[i] = 1
	}
	_, err = f.NLLGrad(x)
	var nf *flow.NonFiniteError
	if err == nil || !asNonFinite(err, &nf) || nf.Layer != 1 || nf.Type != "affine-coupling" {
		t.Fatalf("got %v, want a NonFiniteError for layer 1 (affine-coupling)", err)
	}
}

func asNonFinite(err error, target **flow.NonFiniteError) bool {
	e, ok := err.(*flow.NonFiniteError)
	if ok {
		*target = e
	}
	return ok
}

func TestPresetsBuild(t *testing.T) {
	names := []string{"maf5", "maf10", "realnvp5", "realnvp10", "nsf-ar-8", "nsf-c-8", "planar-4", "radial-3"}
	for _, name := range names {
		for _, dim := range []int{2, 5} {
			s, err := flow.PresetSpec(name, dim)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			f, err := flow.Build[float32](s, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				t.Fatalf("%s dim %d: %v", name, dim, err)
			}
			// The spec written back rebuilds the same architecture.
			s2, err := flow.ParseSpec(f.Spec().JSON(), name)
			if err != nil {
				t.Fatalf("%s: re-parse: %v", name, err)
			}
			f2, err := flow.Build[float32](s2, nil)
			if err != nil {
				t.Fatalf("%s: rebuild: %v", name, err)
			}
			if f.NumParams() != f2.NumParams() || string(f.Spec().JSON()) != string(f2.Spec().JSON()) {
				t.Fatalf("%s: rebuilt spec differs", name)
			}
		}
	}
	if _, err := flow.PresetSpec("nope", 2); err == nil {
		t.Fatal("unknown preset accepted")
	}
	if _, err := flow.PresetSpec("planar-x", 2); err == nil {
		t.Fatal("planar-x accepted")
	}
}

func TestSpecErrors(t *testing.T) {
	cases := []struct{ name, json, want string }{
		{"unknown field", `{"dim":2,"layers":[{"type":"maf","hiden":[4]}]}`, "unknown field"},
		{"unknown type", `{"dim":2,"layers":[{"type":"mafx"}]}`, `layer type "mafx" is unknown`},
		{"no layers", `{"dim":2,"layers":[]}`, "no layers"},
		{"bad dim", `{"dim":0,"layers":[{"type":"maf"}]}`, "dim must be positive"},
		{"bad base", `{"dim":2,"base":"cauchy","layers":[{"type":"maf"}]}`, "base \"cauchy\""},
		{"not json", `{dim:2`, "not a valid arch spec"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := flow.ParseSpec([]byte(c.json), "x.json")
			if err == nil || !contains(err.Error(), c.want) || !contains(err.Error(), "x.json") {
				t.Fatalf("got %v, want an error mentioning %q and the file", err, c.want)
			}
		})
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
