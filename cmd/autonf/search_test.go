package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
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
		{[]string{"--layers", "100000", "--cost", "params"}, "layers must be in 1..64"},
		{[]string{"--candidates", "planar,affine-coupling", "--cost", "paper"}, "the paper's cost table has no entry for planar"},
		{[]string{"--candidates", "nsf-ar:hiden=8,maf"}, "candidate 1 (nsf-ar:hiden=8): unknown key hiden"},
		{[]string{"--candidates", "maf,,planar"}, "candidate 2 is empty"},
		{[]string{"--hidden", "1000000000", "--cost", "params"}, "hidden width 1000000000 is out of range; want 1..4096"},
		{[]string{"--random", "1000000000", "--cost", "params"}, "random must be in 0..10000"},
		{[]string{"--random", "17", "--candidates", "planar,radial", "--cost", "params"}, "the space has 4"},
		{[]string{"--lambda", "NaN", "--cost", "params"}, "lambda must be a finite number ≥ 0, got NaN"},
		{[]string{"--lambda", "-1", "--cost", "params"}, "lambda must be a finite number ≥ 0"},
		{[]string{"--theta-lr", "Inf", "--cost", "params"}, "theta learning rate must be a finite number"},
		{[]string{"--layers", "5", "--exhaustive", "--cost", "params"}, "1024 architectures, at most 256"},
		{[]string{"--seeds", "0", "--cost", "params"}, "--seeds must be ≥ 1, got 0"},
		{[]string{"--seeds", "101", "--cost", "params"}, "seeds must be in 1..100"},
		{[]string{"--pareto", "1", "--cost", "params"}, "pareto must be 0 (off) or in 2..50"},
		{[]string{"--pareto", "3", "--no-retrain", "--cost", "params"}, "cannot be combined with no-retrain"},
		{[]string{"--steps", "0", "--cost", "params"}, "--steps must be ≥ 1"},
		{[]string{"--steps", "2000000", "--cost", "params"}, "steps must be in 1..1000000"},
		{[]string{"--batch", "10000000", "--cost", "params"}, "batch must be in 1..65536"},
		{[]string{"--estimator", "exact", "--block", "9", "--layers", "9", "--candidates", "maf,nsf-ar,affine-coupling,nsf-coupling", "--cost", "params"}, "paths (limit"},
	}
	for k, c := range cases {
		args := append([]string{"search", "--data", "toy:moons", "--toy-rows", "500", "--layers", "2", "--hidden", "4", "--out", filepath.Join(dir, fmt.Sprint("r", k))}, c.args...)
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
		Pareto struct {
			Front    []int  `json:"front"`
			ChosenOn string `json:"chosen_on"`
		} `json:"pareto"`
		Yard []map[string]any `json:"yardsticks"`
	}
	if err := json.Unmarshal([]byte(lastLine(out)), &sum); err != nil || len(sum.Pareto.Front) == 0 || len(sum.Yard) != 2 || sum.Pareto.ChosenOn != "validation NLL" {
		t.Fatalf("--json line %q: %v", lastLine(out), err)
	}
	rep, err := os.ReadFile(filepath.Join(run, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Yardsticks", "| preset | planar-2 | 2 |", "| preset | realnvp5 | 5 |", "its own sizes", "front chosen on validation NLL"} {
		if !strings.Contains(string(rep), want) {
			t.Errorf("report.md lacks %q:\n%s", want, rep)
		}
	}
	if _, err := os.Stat(filepath.Join(run, "pareto.png")); err != nil {
		t.Error(err)
	}
	// An explicit list, and a bad name.
	if code, _, errs := cli("search", "--data", "toy:8gaussians", "--toy-rows", "500", "--layers", "2", "--candidates", "planar",
		"--hidden", "8", "--cost", "params", "--pareto", "2", "--pareto-refs", "maf5,glow7", "--out", run+"2"); code == 0 || !strings.Contains(errs, "glow7") {
		t.Fatalf("--pareto-refs glow7: exit %d, %s", code, errs)
	}
}

// TestSearchCandidatesWithSizes: width is part of the architecture — two
// affine couplings of different widths are two candidates, named by their
// sizes in the report, priced apart, under the paper's costs too.
func TestSearchCandidatesWithSizes(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	code, out, errs := cli("search", "--data", "toy:moons", "--toy-rows", "1000", "--layers", "2",
		"--candidates", "affine-coupling:hidden=16x2,affine-coupling:hidden=4", "--steps", "30", "--batch", "128",
		"--cost", "params", "--retrain-epochs", "2", "--matched", "--out", run, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var sum struct {
		Space struct {
			Candidates []string `json:"candidates"`
		} `json:"space"`
		Yard []map[string]any `json:"yardsticks"`
		Sat  *bool            `json:"saturated"`
	}
	if err := json.Unmarshal([]byte(lastLine(out)), &sum); err != nil {
		t.Fatal(err)
	}
	want := []string{"affine-coupling[16x2]", "affine-coupling[4x1]"}
	if !slices.Equal(sum.Space.Candidates, want) || len(sum.Yard) != 2 || sum.Sat == nil {
		t.Fatalf("candidates %v (want %v), %d matched yardsticks, saturated %v", sum.Space.Candidates, want, len(sum.Yard), sum.Sat)
	}
	for _, y := range sum.Yard {
		if y["kind"] != "matched" {
			t.Errorf("yardstick %v", y)
		}
	}
	// The paper's costs price both widths alike (the table ignores width).
	code, _, errs = cli("search", "--data", "toy:moons", "--toy-rows", "600", "--layers", "1",
		"--candidates", "affine-coupling:hidden=16x2,maf", "--steps", "20", "--batch", "128", "--cost", "paper", "--no-retrain", "--out", run+"2")
	if code != 0 {
		t.Fatalf("--cost paper: exit %d: %s", code, errs)
	}
}
