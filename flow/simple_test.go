package flow_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/flow/flowtest"
	"github.com/autonf/autonf/tensor"
)

// slTypes are the layer types of planar.go, radial.go, linear.go, norm.go.
var slTypes = []string{"planar", "radial", "reverse", "permutation", "lu-linear", "actnorm", "batchnorm"}

// slDims are the dimensions every simple layer is checked at.
var slDims = []int{1, 2, 3, 6}

// slBuild builds a float64 layer with a seeded rng.
func slBuild(t testing.TB, typ string, d int, spec flow.LayerSpec, seed uint64) flow.Layer[float64] {
	t.Helper()
	spec.Type = typ
	l, err := flow.NewLayer[float64](d, spec, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatalf("NewLayer(%s, %d): %v", typ, d, err)
	}
	return l
}

// slRandomize sets every parameter to N(0, scale²) values.
func slRandomize[T flow.Float](l flow.Layer[T], rng *rand.Rand, scale float64) {
	for _, p := range l.Params() {
		for i := range p.Value {
			p.Value[i] = T(scale * rng.NormFloat64())
		}
	}
}

// slConvert rebuilds l in element type D from its spec (no rng) and copies
// its parameters, BatchNorm running averages and mode.
func slConvert[D, S flow.Float](t testing.TB, l flow.Layer[S]) flow.Layer[D] {
	t.Helper()
	c, err := flow.NewLayer[D](l.Dim(), l.Spec(), nil)
	if err != nil {
		t.Fatalf("rebuild from spec %+v: %v", l.Spec(), err)
	}
	src, dst := l.Params(), c.Params()
	if len(src) != len(dst) {
		t.Fatalf("rebuilt layer has %d params, want %d", len(dst), len(src))
	}
	for i, p := range src {
		if p.Name != dst[i].Name || len(p.Value) != len(dst[i].Value) {
			t.Fatalf("param %d: %s[%d] vs %s[%d]", i, p.Name, len(p.Value), dst[i].Name, len(dst[i].Value))
		}
		for k, v := range p.Value {
			dst[i].Value[k] = D(v)
		}
	}
	if bs, ok := l.(*flow.BatchNorm[S]); ok {
		bd := any(c).(*flow.BatchNorm[D])
		for j := range bs.RunningMean {
			bd.RunningMean[j], bd.RunningVar[j] = D(bs.RunningMean[j]), D(bs.RunningVar[j])
		}
		bd.SetTraining(bs.Training())
	}
	return c
}

// slCheckAll runs the round trip (float64 and float32), log-det and
// gradient checks on x.
func slCheckAll(t *testing.T, l flow.Layer[float64], x *flowtest.M, invTol float64) {
	t.Helper()
	flowtest.CheckInverse(t, l, x, invTol)
	flowtest.CheckInverse32(t, slConvert[float32](t, l), x, 1e-4)
	flowtest.CheckLogDet(t, l, x, 1e-6)
	flowtest.CheckGradients(t, l, x, 1e-6)
}

// slInputs returns a batch of ordinary inputs and one of large inputs.
func slInputs(rng *rand.Rand, d int) map[string]*flowtest.M {
	return map[string]*flowtest.M{
		"x~N(0,1)":  flowtest.RandMat(rng, 5, d, 1),
		"x~N(0,16)": flowtest.RandMat(rng, 4, d, 4),
	}
}

func TestSimpleSpecRoundTrip(t *testing.T) {
	for _, typ := range slTypes {
		for _, d := range slDims {
			t.Run(fmt.Sprintf("%s/D=%d", typ, d), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(d), 3))
				l := slBuild(t, typ, d, flow.LayerSpec{}, 5)
				slRandomize(l, rng, 0.5)
				spec := l.Spec()
				if spec.Type != typ {
					t.Fatalf("Spec().Type = %q", spec.Type)
				}
				b, err := json.Marshal(spec)
				if err != nil {
					t.Fatal(err)
				}
				var back flow.LayerSpec
				if err := json.Unmarshal(b, &back); err != nil {
					t.Fatal(err)
				}
				l2, err := flow.NewLayer[float64](d, back, nil)
				if err != nil {
					t.Fatalf("rebuild from %s: %v", b, err)
				}
				if got, want := fmt.Sprint(l2.Spec()), fmt.Sprint(spec); got != want {
					t.Errorf("rebuilt spec %s, want %s", got, want)
				}
				for i, p := range l.Params() {
					copy(l2.Params()[i].Value, p.Value)
				}
				x := flowtest.RandMat(rng, 3, d, 1)
				z1, ld1 := flowtest.Forward(l, x)
				z2, ld2 := flowtest.Forward(l2, x)
				for i := range z1.Data {
					if z1.Data[i] != z2.Data[i] {
						t.Fatalf("rebuilt layer: z[%d] = %g, want %g", i, z2.Data[i], z1.Data[i])
					}
				}
				for i := range ld1 {
					if ld1[i] != ld2[i] {
						t.Fatalf("rebuilt layer: ld[%d] = %g, want %g", i, ld2[i], ld1[i])
					}
				}
				c := l.Cost()
				n := 0
				for _, p := range l.Params() {
					n += len(p.Value)
				}
				if c.Params != n || c.InversePasses != 1 {
					t.Errorf("Cost() = %+v, but the layer has %d parameters", c, n)
				}
				names := map[string]bool{}
				for _, p := range l.Params() {
					if names[p.Name] {
						t.Errorf("duplicate param name %q", p.Name)
					}
					names[p.Name] = true
				}
			})
		}
	}
}

func TestSimpleNeutralWithoutRng(t *testing.T) {
	// Built without an rng (weights to be loaded), every simple layer is the
	// identity up to a permutation, with zero log-det (batchnorm: ≈, its
	// running variance is 1 and eps = 1e-5).
	for _, typ := range slTypes {
		l, err := flow.NewLayer[float64](3, flow.LayerSpec{Type: typ}, nil)
		if err != nil {
			t.Fatal(err)
		}
		x := flowtest.RandMat(rand.New(rand.NewPCG(1, 2)), 4, 3, 2)
		z, ld := flowtest.Forward(l, x)
		for r := 0; r < 4; r++ {
			if math.Abs(ld[r]) > 1e-4 {
				t.Errorf("%s: fresh layer log-det %g, want 0", typ, ld[r])
			}
			zs, xs := 0.0, 0.0
			for j := 0; j < 3; j++ {
				zs += z.At(r, j)
				xs += x.At(r, j)
			}
			if math.Abs(zs-xs) > 1e-4 || !flowtest.FiniteAll(z.Data) {
				t.Errorf("%s: fresh layer is not a permutation of its input: %v -> %v", typ, x.Row(r), z.Row(r))
			}
		}
	}
}

func TestSimpleAllocs(t *testing.T) {
	for _, typ := range slTypes {
		t.Run(typ, func(t *testing.T) {
			const n, d = 64, 6
			l, err := flow.NewLayer[float32](d, flow.LayerSpec{Type: typ}, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				t.Fatal(err)
			}
			if s, ok := l.(flow.TrainingSetter); ok {
				s.SetTraining(true)
			}
			rng := rand.New(rand.NewPCG(2, 2))
			x, z := tensor.New[float32](n, d), tensor.New[float32](n, d)
			dz, dx := tensor.New[float32](n, d), tensor.New[float32](n, d)
			for i := range x.Data {
				x.Data[i], dz.Data[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
			}
			ld, dld := make([]float32, n), make([]float32, n)
			for i := range dld {
				dld[i] = -1.0 / n
			}
			w := l.NewOp(nil)
			step := func() {
				w.Forward(x, z, ld)
				w.Backward(dz, dld, dx)
			}
			step()
			if a := testing.AllocsPerRun(20, step); a != 0 {
				t.Errorf("forward+backward allocates %.1f times per step", a)
			}
			xr := tensor.New[float32](n, d)
			inv := func() { w.Inverse(z, xr, ld) }
			inv()
			if a := testing.AllocsPerRun(20, inv); a != 0 {
				t.Errorf("inverse allocates %.1f times per call", a)
			}
		})
	}
}

// TestSimpleFlowTrains fits a planar/radial/actnorm/lu-linear/batchnorm
// stack to a 2-D dataset with plain gradient descent through Flow.NLLGrad
// and checks that the NLL falls and stays finite.
func TestSimpleFlowTrains(t *testing.T) {
	spec := &flow.Spec{Dim: 2, Layers: []flow.LayerSpec{
		{Type: "actnorm"}, {Type: "planar"}, {Type: "radial"}, {Type: "permutation"},
		{Type: "lu-linear"}, {Type: "planar"}, {Type: "reverse"}, {Type: "batchnorm"}, {Type: "radial"},
	}}
	f, err := flow.Build[float32](spec, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	batch := func() *tensor.Mat[float32] {
		x := tensor.New[float32](256, 2)
		for r := 0; r < x.Rows; r++ { // a noisy ring of radius 3
			a := 2 * math.Pi * rng.Float64()
			rad := 3 + 0.2*rng.NormFloat64()
			x.Set(r, 0, float32(rad*math.Cos(a)+5))
			x.Set(r, 1, float32(rad*math.Sin(a)-2))
		}
		return x
	}
	f.InitFromData(batch())
	f.SetTraining(true)
	var first, last float64
	for it := 0; it < 300; it++ {
		f.ZeroGrad()
		nll, err := f.NLLGrad(batch())
		if err != nil {
			t.Fatalf("step %d: %v", it, err)
		}
		if it == 0 {
			first = nll
		}
		last = nll
		if testing.Verbose() && it%50 == 0 {
			t.Logf("step %d: NLL %.4f", it, nll)
		}
		for _, p := range f.Params() {
			for i, g := range p.Grad {
				p.Value[i] -= 0.05 * g
			}
		}
	}
	f.SetTraining(false)
	if !(last < first-0.25) {
		t.Errorf("NLL went from %.3f to %.3f; want a clear decrease", first, last)
	}
	xs, lp := f.SampleAndLogProb(100, 9)
	if !flowtest.FiniteAll(tensor.Convert[float64](xs).Data) {
		t.Errorf("samples are not finite")
	}
	for _, v := range lp {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("sample log-density %g", v)
		}
	}
}
