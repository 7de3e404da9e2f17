package model_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/autonf/autonf/data"
	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/model"
)

// editManifest applies edit to the decoded model.json of dir.
func editManifest(t *testing.T, dir string, edit func(m map[string]any)) {
	t.Helper()
	p := filepath.Join(dir, model.ManifestFile)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, _ = json.Marshal(m)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// editWeights rewrites the weights with edit applied and updates the
// checksum, as a careful attacker would.
func editWeights(t *testing.T, dir string, edit func(ts map[string]model.Tensor)) {
	t.Helper()
	p := filepath.Join(dir, model.WeightsFile)
	b, _ := os.ReadFile(p)
	ts, meta, err := model.ReadSafetensors(b)
	if err != nil {
		t.Fatal(err)
	}
	edit(ts)
	var list []model.Tensor
	for _, v := range ts {
		list = append(list, v)
	}
	f, _ := os.Create(p)
	if err := model.WriteSafetensors(f, list, meta); err != nil {
		t.Fatal(err)
	}
	f.Close()
	nb, _ := os.ReadFile(p)
	sum := sha256.Sum256(nb)
	editManifest(t, dir, func(m map[string]any) {
		m["weights"].(map[string]any)["sha256"] = hex.EncodeToString(sum[:])
	})
}

func std(m map[string]any) map[string]any  { return m["standardizer"].(map[string]any) }
func arch(m map[string]any) map[string]any { return m["arch"].(map[string]any) }
func layer(m map[string]any, i int) map[string]any {
	return arch(m)["layers"].([]any)[i].(map[string]any)
}

// Every field of model.json is cross-checked before anything is built.
func TestLoadCrossChecks(t *testing.T) {
	m, _ := trainedModel(t, "maf5")
	src := t.TempDir()
	if err := m.Save(src); err != nil {
		t.Fatal(err)
	}
	mafIdx := -1
	for i, l := range m.Flow.Spec().Layers {
		if l.Type == "maf" {
			mafIdx = i
			break
		}
	}
	cases := []struct {
		name     string
		manifest func(m map[string]any)
		weights  func(ts map[string]model.Tensor)
		want     string
	}{
		{"hidden 1e9", func(m map[string]any) { layer(m, mafIdx)["hidden"] = []any{1e9, 8} }, nil, "hidden width 1000000000"},
		{"dim 2^32", func(m map[string]any) { arch(m)["dim"] = float64(1 << 32) }, nil, "dim 4294967296 is above the limit"},
		{"many layers", func(m map[string]any) {
			var ls []any
			for len(ls) < model.MaxLayers+2 {
				ls = append(ls, map[string]any{"type": "reverse"})
			}
			arch(m)["layers"] = ls
		}, nil, "more than 4096 layers"},
		{"too many params", func(m map[string]any) { layer(m, mafIdx)["hidden"] = []any{16384, 16384, 16384} }, nil, "more than 134217728 parameters"},
		{"deep hidden", func(m map[string]any) {
			h := make([]any, 100)
			for i := range h {
				h[i] = 2.0
			}
			layer(m, mafIdx)["hidden"] = h
		}, nil, "100 hidden layers"},
		{"negative bins", func(m map[string]any) { layer(m, mafIdx)["bins"] = -3.0 }, nil, "bins -3"},
		{"std length", func(m map[string]any) { std(m)["std"] = []any{1.0} }, nil, "keeps 2 columns but has 2 means, 1 stds"},
		{"mean length", func(m map[string]any) { std(m)["mean"] = []any{1.0, 2.0, 3.0} }, nil, "3 means"},
		{"negative std", func(m map[string]any) { std(m)["std"] = []any{-1.0, 1.0} }, nil, "std of column \"c0\" is -1"},
		{"zero std", func(m map[string]any) { std(m)["std"] = []any{0.0, 1.0} }, nil, "must be finite and > 0"},
		{"keep out of range", func(m map[string]any) { std(m)["keep"] = []any{0.0, 7.0} }, nil, "not an increasing list"},
		{"keep repeated", func(m map[string]any) { std(m)["keep"] = []any{1.0, 1.0} }, nil, "not an increasing list"},
		{"num_cols", func(m map[string]any) { std(m)["num_cols"] = 5.0 }, nil, "fitted on 5 columns but the model has 2"},
		{"columns duplicated", func(m map[string]any) { m["columns"] = []any{"c0", "c0"} }, nil, `column "c0" appears twice`},
		{"columns missing", func(m map[string]any) { m["columns"] = []any{} }, nil, "0 columns"},
		{"arch dim vs keep", func(m map[string]any) { arch(m)["dim"] = 3.0 }, nil, "arch dim 3"},
		{"dequantizer lengths", func(m map[string]any) {
			m["dequantizer"] = map[string]any{"num_cols": 2.0, "columns": []any{0.0}, "steps": []any{}}
		}, nil, "dequantizer has 1 columns but 0 steps"},
		{"dequantizer column", func(m map[string]any) {
			m["dequantizer"] = map[string]any{"num_cols": 2.0, "columns": []any{9.0}, "steps": []any{1.0}}
		}, nil, "dequantizer columns [9]"},
		{"dequantizer step", func(m map[string]any) {
			m["dequantizer"] = map[string]any{"num_cols": 2.0, "columns": []any{0.0}, "steps": []any{-1.0}}
		}, nil, "dequantizer step"},
		{"constant of a kept column", func(m map[string]any) { m["constants"] = map[string]any{"c0": 1.0} }, nil, "not a dropped column"},
		{"unknown layer", func(m map[string]any) { layer(m, 0)["type"] = "wormhole" }, nil, `"wormhole" is unknown`},
		{"NaN weight with valid checksum", nil, func(ts map[string]model.Tensor) {
			for _, v := range ts {
				v.Data[0] = float32(math.NaN())
				return
			}
		}, "holds NaN"},
		{"Inf weight with valid checksum", nil, func(ts map[string]model.Tensor) {
			for _, v := range ts {
				v.Data[len(v.Data)-1] = float32(math.Inf(-1))
				return
			}
		}, "holds -Inf"},
		{"tensor shape", nil, func(ts map[string]model.Tensor) {
			for k, v := range ts {
				if len(v.Shape) == 2 && v.Shape[0] != v.Shape[1] {
					v.Shape = []int{v.Shape[1], v.Shape[0]}
					ts[k] = v
					return
				}
			}
		}, "has shape"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, n := range []string{model.ManifestFile, model.WeightsFile} {
				b, _ := os.ReadFile(filepath.Join(src, n))
				os.WriteFile(filepath.Join(dir, n), b, 0o644)
			}
			if c.manifest != nil {
				editManifest(t, dir, c.manifest)
			}
			if c.weights != nil {
				editWeights(t, dir, c.weights)
			}
			_, err := model.Load(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestLoadSizeLimits(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink("/dev/zero", filepath.Join(dir, model.ManifestFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := model.Load(dir); err == nil || !strings.Contains(err.Error(), "larger than 64 MiB") {
		t.Fatalf("/dev/zero manifest: %v", err)
	}
}

func TestSaveRefusesNonFinite(t *testing.T) {
	m, _ := trainedModel(t, "realnvp5")
	m.Flow.Params()[0].Value[0] = float32(math.NaN())
	dir := t.TempDir()
	if err := m.Save(dir); err == nil || !strings.Contains(err.Error(), "refusing to save") {
		t.Fatalf("save with NaN: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("files left: %v", ents)
	}
}

// Chunked sampling: the first rows of a larger draw equal a smaller draw.
func TestSampleChunksPrefix(t *testing.T) {
	m, _ := trainedModel(t, "realnvp5")
	n := model.SampleChunk + 10
	big, err := m.Sample(n, 4)
	if err != nil {
		t.Fatal(err)
	}
	small, err := m.Sample(5, 4)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range small.Data {
		if big.Data[i] != v {
			t.Fatalf("value %d: %v in the large draw, %v in the small one", i, big.Data[i], v)
		}
	}
	// The second chunk is not a copy of the first.
	if big.Row(model.SampleChunk)[0] == big.Row(0)[0] {
		t.Fatal("second chunk repeats the first")
	}
	var sizes []int
	if err := m.SampleChunks(n, 4, func(tb *data.Table) error { sizes = append(sizes, tb.Rows); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(sizes) != 2 || sizes[0] != model.SampleChunk || sizes[1] != 10 {
		t.Fatalf("chunk sizes %v", sizes)
	}
}

func TestCheckSpecPresets(t *testing.T) {
	for _, p := range flow.Presets() {
		s, err := flow.PresetSpec(p.Name, 43)
		if err != nil {
			continue
		}
		if err := model.CheckSpec(s); err != nil {
			t.Errorf("preset %s at D=43 refused: %v", p.Name, err)
		}
	}
}

// LogProb in chunks equals one pass over the whole table, dequantisation
// noise included.
func TestLogProbChunkedEqualsWhole(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "ints.csv")
	var sb strings.Builder
	sb.WriteString("a,b\n")
	for i := 0; i < 500; i++ {
		fmt.Fprintf(&sb, "%d,%d\n", i%17, (i*7)%11)
	}
	os.WriteFile(p, []byte(sb.String()), 0o644)
	prep, err := model.PrepareData(model.DataConfig{Data: p, Seed: 1})
	if err != nil || prep.Dequantizer == nil {
		t.Fatalf("%v %v", prep, err)
	}
	spec, _ := flow.PresetSpec("realnvp5", 2)
	f, _ := flow.Build[float32](spec, rand.New(rand.NewPCG(1, 1)))
	m := prep.Model(f, 1)
	n := model.SampleChunk + 1000
	x := make([]float64, 2*n)
	for i := range x {
		x[i] = float64(i % 9)
	}
	tb, _ := data.NewTable("big", m.Columns, n, 2, x)
	got, err := m.LogProb(tb, 7)
	if err != nil {
		t.Fatal(err)
	}
	xs, err := m.Prepare(tb, 7)
	if err != nil {
		t.Fatal(err)
	}
	lp := make([]float32, n)
	if err := m.Flow.LogProb(xs, lp); err != nil {
		t.Fatal(err)
	}
	c := m.Standardizer.LogDet()
	for i := range lp {
		if got[i] != float64(lp[i])+c {
			t.Fatalf("row %d: chunked %v, whole %v", i, got[i], float64(lp[i])+c)
		}
	}
}
