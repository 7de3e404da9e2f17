package model_test

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/model"
)

func trainedModel(t *testing.T, arch string) (*model.Model, *model.Prepared) {
	t.Helper()
	prep, err := model.PrepareData(model.DataConfig{Data: "toy:8gaussians", ToyRows: 2000, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := flow.PresetSpec(arch, prep.Train.Cols)
	if err != nil {
		t.Fatal(err)
	}
	f, err := flow.Build[float32](spec, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	return prep.Model(f, 1), prep
}

func TestSaveLoadBitIdentical(t *testing.T) {
	for _, arch := range []string{"maf5", "realnvp5", "nsf-ar-8", "nsf-c-8", "planar-3"} {
		t.Run(arch, func(t *testing.T) {
			m, prep := trainedModel(t, arch)
			dir := t.TempDir()
			if err := m.Save(dir); err != nil {
				t.Fatal(err)
			}
			m2, err := model.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			a, err := m.LogProb(prep.TestTable, 5)
			if err != nil {
				t.Fatal(err)
			}
			b, err := m2.LogProb(prep.TestTable, 5)
			if err != nil {
				t.Fatal(err)
			}
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("row %d: log-density %v before save, %v after load", i, a[i], b[i])
				}
			}
			if !bytes.Equal(m.Flow.Spec().JSON(), m2.Flow.Spec().JSON()) {
				t.Fatal("spec changed through save/load")
			}
		})
	}
}

func TestLoadRejectsCorruption(t *testing.T) {
	m, _ := trainedModel(t, "realnvp5")
	cases := []struct {
		name   string
		mutate func(dir string)
		want   string
	}{
		{"weights changed", func(dir string) {
			p := filepath.Join(dir, model.WeightsFile)
			b, _ := os.ReadFile(p)
			b[len(b)-1] ^= 1
			os.WriteFile(p, b, 0o644)
		}, "checksum mismatch"},
		{"weights missing", func(dir string) { os.Remove(filepath.Join(dir, model.WeightsFile)) }, "no such file"},
		{"manifest not json", func(dir string) { os.WriteFile(filepath.Join(dir, model.ManifestFile), []byte("{"), 0o644) }, "not valid JSON"},
		{"wrong format", func(dir string) {
			p := filepath.Join(dir, model.ManifestFile)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(b, []byte(model.Format), []byte("autonf.model/v9"), 1), 0o644)
		}, "not supported"},
		{"path escape", func(dir string) {
			p := filepath.Join(dir, model.ManifestFile)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(b, []byte(`"file": "weights.safetensors"`), []byte(`"file": "../x"`), 1), 0o644)
		}, "invalid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := m.Save(dir); err != nil {
				t.Fatal(err)
			}
			c.mutate(dir)
			_, err := model.Load(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
	if _, err := model.Load(filepath.Join(t.TempDir(), "none")); err == nil || !strings.Contains(err.Error(), "autonf train") {
		t.Fatalf("missing model: %v", err)
	}
}

func TestSafetensorsRoundTripAndErrors(t *testing.T) {
	ts := []model.Tensor{{Name: "a", Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}}, {Name: "b", Shape: []int{1}, Data: []float32{-7}}}
	var buf bytes.Buffer
	if err := model.WriteSafetensors(&buf, ts, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	got, meta, err := model.ReadSafetensors(buf.Bytes())
	if err != nil || meta["k"] != "v" || len(got) != 2 || got["a"].Data[5] != 6 || got["b"].Data[0] != -7 {
		t.Fatalf("round trip: %v %v %v", got, meta, err)
	}
	b := buf.Bytes()
	bad := []struct {
		name string
		b    []byte
		want string
	}{
		{"short", b[:4], "too short"},
		{"huge header", append([]byte{255, 255, 255, 255, 0, 0, 0, 0}, b[8:]...), "header length"},
		{"truncated data", b[:len(b)-4], "offsets"},
		{"trailing", append(append([]byte{}, b...), 1, 2, 3, 4), "trailing"},
	}
	for _, c := range bad {
		if _, _, err := model.ReadSafetensors(c.b); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}

func TestSampleKeepsDroppedConstantColumns(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "d.csv")
	var sb strings.Builder
	sb.WriteString("a,const,b\n")
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 300; i++ {
		sb.WriteString(strings.Join([]string{ftoa(rng.NormFloat64()), "7", ftoa(rng.NormFloat64())}, ",") + "\n")
	}
	os.WriteFile(p, []byte(sb.String()), 0o644)
	prep, err := model.PrepareData(model.DataConfig{Data: p, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(prep.Warnings) == 0 || !strings.Contains(strings.Join(prep.Warnings, ";"), `"const"`) {
		t.Fatalf("no warning naming the constant column: %v", prep.Warnings)
	}
	spec, _ := flow.PresetSpec("realnvp5", prep.Train.Cols)
	f, _ := flow.Build[float32](spec, rand.New(rand.NewPCG(1, 1)))
	m := prep.Model(f, 1)
	s, err := m.Sample(10, 1)
	if err != nil {
		t.Fatal(err)
	}
	if s.Cols != 3 || s.Columns[1] != "const" || s.Row(3)[1] != 7 {
		t.Fatalf("samples %v × %v, const column %v", s.Rows, s.Columns, s.Row(3))
	}
	_, err = model.PrepareData(model.DataConfig{Data: p, Seed: 1, Constant: "refuse"})
	if err == nil || !strings.Contains(err.Error(), `"const"`) {
		t.Fatalf("refuse: %v", err)
	}
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// TestBatchNormStateIsSaved: BatchNorm's running averages are part of the
// model; a loaded model gives the same densities.
func TestBatchNormStateIsSaved(t *testing.T) {
	prep, err := model.PrepareData(model.DataConfig{Data: "toy:moons", ToyRows: 1000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	spec := &flow.Spec{Dim: 2, Layers: []flow.LayerSpec{{Type: "affine-coupling", Hidden: []int{8}}, {Type: "batchnorm"}, {Type: "affine-coupling", Hidden: []int{8}, Mask: "odd"}}}
	f, err := flow.Build[float32](spec, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	f.SetTraining(true)
	for i := 0; i < 5; i++ { // training-mode passes move the running averages
		f.ZeroGrad()
		if _, err := f.NLLGrad(prep.Train); err != nil {
			t.Fatal(err)
		}
	}
	f.SetTraining(false)
	if len(f.Buffers()) != 2 || f.Buffers()[0].Value[0] == 0 {
		t.Fatalf("buffers %v", f.Buffers())
	}
	m := prep.Model(f, 1)
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	m2, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := m.LogProb(prep.TestTable, 1)
	b, _ := m2.LogProb(prep.TestTable, 1)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("row %d: %v before save, %v after load", i, a[i], b[i])
		}
	}
}
