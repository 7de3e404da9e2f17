package pipeline

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/autonf/autonf/data"
	"github.com/autonf/autonf/search/strategy"
	"github.com/autonf/autonf/tensor"
)

// TestCheckpointFilesResumeMidPhase: a search cancelled in the middle of a
// phase leaves a checkpoint (files) from which --resume's path
// (LoadCheckpoint → Options.Resume) finishes with the same α and
// architecture as an uninterrupted search.
func TestCheckpointFilesResumeMidPhase(t *testing.T) {
	space, err := strategy.NewSpace(2, 4, []string{"planar", "radial", "affine-coupling"}, []int{8}, 4)
	if err != nil {
		t.Fatal(err)
	}
	tab, _ := data.Toy("moons", 1200, 3)
	x := tensor.FromSlice(tab.Rows, tab.Cols, tab.Float32())
	tr, va := x.SliceRows(0, 900), x.SliceRows(900, 1200)
	opt := strategy.Options{Block: 2, Steps: 60, Batch: 64, AlphaLR: 0.05, Seed: 4, CheckpointEvery: 10}
	full, err := strategy.Run(context.Background(), space, tr, va, opt)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "checkpoint")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := opt
	phase := 0
	o.OnStep = func(p strategy.Progress) {
		if p.Step == 1 {
			phase++
		}
		if phase == 2 && p.Step == 27 {
			cancel()
		}
	}
	o.Checkpoint = func(st *strategy.State) error { return SaveCheckpoint(dir, st, Fingerprint{"k": "v"}) }
	if res, err := strategy.Run(ctx, space, tr, va, o); err != nil || res.StopReason != "interrupted" {
		t.Fatalf("interrupted run: %v, %v", res, err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*")); len(m) != 2 {
		t.Fatalf("checkpoint directory holds %v, want state.json and one tensor file", m)
	}
	st, fp, err := LoadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fp["k"] != "v" {
		t.Fatalf("fingerprint read back as %v", fp)
	}
	if st.Phase != 1 || st.Step != 27 || st.ThetaT != 27 || len(st.ThetaM) == 0 || len(st.AlphaM) != 1 {
		t.Fatalf("checkpoint at phase %d step %d (θ Adam t %d, %d moments; %d α moments), want phase 1 step 27", st.Phase, st.Step, st.ThetaT, len(st.ThetaM), len(st.AlphaM))
	}
	o = opt
	o.Resume = st
	resumed, err := strategy.Run(context.Background(), space, tr, va, o)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(full.Arch, resumed.Arch) {
		t.Fatalf("resumed arch %v, uninterrupted %v", resumed.Arch, full.Arch)
	}
	for i := range full.Weights {
		for j := range full.Weights[i] {
			if d := math.Abs(full.Weights[i][j] - resumed.Weights[i][j]); d > 1e-6 {
				t.Fatalf("slot %d weight %d: resumed %.9f, uninterrupted %.9f", i, j, resumed.Weights[i][j], full.Weights[i][j])
			}
		}
	}
}

func TestFingerprintCompare(t *testing.T) {
	old := Fingerprint{"seed": "1", "lambda": "0", "data.train": "abc"}
	cases := []struct {
		cur  Fingerprint
		want []string // substrings of the error; nil: no error
	}{
		{Fingerprint{"seed": "1", "lambda": "0", "data.train": "abc"}, nil},
		{Fingerprint{"seed": "2", "lambda": "0", "data.train": "abc"}, []string{"seed: checkpoint 1, now 2"}},
		{Fingerprint{"seed": "1", "lambda": "0.5", "data.train": "xyz"}, []string{"lambda", "data.train"}},
		{Fingerprint{"seed": "1", "lambda": "0", "data.train": "abc", "steps": "9"}, []string{"steps: checkpoint (absent)"}},
	}
	for _, c := range cases {
		err := old.Compare(c.cur)
		if (err == nil) != (c.want == nil) {
			t.Fatalf("%v: error %v, want one containing %v", c.cur, err, c.want)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q lacks %q", c.cur, err, w)
			}
		}
	}
	if err := (Fingerprint{}).Compare(Fingerprint{"seed": "3"}); err != nil {
		t.Errorf("a checkpoint without fingerprint (older format) must resume: %v", err)
	}
}
