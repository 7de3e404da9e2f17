package flow_test

import (
	"encoding/json"
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

// nsfCase is one layer configuration of the table-driven NSF tests.
type nsfCase struct {
	name  string
	spec  flow.LayerSpec
	dims  []int
	order func(d int) []int // autoregressive order, nil for coupling
}

func nsfNatural(d int) []int {
	o := make([]int, d)
	for i := range o {
		o[i] = i
	}
	return o
}

func nsfReversed(d int) []int {
	o := make([]int, d)
	for i := range o {
		o[i] = d - 1 - i
	}
	return o
}

var nsfCases = []nsfCase{
	{"coupling-even", flow.LayerSpec{Type: "nsf-coupling", Hidden: []int{8, 8}, Activation: "tanh"}, []int{2, 3, 5, 6}, nil},
	{"coupling-odd", flow.LayerSpec{Type: "nsf-coupling", Mask: "odd", Hidden: []int{8}, Bins: 5, TailBound: 2}, []int{2, 3, 5}, nil},
	{"coupling-relu", flow.LayerSpec{Type: "nsf-coupling", Hidden: []int{8, 8}, Bins: 3}, []int{4}, nil},
	{"ar-natural", flow.LayerSpec{Type: "nsf-ar", Hidden: []int{10, 10}, Activation: "tanh"}, []int{1, 2, 3, 5, 6}, nsfNatural},
	{"ar-reversed", flow.LayerSpec{Type: "nsf-ar", Order: "reversed", Hidden: []int{9}, Activation: "elu", Bins: 4}, []int{2, 3, 5}, nsfReversed},
	{"ar-relu", flow.LayerSpec{Type: "nsf-ar", Hidden: []int{12, 12}, Bins: 6, TailBound: 2.5}, []int{4}, nsfNatural},
}

// nsfMaskedLayer re-applies the MADE masks to the weights before every
// Forward. The MLP keeps masked weights at zero by masking their gradients,
// but flowtest.CheckGradients perturbs every weight, masked ones included;
// with the projection the splineFinite difference of a masked weight is 0, like
// its (masked) gradient.
type nsfMaskedLayer struct {
	flow.Layer[float64]
	masks map[*flow.Param[float64]][]float64
}

func (m nsfMaskedLayer) NewOp(grads [][]float64) flow.Op[float64] {
	return nsfMaskedOp{m, m.Layer.NewOp(grads)}
}

// nsfMaskedOp is nsfMaskedLayer's op: the layer's op with the masking
// Forward.
type nsfMaskedOp struct {
	m nsfMaskedLayer
	flow.Op[float64]
}

func (o nsfMaskedOp) Forward(x, z *flowtest.M, ld []float64) {
	for p, mk := range o.m.masks {
		for i, v := range mk {
			p.Value[i] *= v
		}
	}
	o.Op.Forward(x, z, ld)
}

// nsfMaskedForFD wraps autoregressive layers in nsfMaskedLayer.
func nsfMaskedForFD(l flow.Layer[float64], d int, c nsfCase) flow.Layer[float64] {
	if c.order == nil {
		return l
	}
	s := l.Spec()
	masks := flow.MADEMasks[float64](d, s.Hidden, 3*s.Bins-1, c.order(d))
	m := nsfMaskedLayer{l, map[*flow.Param[float64]][]float64{}}
	for _, p := range l.Params() {
		var i int
		if _, err := fmt.Sscanf(p.Name, "made.w%d", &i); err == nil {
			m.masks[p] = masks[i]
		}
	}
	if len(m.masks) != len(masks) {
		panic("maskedForFD: weight names changed")
	}
	return m
}

// newNSF64 builds the float64 layer and scales its last layer up so the
// splines are far from the identity.
func newNSF64(t testing.TB, d int, spec flow.LayerSpec, seed uint64, scale float64) flow.Layer[float64] {
	t.Helper()
	l, err := flow.NewLayer[float64](d, spec, rand.New(rand.NewPCG(seed, 99)))
	if err != nil {
		t.Fatal(err)
	}
	ps := l.Params()
	for _, p := range ps[len(ps)-2:] {
		for i := range p.Value {
			p.Value[i] *= scale
		}
	}
	return l
}

// nsfInput draws rows mostly inside the tail bound, with some far outside
// and some exactly on it.
func nsfInput(rng *rand.Rand, rows, d int, bound float64) *flowtest.M {
	x := flowtest.RandMat(rng, rows, d, 1.3)
	for i := range x.Data {
		switch rng.IntN(8) {
		case 0:
			x.Data[i] = bound + 0.5 + 3*rng.Float64()
		case 1:
			x.Data[i] = -bound - 0.5 - 3*rng.Float64()
		}
	}
	return x
}

func nsfSpecBound(s flow.LayerSpec) float64 {
	if s.TailBound == 0 {
		return 3
	}
	return s.TailBound
}

func TestNSFNumerics(t *testing.T) {
	for _, c := range nsfCases {
		for _, d := range c.dims {
			t.Run(fmt.Sprintf("%s/D=%d", c.name, d), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(d), 5))
				l := newNSF64(t, d, c.spec, uint64(d)+1, 4)
				x := nsfInput(rng, 5, d, nsfSpecBound(c.spec))
				flowtest.CheckInverse(t, l, x, 1e-9)
				flowtest.CheckLogDet(t, l, x, 1e-6)
				flowtest.CheckGradients(t, nsfMaskedForFD(l, d, c), x, 1e-6)
				if c.order != nil {
					flowtest.CheckTriangular(t, l, x, c.order(d), 1e-9)
				}
				// The transform really is far from the identity.
				z, ld := flowtest.Forward(l, x)
				moved, ldSum := 0.0, 0.0
				for i, v := range z.Data {
					moved += math.Abs(v - x.Data[i])
				}
				for _, v := range ld {
					ldSum += math.Abs(v)
				}
				if moved < 0.05*float64(len(z.Data)) || ldSum < 0.05*float64(len(ld)) {
					t.Errorf("transform is too close to the identity: mean |z−x| %g, mean |ld| %g", moved/float64(len(z.Data)), ldSum/float64(len(ld)))
				}

				l32, err := flow.NewLayer[float32](d, c.spec, rand.New(rand.NewPCG(uint64(d)+1, 99)))
				if err != nil {
					t.Fatal(err)
				}
				// Milder than the float64 checks: where the spline is very
				// flat, rounding z to float32 alone moves x by more than
				// 1e-4 (x error ≈ ulp(z)/slope).
				ps := l32.Params()
				for _, p := range ps[len(ps)-2:] {
					for i := range p.Value {
						p.Value[i] *= 2
					}
				}
				flowtest.CheckInverse32(t, l32, x, 1e-4)
			})
		}
	}
}

// TestNSFBatchOne checks single-row batches and that rows are independent.
func TestNSFBatchOne(t *testing.T) {
	for _, c := range nsfCases {
		d := c.dims[len(c.dims)-1]
		l := newNSF64(t, d, c.spec, 3, 4)
		x := nsfInput(rand.New(rand.NewPCG(1, 1)), 4, d, nsfSpecBound(c.spec))
		z, ld := flowtest.Forward(l, x)
		for r := 0; r < x.Rows; r++ {
			zr, ldr := flowtest.Forward(l, x.SliceRows(r, r+1))
			for j := 0; j < d; j++ {
				if zr.At(0, j) != z.At(r, j) {
					t.Errorf("%s: row %d alone gives z[%d]=%g, in a batch %g", c.name, r, j, zr.At(0, j), z.At(r, j))
				}
			}
			if ldr[0] != ld[r] {
				t.Errorf("%s: row %d alone gives ld %g, in a batch %g", c.name, r, ldr[0], ld[r])
			}
		}
		flowtest.CheckGradients(t, nsfMaskedForFD(l, d, c), x.SliceRows(0, 1), 1e-6)
	}
}

// TestNSFEdgeInputs feeds rows entirely outside the bound, on the bound and
// huge values: everything stays splineFinite and out-of-range columns of the
// transformed half pass through.
func TestNSFEdgeInputs(t *testing.T) {
	for _, c := range nsfCases {
		d := c.dims[len(c.dims)-1]
		l := newNSF64(t, d, c.spec, 4, 20)
		b := nsfSpecBound(c.spec)
		x := tensor.New[float64](4, d)
		for j := 0; j < d; j++ {
			x.Set(0, j, 10+float64(j))
			x.Set(1, j, b*float64(1-2*(j%2)))
			x.Set(2, j, -1e30)
			x.Set(3, j, math.Nextafter(b, 0)*float64(2*(j%2)-1))
		}
		w := l.NewOp(nil)
		z := tensor.New[float64](4, d)
		ld := make([]float64, 4)
		w.Forward(x, z, ld)
		dz := flowtest.RandMat(rand.New(rand.NewPCG(2, 2)), 4, d, 1)
		dx := tensor.New[float64](4, d)
		for _, p := range l.Params() {
			clear(p.Grad)
		}
		w.Backward(dz, []float64{1, -1, 0.5, 2}, dx)
		if !flowtest.FiniteAll(z.Data) || !flowtest.FiniteAll(ld) || !flowtest.FiniteAll(dx.Data) {
			t.Fatalf("%s: non-splineFinite output: z=%v ld=%v dx=%v", c.name, z.Data, ld, dx.Data)
		}
		for _, p := range l.Params() {
			if !flowtest.FiniteAll(p.Grad) {
				t.Fatalf("%s: non-splineFinite gradient in %s", c.name, p.Name)
			}
		}
		for _, r := range []int{0, 2} {
			for j := 0; j < d; j++ {
				if z.At(r, j) != x.At(r, j) {
					t.Errorf("%s: row %d out of range: z[%d]=%g, want %g", c.name, r, j, z.At(r, j), x.At(r, j))
				}
			}
			if ld[r] != 0 {
				t.Errorf("%s: row %d out of range: ld=%g", c.name, r, ld[r])
			}
		}
		xi, ldi := flowtest.Inverse(l, z)
		if !flowtest.FiniteAll(xi.Data) || !flowtest.FiniteAll(ldi) {
			t.Fatalf("%s: non-splineFinite inverse", c.name)
		}
	}
}

func TestNSFSpecDefaultsAndRebuild(t *testing.T) {
	for _, typ := range []string{"nsf-coupling", "nsf-ar"} {
		l, err := flow.NewLayer[float32](7, flow.LayerSpec{Type: typ}, nil)
		if err != nil {
			t.Fatal(err)
		}
		s := l.Spec()
		if !reflect.DeepEqual(s.Hidden, []int{256, 256}) || s.Activation != "relu" || s.Bins != 8 || s.TailBound != 3 {
			t.Errorf("%s: defaults not filled: %+v", typ, s)
		}
		if typ == "nsf-coupling" && s.Mask != "even" {
			t.Errorf("%s: mask default %q", typ, s.Mask)
		}
		if typ == "nsf-ar" && s.Order != "natural" {
			t.Errorf("%s: order default %q", typ, s.Order)
		}
		for _, p := range l.Params() {
			for _, v := range p.Value {
				if v != 0 {
					t.Fatalf("%s: nil rng left a non-zero weight in %s", typ, p.Name)
				}
			}
		}
		// Mutating the returned spec does not change the layer.
		s.Hidden[0] = 1
		if l.Spec().Hidden[0] != 256 {
			t.Errorf("%s: Spec shares its Hidden slice", typ)
		}
	}
	for _, c := range nsfCases {
		d := c.dims[len(c.dims)-1]
		l := newNSF64(t, d, c.spec, 1, 1)
		b, _ := json.Marshal(l.Spec())
		var s flow.LayerSpec
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		l2, err := flow.NewLayer[float64](d, s, nil)
		if err != nil {
			t.Fatalf("%s: rebuild from %s: %v", c.name, b, err)
		}
		if !reflect.DeepEqual(l2.Spec(), l.Spec()) {
			t.Errorf("%s: rebuilt spec %+v, want %+v", c.name, l2.Spec(), l.Spec())
		}
		ps, ps2 := l.Params(), l2.Params()
		if len(ps) != len(ps2) {
			t.Fatalf("%s: %d params after rebuild, want %d", c.name, len(ps2), len(ps))
		}
		seen := map[string]bool{}
		for i, p := range ps {
			if seen[p.Name] {
				t.Errorf("%s: duplicate param name %s", c.name, p.Name)
			}
			seen[p.Name] = true
			copy(ps2[i].Value, p.Value)
		}
		x := nsfInput(rand.New(rand.NewPCG(3, 3)), 3, d, 3)
		z, _ := flowtest.Forward(l, x)
		z2, _ := flowtest.Forward(l2, x)
		if !reflect.DeepEqual(z.Data, z2.Data) {
			t.Errorf("%s: rebuilt layer computes differently", c.name)
		}
	}
}

func TestNSFCost(t *testing.T) {
	for _, typ := range []string{"nsf-coupling", "nsf-ar"} {
		for _, d := range []int{2, 8} {
			l, err := flow.NewLayer[float32](d, flow.LayerSpec{Type: typ, Hidden: []int{16}}, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				t.Fatal(err)
			}
			c := l.Cost()
			if c.Params <= 0 || c.ForwardFLOPs <= 0 || c.InverseFLOPs < c.ForwardFLOPs {
				t.Errorf("%s D=%d: implausible cost %+v", typ, d, c)
			}
			want := 1
			if typ == "nsf-ar" {
				want = d
			}
			if c.InversePasses != want {
				t.Errorf("%s D=%d: inverse passes %d, want %d", typ, d, c.InversePasses, want)
			}
			if typ == "nsf-coupling" {
				n := 0
				for _, p := range l.Params() {
					n += len(p.Value)
				}
				if c.Params != n {
					t.Errorf("%s D=%d: Cost.Params %d, parameters hold %d", typ, d, c.Params, n)
				}
			}
		}
	}
}

func TestNSFErrors(t *testing.T) {
	for _, c := range []struct {
		dim  int
		spec flow.LayerSpec
		want string
	}{
		{1, flow.LayerSpec{Type: "nsf-coupling"}, "at least 2"},
		{4, flow.LayerSpec{Type: "nsf-coupling", Mask: "left"}, "mask"},
		{4, flow.LayerSpec{Type: "nsf-ar", Order: "random"}, "order"},
		{4, flow.LayerSpec{Type: "nsf-ar", Bins: 1}, "bins"},
		{4, flow.LayerSpec{Type: "nsf-coupling", Bins: -3}, "bins"},
		{4, flow.LayerSpec{Type: "nsf-coupling", TailBound: -1}, "tail bound"},
		{4, flow.LayerSpec{Type: "nsf-ar", TailBound: math.Inf(1)}, "tail bound"},
		{4, flow.LayerSpec{Type: "nsf-ar", Activation: "gelu"}, "activation"},
		{4, flow.LayerSpec{Type: "nsf-ar", Hidden: []int{8, 0}}, "hidden"},
		{0, flow.LayerSpec{Type: "nsf-ar"}, "at least 1"},
	} {
		_, err := flow.NewLayer[float64](c.dim, c.spec, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("D=%d %+v: error %v, want one mentioning %q", c.dim, c.spec, err, c.want)
		}
	}
}

// TestNSFZeroAllocs checks that a float32 training step (forward+backward)
// allocates nothing once the workspaces have grown.
func TestNSFZeroAllocs(t *testing.T) {
	for _, typ := range []string{"nsf-coupling", "nsf-ar"} {
		const d, n = 6, 64
		l, err := flow.NewLayer[float32](d, flow.LayerSpec{Type: typ, Hidden: []int{32, 32}}, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		x64 := nsfInput(rand.New(rand.NewPCG(5, 5)), n, d, 3)
		x := tensor.Convert[float32](x64)
		z, dz, dx := tensor.New[float32](n, d), tensor.New[float32](n, d), tensor.New[float32](n, d)
		for i := range dz.Data {
			dz.Data[i] = 0.01 * float32(i%7)
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
		if a := testing.AllocsPerRun(10, step); a != 0 {
			t.Errorf("%s: %v allocations per training step", typ, a)
		}
		xi := tensor.New[float32](n, d)
		inv := func() { w.Inverse(z, xi, ld) }
		inv()
		if a := testing.AllocsPerRun(5, inv); a != 0 {
			t.Errorf("%s: %v allocations per inverse", typ, a)
		}
	}
}

// TestNSFInFlow trains a flow of NSF layers for a few steps: the loss is
// splineFinite and decreases.
func TestNSFInFlow(t *testing.T) {
	spec := &flow.Spec{Dim: 3, Layers: []flow.LayerSpec{
		{Type: "nsf-coupling", Hidden: []int{16}},
		{Type: "nsf-ar", Hidden: []int{16}, Order: "reversed"},
		{Type: "nsf-coupling", Mask: "odd", Hidden: []int{16}},
	}}
	f, err := flow.Build[float64](spec, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	x := tensor.New[float64](128, 3)
	for r := 0; r < 128; r++ {
		a := rng.NormFloat64()
		x.Set(r, 0, a)
		x.Set(r, 1, a*a-1+0.1*rng.NormFloat64())
		x.Set(r, 2, math.Sin(2*a)+0.1*rng.NormFloat64())
	}
	var first, last float64
	for step := 0; step < 60; step++ {
		f.ZeroGrad()
		nll, err := f.NLLGrad(x)
		if err != nil {
			t.Fatal(err)
		}
		if step == 0 {
			first = nll
		}
		last = nll
		for _, p := range f.Params() {
			for i, g := range p.Grad {
				p.Value[i] -= 0.01 * g
			}
		}
	}
	if !(last < first) {
		t.Errorf("NLL did not decrease: %g → %g", first, last)
	}
	s := f.Sample(50, 1)
	if !flowtest.FiniteAll(s.Data) {
		t.Error("non-splineFinite samples")
	}
}
