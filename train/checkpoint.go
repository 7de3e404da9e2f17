package train

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/internal/fsio"
	"github.com/autonf/autonf/internal/safetensors"
)

// State is a training checkpoint: everything Fit needs to continue a run
// exactly where it stopped, bit for bit — the position (epoch, step within
// it, whether its shuffle was drawn), the epoch's running loss, the
// learning-rate scale and the counters of the stopping rules, the result so
// far (curve, best score, warnings), the shuffling generator's state and
// permutation, and the tensors (current and best weights and buffers, and
// Adam's moments).
type State struct {
	Epoch        int     `json:"epoch"`         // 0-based epoch to run next (or in progress)
	StepInEpoch  int     `json:"step_in_epoch"` // first step of Epoch still to run
	Shuffled     bool    `json:"shuffled"`      // Epoch's permutation is already drawn
	Step         int     `json:"step"`          // global step counter
	EpochLossSum float64 `json:"epoch_loss_sum"`
	EpochLossN   int     `json:"epoch_loss_n"`
	LRScale      float64 `json:"lr_scale"`
	Bad          int     `json:"bad_steps"`
	SinceBest    int     `json:"since_best"`
	Result       Result  `json:"result"`
	ElapsedNS    int64   `json:"elapsed_ns"`
	RNG          []byte  `json:"rng"`
	Perm         []int   `json:"perm"`
	AdamT        int     `json:"adam_t"`

	// Tensors (stored in the safetensors file, not in state.json): one
	// entry per parameter and buffer (Params, Best) or parameter (M, V),
	// in the flow's order.
	Params, Best, M, V [][]float32 `json:"-"`
}

// check verifies that st fits the run being resumed.
func (st *State) check(state, params []*flow.Param[float32], rows, stepsPerEpoch, epochs int) error {
	fit := func(what string, got [][]float32, want []*flow.Param[float32]) error {
		if len(got) != len(want) {
			return fmt.Errorf("resume: the checkpoint holds %d %s tensors, this flow has %d (a different architecture?)", len(got), what, len(want))
		}
		for i, p := range want {
			if len(got[i]) != len(p.Value) {
				return fmt.Errorf("resume: the checkpoint's %s tensor %d has %d values, this flow's has %d (a different architecture?)", what, i, len(got[i]), len(p.Value))
			}
		}
		return nil
	}
	for _, c := range []struct {
		what string
		got  [][]float32
		want []*flow.Param[float32]
	}{{"weight", st.Params, state}, {"best-weight", st.Best, state}, {"Adam m", st.M, params}, {"Adam v", st.V, params}} {
		if err := fit(c.what, c.got, c.want); err != nil {
			return err
		}
	}
	if len(st.Perm) != rows {
		return fmt.Errorf("resume: the checkpoint shuffles %d training rows, this run has %d (different data?)", len(st.Perm), rows)
	}
	seen := make([]bool, rows)
	for _, v := range st.Perm {
		if v < 0 || v >= rows || seen[v] {
			return fmt.Errorf("resume: the checkpoint's row permutation is corrupt")
		}
		seen[v] = true
	}
	switch {
	case st.Epoch < 0 || st.Epoch > epochs:
		return fmt.Errorf("resume: the checkpoint is at epoch %d, this run has %d epochs", st.Epoch+1, epochs)
	case st.StepInEpoch < 0 || st.StepInEpoch > stepsPerEpoch:
		return fmt.Errorf("resume: the checkpoint is at step %d of an epoch of %d steps (a different --batch?)", st.StepInEpoch, stepsPerEpoch)
	case st.Step < 0 || st.AdamT < 0 || st.AdamT > st.Step || st.Bad < 0 || st.SinceBest < 0 || st.EpochLossN < 0:
		return fmt.Errorf("resume: the checkpoint's counters are inconsistent")
	case !(st.LRScale > 0 && st.LRScale <= 1) || math.IsNaN(st.EpochLossSum) || math.IsInf(st.EpochLossSum, 0):
		return fmt.Errorf("resume: the checkpoint's learning-rate scale %v or running loss %v is invalid", st.LRScale, st.EpochLossSum)
	case st.Result.BestEpoch > st.Epoch || len(st.Result.Curve) > st.Epoch:
		return fmt.Errorf("resume: the checkpoint's result is ahead of its position")
	}
	for _, ts := range [][][]float32{st.Params, st.Best, st.M, st.V} {
		for i, v := range ts {
			for _, x := range v {
				if x != x || x > math.MaxFloat32 || x < -math.MaxFloat32 {
					return fmt.Errorf("resume: the checkpoint holds a non-finite value in tensor %d", i)
				}
			}
		}
	}
	return nil
}

// Checkpoint file names inside a checkpoint directory.
const (
	StateFile = "state.json"
	// tensor files are named tensors-RANDOM.safetensors; state.json names
	// the current one.
)

// maxStateJSON bounds state.json (it holds the permutation of the training
// rows: about 10 bytes per row).
const maxStateJSON = 1 << 30

// MaxTensorsFile bounds a checkpoint's tensors file.
const MaxTensorsFile = 16 << 30

type stateFile struct {
	Format      string            `json:"format"`
	Meta        map[string]string `json:"meta"` // the caller's fingerprint of data and options
	TensorsFile string            `json:"tensors_file"`
	*State
}

// CheckpointFormat tags state.json.
const CheckpointFormat = "autonf.train-checkpoint/v1"

// SaveCheckpoint writes st to the directory dir (created if needed) with
// the caller's meta (a fingerprint of the data and options, checked at
// resume): the tensors go to a new exclusive file, then state.json is
// replaced naming it (both fsynced and renamed, see internal/fsio), so a
// kill at any moment leaves the previous checkpoint or the new one. Older
// tensor files are removed after the commit.
func SaveCheckpoint(dir string, st *State, meta map[string]string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var ts []safetensors.Tensor
	for _, g := range []struct {
		prefix string
		v      [][]float32
	}{{"params", st.Params}, {"best", st.Best}, {"adam_m", st.M}, {"adam_v", st.V}} {
		for i, v := range g.v {
			ts = append(ts, safetensors.Tensor{Name: fmt.Sprintf("%s.%d", g.prefix, i), Shape: []int{len(v)}, Data: v})
		}
	}
	f, err := os.CreateTemp(dir, "tensors-*.safetensors")
	if err != nil {
		return err
	}
	name := filepath.Base(f.Name())
	f.Close()
	// The exclusive file reserved the name; fsio writes the content through
	// another temporary file and renames it over.
	if err := fsio.Write(f.Name(), func(w io.Writer) error { return safetensors.Write(w, ts, nil) }); err != nil {
		os.Remove(f.Name())
		return err
	}
	b, err := json.MarshalIndent(stateFile{Format: CheckpointFormat, Meta: meta, TensorsFile: name, State: st}, "", " ")
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := fsio.WriteFile(filepath.Join(dir, StateFile), b); err != nil {
		os.Remove(f.Name())
		return err
	}
	old, _ := filepath.Glob(filepath.Join(dir, "tensors-*.safetensors"))
	for _, o := range old {
		if filepath.Base(o) != name {
			os.Remove(o)
		}
	}
	return nil
}

// ErrNoCheckpoint is wrapped by LoadCheckpoint's error when dir holds no
// checkpoint.
var ErrNoCheckpoint = errors.New("no checkpoint")

// LoadCheckpoint reads a checkpoint written by SaveCheckpoint and returns
// the state and the meta it was saved with. Sizes are bounded and every
// field is validated (Fit checks the rest against the run).
func LoadCheckpoint(dir string) (*State, map[string]string, error) {
	sb, err := fsio.ReadFile(filepath.Join(dir, StateFile), maxStateJSON)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("%w in %s", ErrNoCheckpoint, dir)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	var sf stateFile
	if err := json.Unmarshal(sb, &sf); err != nil {
		return nil, nil, fmt.Errorf("checkpoint %s: %s is not valid JSON: %w", dir, StateFile, err)
	}
	name := sf.TensorsFile
	if !strings.HasPrefix(name, "tensors-") || filepath.Base(name) != name {
		return nil, nil, fmt.Errorf("checkpoint %s: tensors file name %q is invalid", dir, name)
	}
	tb, err := fsio.ReadFile(filepath.Join(dir, name), MaxTensorsFile)
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	st, err := DecodeCheckpoint(sb, tb)
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	return st, sf.Meta, nil
}

// DecodeCheckpoint parses the two files of a checkpoint (state.json and
// its tensors file) without touching the file system.
func DecodeCheckpoint(stateJSON, tensors []byte) (*State, error) {
	dec := json.NewDecoder(bytes.NewReader(stateJSON))
	var sf stateFile
	sf.State = &State{}
	if err := dec.Decode(&sf); err != nil {
		return nil, fmt.Errorf("%s is not valid JSON: %w", StateFile, err)
	}
	if sf.Format != CheckpointFormat {
		return nil, fmt.Errorf("format %q is not a training checkpoint (want %q)", sf.Format, CheckpointFormat)
	}
	ts, _, err := safetensors.Read(tensors)
	if err != nil {
		return nil, err
	}
	st := sf.State
	groups := []struct {
		prefix string
		dst    *[][]float32
	}{{"params", &st.Params}, {"best", &st.Best}, {"adam_m", &st.M}, {"adam_v", &st.V}}
	counts := map[string]int{}
	for name := range ts {
		prefix, idx, ok := strings.Cut(name, ".")
		i, err := strconv.Atoi(idx)
		if !ok || err != nil || i < 0 || i >= len(ts) {
			return nil, fmt.Errorf("unexpected tensor %q", name)
		}
		counts[prefix]++
	}
	for _, g := range groups {
		k := counts[g.prefix]
		*g.dst = make([][]float32, k)
		for i := 0; i < k; i++ {
			t, ok := ts[fmt.Sprintf("%s.%d", g.prefix, i)]
			if !ok {
				return nil, fmt.Errorf("tensor %s.%d is missing", g.prefix, i)
			}
			(*g.dst)[i] = t.Data
		}
		delete(counts, g.prefix)
	}
	for p := range counts {
		return nil, fmt.Errorf("unexpected tensors %q", p)
	}
	if len(st.Params) != len(st.Best) || len(st.M) != len(st.V) || len(st.M) > len(st.Params) {
		return nil, fmt.Errorf("tensor counts disagree (%d weights, %d best, %d and %d Adam moments)", len(st.Params), len(st.Best), len(st.M), len(st.V))
	}
	return st, nil
}
