package flowtest

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/tensor"
)

// Conformance runs CheckLayerType over every registered layer type, so a
// new transform family gets every check by being registered.
func Conformance(t *testing.T) {
	for _, typ := range flow.LayerTypes() {
		info, _ := flow.LayerTypeOf(typ)
		t.Run(typ, func(t *testing.T) { CheckLayerType(t, info) })
	}
}

// conformanceDim is odd so that coupling halves differ in size.
const conformanceDim = 5

// CheckLayerType runs the conformance table over one layer type, built
// from its registered example spec with perturbed parameters:
//
//   - inverse: Inverse(Forward(x)) = x with the same log-det (float64);
//   - logdet: Forward's log-det against the finite-difference Jacobian;
//   - gradients: Backward against central finite differences;
//   - pending-backward: an Inverse between Forward and Backward on the same
//     workspace does not change the Backward (the Layer contract);
//   - bound-gradients: for a flow.ShardedLayer, an op from NewOp(grads)
//     gives the Work-based Backward's dL/dx, adds exactly its parameter
//     gradients into its own slices and leaves the Params' Grad alone;
//   - alloc-free: a warm Forward+Backward and a warm Inverse allocate
//     nothing (float32, 256 rows);
//   - spec round trip: Spec → JSON → NewLayer gives the same spec and,
//     with the parameters copied, bit-identical outputs;
//   - refuses fields: setting any spec field the type does not read is an
//     error naming the field (types registered with Register, which
//     accept every field, skip this check);
//   - sharded = serial: a flow of this layer gives the same NLL, gradients,
//     log-densities and samples on 2 shards as on 1 (256 rows).
func CheckLayerType(t *testing.T, info flow.LayerType) {
	dim := max(conformanceDim, info.MinDim)
	build := func(t *testing.T) flow.Layer[float64] {
		t.Helper()
		l, err := flow.NewLayer[float64](dim, info.Example, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatalf("example spec %+v: %v", info.Example, err)
		}
		Perturb(l.Params(), 0.2, 3)
		return l
	}
	x := RandMat(rand.New(rand.NewPCG(4, 5)), 6, dim, 1)

	t.Run("inverse", func(t *testing.T) { CheckInverse(t, build(t), x, 1e-7) })
	t.Run("logdet", func(t *testing.T) { CheckLogDet(t, build(t), x, 1e-5) })
	t.Run("gradients", func(t *testing.T) {
		l := build(t)
		if ts, ok := l.(flow.TrainingSetter); ok {
			ts.SetTraining(true)
		}
		CheckGradients(t, l, x, 1e-5)
	})
	t.Run("pending-backward", func(t *testing.T) { checkPendingBackward(t, build(t), x) })
	t.Run("bound-gradients", func(t *testing.T) { checkBoundGradients(t, build(t), x) })
	t.Run("alloc-free", func(t *testing.T) { checkAllocFree(t, info, dim) })
	t.Run("spec-round-trip", func(t *testing.T) { checkSpecRoundTrip(t, build(t), x) })
	t.Run("refuses-fields", func(t *testing.T) { checkRefusesFields(t, info, dim) })
	t.Run("sharded-equals-serial", func(t *testing.T) {
		CheckShardedEqualsSerial(t, &flow.Spec{Dim: dim, Layers: []flow.LayerSpec{info.Example}}, 256)
	})
}

// Perturb moves every parameter entry that is not a structural zero
// (Param.Mask) by N(0, scale²), so layers are checked away from their
// near-identity initialisation.
func Perturb[T flow.Float](ps []*flow.Param[T], scale float64, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 2))
	for _, p := range ps {
		for i := range p.Value {
			if p.Mask == nil || p.Mask[i] != 0 {
				p.Value[i] += T(scale * rng.NormFloat64())
			}
		}
	}
}

// backwardOnce runs Forward then Backward on a fresh workspace, with an
// optional call in between, and returns dx and the parameter gradients.
func backwardOnce(l flow.Layer[float64], x *M, between func(w flow.Work)) (*M, [][]float64) {
	dz, dld := cotangents(rand.New(rand.NewPCG(8, 8)), x.Rows, x.Cols)
	dx := runBackward(l, x, dz, dld, between)
	var gs [][]float64
	for _, p := range l.Params() {
		gs = append(gs, slices.Clone(p.Grad))
	}
	return dx, gs
}

func checkPendingBackward(t *testing.T, l flow.Layer[float64], x *M) {
	ref, refG := backwardOnce(l, x, nil)
	other := RandMat(rand.New(rand.NewPCG(9, 9)), x.Rows+3, x.Cols, 0.7)
	got, gotG := backwardOnce(l, x, func(w flow.Work) {
		xr := tensor.New[float64](other.Rows, other.Cols)
		l.Inverse(w, other, xr, make([]float64, other.Rows))
	})
	if !slices.Equal(ref.Data, got.Data) {
		t.Errorf("an Inverse on the workspace between Forward and Backward changed dL/dx")
	}
	for i := range refG {
		if !slices.Equal(refG[i], gotG[i]) {
			t.Errorf("an Inverse on the workspace between Forward and Backward changed the gradient of %s", l.Params()[i].Name)
		}
	}
}

func checkBoundGradients(t *testing.T, l flow.Layer[float64], x *M) {
	sl, ok := l.(flow.ShardedLayer[float64])
	if !ok {
		t.Skipf("%s is not a flow.ShardedLayer (it runs unsharded or on replicas)", l.Spec().Type)
	}
	ref, refG := backwardOnce(l, x, nil)
	ps := l.Params()
	gs := make([][]float64, len(ps))
	for i, p := range ps {
		gs[i] = make([]float64, len(p.Value))
		clear(p.Grad)
	}
	op := sl.NewOp(gs)
	if op == nil {
		t.Fatal("NewOp returned nil")
	}
	rng := rand.New(rand.NewPCG(8, 8))
	dz, dld := cotangents(rng, x.Rows, x.Cols)
	z := tensor.New[float64](x.Rows, x.Cols)
	xc := x.Clone()
	op.Forward(xc, z, make([]float64, x.Rows))
	dx := tensor.New[float64](x.Rows, x.Cols)
	op.Backward(dz, dld, dx)
	if !slices.Equal(ref.Data, dx.Data) {
		t.Error("a bound op gives a different dL/dx from the Work-based Backward")
	}
	for i, p := range ps {
		if !slices.Equal(gs[i], refG[i]) {
			t.Errorf("the bound op's gradient of %s differs from the Work-based one", p.Name)
		}
		for _, g := range p.Grad {
			if g != 0 {
				t.Errorf("a bound op added into %s.Grad", p.Name)
				break
			}
		}
	}
}

func checkAllocFree(t *testing.T, info flow.LayerType, dim int) {
	l, err := flow.NewLayer[float32](dim, info.Example, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if ts, ok := l.(flow.TrainingSetter); ok {
		ts.SetTraining(true)
	}
	const rows = 256
	x := tensor.Convert[float32](RandMat(rand.New(rand.NewPCG(2, 3)), rows, dim, 1))
	z, dz, dx, xr := tensor.New[float32](rows, dim), tensor.New[float32](rows, dim), tensor.New[float32](rows, dim), tensor.New[float32](rows, dim)
	for i := range dz.Data {
		dz.Data[i] = 0.01 * float32(i%7)
	}
	ld, dld := make([]float32, rows), make([]float32, rows)
	for i := range dld {
		dld[i] = -1.0 / rows
	}
	w := l.NewWork()
	step := func() {
		l.Forward(w, x, z, ld)
		l.Backward(w, dz, dld, dx)
	}
	inv := func() { l.Inverse(w, z, xr, ld) }
	step()
	inv()
	if a := testing.AllocsPerRun(5, step); a != 0 {
		t.Errorf("a warm Forward+Backward allocates %.1f times", a)
	}
	if a := testing.AllocsPerRun(3, inv); a != 0 {
		t.Errorf("a warm Inverse allocates %.1f times", a)
	}
}

func checkSpecRoundTrip(t *testing.T, l flow.Layer[float64], x *M) {
	s := l.Spec()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var s2 flow.LayerSpec
	if err := json.Unmarshal(b, &s2); err != nil {
		t.Fatal(err)
	}
	l2, err := flow.NewLayer[float64](l.Dim(), s2, nil)
	if err != nil {
		t.Fatalf("the layer's own spec %s does not build: %v", b, err)
	}
	if b2, _ := json.Marshal(l2.Spec()); string(b2) != string(b) {
		t.Errorf("spec round trip: %s became %s", b, b2)
	}
	p1, p2 := l.Params(), l2.Params()
	if len(p1) != len(p2) {
		t.Fatalf("rebuilt layer has %d parameters, the original %d", len(p2), len(p1))
	}
	for i := range p1 {
		if p1[i].Name != p2[i].Name || !slices.Equal(p1[i].Shape, p2[i].Shape) {
			t.Fatalf("parameter %d: %s%v rebuilt as %s%v", i, p1[i].Name, p1[i].Shape, p2[i].Name, p2[i].Shape)
		}
		copy(p2[i].Value, p1[i].Value)
	}
	if bh, ok := l.(flow.BufferHolder[float64]); ok {
		b1, b2 := bh.Buffers(), l2.(flow.BufferHolder[float64]).Buffers()
		for i := range b1 {
			copy(b2[i].Value, b1[i].Value)
		}
	}
	z1, ld1 := Forward(l, x)
	z2, ld2 := Forward(l2, x)
	if !slices.Equal(z1.Data, z2.Data) || !slices.Equal(ld1, ld2) {
		t.Errorf("the layer rebuilt from its spec with the same parameters gives different outputs")
	}
}

// nonZero sets field v (of a LayerSpec) to a non-zero value.
func nonZero(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Int:
		v.SetInt(3)
	case reflect.Uint64:
		v.SetUint(7)
	case reflect.Float64:
		v.SetFloat(0.5)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Int {
			v.Set(reflect.ValueOf([]int{1}))
		} else {
			v.Set(reflect.ValueOf([]flow.LayerSpec{{Type: "reverse"}}))
		}
	default:
		panic("flowtest: unhandled LayerSpec field kind " + v.Kind().String())
	}
}

func checkRefusesFields(t *testing.T, info flow.LayerType, dim int) {
	if info.Fields == nil {
		t.Skipf("%s is registered with Register (every field accepted)", info.Name)
	}
	st := reflect.TypeFor[flow.LayerSpec]()
	for i := range st.NumField() {
		name, _, _ := strings.Cut(st.Field(i).Tag.Get("json"), ",")
		if name == "type" || slices.Contains(info.Fields, name) {
			continue
		}
		s := info.Example.Clone()
		nonZero(reflect.ValueOf(&s).Elem().Field(i))
		_, err := flow.NewLayer[float64](dim, s, rand.New(rand.NewPCG(1, 1)))
		if err == nil {
			t.Errorf("%s accepted field %q that it does not read", info.Name, name)
		} else if !strings.Contains(err.Error(), name) {
			t.Errorf("%s refused field %q with an error that does not name it: %v", info.Name, name, err)
		}
	}
}

// CheckShardedEqualsSerial checks that the flow of spec gives the same
// NLL, gradients, log-densities and samples with 2 workers as with 1, on
// rows rows (float64; equal up to summation order).
func CheckShardedEqualsSerial(t *testing.T, spec *flow.Spec, rows int) {
	t.Helper()
	run := func(workers int) (nll float64, grads [][]float64, lp []float64, sample []float64) {
		f, err := flow.Build[float64](spec, rand.New(rand.NewPCG(6, 6)))
		if err != nil {
			t.Fatal(err)
		}
		ps := f.Params()
		raw := make([]*flow.Param[float64], len(ps))
		for i, p := range ps {
			raw[i] = p.Param
		}
		Perturb(raw, 0.2, 4)
		f.Workers = workers
		x := RandMat(rand.New(rand.NewPCG(7, 7)), rows, spec.Dim, 1)
		f.ZeroGrad()
		if nll, err = f.NLLGrad(x); err != nil {
			t.Fatal(err)
		}
		for _, p := range f.Params() {
			grads = append(grads, slices.Clone(p.Grad))
		}
		lp = make([]float64, rows)
		if err := f.LogProb(x, lp); err != nil {
			t.Fatal(err)
		}
		s, _ := f.SampleAndLogProb(rows, 3)
		return nll, grads, lp, s.Data
	}
	n1, g1, l1, s1 := run(1)
	n2, g2, l2, s2 := run(2)
	const tol = 1e-10
	if !near(n1, n2, tol) {
		t.Errorf("NLL: 1 shard %.15g, 2 shards %.15g", n1, n2)
	}
	for i := range g1 {
		for k := range g1[i] {
			if !near(g1[i][k], g2[i][k], tol) {
				t.Errorf("gradient %d[%d]: 1 shard %.15g, 2 shards %.15g", i, k, g1[i][k], g2[i][k])
				break
			}
		}
	}
	for i := range l1 {
		if !near(l1[i], l2[i], tol) {
			t.Errorf("log p row %d: 1 shard %.15g, 2 shards %.15g", i, l1[i], l2[i])
			break
		}
	}
	for i := range s1 {
		if !near(s1[i], s2[i], tol) || math.IsNaN(s2[i]) {
			t.Errorf("sample value %d: 1 shard %.15g, 2 shards %.15g", i, s1[i], s2[i])
			break
		}
	}
}
