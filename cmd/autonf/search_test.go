package main

import (
	"encoding/json"
	"os"
	"path/filepath"
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
	}
	for _, c := range cases {
		args := append([]string{"search", "--data", "toy:moons", "--toy-rows", "500", "--layers", "2", "--hidden", "4", "--out", filepath.Join(dir, "r")}, c.args...)
		code, out, errs := cli(args...)
		if code == 0 || !strings.Contains(out+errs, c.want) {
			t.Errorf("%v: exit %d, output %q; want an error containing %q", c.args, code, out+errs, c.want)
		}
	}
}
