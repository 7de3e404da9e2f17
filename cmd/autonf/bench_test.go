package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBenchFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no out", []string{"bench", "--quick"}, 2, "missing required flag --out"},
		{"stray arg", []string{"bench", "--out", t.TempDir(), "extra"}, 2, "unexpected argument"},
		{"no data", []string{"bench", "--out", t.TempDir(), "--quick", "--data-dir", t.TempDir()}, 1, "--data-dir"},
	} {
		code, _, errs := cli(tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d mentioning %q", tc.name, code, errs, tc.code, tc.want)
		}
	}
}

// TestBenchQuickCLI runs `autonf bench --quick` and splices its section
// into a Markdown file.
func TestBenchQuickCLI(t *testing.T) {
	data := "../../../shared/data"
	if _, err := os.Stat(filepath.Join(data, "flights.csv")); err != nil {
		t.Skipf("skipping: the real datasets are not at %s (%v)", data, err)
	}
	dir := t.TempDir()
	md := filepath.Join(dir, "B.md")
	if err := os.WriteFile(md, []byte("# Benchmarks\n\nkept\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "bench")
	code, stdout, errs := cli("bench", "--out", out, "--quick", "--data-dir", data, "--markdown", md, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(stdout, "results.json") {
		t.Errorf("stdout %q names no results", stdout)
	}
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.HasPrefix(s, "# Benchmarks\n\nkept\n") || !strings.Contains(s, "<!-- bench:start -->") || !strings.Contains(s, "](bench/random_flights.png)") {
		t.Errorf("spliced Markdown:\n%s", s)
	}
	// A second run without --resume refuses to overwrite.
	if code, _, errs := cli("bench", "--out", out, "--quick", "--data-dir", data, "--quiet"); code != 1 || !strings.Contains(errs, "--resume") {
		t.Errorf("rerun: exit %d, %s", code, errs)
	}
}
