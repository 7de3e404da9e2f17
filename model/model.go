package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/autonf/autonf/data"
	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/internal/fsio"
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
// written first and model.json last, each to an exclusive temporary file
// that is fsynced and renamed (internal/fsio), so a crash never leaves a
// manifest pointing at partial weights and a planted symlink is never
// followed. Save refuses to write non-finite weights. Whether an existing
// model may be replaced is the caller's decision (see fsio.CheckDir).
func (m *Model) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	var tensors []Tensor
	for _, p := range append(m.Flow.Params(), m.Flow.Buffers()...) {
		if i := firstNonFinite(p.Value); i >= 0 {
			return fmt.Errorf("save model: parameter %q holds %v at index %d; refusing to save a broken model", p.Name, p.Value[i], i)
		}
		tensors = append(tensors, Tensor{Name: p.Name, Shape: p.Shape, Data: p.Value})
	}
	var wb bytes.Buffer
	if err := WriteSafetensors(&wb, tensors, map[string]string{"format": Format}); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	sum := sha256.Sum256(wb.Bytes())
	if err := fsio.WriteFile(filepath.Join(dir, WeightsFile), wb.Bytes()); err != nil {
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
	if err := fsio.WriteFile(filepath.Join(dir, ManifestFile), append(mb, '\n')); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	return nil
}

func firstNonFinite(v []float32) int {
	for i, x := range v {
		if x != x || x > math.MaxFloat32 || x < -math.MaxFloat32 {
			return i
		}
	}
	return -1
}

// Load reads a model directory (or the path of its model.json). Before
// building anything it reads both files with size limits and cross-checks
// every field of model.json against the others and against the
// architecture (see CheckSpec and the Max* limits); then it verifies the
// weights' checksum, that every parameter is present with the right shape,
// and that every weight is finite.
func Load(path string) (*Model, error) {
	m, err := load(path)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", path, err)
	}
	return m, nil
}

// Files returns the paths of the files of the model directory dir (or of
// the model whose model.json is dir), for checking that an output does not
// overwrite them.
func Files(path string) []string {
	dir := path
	if st, err := os.Stat(path); err == nil && !st.IsDir() {
		dir = filepath.Dir(path)
	}
	var out []string
	for _, n := range []string{ManifestFile, WeightsFile, "curve.csv", "curve.png", "train.log"} {
		out = append(out, filepath.Join(dir, n))
	}
	return out
}

func load(path string) (*Model, error) {
	dir := path
	if st, err := os.Stat(path); err == nil && !st.IsDir() {
		dir = filepath.Dir(path)
	}
	mb, err := fsio.ReadFile(filepath.Join(dir, ManifestFile), MaxModelJSON)
	if err != nil {
		return nil, fmt.Errorf("%w (a model is a directory written by autonf train)", err)
	}
	return decode(mb, func(name string) ([]byte, error) {
		return fsio.ReadFile(filepath.Join(dir, name), MaxWeightsFile)
	}, MaxParams)
}

// decode builds a model from the bytes of model.json and a reader of the
// weights file it names, refusing architectures above maxParams.
func decode(mb []byte, readWeights func(name string) ([]byte, error), maxParams int) (*Model, error) {
	var man manifest
	if err := json.Unmarshal(mb, &man); err != nil {
		return nil, fmt.Errorf("%s is not valid JSON: %w", ManifestFile, err)
	}
	if man.Format != Format {
		return nil, fmt.Errorf("format %q is not supported (want %q)", man.Format, Format)
	}
	if man.Arch != nil {
		if err := CheckSpecParams(man.Arch, maxParams); err != nil {
			return nil, fmt.Errorf("%s: %w", ManifestFile, err)
		}
	}
	if err := checkManifest(&man); err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestFile, err)
	}
	wname := man.Weights.File
	if wname == "" || filepath.Base(wname) != wname || wname == "." || wname == ".." {
		return nil, fmt.Errorf("weights file name %q is invalid", wname)
	}
	wb, err := readWeights(wname)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(wb)
	if got := hex.EncodeToString(sum[:]); got != man.Weights.SHA256 {
		return nil, fmt.Errorf("%s checksum mismatch (file %s…, manifest %.12s…): the weights are corrupt or were changed", wname, got[:12], man.Weights.SHA256)
	}
	tensors, _, err := ReadSafetensors(wb)
	if err != nil {
		return nil, err
	}
	f, err := flow.Build[float32](man.Arch, nil)
	if err != nil {
		return nil, err
	}
	params := append(f.Params(), f.Buffers()...)
	if len(params) != len(tensors) {
		return nil, fmt.Errorf("weights hold %d tensors, the architecture has %d parameters and buffers", len(tensors), len(params))
	}
	for _, p := range params {
		t, ok := tensors[p.Name]
		if !ok {
			return nil, fmt.Errorf("weights lack tensor %q", p.Name)
		}
		if len(t.Data) != len(p.Value) || (len(p.Shape) > 0 && !slices.Equal(t.Shape, p.Shape)) {
			return nil, fmt.Errorf("tensor %q has shape %v, the architecture needs %v", p.Name, t.Shape, p.Shape)
		}
		if i := firstNonFinite(t.Data); i >= 0 {
			return nil, fmt.Errorf("tensor %q holds %v at index %d: the weights are broken (refusing to use them)", p.Name, t.Data[i], i)
		}
		copy(p.Value, t.Data)
	}
	f.SetTraining(false)
	return &Model{Flow: f, Columns: man.Columns, Standardizer: man.Standardizer, Dequantizer: man.Dequantizer, Constants: man.Constants, Meta: man.Meta}, nil
}

// Dim is the number of columns the model reads from the user's data.
func (m *Model) Dim() int { return len(m.Columns) }

// Prepare maps user rows to the flow's input: column check, dequantisation
// (noise from seed), standardisation. It returns float32 rows.
func (m *Model) Prepare(t *data.Table, seed uint64) (*tensor.Mat[float32], error) {
	if err := m.check(t); err != nil {
		return nil, err
	}
	return m.prepare(t, rand.New(rand.NewPCG(seed, 0xde9)))
}

func (m *Model) check(t *data.Table) error {
	if t.Cols != len(m.Columns) {
		return fmt.Errorf("%s has %d columns but the model was trained on %d (%s); pick them with --columns", t.Source, t.Cols, len(m.Columns), short(m.Columns))
	}
	return t.CheckFinite()
}

// prepare dequantises (noise from rng, drawn row by row, so chunks drawn in
// order get the noise of the whole table) and standardises t.
func (m *Model) prepare(t *data.Table, rng *rand.Rand) (*tensor.Mat[float32], error) {
	if m.Dequantizer != nil && len(m.Dequantizer.Columns) > 0 {
		t = m.Dequantizer.Apply(t, rng)
	}
	s, err := m.Standardizer.Apply(t)
	if err != nil {
		return nil, err
	}
	return tensor.FromSlice(s.Rows, s.Cols, s.Float32()), nil
}

// logProbChunk is the number of rows LogProb prepares at a time, so that
// its memory beyond the input and the output stays bounded.
const logProbChunk = 1 << 15

// LogProb returns log p(x) of each row in the units of the user's file (the
// standardisation's log-Jacobian included). With dequantisation it is the
// density of the dequantised rows, noise drawn from seed. Rows are
// processed in chunks (memory beyond the input and the output is bounded;
// the result does not depend on the chunking). A row whose log-density is
// not finite (NaN, or an overflow far outside the training range) is an
// error naming the row and the layer.
func (m *Model) LogProb(t *data.Table, seed uint64) ([]float64, error) {
	if err := m.check(t); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0xde9))
	out := make([]float64, t.Rows)
	lp := make([]float32, min(t.Rows, logProbChunk))
	c := m.Standardizer.LogDet()
	for lo := 0; lo < t.Rows; lo += logProbChunk {
		hi := min(lo+logProbChunk, t.Rows)
		part := &data.Table{Columns: t.Columns, Rows: hi - lo, Cols: t.Cols, Data: t.Data[lo*t.Cols : hi*t.Cols], Source: t.Source}
		x, err := m.prepare(part, rng)
		if err != nil {
			return nil, err
		}
		buf := lp[:hi-lo]
		if err := m.Flow.LogProb(x, buf); err != nil {
			if i := firstNonFinite(buf); i >= 0 {
				return nil, fmt.Errorf("%s row %d: log-density %v (%w); the row may lie far outside the training data", t.Source, lo+i, buf[i], err)
			}
			return nil, fmt.Errorf("%s: %w", t.Source, err)
		}
		for i, v := range buf {
			out[lo+i] = float64(v) + c
		}
	}
	return out, nil
}

// SampleChunk is the number of rows Sample and SampleChunks draw at a
// time: memory stays bounded whatever n is, and the rows drawn for a seed
// do not depend on n (the first n rows of a larger draw are the same).
const SampleChunk = 1 << 15

// chunkSeed derives the seed of chunk k (chunk 0 uses seed itself).
func chunkSeed(seed uint64, k int) uint64 {
	if k == 0 {
		return seed
	}
	z := seed + uint64(k)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// SampleChunks draws n rows in user units, SampleChunk rows at a time, and
// passes each chunk to fn (which must not keep it). Constant columns
// dropped at training are filled with their value so each chunk has the
// model's columns. A non-finite sample is an error naming the row.
func (m *Model) SampleChunks(n int, seed uint64, fn func(*data.Table) error) error {
	if n < 0 {
		return fmt.Errorf("sample: negative row count %d", n)
	}
	D := len(m.Columns)
	keep := m.Standardizer.Keep
	for k, lo := 0, 0; lo < n; k, lo = k+1, lo+SampleChunk {
		c := min(SampleChunk, n-lo)
		x := m.Flow.Sample(c, chunkSeed(seed, k))
		y := make([]float64, x.Rows*x.Cols)
		for i, v := range x.Data[:x.Rows*x.Cols] {
			y[i] = float64(v)
		}
		kept := m.Standardizer.Invert(x.Rows, x.Cols, y)
		out := make([]float64, c*D)
		for i := 0; i < c; i++ {
			row := out[i*D : (i+1)*D]
			for kk, j := range keep {
				row[j] = kept[i*len(keep)+kk]
			}
		}
		for j, name := range m.Columns {
			if v, ok := m.Constants[name]; ok && !slices.Contains(keep, j) {
				for i := 0; i < c; i++ {
					out[i*D+j] = v
				}
			}
		}
		t, err := data.NewTable("samples", m.Columns, c, D, out)
		if err != nil {
			return err
		}
		if err := t.CheckFinite(); err != nil {
			var de *data.Error
			if errors.As(err, &de) {
				return fmt.Errorf("sample row %d, column %q: %v is not finite; the model is broken or numerically unstable", lo+de.Row, de.Column, t.Data[(de.Row)*D+de.Index])
			}
			return err
		}
		if err := fn(t); err != nil {
			return err
		}
	}
	return nil
}

// Sample draws n rows in user units (see SampleChunks) into one table.
func (m *Model) Sample(n int, seed uint64) (*data.Table, error) {
	out := make([]float64, 0, n*len(m.Columns))
	err := m.SampleChunks(n, seed, func(t *data.Table) error {
		out = append(out, t.Data...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return data.NewTable("samples", m.Columns, n, len(m.Columns), out)
}

func short(cols []string) string {
	if len(cols) <= 6 {
		return fmt.Sprint(cols)
	}
	return fmt.Sprintf("%v … %v", cols[:3], cols[len(cols)-2:])
}
