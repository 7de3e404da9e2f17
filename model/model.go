package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/autonf/autonf/data"
	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/tensor"
)

// Version is autonf's version, recorded in every model.
const Version = "0.1.0"

// Format is the model.json format tag.
const Format = "autonf.model/v1"

// File names inside a model directory.
const (
	ManifestFile = "model.json"
	WeightsFile  = "weights.safetensors"
)

// Model is a flow plus the preprocessing that maps user rows to its input.
type Model struct {
	Flow         *flow.Flow[float32]
	Columns      []string           // the columns the model reads, in the user's file order
	Standardizer *data.Standardizer // fitted on the training split
	Dequantizer  *data.Dequantizer  // nil or empty: no dequantisation
	// Constants holds the value of each constant column that the
	// standardizer dropped, so samples can be written with every column.
	Constants map[string]float64
	Meta      Meta
}

// Meta records how the model was made.
type Meta struct {
	Created  time.Time         `json:"created"`
	Version  string            `json:"autonf_version"`
	Data     map[string]string `json:"data,omitempty"` // role → file
	Rows     map[string]int    `json:"rows,omitempty"` // role → rows
	Seed     uint64            `json:"seed"`
	Training json.RawMessage   `json:"training,omitempty"` // train.Result summary and config
	Notes    []string          `json:"notes,omitempty"`
}

type weightsRef struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
}

type manifest struct {
	Format       string             `json:"format"`
	Arch         *flow.Spec         `json:"arch"`
	Columns      []string           `json:"columns"`
	Standardizer *data.Standardizer `json:"standardizer"`
	Dequantizer  *data.Dequantizer  `json:"dequantizer,omitempty"`
	Constants    map[string]float64 `json:"constants,omitempty"`
	Weights      weightsRef         `json:"weights"`
	Meta         Meta               `json:"meta"`
}

// Save writes the model directory (created if needed). The weights are
// written first and model.json last, each via a temporary file and rename,
// so a crash never leaves a manifest pointing at partial weights.
func (m *Model) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	var tensors []Tensor
	for _, p := range append(m.Flow.Params(), m.Flow.Buffers()...) {
		tensors = append(tensors, Tensor{Name: p.Name, Shape: p.Shape, Data: p.Value})
	}
	var wb bytes.Buffer
	if err := WriteSafetensors(&wb, tensors, map[string]string{"format": Format}); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	sum := sha256.Sum256(wb.Bytes())
	if err := writeAtomic(filepath.Join(dir, WeightsFile), wb.Bytes()); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	man := manifest{
		Format: Format, Arch: m.Flow.Spec(), Columns: m.Columns,
		Standardizer: m.Standardizer, Dequantizer: m.Dequantizer, Constants: m.Constants,
		Weights: weightsRef{File: WeightsFile, SHA256: hex.EncodeToString(sum[:])},
		Meta:    m.Meta,
	}
	mb, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	return writeAtomic(filepath.Join(dir, ManifestFile), append(mb, '\n'))
}

func writeAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Load reads a model directory (or the path of its model.json), verifying
// the format, the weights' checksum and that every parameter is present
// with the right shape.
func Load(path string) (*Model, error) {
	dir := path
	if st, err := os.Stat(path); err == nil && !st.IsDir() {
		dir = filepath.Dir(path)
	}
	mb, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w (a model is a directory written by autonf train)", path, err)
	}
	var man manifest
	if err := json.Unmarshal(mb, &man); err != nil {
		return nil, fmt.Errorf("load model %s: %s is not valid JSON: %w", path, ManifestFile, err)
	}
	if man.Format != Format {
		return nil, fmt.Errorf("load model %s: format %q is not supported (want %q)", path, man.Format, Format)
	}
	if man.Arch == nil || man.Standardizer == nil {
		return nil, fmt.Errorf("load model %s: %s lacks the arch or standardizer section", path, ManifestFile)
	}
	wname := man.Weights.File
	if wname == "" || filepath.Base(wname) != wname {
		return nil, fmt.Errorf("load model %s: weights file name %q is invalid", path, wname)
	}
	wb, err := os.ReadFile(filepath.Join(dir, wname))
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", path, err)
	}
	sum := sha256.Sum256(wb)
	if got := hex.EncodeToString(sum[:]); got != man.Weights.SHA256 {
		return nil, fmt.Errorf("load model %s: %s checksum mismatch (file %s…, manifest %.12s…): the weights are corrupt or were changed", path, wname, got[:12], man.Weights.SHA256)
	}
	tensors, _, err := ReadSafetensors(wb)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", path, err)
	}
	f, err := flow.Build[float32](man.Arch, nil)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", path, err)
	}
	params := append(f.Params(), f.Buffers()...)
	if len(params) != len(tensors) {
		return nil, fmt.Errorf("load model %s: weights hold %d tensors, the architecture has %d parameters and buffers", path, len(tensors), len(params))
	}
	for _, p := range params {
		t, ok := tensors[p.Name]
		if !ok {
			return nil, fmt.Errorf("load model %s: weights lack tensor %q", path, p.Name)
		}
		if len(t.Data) != len(p.Value) {
			return nil, fmt.Errorf("load model %s: tensor %q has %d values, the architecture needs %d", path, p.Name, len(t.Data), len(p.Value))
		}
		copy(p.Value, t.Data)
	}
	if man.Arch.Dim != len(man.Standardizer.Keep) {
		return nil, fmt.Errorf("load model %s: arch dim %d but the standardizer keeps %d columns", path, man.Arch.Dim, len(man.Standardizer.Keep))
	}
	f.SetTraining(false)
	return &Model{Flow: f, Columns: man.Columns, Standardizer: man.Standardizer, Dequantizer: man.Dequantizer, Constants: man.Constants, Meta: man.Meta}, nil
}

// Dim is the number of columns the model reads from the user's data.
func (m *Model) Dim() int { return len(m.Columns) }

// Prepare maps user rows to the flow's input: column check, dequantisation
// (noise from seed), standardisation. It returns float32 rows.
func (m *Model) Prepare(t *data.Table, seed uint64) (*tensor.Mat[float32], error) {
	if t.Cols != len(m.Columns) {
		return nil, fmt.Errorf("%s has %d columns but the model was trained on %d (%s); pick them with --columns", t.Source, t.Cols, len(m.Columns), short(m.Columns))
	}
	if err := t.CheckFinite(); err != nil {
		return nil, err
	}
	if m.Dequantizer != nil && len(m.Dequantizer.Columns) > 0 {
		t = m.Dequantizer.Apply(t, rand.New(rand.NewPCG(seed, 0xde9)))
	}
	s, err := m.Standardizer.Apply(t)
	if err != nil {
		return nil, err
	}
	return tensor.FromSlice(s.Rows, s.Cols, s.Float32()), nil
}

// LogProb returns log p(x) of each row in the units of the user's file (the
// standardisation's log-Jacobian included). With dequantisation it is the
// density of the dequantised rows, noise drawn from seed.
func (m *Model) LogProb(t *data.Table, seed uint64) ([]float64, error) {
	x, err := m.Prepare(t, seed)
	if err != nil {
		return nil, err
	}
	lp := make([]float32, x.Rows)
	if err := m.Flow.LogProb(x, lp); err != nil {
		return nil, fmt.Errorf("%s: %w", t.Source, err)
	}
	out := make([]float64, len(lp))
	c := m.Standardizer.LogDet()
	for i, v := range lp {
		out[i] = float64(v) + c
	}
	return out, nil
}

// Sample draws n rows in user units. Constant columns dropped at training
// are filled with their constant value so the output has the model's
// columns.
func (m *Model) Sample(n int, seed uint64) *data.Table {
	x := m.Flow.Sample(n, seed)
	y := make([]float64, x.Rows*x.Cols)
	for i, v := range x.Data[:x.Rows*x.Cols] {
		y[i] = float64(v)
	}
	kept := m.Standardizer.Invert(x.Rows, x.Cols, y)
	D := len(m.Columns)
	out := make([]float64, n*D)
	keep := m.Standardizer.Keep
	for i := 0; i < n; i++ {
		row := out[i*D : (i+1)*D]
		for k, j := range keep {
			row[j] = kept[i*len(keep)+k]
		}
	}
	for j, name := range m.Columns {
		if v, ok := m.Constants[name]; ok && !slices.Contains(keep, j) {
			for i := 0; i < n; i++ {
				out[i*D+j] = v
			}
		}
	}
	t, _ := data.NewTable("samples", m.Columns, n, D, out)
	return t
}

func short(cols []string) string {
	if len(cols) <= 6 {
		return fmt.Sprint(cols)
	}
	return fmt.Sprintf("%v … %v", cols[:3], cols[len(cols)-2:])
}
