package main

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/autonf/autonf/data"
	"github.com/autonf/autonf/search/strategy"
	"github.com/autonf/autonf/tensor"
)

func TestSearchEndToEnd(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	code, out, errs := cli("search", "--data", "toy:8gaussians", "--toy-rows", "2000", "--layers", "2", "--candidates", "planar,affine-coupling",
		"--hidden", "8", "--steps", "60", "--batch", "128", "--cost", "params", "--retrain-epochs", "3", "--exhaustive", "--out", run, "--json")
	if code != 0 {
		t.Fatalf("search exit %d: %s", code, errs)
	}
	var sum map[string]any
	if err := json.Unmarshal([]byte(lastLine(out)), &sum); err != nil || sum["arch"] == nil || sum["test_loglik_mean"] == nil {
		t.Fatalf("--json line %q: %v", lastLine(out), err)
	}
	for _, f := range []string{"arch.json", "report.md", "weights.png", "model/model.json", "checkpoint/state.json"} {
		if _, err := os.Stat(filepath.Join(run, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	rep, _ := os.ReadFile(filepath.Join(run, "report.md"))
	if !strings.Contains(string(rep), "| exhaustive |") || strings.Count(string(rep), "| exhaustive |") != 4 {
		t.Errorf("report lacks the 4 exhaustive rows:\n%s", rep)
	}
	// The found spec trains with autonf train.
	if code, _, errs := cli("train", "--data", "toy:8gaussians", "--toy-rows", "1000", "--arch", filepath.Join(run, "arch.json"), "--epochs", "1", "--quiet", "--out", filepath.Join(dir, "m")); code != 0 {
		t.Fatalf("train on arch.json: %s", errs)
	}
	// Resume continues from the checkpoint.
	if code, _, errs := cli("search", "--data", "toy:8gaussians", "--toy-rows", "2000", "--layers", "2", "--candidates", "planar,affine-coupling",
		"--hidden", "8", "--steps", "60", "--batch", "128", "--cost", "params", "--no-retrain", "--resume", "--out", run); code != 0 {
		t.Fatalf("resume: %s", errs)
	}
}

func TestSearchBadFlags(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--candidates", "planar,glow"}, `candidate "glow" is unknown`},
		{[]string{"--estimator", "guess"}, "estimator"},
		{[]string{"--loss", "lower"}, "loss"},
		{[]string{"--emphasis", "fast"}, "train, forward or inverse"},
		{[]string{"--cost", "vibes"}, "measured, params or flops"},
		{[]string{"--hidden", "8,x"}, "--hidden"},
		{[]string{"--strategy", "zigzag", "--cost", "params", "--no-retrain"}, "strategy"},
		{[]string{"--resume", "--cost", "params"}, "no checkpoint"},
		{[]string{"--estimator", "sample", "--loss", "original", "--cost", "params"}, "upper-bound"},
	}
	for _, c := range cases {
		args := append([]string{"search", "--data", "toy:moons", "--toy-rows", "500", "--layers", "2", "--hidden", "4", "--out", filepath.Join(dir, "r")}, c.args...)
		code, out, errs := cli(args...)
		if code == 0 || !strings.Contains(out+errs, c.want) {
			t.Errorf("%v: exit %d, output %q; want an error containing %q", c.args, code, out+errs, c.want)
		}
	}
}

// TestSearchParetoWithPresets: a λ sweep also trains the presets built of
// the candidates (planar-2 for planar with 2 slots, realnvp5 for affine
// coupling), prices them with the search's cost table and lists them in
// report.md and the --json line.
func TestSearchParetoWithPresets(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	code, out, errs := cli("search", "--data", "toy:8gaussians", "--toy-rows", "1500", "--layers", "2", "--candidates", "planar,affine-coupling",
		"--hidden", "8", "--steps", "30", "--batch", "128", "--cost", "params", "--retrain-epochs", "2", "--pareto", "2", "--out", run, "--json")
	if code != 0 {
		t.Fatalf("search --pareto exit %d: %s", code, errs)
	}
	var sum struct {
		Front   []map[string]any `json:"front"`
		Presets []map[string]any `json:"presets"`
	}
	if err := json.Unmarshal([]byte(lastLine(out)), &sum); err != nil || len(sum.Front) == 0 || len(sum.Presets) != 2 {
		t.Fatalf("--json line %q: %v", lastLine(out), err)
	}
	rep, err := os.ReadFile(filepath.Join(run, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Hand-crafted presets", "| planar-2 | 2 |", "| realnvp5 | 5 |", "5 × affine-coupling", "2 × planar"} {
		if !strings.Contains(string(rep), want) {
			t.Errorf("report.md lacks %q:\n%s", want, rep)
		}
	}
	if _, err := os.Stat(filepath.Join(run, "pareto.png")); err != nil {
		t.Error(err)
	}
	// An explicit list, and a bad name.
	if code, _, errs := cli("search", "--data", "toy:8gaussians", "--toy-rows", "500", "--layers", "2", "--candidates", "planar",
		"--hidden", "8", "--cost", "params", "--pareto", "2", "--pareto-refs", "maf5,glow7", "--out", run); code == 0 || !strings.Contains(errs, "glow7") {
		t.Fatalf("--pareto-refs glow7: exit %d, %s", code, errs)
	}
}

// TestCheckpointFilesResumeMidPhase: a search cancelled in the middle of a
// phase leaves a checkpoint (files) from which --resume's path
// (loadCheckpoint → Options.Resume) finishes with the same α and
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
	o.Checkpoint = func(st *strategy.State) error { return saveCheckpoint(dir, st) }
	if res, err := strategy.Run(ctx, space, tr, va, o); err != nil || res.StopReason != "interrupted" {
		t.Fatalf("interrupted run: %v, %v", res, err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*")); len(m) != 2 {
		t.Fatalf("checkpoint directory holds %v, want state.json and one tensor file", m)
	}
	st, err := loadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
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
