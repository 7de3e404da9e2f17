package train_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/train"
)

// bnFlow has parameters and buffers (BatchNorm running averages).
func bnFlow(t *testing.T) *flow.Flow[float32] {
	t.Helper()
	spec := &flow.Spec{Dim: 2, Layers: []flow.LayerSpec{
		{Type: "affine-coupling", Hidden: []int{16}, Mask: "even"},
		{Type: "batchnorm"},
		{Type: "affine-coupling", Hidden: []int{16}, Mask: "odd"},
	}}
	f, err := flow.Build[float32](spec, rand.New(rand.NewPCG(5, 3)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func weights(f *flow.Flow[float32]) []float32 {
	var out []float32
	for _, p := range append(f.Params(), f.Buffers()...) {
		out = append(out, p.Value...)
	}
	return out
}

// A run interrupted (at an epoch boundary or mid-epoch), saved, loaded and
// resumed ends with exactly the weights and curve of an uninterrupted run.
func TestResumeIsBitExact(t *testing.T) {
	x, v := toyMat(t, "moons", 700, 1), toyMat(t, "moons", 200, 2)
	cfg := train.Config{Epochs: 6, Batch: 128, Seed: 3, Patience: -1}
	ref := bnFlow(t)
	want, err := train.Fit(context.Background(), ref, x, v, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, stopAt := range []int{0, 1, 5, 6, 13, 23} { // global steps; 6 steps per epoch
		t.Run("", func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			c := cfg
			steps := 0
			c.OnStep = func(epoch, s, n int, loss float64) {
				if steps++; steps == stopAt {
					cancel()
				}
			}
			if stopAt == 0 {
				cancel()
			}
			c.Checkpoint = func(st *train.State) error { return train.SaveCheckpoint(dir, st, map[string]string{"k": "v"}) }
			res, err := train.Fit(ctx, bnFlow(t), x, v, c)
			if res.StopReason != "interrupted" {
				t.Fatalf("stop %q, err %v", res.StopReason, err)
			}
			st, meta, err := train.LoadCheckpoint(dir)
			if err != nil || meta["k"] != "v" {
				t.Fatalf("load: %v %v", meta, err)
			}
			c = cfg
			c.Resume = st
			f := bnFlow(t)
			got, err := train.Fit(context.Background(), f, x, v, c)
			if err != nil {
				t.Fatal(err)
			}
			a, b := weights(ref), weights(f)
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("weight %d: %v uninterrupted, %v resumed", i, a[i], b[i])
				}
			}
			if got.BestEpoch != want.BestEpoch || got.BestValNLL != want.BestValNLL || got.Steps != want.Steps || len(got.Curve) != len(want.Curve) {
				t.Fatalf("resumed result %+v, want %+v", got, want)
			}
			for i := range want.Curve {
				if got.Curve[i].ValNLL != want.Curve[i].ValNLL || got.Curve[i].TrainNLL != want.Curve[i].TrainNLL {
					t.Fatalf("epoch %d: %+v vs %+v", i+1, got.Curve[i], want.Curve[i])
				}
			}
		})
	}
}

func TestResumeRefusesAnotherRun(t *testing.T) {
	x, v := toyMat(t, "moons", 300, 1), toyMat(t, "moons", 100, 2)
	var st *train.State
	cfg := train.Config{Epochs: 2, Batch: 100, Seed: 1, Checkpoint: func(s *train.State) error { st = s; return nil }}
	if _, err := train.Fit(context.Background(), bnFlow(t), x, v, cfg); err != nil || st == nil {
		t.Fatalf("%v %v", st, err)
	}
	cases := []struct {
		name string
		f    *flow.Flow[float32]
		x    int
		cfg  train.Config
		want string
	}{
		{"other architecture", realNVP(t, 2, 2, 1), 300, train.Config{Epochs: 2, Batch: 100}, "a different architecture"},
		{"other data size", bnFlow(t), 200, train.Config{Epochs: 2, Batch: 100}, "shuffles 300 training rows, this run has 200"},
		{"other batch", bnFlow(t), 300, train.Config{Epochs: 2, Batch: 10}, ""},
		{"fewer epochs", bnFlow(t), 300, train.Config{Epochs: 0, Batch: 100}, ""},
	}
	for _, c := range cases {
		c.cfg.Resume = st
		_, err := train.Fit(context.Background(), c.f, toyMat(t, "moons", c.x, 1), v, c.cfg)
		if c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		cfg  train.Config
		want string
	}{
		{train.Config{LR: math.NaN()}, "LR must be a finite number"},
		{train.Config{LR: math.Inf(1)}, "LR must be a finite number"},
		{train.Config{LR: 1e9}, "LR must be a finite number in (0, 10]"},
		{train.Config{WeightDecay: math.NaN()}, "WeightDecay"},
		{train.Config{WeightDecay: 2000}, "WeightDecay·LR < 1"},
		{train.Config{ClipNorm: math.Inf(1)}, "ClipNorm"},
		{train.Config{MinLRFrac: math.NaN()}, "MinLRFrac"},
		{train.Config{MaxTime: -time.Second}, "MaxTime"},
		{train.Config{Epochs: -1}, "Epochs"},
	}
	x := toyMat(t, "moons", 64, 1)
	for _, c := range cases {
		if _, err := train.Fit(context.Background(), bnFlow(t), x, x, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.cfg, err, c.want)
		}
	}
}

// Training that never validates an epoch is an error, not a result.
func TestNotTrained(t *testing.T) {
	x := toyMat(t, "moons", 256, 1)
	res, err := train.Fit(context.Background(), bnFlow(t), x, x, train.Config{Epochs: 3, MaxTime: time.Nanosecond})
	if !errors.Is(err, train.ErrNotTrained) || !strings.Contains(err.Error(), "time limit") || res.BestEpoch != -1 {
		t.Fatalf("time limit 1ns: %v", err)
	}
	// Validation that is never finite: the poisoned layer NaNs every
	// evaluation-mode forward; training steps stay clean.
	base, _ := flow.NewLayer[float32](2, flow.LayerSpec{Type: "affine-coupling", Hidden: []int{8}}, rand.New(rand.NewPCG(1, 1)))
	poison := false
	f := flow.New[float32](2, flow.Layer[float32](nanLayer{base, &poison}))
	cfg := train.Config{Epochs: 3, Batch: 128, Seed: 1, OnStep: func(int, int, int, float64) { poison = false },
		OnEpoch: func(train.EpochStats) {}}
	cfg.OnStep = func(epoch, s, n int, loss float64) { poison = s == n-1 }
	_, err = train.Fit(context.Background(), f, x, x, cfg)
	if !errors.Is(err, train.ErrNotTrained) || !strings.Contains(err.Error(), "layer 0 (affine-coupling)") || !strings.Contains(err.Error(), "epoch 3") {
		t.Fatalf("never finite: %v", err)
	}
}

func TestStatsJSONKeepsNonFinite(t *testing.T) {
	in := train.Result{BestValNLL: math.Inf(1), BestEpoch: -1, Curve: []train.EpochStats{{Epoch: 1, ValNLL: math.NaN(), BestVal: math.Inf(1), TrainNLL: 0.1 + 0.2, LR: 1e-3}}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out train.Result
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	c := out.Curve[0]
	if !math.IsInf(out.BestValNLL, 1) || !math.IsNaN(c.ValNLL) || !math.IsInf(c.BestVal, 1) || c.TrainNLL != 0.1+0.2 || out.BestEpoch != -1 {
		t.Fatalf("round trip %s → %+v", b, out)
	}
}

func TestCurveCSVLeavesNonFiniteEmpty(t *testing.T) {
	p := filepath.Join(t.TempDir(), "curve.csv")
	if err := train.WriteCurveCSV(p, []train.EpochStats{{Epoch: 1, TrainNLL: 1, ValNLL: math.NaN(), BestVal: math.Inf(1)}}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if strings.Contains(string(b), "NaN") || strings.Contains(string(b), "Inf") || !strings.Contains(string(b), "1,1,,,0,0") {
		t.Fatalf("curve.csv:\n%s", b)
	}
}
