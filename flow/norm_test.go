package flow_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/flow/flowtest"
)

func TestActNorm(t *testing.T) {
	for _, d := range slDims {
		rng := rand.New(rand.NewPCG(uint64(d), 50))
		for name, x := range slInputs(rng, d) {
			t.Run(fmt.Sprintf("D=%d/%s", d, name), func(t *testing.T) {
				l := slBuild(t, "actnorm", d, flow.LayerSpec{}, 1)
				slRandomize(l, rng, 1)
				slCheckAll(t, l, x, 1e-9)
			})
		}
	}
}

// slColumnStats returns the column means and population variances.
func slColumnStats(m *flowtest.M) (mean, vr []float64) {
	mean, vr = make([]float64, m.Cols), make([]float64, m.Cols)
	for r := 0; r < m.Rows; r++ {
		for j := range mean {
			mean[j] += m.At(r, j) / float64(m.Rows)
		}
	}
	for r := 0; r < m.Rows; r++ {
		for j := range vr {
			e := m.At(r, j) - mean[j]
			vr[j] += e * e / float64(m.Rows)
		}
	}
	return mean, vr
}

func TestActNormInitFromData(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 51))
	x := flowtest.RandMat(rng, 200, 4, 1)
	for r := 0; r < x.Rows; r++ {
		x.Set(r, 0, 3*x.At(r, 0)+10)
		x.Set(r, 1, 0.01*x.At(r, 1)-4)
		x.Set(r, 3, 7) // constant column
	}
	spec := &flow.Spec{Dim: 4, Layers: []flow.LayerSpec{{Type: "actnorm"}}}
	f, err := flow.Build[float64](spec, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	z0, ld0 := f.Transform(x)
	for i := range z0.Data {
		if z0.Data[i] != x.Data[i] || ld0[0] != 0 {
			t.Fatalf("fresh actnorm is not the identity")
		}
	}
	f.InitFromData(x)
	z, ld := f.Transform(x)
	mean, vr := slColumnStats(z)
	for j := 0; j < 3; j++ {
		if math.Abs(mean[j]) > 1e-12 || math.Abs(vr[j]-1) > 1e-12 {
			t.Errorf("column %d after init: mean %g, var %g", j, mean[j], vr[j])
		}
	}
	if mean[3] != 0 || vr[3] != 0 || !flowtest.FiniteAll(ld) {
		t.Errorf("constant column after init: mean %g, var %g, ld %g", mean[3], vr[3], ld[0])
	}
}

func TestBatchNormEval(t *testing.T) {
	for _, d := range slDims {
		rng := rand.New(rand.NewPCG(uint64(d), 60))
		for name, x := range slInputs(rng, d) {
			t.Run(fmt.Sprintf("D=%d/%s", d, name), func(t *testing.T) {
				l := slBuild(t, "batchnorm", d, flow.LayerSpec{}, 1)
				bn := l.(*flow.BatchNorm[float64])
				if bn.Training() {
					t.Fatal("a fresh batchnorm must be in evaluation mode")
				}
				slRandomize(l, rng, 1)
				for j := range bn.RunningMean {
					bn.RunningMean[j] = rng.NormFloat64()
					bn.RunningVar[j] = math.Exp(rng.NormFloat64())
				}
				slCheckAll(t, l, x, 1e-9)
			})
		}
	}
}

func TestBatchNormTraining(t *testing.T) {
	for _, d := range slDims {
		rng := rand.New(rand.NewPCG(uint64(d), 70))
		for name, x := range slInputs(rng, d) {
			t.Run(fmt.Sprintf("D=%d/%s", d, name), func(t *testing.T) {
				l := slBuild(t, "batchnorm", d, flow.LayerSpec{Momentum: 0.25}, 1)
				bn := l.(*flow.BatchNorm[float64])
				slRandomize(l, rng, 1)
				f := flow.New(d, l)
				f.SetTraining(true)
				if !bn.Training() {
					t.Fatal("Flow.SetTraining(true) did not reach the layer")
				}
				// Gradients through the batch mean and variance.
				flowtest.CheckGradients(t, l, x, 1e-6)

				// Output statistics, log-det and running-average update.
				for j := range bn.RunningMean {
					bn.RunningMean[j], bn.RunningVar[j] = 1, 2
				}
				z, ld := flowtest.Forward(l, x)
				mean, vr := slColumnStats(x)
				zm, zv := slColumnStats(z)
				n := float64(x.Rows)
				want := 0.0
				for j := 0; j < d; j++ {
					g, b := bn.LogGamma.Value[j], bn.Beta.Value[j]
					want += g - 0.5*math.Log(vr[j]+1e-5)
					sv := math.Exp(2*g) * vr[j] / (vr[j] + 1e-5)
					if math.Abs(zm[j]-b) > 1e-9 || math.Abs(zv[j]-sv) > 1e-9*(1+sv) {
						t.Errorf("column %d: z mean %g var %g, want %g, %g", j, zm[j], zv[j], b, sv)
					}
					rm, rv := 0.75+0.25*mean[j], 0.75*2+0.25*vr[j]*n/(n-1)
					if math.Abs(bn.RunningMean[j]-rm) > 1e-12 || math.Abs(bn.RunningVar[j]-rv) > 1e-12 {
						t.Errorf("column %d: running (%g, %g), want (%g, %g)", j, bn.RunningMean[j], bn.RunningVar[j], rm, rv)
					}
				}
				for r := range ld {
					if math.Abs(ld[r]-want) > 1e-9 {
						t.Errorf("row %d: log-det %g, want %g", r, ld[r], want)
					}
				}
				// The running averages do not move in evaluation mode.
				f.SetTraining(false)
				before := append([]float64(nil), bn.RunningMean...)
				flowtest.Forward(l, x)
				for j := range before {
					if bn.RunningMean[j] != before[j] {
						t.Fatalf("evaluation-mode forward moved the running mean")
					}
				}
			})
		}
	}
}

func TestBatchNormSpecAndInit(t *testing.T) {
	l := slBuild(t, "batchnorm", 3, flow.LayerSpec{}, 1)
	if s := l.Spec(); s.Momentum != 0.1 || s.Eps != 1e-5 {
		t.Errorf("defaults: Spec() = %+v", s)
	}
	for _, bad := range []flow.LayerSpec{{Momentum: -0.1}, {Momentum: 1.5}, {Eps: -1}, {Eps: math.Inf(1)}} {
		bad.Type = "batchnorm"
		if _, err := flow.NewLayer[float64](3, bad, nil); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	bn := l.(*flow.BatchNorm[float64])
	if b := bn.Buffers(); len(b) != 2 || &b[0].Value[0] != &bn.RunningMean[0] {
		t.Errorf("Buffers() must share the running averages")
	}
	// InitFromData sets the running averages: evaluation then normalises.
	x := flowtest.RandMat(rand.New(rand.NewPCG(1, 2)), 100, 3, 3)
	for r := 0; r < x.Rows; r++ {
		x.Set(r, 2, x.At(r, 2)+5)
	}
	f := flow.New(3, l)
	f.InitFromData(x)
	z, _ := f.Transform(x)
	zm, zv := slColumnStats(z)
	for j := range zm {
		if math.Abs(zm[j]) > 1e-9 || math.Abs(zv[j]-1) > 1e-5 {
			t.Errorf("column %d after InitFromData: mean %g var %g", j, zm[j], zv[j])
		}
	}
	// A single-row training batch stays finite and leaves the averages.
	f.SetTraining(true)
	before := append([]float64(nil), bn.RunningVar...)
	z1, ld1 := flowtest.Forward(l, x.SliceRows(0, 1))
	if !flowtest.FiniteAll(z1.Data) || !flowtest.FiniteAll(ld1) || bn.RunningVar[0] != before[0] {
		t.Errorf("single-row training batch: z %v ld %v", z1.Data, ld1)
	}
}
