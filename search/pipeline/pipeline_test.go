package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/autonf/autonf/internal/fsio"
	"github.com/autonf/autonf/model"
	"github.com/autonf/autonf/search/cost"
	"github.com/autonf/autonf/search/strategy"
)

// writeCSV writes rows of a 2-D Gaussian mixture, every value multiplied by
// scale, and returns the path.
func writeCSV(t *testing.T, dir string, scale float64) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 8))
	var b strings.Builder
	b.WriteString("a,b\n")
	for i := 0; i < 1500; i++ {
		c := float64(rng.IntN(2)*4 - 2)
		x := c + 0.5*rng.NormFloat64()
		y := 0.7*x + 0.3*rng.NormFloat64()
		fmt.Fprintf(&b, "%v,%v\n", scale*x, scale*y)
	}
	p := filepath.Join(dir, fmt.Sprintf("data-%g.csv", scale))
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func smallOptions() Options {
	return Options{Layers: 2, Candidates: []string{"planar", "affine-coupling"}, Hidden: []int{8}, Bins: 4, Cost: cost.Params,
		Search:  strategy.Options{Steps: 40, Batch: 128, Seed: 3},
		Retrain: RetrainOptions{Epochs: 3, Patience: 5}}
}

// TestUnitsAreTheFiles: multiplying every value of the file by 10 changes
// no standardised number, so every reported NLL must move by exactly
// D·ln 10 (the standardisation's log-Jacobian), in the direction of the
// units: NLLs up, log-likelihoods down.
func TestUnitsAreTheFiles(t *testing.T) {
	dir := t.TempDir()
	var res [2]*Result
	for k, scale := range []float64{1, 10} {
		cfg := model.DataConfig{Data: writeCSV(t, dir, scale), Seed: 1}
		r, err := Run(context.Background(), cfg, smallOptions())
		if err != nil {
			t.Fatal(err)
		}
		res[k] = r
	}
	shift := 2 * math.Log(10)
	a, b := res[0].Runs[0], res[1].Runs[0]
	if a.Test == nil || b.Test == nil {
		t.Fatal("no test figures")
	}
	if a.ArchName != b.ArchName {
		t.Fatalf("the scaled file found %s, the original %s", b.ArchName, a.ArchName)
	}
	if d := res[0].LogDet - res[1].LogDet; math.Abs(d-shift) > 1e-9 {
		t.Errorf("log-Jacobians differ by %.6f, want %.6f", d, shift)
	}
	checks := []struct {
		name      string
		got, want float64
		tolerance float64
	}{
		{"validation NLL", b.ValNLL - a.ValNLL, shift, 2e-3},
		{"test log-likelihood", b.Test.Mean - a.Test.Mean, -shift, 2e-3},
	}
	for _, c := range checks {
		if math.Abs(c.got-c.want) > c.tolerance {
			t.Errorf("%s moved by %.5f, want %.5f", c.name, c.got, c.want)
		}
	}
}

func TestRunRefusesToOverwriteAndMismatchedResume(t *testing.T) {
	dir := t.TempDir()
	cfg := model.DataConfig{Data: writeCSV(t, dir, 1), Seed: 1}
	run := filepath.Join(dir, "run")
	o := smallOptions()
	o.Dir = run
	o.NoRetrain = true
	if _, err := Run(context.Background(), cfg, o); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), cfg, o); err == nil || !strings.Contains(err.Error(), "already holds a run") {
		t.Fatalf("second run into the same directory: %v", err)
	}
	cases := []struct {
		change func(*Options, *model.DataConfig)
		want   string
	}{
		{func(o *Options, _ *model.DataConfig) { o.Search.Seed = 4 }, "search.seed: checkpoint 3, now 4"},
		{func(o *Options, _ *model.DataConfig) { o.Lambda = 0.5 }, "lambda: checkpoint 0, now 0.5"},
		{func(o *Options, _ *model.DataConfig) { o.Search.Steps = 41 }, "search.steps"},
		{func(_ *Options, c *model.DataConfig) { c.Data = writeCSV(t, dir, 2) }, "data.scale"},
	}
	for _, c := range cases {
		oo, cc := o, cfg
		oo.Resume = true
		c.change(&oo, &cc)
		_, err := Run(context.Background(), cc, oo)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("resume after a change: %v; want an error naming %q", err, c.want)
		}
	}
	o.Resume = true
	if _, err := Run(context.Background(), cfg, o); err != nil {
		t.Errorf("resume with the same options: %v", err)
	}
	o.Resume, o.Force = false, true
	if _, err := Run(context.Background(), cfg, o); err != nil {
		t.Errorf("--force: %v", err)
	}
}

func TestSeedsSummary(t *testing.T) {
	dir := t.TempDir()
	o := smallOptions()
	o.Seeds = 3
	o.Dir = filepath.Join(dir, "run")
	res, err := Run(context.Background(), model.DataConfig{Data: writeCSV(t, dir, 1), Seed: 1}, o)
	if err != nil {
		t.Fatal(err)
	}
	s := res.Seeds
	if s == nil || s.K != 3 || len(res.Runs) != 3 {
		t.Fatalf("seeds summary %+v with %d runs", s, len(res.Runs))
	}
	total := 0
	for _, p := range s.Picks {
		total += p.Count
	}
	var tests []float64
	for k, run := range res.Runs {
		if run.Seed != 3+uint64(k) {
			t.Errorf("run %d has seed %d", k, run.Seed)
		}
		tests = append(tests, run.Test.Mean)
	}
	m := (tests[0] + tests[1] + tests[2]) / 3
	sd := math.Sqrt(((tests[0]-m)*(tests[0]-m) + (tests[1]-m)*(tests[1]-m) + (tests[2]-m)*(tests[2]-m)) / 2)
	if total != 3 || math.Abs(s.TestMean-m) > 1e-12 || math.Abs(s.TestSD-sd) > 1e-12 {
		t.Errorf("picks total %d, test %.6f ± %.6f; want 3, %.6f ± %.6f", total, s.TestMean, s.TestSD, m, sd)
	}
	for k := 1; k <= 3; k++ {
		if _, err := os.Stat(filepath.Join(o.Dir, fmt.Sprintf("seed-%02d", k), "model", "model.json")); err != nil {
			t.Error(err)
		}
	}
	rep, _ := os.ReadFile(filepath.Join(o.Dir, "report.md"))
	if !strings.Contains(string(rep), "## 3 seeds") || !strings.Contains(string(rep), "mean ± s.d. over 3 seeds") {
		t.Errorf("report.md lacks the seeds section:\n%s", rep)
	}
}

// TestChooseOnValidation: the front and the best run follow validation NLL
// even where the test figures would rank them the other way.
func TestChooseOnValidation(t *testing.T) {
	run := func(lam, cost, val, test float64) *SearchRun {
		return &SearchRun{Lambda: lam, Cost: cost, ValNLL: val, Test: &model.Eval{Mean: -test, N: 10}}
	}
	runs := []*SearchRun{
		run(0, 10, 1.0, 2.0),     // best on validation, worst on test
		run(1, 5, 1.5, 0.5),      // on the front (cheaper)
		run(2, 6, 2.0, 0.1),      // dominated on validation (best on test)
		run(3, 1, 3.0, 5.0),      // cheapest: on the front
		run(4, 2, math.NaN(), 0), // failed: never chosen
	}
	front, best := chooseOnValidation(runs)
	if best != 0 {
		t.Errorf("best = %d, want 0 (lowest validation NLL)", best)
	}
	if want := []int{3, 1, 0}; !slices.Equal(front, want) {
		t.Errorf("front = %v, want %v", front, want)
	}
}

func TestDistinctArchs(t *testing.T) {
	for _, c := range []struct{ n, m, k int }{{3, 4, 64}, {3, 4, 10}, {2, 2, 1}, {30, 4, 50}} {
		got := distinctArchs(c.n, c.m, c.k, rand.New(rand.NewPCG(1, 2)))
		if len(got) != c.k {
			t.Fatalf("%v: %d architectures", c, len(got))
		}
		seen := map[string]bool{}
		for _, a := range got {
			key := fmt.Sprint(a)
			if seen[key] || len(a) != c.n || slices.Max(a) >= c.m || slices.Min(a) < 0 {
				t.Fatalf("%v: repeated or invalid architecture %v", c, a)
			}
			seen[key] = true
		}
	}
}

func TestValidateRefusesBeforeWork(t *testing.T) {
	cases := []struct {
		change func(*Options)
		want   string
	}{
		{func(o *Options) { o.Layers = 65 }, "layers must be in 1..64"},
		{func(o *Options) { o.Candidates = []string{"maf", "glow"} }, `candidate "glow" is unknown`},
		{func(o *Options) { o.Candidates = []string{"maf", "maf"} }, "is the same as candidate 1"},
		{func(o *Options) { o.Hidden = []int{1 << 20} }, "hidden width 1048576 is out of range"},
		{func(o *Options) { o.Lambda = math.Inf(1) }, "lambda must be a finite number"},
		{func(o *Options) { o.Random = 100 }, "the space has 4"},
		{func(o *Options) { o.Exhaustive, o.Layers, o.Candidates = true, 6, []string{"maf", "nsf-ar", "planar"} }, "729 architectures"},
		{func(o *Options) { o.Exhaustive, o.NoRetrain = true, true }, "cannot be combined with no-retrain"},
		{func(o *Options) { o.Search.AlphaLR = math.NaN() }, "alpha learning rate"},
		{func(o *Options) { o.Resume = true }, "resume needs a run directory"},
	}
	for _, c := range cases {
		o := smallOptions()
		c.change(&o)
		// No data file: Run must refuse the options before it looks for one.
		_, err := Run(context.Background(), model.DataConfig{Data: "/nonexistent/file.csv"}, o)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "nonexistent") {
			t.Errorf("%s: got %v", c.want, err)
		}
		if errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: the data was read before the options were checked", c.want)
		}
	}
}

// TestRunDirLocked: a second writer of the same run directory fails at
// once.
func TestRunDirLocked(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	if err := os.MkdirAll(run, 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := fsio.LockDir(run)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	o := smallOptions()
	o.Dir, o.NoRetrain = run, true
	_, err = Run(context.Background(), model.DataConfig{Data: writeCSV(t, dir, 1), Seed: 1}, o)
	if !errors.Is(err, fsio.ErrLocked) {
		t.Fatalf("run into a locked directory: %v", err)
	}
}
