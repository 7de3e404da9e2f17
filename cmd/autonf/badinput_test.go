package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/autonf/autonf/model"
)

// The table of bad inputs (docs/bad-inputs.md) is generated from the cases
// in badCases: each runs the CLI in-process (or, for signals, as a child
// process) and the table records its exit code and what the user sees.
// TestBadInputTable fails when the file and the behaviour drift apart;
//
//	go test ./cmd/autonf -run TestBadInputTable -update
//
// rewrites the file. Other files add cases with
//
//	func init() { badCases = append(badCases, myCases...) }
var updateDoc = flag.Bool("update", false, "rewrite docs/bad-inputs.md from the bad-input cases")

// badCase is one row of the table.
type badCase struct {
	Group string // section of the table (see groupOrder)
	What  string // what the user did, in words
	// Args returns the command line; it may create the files it needs in
	// fx.Dir. Paths under fx.Dir are shown as DIR.
	Args func(fx *fixture) []string
	// Run, when set, replaces the in-process run (signals, locks); it
	// returns the exit code and stderr. Args is still used for display.
	Run  func(t *testing.T, fx *fixture) (int, string)
	Code int    // expected exit code
	Want string // expected substring of what the user sees
	// Numbers, when set, replaces every number in the shown message by N
	// (for messages with timing-dependent epochs and scores).
	Numbers bool
}

var badCases []badCase

// groupOrder fixes the order of the table's sections; groups not listed
// follow in the order they first appear.
var groupOrder = []string{"data files", "flags", "outputs", "model directories", "architecture specs", "checkpoints", "search", "signals and concurrent runs", "outliers"}

// fixture is the shared state of the cases: a directory with a good data
// file, a small spec, and a model trained on them.
type fixture struct {
	t     *testing.T
	Dir   string
	Good  string // DIR/good.csv, 2 columns x,y, 400 rows
	Spec  string // DIR/small.json, a 2-D two-layer affine coupling flow
	Model string // DIR/model, trained on Good with Spec
	n     int    // counter for unique names
}

func newFixture(t *testing.T) *fixture {
	dir := t.TempDir()
	fx := &fixture{t: t, Dir: dir}
	var b strings.Builder
	b.WriteString("x,y\n")
	for i := 0; i < 400; i++ {
		fmt.Fprintf(&b, "%g,%g\n", float64(i%20)/7+float64(i)/1000, float64((i*7)%23)/5-float64(i%3))
	}
	fx.Good = fx.File("good.csv", b.String())
	fx.Spec = fx.File("small.json", `{"format":"autonf.arch/v1","dim":2,"layers":[
  {"type":"affine-coupling","hidden":[8],"mask":"even"},{"type":"affine-coupling","hidden":[8],"mask":"odd"}]}`)
	fx.Model = filepath.Join(dir, "model")
	if code, _, errs := cli("train", "--data", fx.Good, "--arch", fx.Spec, "--epochs", "2", "--quiet", "--out", fx.Model); code != 0 {
		t.Fatalf("fixture model: %s", errs)
	}
	return fx
}

// File writes DIR/name with content and returns its path.
func (fx *fixture) File(name, content string) string {
	p := filepath.Join(fx.Dir, name)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		fx.t.Fatal(err)
	}
	return p
}

// Path returns DIR/name without creating it.
func (fx *fixture) Path(name string) string { return filepath.Join(fx.Dir, name) }

// Link makes DIR/name a symlink to target and returns its path.
func (fx *fixture) Link(name, target string) string {
	p := filepath.Join(fx.Dir, name)
	os.Remove(p)
	if err := os.Symlink(target, p); err != nil {
		fx.t.Fatal(err)
	}
	return p
}

// ModelVariant copies the fixture model to DIR/name, applies the edits to
// its decoded model.json and its tensors (then fixing the checksum, as a
// careful attacker would), and returns its path.
func (fx *fixture) ModelVariant(name string, manifest func(m map[string]any), weights func(ts map[string]model.Tensor)) string {
	dst := filepath.Join(fx.Dir, name)
	os.MkdirAll(dst, 0o755)
	for _, f := range []string{model.ManifestFile, model.WeightsFile} {
		b, err := os.ReadFile(filepath.Join(fx.Model, f))
		if err != nil {
			fx.t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dst, f), b, 0o644)
	}
	mp := filepath.Join(dst, model.ManifestFile)
	var m map[string]any
	b, _ := os.ReadFile(mp)
	json.Unmarshal(b, &m)
	if weights != nil {
		wp := filepath.Join(dst, model.WeightsFile)
		wb, _ := os.ReadFile(wp)
		ts, meta, err := model.ReadSafetensors(wb)
		if err != nil {
			fx.t.Fatal(err)
		}
		weights(ts)
		var list []model.Tensor
		for _, k := range slices.Sorted(maps.Keys(ts)) {
			list = append(list, ts[k])
		}
		var out bytes.Buffer
		model.WriteSafetensors(&out, list, meta)
		os.WriteFile(wp, out.Bytes(), 0o644)
		sum := sha256.Sum256(out.Bytes())
		m["weights"].(map[string]any)["sha256"] = hex.EncodeToString(sum[:])
	}
	if manifest != nil {
		manifest(m)
	}
	b, _ = json.MarshalIndent(m, "", " ")
	os.WriteFile(mp, b, 0o644)
	return dst
}

var (
	hexRE    = regexp.MustCompile(`(sha256 [0-9a-f]+|[0-9a-f]{12}…)`)
	tensorRE = regexp.MustCompile(`tensors-[0-9]+`)
	numberRE = regexp.MustCompile(`-?[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?`)
	tmpRE    = regexp.MustCompile(`/tmp/[^ ]*?/[0-9]{3}`)
)

// shown picks what the user sees from a run: the error line (or, for
// usage errors, the first line; for successes, the first warning or the
// last line of output), with paths and hashes normalised.
func shown(fx *fixture, c badCase, code int, stdout, stderr string) string {
	lines := func(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") }
	var msg string
	switch {
	case code == 2 && strings.TrimSpace(stderr) == "":
		msg = lines(stdout)[0]
	case code == 2:
		msg = lines(stderr)[0]
	case code != 0:
		for _, l := range lines(stderr) {
			if strings.HasPrefix(l, "autonf") {
				msg = l
			}
		}
	default:
		for _, l := range lines(stderr) {
			if strings.HasPrefix(l, "warning:") {
				msg = l
				break
			}
		}
		if msg == "" {
			out := stdout
			if strings.TrimSpace(out) == "" {
				out = stderr
			}
			ls := lines(out)
			msg = ls[len(ls)-1]
		}
	}
	msg = strings.ReplaceAll(msg, fx.Dir, "DIR")
	msg = tmpRE.ReplaceAllString(msg, "TMP")
	msg = hexRE.ReplaceAllStringFunc(msg, func(h string) string {
		if strings.HasPrefix(h, "sha256") {
			return "sha256 HASH"
		}
		return "HASH…"
	})
	msg = tensorRE.ReplaceAllString(msg, "tensors-N")
	if c.Numbers {
		msg = numberRE.ReplaceAllString(msg, "N")
	}
	return msg
}

func commandLine(fx *fixture, args []string) string {
	parts := []string{"autonf"}
	for _, a := range args {
		a = strings.ReplaceAll(a, fx.Dir, "DIR")
		if a == "" || strings.ContainsAny(a, " \t\"'|") {
			a = fmt.Sprintf("%q", a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

var docMu sync.Mutex

func TestBadInputTable(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every bad-input case")
	}
	fx := newFixture(t)
	type row struct {
		group, what, cmd, msg string
		code                  int
	}
	var rows []row
	for i, c := range badCases {
		args := c.Args(fx)
		var code int
		var stdout, stderr string
		if c.Run != nil {
			code, stderr = c.Run(t, fx)
		} else {
			code, stdout, stderr = cli(args...)
		}
		msg := shown(fx, c, code, stdout, stderr)
		if code != c.Code || !strings.Contains(msg, c.Want) {
			t.Errorf("case %d (%s: %s): %s\nexit %d (want %d), shows %q, want it to contain %q\nstderr: %s", i, c.Group, c.What, commandLine(fx, args), code, c.Code, msg, c.Want, stderr)
		}
		rows = append(rows, row{c.Group, c.What, commandLine(fx, args), msg, code})
	}
	if len(badCases) < 60 {
		t.Errorf("%d bad-input cases, want at least 60", len(badCases))
	}
	order := slices.Clone(groupOrder)
	for _, r := range rows {
		if !slices.Contains(order, r.group) {
			order = append(order, r.group)
		}
	}
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	var b strings.Builder
	b.WriteString("# Bad inputs and what the user sees\n\n")
	b.WriteString("Generated by `TestBadInputTable` (cmd/autonf/badinput_test.go) from the cases it runs — do not edit by hand;\n")
	b.WriteString("`go test ./cmd/autonf -run TestBadInputTable -update` rewrites it, and the test fails when this file and the\n")
	b.WriteString("behaviour differ. `DIR` is the test's scratch directory; HASH stands for a checksum prefix, N for a number that\n")
	b.WriteString("depends on timing. Exit codes: 0 handled (with the warning shown), 1 refused, 2 usage error, 130 / 143 stopped by\n")
	b.WriteString(fmt.Sprintf("SIGINT / SIGTERM after saving the best state. %d cases.\n", len(rows)))
	n := 0
	for _, g := range order {
		fmt.Fprintf(&b, "\n## %s\n\n| # | input | command | exit | what the user sees |\n|---|---|---|---|---|\n", strings.ToUpper(g[:1])+g[1:])
		for _, r := range rows {
			if r.group != g {
				continue
			}
			n++
			fmt.Fprintf(&b, "| %d | %s | `%s` | %d | %s |\n", n, esc(r.what), esc(r.cmd), r.code, esc(r.msg))
		}
	}
	doc := filepath.Join("..", "..", "docs", "bad-inputs.md")
	docMu.Lock()
	defer docMu.Unlock()
	if *updateDoc {
		os.MkdirAll(filepath.Dir(doc), 0o755)
		if err := os.WriteFile(doc, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	old, err := os.ReadFile(doc)
	if err != nil {
		t.Fatalf("%v; create it with -update", err)
	}
	if string(old) != b.String() {
		ol, nl := strings.Split(string(old), "\n"), strings.Split(b.String(), "\n")
		for i := 0; i < min(len(ol), len(nl)); i++ {
			if ol[i] != nl[i] {
				t.Fatalf("docs/bad-inputs.md is out of date (rerun with -update); first difference at line %d:\nfile: %s\nnow:  %s", i+1, ol[i], nl[i])
			}
		}
		t.Fatalf("docs/bad-inputs.md is out of date (rerun with -update): %d lines in the file, %d now", len(ol), len(nl))
	}
}
