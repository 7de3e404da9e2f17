package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/autonf/autonf/model"
)

// cli runs the command in-process and returns its exit code and output.
func cli(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestRoundTrip runs train → eval → density → sample on toy data.
func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	mdl := filepath.Join(dir, "m")
	code, out, errs := cli("train", "--data", "toy:moons", "--toy-rows", "3000", "--arch", "realnvp5", "--epochs", "3", "--batch", "256", "--out", mdl, "--json", "--quiet")
	if code != 0 {
		t.Fatalf("train exit %d: %s", code, errs)
	}
	var sum map[string]any
	if err := json.Unmarshal([]byte(lastLine(out)), &sum); err != nil || sum["test_loglik_mean"] == nil {
		t.Fatalf("train --json last line %q: %v", lastLine(out), err)
	}
	samples := filepath.Join(dir, "s.csv")
	if code, _, errs := cli("sample", "--model", mdl, "-n", "500", "--seed", "2", "--out", samples); code != 0 {
		t.Fatalf("sample: %s", errs)
	}
	code, out, errs = cli("eval", "--model", mdl, "--data", samples, "--json")
	if code != 0 {
		t.Fatalf("eval: %s", errs)
	}
	var ev model.Eval
	if err := json.Unmarshal([]byte(lastLine(out)), &ev); err != nil || ev.N != 500 || ev.TwoSE <= 0 {
		t.Fatalf("eval --json %q: %v", lastLine(out), err)
	}
	dens := filepath.Join(dir, "d.npy")
	if code, _, errs := cli("density", "--model", mdl, "--data", samples, "--out", dens); code != 0 {
		t.Fatalf("density: %s", errs)
	}
	st, err := os.Stat(dens)
	if err != nil || st.Size() != 128+8*500 {
		t.Fatalf("density file: %v %v", st, err)
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("a,b\n1,2\n3,x\n4,5\n"), 0o644)
	ragged := filepath.Join(dir, "ragged.csv")
	os.WriteFile(ragged, []byte("a,b\n1,2\n3\n"), 0o644)
	empty := filepath.Join(dir, "empty.csv")
	os.WriteFile(empty, nil, 0o644)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no command", nil, 2, "Usage"},
		{"unknown command", []string{"fly"}, 2, `unknown command "fly"`},
		{"missing data", []string{"train", "--out", dir}, 2, "missing required flag --data"},
		{"stray argument", []string{"train", "data.csv"}, 2, "unexpected argument"},
		{"unknown flag", []string{"eval", "--modle", "x"}, 2, "flag provided but not defined"},
		{"unknown preset", []string{"train", "--data", "toy:moons", "--arch", "mafff", "--out", dir}, 1, `preset "mafff" is unknown`},
		{"unknown toy", []string{"train", "--data", "toy:blob", "--out", dir}, 1, "blob"},
		{"not a number", []string{"train", "--data", bad, "--out", dir}, 1, `line 3, column "b" (index 1)`},
		{"ragged", []string{"train", "--data", ragged, "--out", dir}, 1, "line 3"},
		{"empty", []string{"train", "--data", empty, "--out", dir}, 1, "empty.csv"},
		{"missing file", []string{"train", "--data", filepath.Join(dir, "nope.csv"), "--out", dir}, 1, "nope.csv"},
		{"bad extension", []string{"train", "--data", filepath.Join(dir, "x.parquet"), "--out", dir}, 1, "x.parquet"},
		{"bad split", []string{"train", "--data", "toy:moons", "--val-split", "1.5", "--out", dir}, 1, "--val-split"},
		{"missing model", []string{"eval", "--model", filepath.Join(dir, "none"), "--data", bad}, 1, "autonf train"},
		{"bad sample n", []string{"sample", "--model", dir, "-n", "0", "--out", "x.csv"}, 1, "from 1 to"},
		{"huge sample n", []string{"sample", "--model", dir, "-n", "2000000000", "--out", "x.csv"}, 1, "from 1 to"},
		{"bad out ext", []string{"sample", "--model", dir, "--out", "x.txt"}, 1, ".csv or .npy"},
		{"arch no args", []string{"arch"}, 2, "Usage"},
		{"arch unknown", []string{"arch", "--show", "zz"}, 1, "unknown"},
		{"spec dim mismatch", []string{"train", "--data", "toy:moons", "--arch", writeSpec(t, dir), "--out", dir}, 1, "3 dimensions"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := cli(c.args...)
			if code != c.code || !strings.Contains(out+errs, c.want) {
				t.Fatalf("exit %d (want %d), output %q, want it to contain %q", code, c.code, out+errs, c.want)
			}
		})
	}
}

func writeSpec(t *testing.T, dir string) string {
	p := filepath.Join(dir, "spec.json")
	os.WriteFile(p, []byte(`{"format":"autonf.arch/v1","dim":3,"layers":[{"type":"planar"}]}`), 0o644)
	return p
}

func TestEvalWrongColumns(t *testing.T) {
	dir := t.TempDir()
	mdl := filepath.Join(dir, "m")
	if code, _, errs := cli("train", "--data", "toy:moons", "--toy-rows", "1000", "--arch", "planar-2", "--epochs", "1", "--out", mdl, "--quiet"); code != 0 {
		t.Fatal(errs)
	}
	three := filepath.Join(dir, "three.csv")
	os.WriteFile(three, []byte("x,y,z\n1,2,3\n4,5,6\n"), 0o644)
	code, _, errs := cli("eval", "--model", mdl, "--data", three)
	if code == 0 || !strings.Contains(errs, "3 columns but the model was trained on 2") {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

func TestArchList(t *testing.T) {
	code, out, _ := cli("arch", "--list")
	for _, p := range []string{"maf5", "maf10", "realnvp5", "realnvp10", "nsf-ar-8", "nsf-c-8", "planar-k", "radial-k"} {
		if code != 0 || !strings.Contains(out, p) {
			t.Fatalf("arch --list lacks %s", p)
		}
	}
	code, out, _ = cli("arch", "--show", "nsf-c-8", "--dim", "4")
	if code != 0 || !strings.Contains(out, `"nsf-coupling"`) || !strings.Contains(out, `"lu-linear"`) {
		t.Fatalf("arch --show: %s", out)
	}
}
