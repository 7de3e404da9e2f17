package train_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/autonf/autonf/data"
	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/tensor"
	"github.com/autonf/autonf/train"
)

func toyMat(t *testing.T, name string, n int, seed uint64) *tensor.Mat[float32] {
	t.Helper()
	tb, err := data.Toy(name, n, seed)
	if err != nil {
		t.Fatal(err)
	}
	return tensor.FromSlice(tb.Rows, tb.Cols, tb.Float32())
}

func realNVP(t *testing.T, dim, layers int, seed uint64) *flow.Flow[float32] {
	t.Helper()
	var ls []flow.LayerSpec
	for i := 0; i < layers; i++ {
		mask := "even"
		if i%2 == 1 {
			mask = "odd"
		}
		ls = append(ls, flow.LayerSpec{Type: "affine-coupling", Hidden: []int{32, 32}, Mask: mask})
	}
	f, err := flow.Build[float32](&flow.Spec{Dim: dim, Layers: ls}, rand.New(rand.NewPCG(seed, 3)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestDensityIntegratesToOne trains a 2-D flow on moons and checks that its
// density integrates to 1 ± 0.02 over a grid that covers the mass.
func TestDensityIntegratesToOne(t *testing.T) {
	f := realNVP(t, 2, 4, 1)
	res, err := train.Fit(context.Background(), f, toyMat(t, "moons", 4000, 1), toyMat(t, "moons", 1000, 2),
		train.Config{Epochs: 30, Batch: 256, LR: 3e-3, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if g := gaussianNLL(toyMat(t, "moons", 1000, 2)); res.BestValNLL > g-0.3 {
		t.Fatalf("moons val NLL %.3f after training; want well below the best Gaussian's %.3f", res.BestValNLL, g)
	}
	const n, lo, hi = 300, -8.0, 8.0
	h := (hi - lo) / n
	pts := tensor.New[float32](n*n, 2)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			pts.Set(i*n+j, 0, float32(lo+(float64(i)+0.5)*h))
			pts.Set(i*n+j, 1, float32(lo+(float64(j)+0.5)*h))
		}
	}
	lp := make([]float32, n*n)
	if err := f.LogProb(pts, lp); err != nil {
		t.Fatal(err)
	}
	mass := 0.0
	for _, v := range lp {
		mass += math.Exp(float64(v)) * h * h
	}
	if math.Abs(mass-1) > 0.02 {
		t.Fatalf("density integrates to %.4f over [-8,8]², want 1 ± 0.02", mass)
	}
}

// TestGaussianFitMoments fits a flow to a correlated Gaussian and checks the
// mean and covariance of its samples against the truth within sampling
// error.
func TestGaussianFitMoments(t *testing.T) {
	const n = 6000
	rng := rand.New(rand.NewPCG(5, 5))
	mk := func(rows int) *tensor.Mat[float32] {
		m := tensor.New[float32](rows, 2)
		for i := 0; i < rows; i++ {
			a, b := rng.NormFloat64(), rng.NormFloat64()
			m.Set(i, 0, float32(1+a))
			m.Set(i, 1, float32(-0.5+0.8*a+0.6*b)) // var 1, cov 0.8
		}
		return m
	}
	f := realNVP(t, 2, 2, 2)
	if _, err := train.Fit(context.Background(), f, mk(n), mk(1000), train.Config{Epochs: 20, Batch: 256, LR: 3e-3, Seed: 2}); err != nil {
		t.Fatal(err)
	}
	const ns = 20000
	s := f.Sample(ns, 7)
	var m0, m1, c00, c01, c11 float64
	for i := 0; i < ns; i++ {
		m0 += float64(s.At(i, 0))
		m1 += float64(s.At(i, 1))
	}
	m0, m1 = m0/ns, m1/ns
	for i := 0; i < ns; i++ {
		a, b := float64(s.At(i, 0))-m0, float64(s.At(i, 1))-m1
		c00 += a * a
		c01 += a * b
		c11 += b * b
	}
	c00, c01, c11 = c00/ns, c01/ns, c11/ns
	// Sampling error of the fit (n = 6000) dominates: s.e. ≈ 0.013 for the
	// mean and ≈ 0.02 for (co)variances; allow 4 s.e. plus model error.
	check := func(name string, got, want, tol float64) {
		if math.Abs(got-want) > tol {
			t.Errorf("%s = %.4f, want %.4f ± %.3f", name, got, want, tol)
		}
	}
	check("mean[0]", m0, 1, 0.06)
	check("mean[1]", m1, -0.5, 0.06)
	check("var[0]", c00, 1, 0.1)
	check("var[1]", c11, 1, 0.1)
	check("cov", c01, 0.8, 0.1)
}

// nanLayer wraps a layer and poisons its output on demand.
type nanLayer struct {
	flow.Layer[float32]
	poison *bool
}

func (l nanLayer) NewOp(grads [][]float32) flow.Op[float32] {
	return nanOp{l.Layer.NewOp(grads), l.poison}
}

// nanOp is nanLayer's op.
type nanOp struct {
	flow.Op[float32]
	poison *bool
}

func (o nanOp) Forward(x, z *tensor.Mat[float32], ld []float32) {
	o.Op.Forward(x, z, ld)
	if *o.poison {
		z.Data[0] = float32(math.NaN())
	}
}

func TestNonFiniteStepsAreSkippedThenStop(t *testing.T) {
	base, err := flow.NewLayer[float32](2, flow.LayerSpec{Type: "affine-coupling", Hidden: []int{8}}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	poison := false
	f := flow.New[float32](2, flow.Layer[float32](nanLayer{base, &poison}))
	x := toyMat(t, "moons", 512, 1)
	v := toyMat(t, "moons", 128, 2)
	// Train cleanly for a few epochs, then poison every step.
	epochs := 0
	cfg := train.Config{Epochs: 50, Batch: 128, Seed: 1, MaxBadSteps: 5, OnEpoch: func(s train.EpochStats) {
		epochs++
		if epochs == 3 {
			poison = true
		}
	}}
	res, err := train.Fit(context.Background(), f, x, v, cfg)
	if !errors.Is(err, train.ErrDiverged) {
		t.Fatalf("got %v, want ErrDiverged", err)
	}
	if !strings.Contains(err.Error(), "layer 0 (affine-coupling)") || !strings.Contains(err.Error(), "step") {
		t.Fatalf("error %q does not name the step and the layer", err)
	}
	if res.SkippedSteps != 5 || len(res.Warnings) < 5 {
		t.Fatalf("skipped %d steps with %d warnings, want 5", res.SkippedSteps, len(res.Warnings))
	}
	// The best weights are restored and finite.
	poison = false
	nll, err := train.MeanNLL(f, v, make([]float32, 64))
	if err != nil || math.Abs(nll-res.BestValNLL) > 1e-4 {
		t.Fatalf("after divergence: val NLL %v (%v), want the best %.5f", nll, err, res.BestValNLL)
	}
}

func TestFitIsReproducible(t *testing.T) {
	run := func() float64 {
		f := realNVP(t, 2, 2, 3)
		res, err := train.Fit(context.Background(), f, toyMat(t, "circles", 1024, 1), toyMat(t, "circles", 256, 2), train.Config{Epochs: 3, Batch: 128, Seed: 9})
		if err != nil {
			t.Fatal(err)
		}
		return res.BestValNLL
	}
	if a, b := run(), run(); a != b {
		t.Fatalf("same seed, different results: %v vs %v", a, b)
	}
}

func TestEarlyStoppingRestoresBest(t *testing.T) {
	f := realNVP(t, 2, 2, 4)
	// A tiny training set overfits; patience 2 stops early.
	res, err := train.Fit(context.Background(), f, toyMat(t, "moons", 64, 1), toyMat(t, "moons", 512, 2),
		train.Config{Epochs: 400, Batch: 64, LR: 1e-2, Patience: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.StopReason, "early stopping") {
		t.Fatalf("stop reason %q", res.StopReason)
	}
	nll, _ := train.MeanNLL(f, toyMat(t, "moons", 512, 2), make([]float32, 512))
	if math.Abs(nll-res.BestValNLL) > 1e-5 {
		t.Fatalf("restored weights give val NLL %.6f, best was %.6f", nll, res.BestValNLL)
	}
}

func TestCosineLR(t *testing.T) {
	cases := []struct {
		t, warm, total int
		want           float64
	}{
		{0, 10, 100, 0.1}, {9, 10, 100, 1}, {10, 10, 100, 1}, {55, 10, 100, 0.5 + 0.5*0.5*(1+math.Cos(math.Pi*0.5)) - 0.5 + 0}, {100, 10, 100, 0.01}, {1000, 10, 100, 0.01},
	}
	cases[3].want = 0.01 + 0.99*0.5*(1+math.Cos(math.Pi*0.5))
	for _, c := range cases {
		if got := train.CosineLR(1, c.t, c.warm, c.total, 0.01); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("CosineLR(t=%d) = %v, want %v", c.t, got, c.want)
		}
	}
}

func TestTrainStepAllocatesNothing(t *testing.T) {
	f := realNVP(t, 4, 2, 1)
	x := tensor.New[float32](64, 4)
	for i := range x.Data {
		x.Data[i] = float32(i%7) / 7
	}
	ps := f.Params()
	params := make([]*flow.Param[float32], len(ps))
	for i, p := range ps {
		params[i] = p.Param
	}
	opt := train.NewAdam(params)
	step := func() {
		f.ZeroGrad()
		if _, err := f.NLLGrad(x); err != nil {
			t.Fatal(err)
		}
		opt.Step(1e-3)
	}
	step()
	if n := testing.AllocsPerRun(20, step); n != 0 {
		t.Fatalf("a training step allocates %.1f times, want 0", n)
	}
}

// gaussianNLL is the mean NLL of x under the Gaussian fitted to it (2-D).
func gaussianNLL(x *tensor.Mat[float32]) float64 {
	n := float64(x.Rows)
	var m0, m1, a, b, c float64
	for i := 0; i < x.Rows; i++ {
		m0 += float64(x.At(i, 0)) / n
		m1 += float64(x.At(i, 1)) / n
	}
	for i := 0; i < x.Rows; i++ {
		u, v := float64(x.At(i, 0))-m0, float64(x.At(i, 1))-m1
		a, b, c = a+u*u/n, b+u*v/n, c+v*v/n
	}
	return 0.5*math.Log(a*c-b*b) + math.Log(2*math.Pi) + 1
}
