package flow_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/flow/flowtest"
	"github.com/autonf/autonf/tensor"
)

// Helpers shared by the affine layers' tests (maf_test.go, coupling_test.go,
// affine_bench_test.go); prefixed to stay clear of other test files.

// affineNew builds a float64 layer from spec and moves it far from the
// identity: the conditioner's last weights are scaled up and its last biases
// randomised, so shifts and log-scales are O(1) and vary with the input.
func affineNew(t testing.TB, dim int, spec flow.LayerSpec, seed uint64) flow.Layer[float64] {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 99))
	l, err := flow.NewLayer[float64](dim, spec, rng)
	if err != nil {
		t.Fatalf("NewLayer(%d, %+v): %v", dim, spec, err)
	}
	ps := l.Params()
	w, b := ps[len(ps)-2], ps[len(ps)-1]
	for i := range w.Value {
		w.Value[i] *= 4
	}
	for i := range b.Value {
		b.Value[i] = 0.5 * rng.NormFloat64()
	}
	return l
}

// affineTo32 rebuilds l in float32 from its Spec (rng nil) and copies the
// parameters, which also checks that the saved spec rebuilds the same
// parameter layout.
func affineTo32(t testing.TB, l flow.Layer[float64]) flow.Layer[float32] {
	t.Helper()
	l32, err := flow.NewLayer[float32](l.Dim(), l.Spec(), nil)
	if err != nil {
		t.Fatalf("rebuild from Spec %+v: %v", l.Spec(), err)
	}
	p64, p32 := l.Params(), l32.Params()
	if len(p64) != len(p32) {
		t.Fatalf("rebuilt layer has %d params, want %d", len(p32), len(p64))
	}
	for i, p := range p64 {
		q := p32[i]
		if q.Name != p.Name || !reflect.DeepEqual(q.Shape, p.Shape) {
			t.Fatalf("rebuilt param %d is %s%v, want %s%v", i, q.Name, q.Shape, p.Name, p.Shape)
		}
		for j, v := range p.Value {
			q.Value[j] = float32(v)
		}
	}
	return l32
}

// affineNumerics runs every flowtest check on l for a batch of normal and
// large inputs.
func affineNumerics(t *testing.T, l flow.Layer[float64], rows int, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 5))
	l32 := affineTo32(t, l)
	for _, scale := range []float64{1, 8} {
		x := flowtest.RandMat(rng, rows, l.Dim(), scale)
		flowtest.CheckInverse(t, l, x, 1e-9)
		flowtest.CheckInverse32(t, l32, x, 1e-4)
		flowtest.CheckLogDet(t, l, x, 1e-6)
		flowtest.CheckGradients(t, l, x, 1e-6)
	}
}

// affineBoundCheck makes the conditioner's output huge and checks that the
// bounded log-scale keeps z finite and |ld| ≤ D·S in both directions.
func affineBoundCheck(t *testing.T, l flow.Layer[float64], nTransformed int, exactInverse bool) {
	t.Helper()
	ps := l.Params()
	w, b := ps[len(ps)-2], ps[len(ps)-1]
	for i := range w.Value {
		w.Value[i] *= 1e6
	}
	for i := range b.Value {
		b.Value[i] = 1e6 * float64(1-2*(i/2%2))
	}
	x := flowtest.RandMat(rand.New(rand.NewPCG(3, 3)), 16, l.Dim(), 5)
	z, ld := flowtest.Forward(l, x)
	xr, ldi := flowtest.Inverse(l, z)
	m := l.Spec().MinScale
	for _, v := range [][]float64{z.Data, ld, xr.Data, ldi} {
		if !flowtest.FiniteAll(v) {
			t.Fatalf("non-finite value with a huge conditioner output")
		}
	}
	// Every scale is at least m: the log-det is at least n·log m. With a
	// conditioner this extreme only a coupling layer inverts exactly (an
	// autoregressive inverse feeds its own rounding errors back through
	// ×1e6 weights).
	for r, v := range ld {
		if v < float64(nTransformed)*math.Log(m)-1e-9 {
			t.Errorf("row %d: log-det %g below %d·log m = %g", r, v, nTransformed, float64(nTransformed)*math.Log(m))
		}
	}
	for i, v := range xr.Data {
		if exactInverse && math.Abs(v-x.Data[i]) > 1e-6*(1+math.Abs(x.Data[i])) {
			t.Fatalf("inverse(forward(x))[%d] = %g, want %g", i, v, x.Data[i])
		}
	}
}

// affineRowIndependence checks that a batch of one gives the same result as
// the same row inside a larger batch.
func affineRowIndependence(t *testing.T, l flow.Layer[float64]) {
	t.Helper()
	x := flowtest.RandMat(rand.New(rand.NewPCG(8, 8)), 5, l.Dim(), 1)
	z, ld := flowtest.Forward(l, x)
	for r := 0; r < x.Rows; r++ {
		zr, ldr := flowtest.Forward(l, x.SliceRows(r, r+1).Clone())
		for j, v := range zr.Data {
			if math.Abs(v-z.At(r, j)) > 1e-12 {
				t.Fatalf("row %d col %d: batch-of-one z %g, in batch %g", r, j, v, z.At(r, j))
			}
		}
		if math.Abs(ldr[0]-ld[r]) > 1e-12 {
			t.Fatalf("row %d: batch-of-one ld %g, in batch %g", r, ldr[0], ld[r])
		}
	}
}

// affineAllocs checks that a float32 forward+backward (and an inverse)
// allocate nothing once the workspace has grown.
func affineAllocs(t *testing.T, spec flow.LayerSpec, dim int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	l, err := flow.NewLayer[float32](dim, spec, rng)
	if err != nil {
		t.Fatal(err)
	}
	const rows = 64
	x, z, dz, dx, xr := tensor.New[float32](rows, dim), tensor.New[float32](rows, dim),
		tensor.New[float32](rows, dim), tensor.New[float32](rows, dim), tensor.New[float32](rows, dim)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
		dz.Data[i] = float32(rng.NormFloat64())
	}
	ld, dld := make([]float32, rows), make([]float32, rows)
	for i := range dld {
		dld[i] = -1.0 / rows
	}
	w, wi := l.NewOp(nil), l.NewOp(nil)
	step := func() {
		w.Forward(x, z, ld)
		w.Backward(dz, dld, dx)
	}
	inv := func() { wi.Inverse(z, xr, ld) }
	step()
	inv()
	if n := testing.AllocsPerRun(20, step); n != 0 {
		t.Errorf("%s: forward+backward allocates %v times per step", spec.Type, n)
	}
	if n := testing.AllocsPerRun(5, inv); n != 0 {
		t.Errorf("%s: inverse allocates %v times per call", spec.Type, n)
	}
}

// affineSpecErrors checks that each bad spec is rejected with an error
// mentioning want.
func affineSpecErrors(t *testing.T, cases []struct {
	dim  int
	spec flow.LayerSpec
	want string
}) {
	t.Helper()
	for _, c := range cases {
		_, err := flow.NewLayer[float64](c.dim, c.spec, nil)
		if err == nil {
			t.Errorf("dim %d spec %+v: no error, want one mentioning %q", c.dim, c.spec, c.want)
		} else if !strings.Contains(err.Error(), c.want) {
			t.Errorf("dim %d spec %+v: error %q does not mention %q", c.dim, c.spec, err, c.want)
		}
	}
}

// mafMasked wraps a MAF so that the gradient check sees the function the
// training actually optimises, f(θ⊙M): MLP.Forward relies on masked weights
// being zero rather than multiplying by the mask, so a finite difference on
// a masked weight would change the output while Backward (correctly, for
// masked training) reports a zero gradient. Forward zeroes the masked
// entries for the duration of the call and restores them after.
type mafMasked struct {
	flow.Layer[float64]
	made *flow.MLP[float64]
	save []float64
}

func mafWrap(l flow.Layer[float64]) flow.Layer[float64] {
	return &mafMasked{Layer: l, made: l.(*flow.MAF[float64]).MADE()}
}

func (m *mafMasked) NewOp(grads [][]float64) flow.Op[float64] {
	return mafMaskedOp{m, m.Layer.NewOp(grads)}
}

// mafMaskedOp is mafMasked's op: the MAF's op with the masking Forward.
type mafMaskedOp struct {
	m *mafMasked
	flow.Op[float64]
}

func (o mafMaskedOp) Forward(x, z *flowtest.M, ld []float64) {
	m := o.m
	for l, mk := range m.made.Masks {
		v := m.made.W[l].Value
		m.save = append(m.save[:0], v...)
		for i, b := range mk {
			v[i] *= b
		}
		defer copy(v, append([]float64(nil), m.save...))
	}
	o.Op.Forward(x, z, ld)
}

func mafOrder(order string, d int) []int {
	p := make([]int, d)
	for k := range p {
		p[k] = k
		if order == "reversed" {
			p[k] = d - 1 - k
		}
	}
	return p
}

func TestMAFNumerics(t *testing.T) {
	cases := []struct {
		dim    int
		order  string
		act    string
		hidden []int
	}{
		{1, "natural", "relu", []int{8}},
		{2, "natural", "relu", []int{8, 8}},
		{2, "reversed", "tanh", []int{8, 8}},
		{3, "reversed", "relu", []int{10, 10}},
		{5, "natural", "elu", []int{12}},
		{6, "natural", "relu", []int{12, 12}},
		{6, "reversed", "tanh", []int{12, 12}},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("D%d-%s-%s", c.dim, c.order, c.act), func(t *testing.T) {
			spec := flow.LayerSpec{Type: "maf", Order: c.order, Activation: c.act, Hidden: c.hidden}
			l := mafWrap(affineNew(t, c.dim, spec, uint64(i)))
			affineNumerics(t, l, 4, uint64(i))
			x := flowtest.RandMat(rand.New(rand.NewPCG(uint64(i), 1)), 3, c.dim, 2)
			flowtest.CheckTriangular(t, l, x, mafOrder(c.order, c.dim), 1e-8)
			// The MADE must actually be connected: some ∂z_i/∂x_j with x_j
			// before x_i is non-zero.
			if c.dim >= 2 {
				J := flowtest.Jacobian(l, x, 0)
				p := mafOrder(c.order, c.dim)
				if math.Abs(J.At(p[1], p[0])) < 1e-6 {
					t.Errorf("∂z_%d/∂x_%d = %g: the conditioner ignores its inputs", p[1], p[0], J.At(p[1], p[0]))
				}
			}
			affineRowIndependence(t, l)
		})
	}
}

func TestMAFMinScale(t *testing.T) {
	for _, d := range []int{1, 4} {
		l := affineNew(t, d, flow.LayerSpec{Type: "maf", Hidden: []int{8}, MinScale: 0.01}, 4)
		affineBoundCheck(t, l, d, false)
	}
}

func TestMAFSpec(t *testing.T) {
	l, err := flow.NewLayer[float64](5, flow.LayerSpec{Type: "maf"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := flow.LayerSpec{Type: "maf", Hidden: []int{256, 256}, Activation: "relu", Order: "natural", MinScale: flow.DefaultMinScale}
	if got := l.Spec(); !reflect.DeepEqual(got, want) {
		t.Errorf("Spec() = %+v, want %+v", got, want)
	}
	for _, p := range l.Params() {
		for _, v := range p.Value {
			if v != 0 {
				t.Fatalf("rng nil: %s has non-zero value %g", p.Name, v)
			}
		}
	}
	names := map[string]bool{}
	for _, p := range l.Params() {
		if names[p.Name] {
			t.Errorf("duplicate param name %s", p.Name)
		}
		names[p.Name] = true
	}
	c := l.Cost()
	if c.InversePasses != 5 || c.Params <= 0 || c.ForwardFLOPs <= 0 || c.InverseFLOPs != 5*c.ForwardFLOPs {
		t.Errorf("Cost() = %+v", c)
	}
	// Masked weights are not counted.
	total := 0
	for _, p := range l.Params() {
		total += len(p.Value)
	}
	if c.Params >= total {
		t.Errorf("Cost().Params = %d, want fewer than the %d stored (masked) values", c.Params, total)
	}
	// A saved spec rebuilds the identical layer.
	orig := affineNew(t, 3, flow.LayerSpec{Type: "maf", Order: "reversed", Hidden: []int{7}, Activation: "elu", MinScale: 0.02}, 2)
	re, err := flow.NewLayer[float64](3, orig.Spec(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(re.Spec(), orig.Spec()) {
		t.Errorf("rebuilt spec %+v, want %+v", re.Spec(), orig.Spec())
	}
	for i, p := range orig.Params() {
		copy(re.Params()[i].Value, p.Value)
	}
	x := flowtest.RandMat(rand.New(rand.NewPCG(1, 1)), 4, 3, 1)
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
		{0, flow.LayerSpec{Type: "maf"}, "dim"},
		{3, flow.LayerSpec{Type: "maf", Order: "random"}, "order"},
		{3, flow.LayerSpec{Type: "maf", Hidden: []int{8, 0}}, "hidden"},
		{3, flow.LayerSpec{Type: "maf", Activation: "gelu"}, "activation"},
		{3, flow.LayerSpec{Type: "maf", MinScale: -1}, "min_scale"},
		{3, flow.LayerSpec{Type: "maf", MinScale: 1.5}, "min_scale"},
		{3, flow.LayerSpec{Type: "maf", MinScale: math.NaN()}, "min_scale"},
		{3, flow.LayerSpec{Type: "maf", Mask: "even"}, "mask"},
		{3, flow.LayerSpec{Type: "maf", Bins: 8}, "bins"},
	})
}

func TestMAFAllocs(t *testing.T) {
	affineAllocs(t, flow.LayerSpec{Type: "maf", Hidden: []int{32, 32}}, 6)
}
