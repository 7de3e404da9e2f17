package flow_test

import (
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/autonf/autonf/data"
	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/model"
	"github.com/autonf/autonf/tensor"
)

// The model files under testdata/models were trained and saved by the
// engine as it was before the conditioner × transformer redesign (issue 8).
// Every later engine must load them and give bit-identical log-densities.
// Regenerate (only when the file format itself changes on purpose) with
//
//	go test ./flow -run TestModelFixtures -update-fixtures
var updateFixtures = flag.Bool("update-fixtures", false, "retrain and rewrite flow/testdata/models (changes the compatibility baseline)")

const fixtureDim = 4

// fixtureSpecs is one small model per family; the last mixes every other
// registered layer type and the learnable base.
var fixtureSpecs = []flow.Spec{
	{Name: "maf", Dim: fixtureDim, Layers: []flow.LayerSpec{
		{Type: "maf", Hidden: []int{8, 8}, Order: "natural"},
		{Type: "maf", Hidden: []int{8}, Order: "reversed", Activation: "tanh"},
	}},
	{Name: "nsf-ar", Dim: fixtureDim, Layers: []flow.LayerSpec{
		{Type: "nsf-ar", Hidden: []int{8}, Bins: 4, TailBound: 3},
		{Type: "reverse"},
		{Type: "nsf-ar", Hidden: []int{6, 6}, Bins: 3, Order: "reversed", Activation: "elu"},
	}},
	{Name: "affine-coupling", Dim: fixtureDim, Layers: []flow.LayerSpec{
		{Type: "affine-coupling", Hidden: []int{8, 8}, Mask: "even"},
		{Type: "affine-coupling", Hidden: []int{8}, Mask: "odd", Activation: "tanh"},
	}},
	{Name: "nsf-coupling", Dim: fixtureDim, Layers: []flow.LayerSpec{
		{Type: "nsf-coupling", Hidden: []int{8}, Bins: 4, Mask: "even"},
		{Type: "nsf-coupling", Hidden: []int{8}, Bins: 5, TailBound: 2.5, Mask: "odd"},
	}},
	{Name: "mixed", Dim: fixtureDim, Base: "diag-normal", Layers: []flow.LayerSpec{
		{Type: "actnorm"},
		{Type: "permutation", Seed: 9},
		{Type: "lu-linear"},
		{Type: "batchnorm"},
		{Type: "planar"},
		{Type: "radial"},
		{Type: "chain", Layers: []flow.LayerSpec{{Type: "reverse"}, {Type: "lu-linear"}, {Type: "maf", Hidden: []int{8}}}},
	}},
}

// fixtureData is a correlated, skewed 4-D sample (a fixed function of a seed).
func fixtureData(rows int, seed uint64) *tensor.Mat[float32] {
	rng := rand.New(rand.NewPCG(seed, 77))
	m := tensor.New[float32](rows, fixtureDim)
	for r := 0; r < rows; r++ {
		a, b := rng.NormFloat64(), rng.NormFloat64()
		row := m.Row(r)
		row[0] = float32(a)
		row[1] = float32(0.8*a + 0.5*b*b - 0.5)
		row[2] = float32(math.Tanh(2*b) + 0.3*rng.NormFloat64())
		row[3] = float32(0.5*a*b + 0.2*rng.NormFloat64())
	}
	return m
}

// fixtureExpect is what a fixture directory records next to the model.
type fixtureExpect struct {
	Rows    [][]float32 `json:"rows"`    // flow-space input rows
	LogProb []string    `json:"logprob"` // float32 bits of log p(row), hex, big-endian
}

func f32hex(v float32) string {
	b := math.Float32bits(v)
	return hex.EncodeToString([]byte{byte(b >> 24), byte(b >> 16), byte(b >> 8), byte(b)})
}

// hexf32 is the inverse of f32hex.
func hexf32(t *testing.T, s string) float32 {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 4 {
		t.Fatalf("bad float32 hex %q in expect.json", s)
	}
	return math.Float32frombits(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]))
}

// trainFixture fits f for a few hundred plain Adam steps, written out
// here so the fixtures depend on nothing but the flow package.
func trainFixture(t *testing.T, f *flow.Flow[float32], x *tensor.Mat[float32]) {
	f.Workers = 1
	f.InitFromData(x)
	f.SetTraining(true)
	ps := f.Params()
	m := make([][]float64, len(ps))
	v := make([][]float64, len(ps))
	for i, p := range ps {
		m[i], v[i] = make([]float64, len(p.Value)), make([]float64, len(p.Value))
	}
	const lr, b1, b2 = 3e-3, 0.9, 0.999
	for step := 1; step <= 300; step++ {
		f.ZeroGrad()
		lo := (step * 64) % (x.Rows - 64)
		if _, err := f.NLLGrad(x.SliceRows(lo, lo+64)); err != nil {
			t.Fatal(err)
		}
		c1, c2 := 1-math.Pow(b1, float64(step)), 1-math.Pow(b2, float64(step))
		for i, p := range ps {
			for k, g := range p.Grad {
				gg := float64(g)
				m[i][k] = b1*m[i][k] + (1-b1)*gg
				v[i][k] = b2*v[i][k] + (1-b2)*gg*gg
				p.Value[k] -= float32(lr * (m[i][k] / c1) / (math.Sqrt(v[i][k]/c2) + 1e-8))
			}
		}
	}
	f.SetTraining(false)
}

func TestModelFixtures(t *testing.T) {
	for _, s := range fixtureSpecs {
		t.Run(s.Name, func(t *testing.T) {
			dir := filepath.Join("testdata", "models", s.Name)
			if *updateFixtures {
				writeFixture(t, s, dir)
			}
			m, err := model.Load(dir)
			if err != nil {
				t.Fatalf("old model file no longer loads: %v", err)
			}
			b, err := os.ReadFile(filepath.Join(dir, "expect.json"))
			if err != nil {
				t.Fatal(err)
			}
			var want fixtureExpect
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			x := tensor.New[float32](len(want.Rows), fixtureDim)
			for r, row := range want.Rows {
				copy(x.Row(r), row)
			}
			m.Flow.Workers = 1
			lp := make([]float32, x.Rows)
			if err := m.Flow.LogProb(x, lp); err != nil {
				t.Fatal(err)
			}
			// The fixtures were written with the AVX-512 GEMM kernel, whose
			// summation order other kernels (the pure-Go fallback, AVX2) do
			// not share: there the model must still load and agree to float32
			// rounding.
			exact := tensor.KernelName() == "avx512"
			for r := range lp {
				if !exact {
					w := hexf32(t, want.LogProb[r])
					if d := math.Abs(float64(lp[r] - w)); d > 1e-5*(1+math.Abs(float64(w))) {
						t.Errorf("row %d: log p = %v, the model file's engine gave %v (kernel %s)", r, lp[r], w, tensor.KernelName())
					}
					continue
				}
				if got := f32hex(lp[r]); got != want.LogProb[r] {
					t.Errorf("row %d: log p = %v (bits %s), the model file's engine gave bits %s", r, lp[r], got, want.LogProb[r])
				}
			}
		})
	}
}

func writeFixture(t *testing.T, s flow.Spec, dir string) {
	s.Format = flow.SpecFormat
	f, err := flow.Build[float32](&s, rand.New(rand.NewPCG(5, 5)))
	if err != nil {
		t.Fatal(err)
	}
	trainFixture(t, f, fixtureData(1024, 1))
	names := make([]string, fixtureDim)
	keep := make([]int, fixtureDim)
	mean, std := make([]float64, fixtureDim), make([]float64, fixtureDim)
	for j := range names {
		names[j], keep[j], std[j] = fmt.Sprintf("x%d", j), j, 1
	}
	m := &model.Model{Flow: f, Columns: names,
		Standardizer: &data.Standardizer{Keep: keep, Names: names, NumCols: fixtureDim, Mean: mean, Std: std},
		Meta:         model.Meta{Created: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Version: model.Version, Seed: 5, Notes: []string{"compatibility fixture (issue 8)"}}}
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	x := fixtureData(8, 2)
	f.Workers = 1
	lp := make([]float32, x.Rows)
	if err := f.LogProb(x, lp); err != nil {
		t.Fatal(err)
	}
	var e fixtureExpect
	for r := 0; r < x.Rows; r++ {
		e.Rows = append(e.Rows, append([]float32(nil), x.Row(r)...))
		e.LogProb = append(e.LogProb, f32hex(lp[r]))
	}
	b, _ := json.MarshalIndent(e, "", " ")
	if err := os.WriteFile(filepath.Join(dir, "expect.json"), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}
