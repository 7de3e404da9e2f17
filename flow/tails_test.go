package flow_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/flow/flowtest"
)

// tailsBound is small enough that about half of the conformance suite's
// N(0, 1) points lie beyond it, so every check covers both sides.
const tailsBound = 0.6

// tailsExamples are the affine layer types' conformance examples with the
// linear tails on.
func tailsExamples(t *testing.T) []flow.LayerType {
	t.Helper()
	var out []flow.LayerType
	for _, typ := range []string{"maf", "affine-coupling"} {
		info, ok := flow.LayerTypeOf(typ)
		if !ok {
			t.Fatalf("%s is not registered", typ)
		}
		info.Example.Tails = "linear"
		info.Example.TailBound = tailsBound
		out = append(out, info)
	}
	return out
}

// TestAffineTailsConformance runs the whole conformance table (inverse,
// log-det against the finite-difference Jacobian, gradients, alloc-free,
// spec round trip, …) on maf and affine-coupling with "tails": "linear".
// The clamp has kinks at ±B; the suite's points are checked to lie well
// away from them (so central differences with h ≈ 1e-5 never straddle
// one) and on both sides.
func TestAffineTailsConformance(t *testing.T) {
	x := flowtest.RandMat(rand.New(rand.NewPCG(4, 5)), 6, 5, 1) // CheckLayerType's points
	in, out := 0, 0
	for _, v := range x.Data {
		if d := math.Abs(math.Abs(v) - tailsBound); d < 1e-3 {
			t.Fatalf("conformance point %g is within 1e-3 of the clamp's kink at ±%g", v, tailsBound)
		}
		if math.Abs(v) > tailsBound {
			out++
		} else {
			in++
		}
	}
	if in < 5 || out < 5 {
		t.Fatalf("want conformance points on both sides of ±%g, got %d inside and %d outside", tailsBound, in, out)
	}
	for _, info := range tailsExamples(t) {
		t.Run(info.Name, func(t *testing.T) { flowtest.CheckLayerType(t, info) })
	}
}

func TestAffineTailsSpec(t *testing.T) {
	cases := []struct {
		name  string
		spec  flow.LayerSpec
		bound float64 // the completed spec's tail_bound; -1: refused
		msg   string
	}{
		{"off", flow.LayerSpec{}, 0, ""},
		{"default bound", flow.LayerSpec{Tails: "linear"}, flow.DefaultAffineTailBound, ""},
		{"bound", flow.LayerSpec{Tails: "linear", TailBound: 2.5}, 2.5, ""},
		{"bound without tails", flow.LayerSpec{TailBound: 3}, -1, "tail_bound 3 applies only with"},
		{"unknown tails", flow.LayerSpec{Tails: "identity"}, -1, `tails "identity" is unknown`},
		{"negative", flow.LayerSpec{Tails: "linear", TailBound: -1}, -1, "tail_bound must be a finite number"},
		{"NaN", flow.LayerSpec{Tails: "linear", TailBound: math.NaN()}, -1, "got NaN"},
		{"Inf", flow.LayerSpec{Tails: "linear", TailBound: math.Inf(1)}, -1, "got +Inf"},
		{"huge", flow.LayerSpec{Tails: "linear", TailBound: 1e7}, -1, "tail_bound must be"},
	}
	for _, typ := range []string{"maf", "affine-coupling"} {
		for _, c := range cases {
			t.Run(typ+"/"+c.name, func(t *testing.T) {
				s := c.spec
				s.Type, s.Hidden = typ, []int{4}
				l, err := flow.NewLayer[float64](3, s, rand.New(rand.NewPCG(1, 1)))
				if c.bound < 0 {
					if err == nil || !strings.Contains(err.Error(), c.msg) || !strings.Contains(err.Error(), typ) {
						t.Fatalf("want an error naming %s and containing %q, got %v", typ, c.msg, err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				got := l.Spec()
				if got.Tails != c.spec.Tails || got.TailBound != c.bound {
					t.Errorf("completed spec has tails %q, tail_bound %g; want %q, %g", got.Tails, got.TailBound, c.spec.Tails, c.bound)
				}
				b, _ := json.Marshal(got)
				if c.spec.Tails == "" && (strings.Contains(string(b), "tails") || strings.Contains(string(b), "tail_bound")) {
					t.Errorf("a layer without tails writes them into its spec: %s", b)
				}
			})
		}
	}
}

// tailsPair builds the layer type typ with and without linear tails (bound
// B), with the same perturbed parameters.
func tailsPair(t *testing.T, typ string, dim int, B float64) (off, on flow.Layer[float64]) {
	t.Helper()
	base := flow.LayerSpec{Type: typ, Hidden: []int{8, 8}}
	off, err := flow.NewLayer[float64](dim, base, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	base.Tails, base.TailBound = "linear", B
	on, err = flow.NewLayer[float64](dim, base, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	flowtest.Perturb(off.Params(), 0.5, 3)
	for i, p := range on.Params() {
		copy(p.Value, off.Params()[i].Value)
	}
	return off, on
}

// TestAffineTailsInsideUnchanged: inside [−B, B]^D the clamp does nothing,
// so the tail-safe layer equals the plain one bit for bit.
func TestAffineTailsInsideUnchanged(t *testing.T) {
	for _, typ := range []string{"maf", "affine-coupling"} {
		off, on := tailsPair(t, typ, 4, 3)
		x := flowtest.RandMat(rand.New(rand.NewPCG(7, 8)), 50, 4, 0.9)
		for i, v := range x.Data {
			x.Data[i] = math.Max(-2.99, math.Min(2.99, v))
		}
		z1, ld1 := flowtest.Forward(off, x)
		z2, ld2 := flowtest.Forward(on, x)
		for i := range z1.Data {
			if z1.Data[i] != z2.Data[i] {
				t.Fatalf("%s: z differs inside the box at %d: %g vs %g", typ, i, z1.Data[i], z2.Data[i])
			}
		}
		for i := range ld1 {
			if ld1[i] != ld2[i] {
				t.Fatalf("%s: log-det differs inside the box at row %d", typ, i)
			}
		}
	}
}

// TestAffineTailsLinearOutside: along a ray that leaves the box in every
// coordinate, the tail-safe layer is affine (second differences of z vanish
// and the log-det is constant), the plain one is not: that is what keeps a
// far-out row's log-density from compounding across layers.
func TestAffineTailsLinearOutside(t *testing.T) {
	const B = 2
	for _, typ := range []string{"maf", "affine-coupling"} {
		off, on := tailsPair(t, typ, 4, B)
		u := []float64{1, -0.5, 0.8, -1.2}
		x := flowtest.RandMat(rand.New(rand.NewPCG(1, 1)), 3, 4, 0)
		for k, s := range []float64{10, 20, 30} {
			for j := range u {
				x.Data[k*4+j] = s * u[j] * B
			}
		}
		second := func(l flow.Layer[float64]) (dz, dld float64) {
			z, ld := flowtest.Forward(l, x)
			for j := range 4 {
				dz = math.Max(dz, math.Abs(z.Data[8+j]-2*z.Data[4+j]+z.Data[j]))
			}
			return dz, math.Max(math.Abs(ld[1]-ld[0]), math.Abs(ld[2]-ld[1]))
		}
		if dz, dld := second(on); dz > 1e-9 || dld > 1e-12 {
			t.Errorf("%s with tails: not affine outside the box (second difference of z %g, log-det change %g)", typ, dz, dld)
		}
		if dz, dld := second(off); dz < 1e-3 && dld < 1e-6 {
			t.Errorf("%s without tails is affine along the ray too (%g, %g): the test cannot tell the two apart", typ, dz, dld)
		}
	}
}

// TestMAFTailsBoundedLogDensity: a 5-layer MAF flow, perturbed away from
// its initialisation, on a row 1e4 s.d. out in one coordinate: with linear
// tails the log-density falls like −z²/2 with |z| linear in the distance,
// without them it compounds far beyond that.
func TestMAFTailsBoundedLogDensity(t *testing.T) {
	build := func(tails string) *flow.Flow[float64] {
		s := &flow.Spec{Dim: 3}
		for i := range 5 {
			ls := flow.LayerSpec{Type: "maf", Hidden: []int{16, 16}, Order: []string{"natural", "reversed"}[i%2]}
			if tails != "" {
				ls.Tails = tails
			}
			s.Layers = append(s.Layers, ls)
		}
		f, err := flow.Build[float64](s, rand.New(rand.NewPCG(3, 4)))
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range f.Layers {
			flowtest.Perturb(l.Params(), 0.3, uint64(5+i))
		}
		return f
	}
	x := flowtest.RandMat(rand.New(rand.NewPCG(1, 1)), 2, 3, 0)
	x.Data[0], x.Data[3] = 100, 1e4 // rows 100 and 1e4 out in coordinate 0
	off, on := build(""), build("linear")
	lp := func(f *flow.Flow[float64]) []float64 {
		out := make([]float64, 2)
		f.LogProb(x, out)
		return out
	}
	a, b := lp(on), lp(off)
	// Linear tails: log p ≈ −c·d² for distance d, so going 100× further
	// costs about 10⁴× more, never more than that up to rounding.
	if !(a[1] < a[0] && a[1]/a[0] < 1.01e4) {
		t.Errorf("with tails, log p at 100 and 1e4 s.d. out are %g and %g: not quadratic in the distance", a[0], a[1])
	}
	if !(b[1]/b[0] > 1e5) {
		t.Errorf("without tails, log p at 100 and 1e4 s.d. out are %g and %g: expected them to compound", b[0], b[1])
	}
}
