package train_test

import (
	"context"
	"math"
	"testing"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/tensor"
	"github.com/autonf/autonf/train"
)

// TestFitBF16: bf16 training steps reach the float32 run's validation NLL
// (moons, 4 coupling layers), actually change the arithmetic, and leave the
// flow in float32; without AVX512-BF16, Config.BF16 is refused up front.
func TestFitBF16(t *testing.T) {
	trainX, valX := toyMat(t, "moons", 4000, 1), toyMat(t, "moons", 1000, 2)
	cfg := train.Config{Epochs: 15, Batch: 256, LR: 3e-3, Seed: 1, BF16: true}
	if !tensor.HasBF16() {
		if err := cfg.Validate(); err == nil {
			t.Fatal("Config.BF16 accepted on a CPU without AVX512-BF16")
		}
		return
	}
	f16 := realNVP(t, 2, 4, 1)
	r16, err := train.Fit(context.Background(), f16, trainX, valX, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.BF16 = false
	f32 := realNVP(t, 2, 4, 1)
	r32, err := train.Fit(context.Background(), f32, trainX, valX, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r16.BestValNLL == r32.BestValNLL {
		t.Fatal("bf16 and float32 runs are identical: BF16 had no effect")
	}
	if d := math.Abs(r16.BestValNLL - r32.BestValNLL); d > 0.1 {
		t.Fatalf("val NLL bf16 %.4f, float32 %.4f: differ by %.3f nats", r16.BestValNLL, r32.BestValNLL, d)
	}
	n := 0
	for _, l := range f16.Layers {
		if c, ok := l.(interface{ Conditioner() *flow.MLP[float32] }); ok {
			n++
			if c.Conditioner().BF16 {
				t.Fatal("a conditioner is still in bf16 after Fit")
			}
		}
	}
	if n != 4 {
		t.Fatalf("found %d conditioners, want 4", n)
	}
}
