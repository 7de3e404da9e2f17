package pipeline

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/autonf/autonf/internal/fsio"
	"github.com/autonf/autonf/model"
	"github.com/autonf/autonf/search/strategy"
	"github.com/autonf/autonf/tensor"
)

// A checkpoint is a directory: state.json (the strategy's position: phase
// and step; choices, logits, the α optimiser's state, the stopping rule's
// counters; and the fingerprint of the data and options it was made with)
// and a params-<id>.safetensors file (every candidate's parameters and the
// θ optimiser's moments) that state.json names. The pipeline writes one
// every Search.CheckpointEvery steps, after each finished phase and on
// interrupt; Resume restarts at the step where the search stopped and
// refuses a checkpoint whose fingerprint differs, naming the difference.
//
// Both files are written to temporary names and renamed; the tensors go to
// a new file first and the rename of state.json commits the checkpoint, so
// a kill at any moment leaves a consistent pair (the previous or the new
// one). Tensor files no longer named are removed after the commit.
type checkpointFile struct {
	*strategy.State
	ParamsFile  string      `json:"params_file"`
	Fingerprint Fingerprint `json:"fingerprint,omitempty"`
}

// maxStateBytes bounds the size of a checkpoint's state.json.
const maxStateBytes = 64 << 20

// Fingerprint identifies the data and options a search ran with: a resumed
// search must match it key by key.
type Fingerprint map[string]string

// Compare returns an error naming every key where fp and cur differ (nil
// if they agree; an empty fp, from a checkpoint older than fingerprints,
// agrees with anything).
func (fp Fingerprint) Compare(cur Fingerprint) error {
	if len(fp) == 0 {
		return nil
	}
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(cur)) {
		if old, ok := fp[k]; !ok || old != cur[k] {
			if !ok {
				old = "(absent)"
			}
			diffs = append(diffs, fmt.Sprintf("%s: checkpoint %s, now %s", k, clip(old), clip(cur[k])))
		}
	}
	if len(diffs) > 0 {
		return fmt.Errorf("the checkpoint was made with other data or options (%s); resume with the same ones, or start afresh with --force", strings.Join(diffs, "; "))
	}
	return nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:37] + "…"
	}
	return s
}

// fingerprint of a search with options o on r's data.
func (r *Result) fingerprint(o Options) Fingerprint {
	fp := Fingerprint{
		"data.train":   matHash(r.Prep.Train),
		"data.val":     matHash(r.Prep.Val),
		"data.columns": strings.Join(r.Prep.Columns, ","),
		"data.scale":   floatsHash(r.Prep.Standardizer.Mean, r.Prep.Standardizer.Std),
		"layers":       fmt.Sprint(o.Layers),
		"candidates":   strings.Join(r.Space.Names(), ","),
		"hidden":       fmt.Sprint(o.Hidden),
		"bins":         fmt.Sprint(o.Bins),
		"lambda":       fmt.Sprint(o.Lambda),
		"costs":        fmt.Sprint(r.Costs.Cost),
		"emphasis":     string(o.Emphasis),
		"cost_source":  string(o.Cost),
	}
	v := reflect.ValueOf(o.Search)
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		switch f.Type.Kind() {
		case reflect.Func, reflect.Pointer, reflect.Interface, reflect.Chan, reflect.Map:
			continue
		}
		if f.Name == "Lambda" || f.Name == "Costs" || f.Name == "CheckpointEvery" {
			continue
		}
		fp["search."+strings.ToLower(f.Name)] = fmt.Sprint(v.Field(i).Interface())
	}
	return fp
}

// matHash is a SHA-256 of a matrix's shape and float32 values.
func matHash(m *tensor.Mat[float32]) string {
	h := sha256.New()
	var b [8]byte
	binary.LittleEndian.PutUint32(b[:4], uint32(m.Rows))
	binary.LittleEndian.PutUint32(b[4:], uint32(m.Cols))
	h.Write(b[:])
	buf := make([]byte, 4*m.Cols)
	for i := 0; i < m.Rows; i++ {
		for j, x := range m.Row(i) {
			binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(x))
		}
		h.Write(buf)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// floatsHash is a short SHA-256 of float64 slices.
func floatsHash(vs ...[]float64) string {
	h := sha256.New()
	var b [8]byte
	for _, v := range vs {
		for _, x := range v {
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(x))
			h.Write(b[:])
		}
		h.Write([]byte{0xff})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// SaveCheckpoint writes st (and the fingerprint of the search) to dir.
func SaveCheckpoint(dir string, st *strategy.State, fp Fingerprint) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tensors := st.Tensors()
	var ts []model.Tensor
	for _, name := range slices.Sorted(maps.Keys(tensors)) {
		v := tensors[name]
		ts = append(ts, model.Tensor{Name: name, Shape: []int{len(v)}, Data: v})
	}
	name := fmt.Sprintf("params-%d.safetensors", time.Now().UnixNano())
	if err := fsio.Write(filepath.Join(dir, name), func(w io.Writer) error { return model.WriteSafetensors(w, ts, nil) }); err != nil {
		return err
	}
	b, err := json.MarshalIndent(checkpointFile{State: st, ParamsFile: name, Fingerprint: fp}, "", "  ")
	if err != nil {
		return err
	}
	if err := fsio.WriteFile(filepath.Join(dir, "state.json"), b); err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(dir, "params*.safetensors"))
	for _, o := range old {
		if filepath.Base(o) != name {
			os.Remove(o)
		}
	}
	return nil
}

// LoadCheckpoint reads a checkpoint written by SaveCheckpoint, with the
// fingerprint it was made with.
func LoadCheckpoint(dir string) (*strategy.State, Fingerprint, error) {
	b, err := fsio.ReadFile(filepath.Join(dir, "state.json"), maxStateBytes)
	if err != nil {
		return nil, nil, fmt.Errorf("no checkpoint to resume: %w", err)
	}
	cf := checkpointFile{State: &strategy.State{}}
	if err := json.Unmarshal(b, &cf); err != nil {
		return nil, nil, fmt.Errorf("checkpoint %s: state.json: %w", dir, err)
	}
	if cf.ParamsFile == "" {
		cf.ParamsFile = "params.safetensors" // written before params_file existed
	}
	pb, err := fsio.ReadFile(filepath.Join(dir, filepath.Base(cf.ParamsFile)), 1<<34)
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	ts, _, err := model.ReadSafetensors(pb)
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	tensors := map[string][]float32{}
	for name, t := range ts {
		tensors[name] = t.Data
	}
	if err := cf.State.SetTensors(tensors); err != nil {
		return nil, nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	return cf.State, cf.Fingerprint, nil
}
