package model

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/autonf/autonf/data"
	"github.com/autonf/autonf/flow"
)

// fuzzSeedModel saves a small model and returns its two files.
func fuzzSeedModel(f testing.TB, arch string, dequant bool) (manifest, weights []byte) {
	cfg := DataConfig{Data: "toy:8gaussians", ToyRows: 300, Seed: 3}
	if dequant {
		cfg.Data = "toy:checkerboard"
	}
	prep, err := PrepareData(cfg)
	if err != nil {
		f.Fatal(err)
	}
	spec, err := flow.PresetSpec(arch, prep.Train.Cols)
	if err != nil {
		f.Fatal(err)
	}
	for i := range spec.Layers {
		if spec.Layers[i].Hidden != nil {
			spec.Layers[i].Hidden = []int{4}
		}
	}
	fl, err := flow.Build[float32](spec, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	if err := prep.Model(fl, 1).Save(dir); err != nil {
		f.Fatal(err)
	}
	manifest, _ = os.ReadFile(filepath.Join(dir, ManifestFile))
	weights, _ = os.ReadFile(filepath.Join(dir, WeightsFile))
	return manifest, weights
}

// FuzzDecode: a model.json and weights file, however broken, either load
// into a model that can evaluate and sample without a panic, or are
// refused with an error. (The fuzzer cannot forge the checksum, so
// mutations of the manifest are checked before it; mutations of the
// weights are refused by it.)
func FuzzDecode(f *testing.F) {
	for _, a := range []string{"maf5", "realnvp5", "nsf-c-8", "planar-3"} {
		m, w := fuzzSeedModel(f, a, a == "realnvp5")
		f.Add(m, w)
	}
	f.Fuzz(func(t *testing.T, mb, wb []byte) {
		m, err := decode(mb, func(string) ([]byte, error) { return wb, nil }, 1<<16)
		if err != nil {
			return
		}
		x := make([]float64, 3*m.Dim())
		for i := range x {
			x[i] = float64(i%5) - 2
		}
		tb, err := data.NewTable("fuzz", m.Columns, 3, m.Dim(), x)
		if err != nil {
			t.Fatal(err)
		}
		m.LogProb(tb, 1)
		Evaluate(m, tb, 1)
		if _, err := m.Sample(3, 1); err != nil {
			return
		}
	})
}
