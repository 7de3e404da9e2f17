package train_test

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/tensor"
	"github.com/autonf/autonf/train"
)

func fuzzFlow() *flow.Flow[float32] {
	spec := &flow.Spec{Dim: 2, Layers: []flow.LayerSpec{{Type: "affine-coupling", Hidden: []int{3}}, {Type: "batchnorm"}}}
	f, _ := flow.Build[float32](spec, rand.New(rand.NewPCG(1, 1)))
	return f
}

func fuzzData() *tensor.Mat[float32] {
	x := tensor.New[float32](20, 2)
	rng := rand.New(rand.NewPCG(2, 2))
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	return x
}

// FuzzDecodeCheckpoint: any pair of files decodes to a state or fails;
// a decoded state either resumes training or is refused, never a panic.
func FuzzDecodeCheckpoint(f *testing.F) {
	x := fuzzData()
	for _, stopAt := range []int{1, 3} {
		dir := f.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		steps := 0
		cfg := train.Config{Epochs: 2, Batch: 8, Seed: 1, OnStep: func(int, int, int, float64) {
			if steps++; steps == stopAt {
				cancel()
			}
		}, Checkpoint: func(st *train.State) error { return train.SaveCheckpoint(dir, st, nil) }}
		train.Fit(ctx, fuzzFlow(), x, x, cfg)
		sj, _ := os.ReadFile(filepath.Join(dir, train.StateFile))
		names, _ := filepath.Glob(filepath.Join(dir, "tensors-*"))
		if len(names) != 1 {
			f.Fatalf("checkpoint files: %v", names)
		}
		tb, _ := os.ReadFile(names[0])
		f.Add(sj, tb)
	}
	f.Fuzz(func(t *testing.T, sj, tb []byte) {
		st, err := train.DecodeCheckpoint(sj, tb)
		if err != nil {
			return
		}
		train.Fit(context.Background(), fuzzFlow(), x, x, train.Config{Epochs: 2, Batch: 8, Seed: 1, Resume: st})
	})
}
