package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/autonf/autonf/internal/fsio"
)

const sharedData = "../../../shared/data"

func needData(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(sharedData, "flights.csv")); err != nil {
		t.Skipf("skipping: the real datasets are not at %s (%v)", sharedData, err)
	}
}

// TestQuickBench runs the quick bench on real data and checks the
// properties every bench must have: every unit finished, regrets and rank
// percentiles in range, results.json round trips, and a rerun with Resume
// skips every finished unit.
func TestQuickBench(t *testing.T) {
	needData(t)
	out := t.TempDir()
	var log strings.Builder
	res, err := Run(context.Background(), Options{DataDir: sharedData, OutDir: out, Quick: true, Progress: &log})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, log.String())
	}
	t.Log(log.String())
	sc := QuickScale()
	if !res.Complete || len(res.done) != countUnits(sc) {
		t.Fatalf("complete %v, %d of %d units", res.Complete, len(res.done), countUnits(sc))
	}
	n := spaceSize(sc.Layers, len(sc.Candidates))
	if got := len(res.Trainings); got != n*sc.TrainSeeds*len(sc.Datasets) {
		t.Errorf("%d trainings, want %d", got, n*sc.TrainSeeds*len(sc.Datasets))
	}
	s := Summarize(res)
	for _, tr := range s.Truth {
		if len(tr.Archs) != n {
			t.Errorf("%s: %d architectures in the ground truth, want %d (missing %d)", tr.Dataset, len(tr.Archs), n, tr.Missing)
		}
		for i := 1; i < len(tr.Archs); i++ {
			if tr.Archs[i].Val.Mean < tr.Archs[i-1].Val.Mean {
				t.Errorf("%s: ground truth not sorted by validation NLL at %d", tr.Dataset, i)
			}
		}
	}
	for _, v := range s.Variants {
		if v.Runs != sc.SearchSeeds || v.Failed != 0 {
			t.Errorf("%s/%s: %d runs, %d failed", v.Dataset, v.Variant, v.Runs, v.Failed)
		}
		if v.ValRegret.Min < 0 {
			t.Errorf("%s/%s: validation regret %g < 0", v.Dataset, v.Variant, v.ValRegret.Min)
		}
		if v.RankPct.Min < 0 || v.RankPct.Max > 100 {
			t.Errorf("%s/%s: rank percentile outside [0,100]: %+v", v.Dataset, v.Variant, v.RankPct)
		}
		if (v.ValRegret.Max == 0) != (v.RankPct.Max == 0) {
			t.Errorf("%s/%s: zero validation regret must mean rank 0: %+v vs %+v", v.Dataset, v.Variant, v.ValRegret, v.RankPct)
		}
	}
	for _, c := range s.Random {
		last := len(c.Median) - 1
		if last < 0 || c.Median[last] != 0 {
			t.Errorf("%s: random search after every architecture must have regret 0, got %v", c.Dataset, c.Median)
		}
	}
	if len(s.Toy.Same) != 2 || s.Toy.Same[0].Seeds != sc.ToySeeds || s.Toy.Same[1].Seeds != sc.ToySeeds {
		t.Errorf("toy study: %+v, want %d seeds with both losses for each temperature setting", s.Toy.Same, sc.ToySeeds)
	}
	for _, p := range s.Pareto {
		if len(p.Front) == 0 || len(p.Points) != len(sc.Lambdas) {
			t.Errorf("pareto %s: %d front points, %d λ points", p.Source, len(p.Front), len(p.Points))
		}
		for i := 1; i < len(p.Front); i++ {
			if p.Front[i].Cost < p.Front[i-1].Cost || p.Front[i].Val >= p.Front[i-1].Val {
				t.Errorf("pareto %s: front not monotone at %d: %+v", p.Source, i, p.Front)
			}
		}
	}

	// Round trip.
	back, err := Load(filepath.Join(out, ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(Summarize(back), s) {
		t.Error("the summary of the reloaded results.json differs")
	}

	// Without Resume an existing results.json is refused.
	if _, err := Run(context.Background(), Options{DataDir: sharedData, OutDir: out, Quick: true}); err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Errorf("rerun without Resume: err = %v, want a refusal naming --resume", err)
	}
	// Resume: nothing left to do, nothing changes.
	log.Reset()
	again, err := Run(context.Background(), Options{DataDir: sharedData, OutDir: out, Quick: true, Resume: true, Progress: &log})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again.Trainings, res.Trainings) || !reflect.DeepEqual(again.Searches, res.Searches) || !reflect.DeepEqual(again.Toy, res.Toy) {
		t.Error("resume redid finished units")
	}
	if strings.Contains(log.String(), "train ") || strings.Contains(log.String(), "search ") {
		t.Errorf("resume ran units again:\n%s", log.String())
	}
	md, err := os.ReadFile(filepath.Join(out, SectionFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Ground truth", "Random search", "Toy study", "Pareto", "Discussion", fmt.Sprintf("All %d units finished", countUnits(sc))} {
		if !strings.Contains(string(md), want) {
			t.Errorf("%s lacks %q", SectionFile, want)
		}
	}
	pngs := []string{"random_flights.png"}
	for _, src := range sc.CostSources {
		pngs = append(pngs, "pareto_"+src+".png")
	}
	for _, png := range pngs {
		if st, err := os.Stat(filepath.Join(out, png)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", png, err)
		}
	}
}

func TestSplice(t *testing.T) {
	p := filepath.Join(t.TempDir(), "B.md")
	for _, tc := range []struct{ before, section, want string }{
		{"", "one", MarkerStart + "\none\n" + MarkerEnd + "\n"},
		{"# Title\n", "one", "# Title\n\n" + MarkerStart + "\none\n" + MarkerEnd + "\n"},
		{"a\n" + MarkerStart + "\nold\nold\n" + MarkerEnd + "\nb\n", "new\n", "a\n" + MarkerStart + "\nnew\n" + MarkerEnd + "\nb\n"},
	} {
		if tc.before != "" {
			if err := os.WriteFile(p, []byte(tc.before), 0o644); err != nil {
				t.Fatal(err)
			}
		} else {
			os.Remove(p)
		}
		if err := Splice(p, tc.section); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(p)
		if string(got) != tc.want {
			t.Errorf("Splice(%q, %q) = %q, want %q", tc.before, tc.section, got, tc.want)
		}
	}
	if err := os.WriteFile(p, []byte("x\n"+MarkerEnd+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Splice(p, "s"); err == nil {
		t.Error("Splice accepted an unmatched end marker")
	}
}

func TestScaleValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Scale)
		want string
	}{
		{"dataset", func(s *Scale) { s.Datasets = []string{"nope"} }, "unknown"},
		{"variant", func(s *Scale) { s.Variants = []string{"nope"} }, "variant"},
		{"layers", func(s *Scale) { s.Layers = 9 }, "layers"},
		{"lambda", func(s *Scale) { s.Lambdas = []float64{-1} }, "λ"},
		{"pareto", func(s *Scale) { s.ParetoDataset = "digits" }, "pareto dataset"},
	} {
		s := FullScale()
		tc.edit(&s)
		err := s.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
	for _, s := range []Scale{FullScale(), QuickScale()} {
		if err := s.Validate(); err != nil {
			t.Errorf("built-in scale invalid: %v", err)
		}
	}
	if _, err := Run(context.Background(), Options{DataDir: t.TempDir(), OutDir: t.TempDir(), Quick: true}); err == nil || !strings.Contains(err.Error(), "--data-dir") {
		t.Errorf("missing data: err = %v, want a hint at --data-dir", err)
	}
}

// cancelAfter cancels a context after n progress lines of finished units.
type cancelAfter struct {
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(string(p), "\n") {
		if strings.Contains(line, "] train ") {
			c.n--
			if c.n == 0 {
				c.cancel()
			}
		}
	}
	return len(p), nil
}

// TestResumeAfterInterrupt interrupts a quick bench after a few units and
// resumes it: the finished units are kept as they were, none is run twice,
// and the resumed bench completes.
func TestResumeAfterInterrupt(t *testing.T) {
	needData(t)
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	part, err := Run(ctx, Options{DataDir: sharedData, OutDir: out, Quick: true, Progress: &cancelAfter{n: 5, cancel: cancel}})
	if err == nil {
		t.Fatal("an interrupted bench returned no error")
	}
	if part == nil || part.Complete || len(part.Trainings) < 5 {
		t.Fatalf("interrupted bench: %+v", part)
	}
	saved, err := Load(filepath.Join(out, ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(saved.Trainings, part.Trainings) {
		t.Fatal("results.json does not hold the finished units")
	}
	full, err := Run(context.Background(), Options{DataDir: sharedData, OutDir: out, Quick: true, Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	if !full.Complete {
		t.Fatal("resumed bench not complete")
	}
	if !reflect.DeepEqual(full.Trainings[:len(part.Trainings)], part.Trainings) {
		t.Error("resume changed units finished before the interruption")
	}
	seen := map[string]bool{}
	for _, tr := range full.Trainings {
		if seen[tr.Key] {
			t.Errorf("unit %s ran twice", tr.Key)
		}
		seen[tr.Key] = true
	}
	if len(full.done) != countUnits(QuickScale()) {
		t.Errorf("%d units, want %d", len(full.done), countUnits(QuickScale()))
	}
	// Another scale cannot resume this results.json.
	sc := QuickScale()
	sc.Epochs++
	if _, err := Run(context.Background(), Options{DataDir: sharedData, OutDir: out, Scale: &sc, Resume: true}); err == nil || !strings.Contains(err.Error(), "another scale") {
		t.Errorf("resume at another scale: err = %v", err)
	}
}

// TestLocked: a second bench writing the same directory is refused.
func TestLocked(t *testing.T) {
	needData(t)
	out := t.TempDir()
	l, err := fsio.LockDir(out)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	if _, err := Run(context.Background(), Options{DataDir: sharedData, OutDir: out, Quick: true}); err == nil || !errors.Is(err, fsio.ErrLocked) {
		t.Errorf("Run on a locked directory: err = %v, want ErrLocked", err)
	}
}
