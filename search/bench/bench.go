package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/internal/fsio"
	"github.com/autonf/autonf/model"
	"github.com/autonf/autonf/search"
	"github.com/autonf/autonf/search/cost"
	"github.com/autonf/autonf/search/strategy"
	"github.com/autonf/autonf/train"
)

// ResultsFile is the name of the results file in the output directory.
const ResultsFile = "results.json"

// Format tags results.json.
const Format = "autonf.bench/v1"

// Scale is how far every method is scaled down, identically: rows, the
// space, the conditioners, the training budget of each architecture and
// the search budget.
type Scale struct {
	Datasets   []string `json:"datasets"`   // from DatasetNames
	TrainRows  int      `json:"train_rows"` // rows subsampled (at most) per split
	ValRows    int      `json:"val_rows"`
	TestRows   int      `json:"test_rows"`
	Layers     int      `json:"layers"`     // slots of the space
	Candidates []string `json:"candidates"` // per slot
	Hidden     []int    `json:"hidden"`     // conditioner hidden sizes
	Bins       int      `json:"bins"`       // spline bins
	Epochs     int      `json:"epochs"`     // training budget of one architecture
	Patience   int      `json:"patience"`
	Batch      int      `json:"batch"` // training and search batch
	LR         float64  `json:"lr"`
	TrainSeeds int      `json:"train_seeds"` // seeds of every exhaustive training
	// SearchSteps is the step budget of one search phase (0: the search's
	// own default).
	SearchSteps int      `json:"search_steps"`
	SearchSeeds int      `json:"search_seeds"` // seeds of every search variant
	Variants    []string `json:"variants"`     // from VariantNames

	ToyData   string `json:"toy_data"` // toy:NAME
	ToyRows   int    `json:"toy_rows"` // rows generated (split 60/20/20)
	ToyLayers int    `json:"toy_layers"`
	ToySeeds  int    `json:"toy_seeds"`

	ParetoDataset string    `json:"pareto_dataset"`
	ParetoVariant string    `json:"pareto_variant"`
	Lambdas       []float64 `json:"lambdas"`
	ParetoSeeds   int       `json:"pareto_seeds"`
	CostSources   []string  `json:"cost_sources"` // measured (and paper when the cost package has it)

	RandomOrders int    `json:"random_orders"` // random-search orders simulated
	DataSeed     uint64 `json:"data_seed"`     // subsampling, splits and dequantisation noise
}

// FullScale is the scale of `make bench`: three real datasets, 3 slots × 4
// paper candidates (64 architectures) at hidden 32×2 and 8 bins, 2 seeds of
// every training (at most 30 epochs), 5 seeds of every search variant
// (the search's default step budget and stopping rules), batch 128
// throughout. It is sized to finish in well under an hour on a shared
// 2-core machine.
func FullScale() Scale {
	return Scale{
		Datasets:  []string{"miniboone", "shuttle", "flights"},
		TrainRows: 3000, ValRows: 1000, TestRows: 2000,
		Layers: 3, Candidates: []string{"maf", "nsf-ar", "affine-coupling", "nsf-coupling"},
		Hidden: []int{32, 32}, Bins: 8,
		Epochs: 30, Patience: 6, Batch: 128, LR: 1e-3, TrainSeeds: 2,
		SearchSteps: 0, SearchSeeds: 5, Variants: VariantNames(),
		ToyData: "toy:moons", ToyRows: 5000, ToyLayers: 4, ToySeeds: 5,
		ParetoDataset: "shuttle", ParetoVariant: "grow-b1", Lambdas: []float64{0.25, 1, 4, 16}, ParetoSeeds: 2,
		CostSources:  defaultCostSources(),
		RandomOrders: 2000, DataSeed: 1,
	}
}

// QuickScale is a CI-sized subset (about a minute on two cores): one small
// dataset, 2 slots × 4 candidates (16 architectures), one training seed,
// two seeds of three search variants, a 2-slot toy study and a 2-λ sweep.
func QuickScale() Scale {
	return Scale{
		Datasets:  []string{"flights"},
		TrainRows: 600, ValRows: 300, TestRows: 400,
		Layers: 2, Candidates: []string{"maf", "nsf-ar", "affine-coupling", "nsf-coupling"},
		Hidden: []int{8, 8}, Bins: 4,
		Epochs: 4, Patience: 2, Batch: 128, LR: 1e-3, TrainSeeds: 1,
		SearchSteps: 40, SearchSeeds: 2, Variants: []string{"grow-b1", "whole", "sampled"},
		ToyData: "toy:moons", ToyRows: 1000, ToyLayers: 2, ToySeeds: 2,
		ParetoDataset: "flights", ParetoVariant: "grow-b1", Lambdas: []float64{1, 8}, ParetoSeeds: 1,
		CostSources:  defaultCostSources(),
		RandomOrders: 200, DataSeed: 1,
	}
}

// defaultCostSources lists the cost sources the Pareto study uses: measured,
// and the paper's table when the cost package provides it.
func defaultCostSources() []string {
	out := []string{"measured"}
	if _, err := cost.ParseSource("paper"); err == nil {
		out = append(out, "paper")
	}
	return out
}

// Options configure Run.
type Options struct {
	DataDir string // the real datasets (../shared/data)
	OutDir  string // results.json and the PNGs go here
	Quick   bool   // QuickScale instead of FullScale (when Scale is nil)
	Scale   *Scale // nil: FullScale or QuickScale
	// Resume continues an existing results.json of the same scale (its
	// finished units are skipped). Without it an existing results.json is
	// an error: the bench never overwrites one.
	Resume bool
	// Progress receives one line per finished unit (nil: none).
	Progress io.Writer
	// Splice, when set, is a Markdown file (BENCHMARKS.md) whose section
	// between MarkerStart and MarkerEnd is replaced by the bench's.
	Splice string
	// Command is the command line named in the Markdown section.
	Command string
	// TrainSeeds and SearchSeeds, when positive, override the scale's.
	TrainSeeds, SearchSeeds int
}

// Training is one exhaustive training: an architecture trained from
// scratch with one seed. NLLs are in the units of the user's file.
type Training struct {
	Key        string  `json:"key"`
	Dataset    string  `json:"dataset"`
	Arch       []int   `json:"arch"`
	Name       string  `json:"name"`
	Seed       uint64  `json:"seed"`
	ValNLL     float64 `json:"val_nll"`
	TestNLL    float64 `json:"test_nll"`
	Test2SE    float64 `json:"test_nll_2se"`
	Seconds    float64 `json:"seconds"`
	Epochs     int     `json:"epochs"`
	Params     int     `json:"params"`
	StopReason string  `json:"stop_reason,omitempty"`
	Error      string  `json:"error,omitempty"` // the training failed (excluded from the table)
}

// SearchRun is one search: a variant with one seed (and a λ and cost
// source for the Pareto study).
type SearchRun struct {
	Key        string      `json:"key"`
	Dataset    string      `json:"dataset"`
	Variant    string      `json:"variant"`
	Seed       uint64      `json:"seed"`
	Lambda     float64     `json:"lambda,omitempty"`
	CostSource string      `json:"cost_source,omitempty"`
	Arch       []int       `json:"arch"`
	Name       string      `json:"name"`
	Weights    [][]float64 `json:"weights"` // final softmax weights per slot
	MinMaxW    float64     `json:"min_max_weight"`
	Seconds    float64     `json:"seconds"`
	Steps      int         `json:"steps"` // α/θ steps over all phases
	Phases     int         `json:"phases"`
	Changed    int         `json:"changed"` // phases after the first round that changed a choice
	StopReason string      `json:"stop_reason"`
	Conv       Convergence `json:"convergence"`
	Error      string      `json:"error,omitempty"`
}

// ToyRun is one seed of the toy study: a search with the original loss
// (M1) or the upper bound (M2), and the derived architecture retrained
// from scratch.
type ToyRun struct {
	Key           string      `json:"key"`
	Loss          string      `json:"loss"`   // original (M1) or upper (M2)
	Anneal        bool        `json:"anneal"` // the default temperature annealing (false: τ = 1, the paper's softmax)
	Seed          uint64      `json:"seed"`
	Arch          []int       `json:"arch"`
	Name          string      `json:"name"`
	Weights       [][]float64 `json:"weights"`
	SearchSeconds float64     `json:"search_seconds"`
	Steps         int         `json:"steps"`
	StopReason    string      `json:"stop_reason"`
	Conv          Convergence `json:"convergence"`
	ValNLL        float64     `json:"val_nll"`  // retrained from scratch
	TestNLL       float64     `json:"test_nll"` // retrained from scratch
	Error         string      `json:"error,omitempty"`
}

// CostRun is a cost table of a dataset's candidates (normalised: affine
// coupling = 1), priced once and reused on resume.
type CostRun struct {
	Key        string    `json:"key"`
	Dataset    string    `json:"dataset"`
	Source     string    `json:"source"`
	Candidates []string  `json:"candidates"`
	Cost       []float64 `json:"cost"`
}

// DatasetInfo describes a prepared dataset.
type DatasetInfo struct {
	Name       string         `json:"name"`
	Files      []string       `json:"files"`
	Dim        int            `json:"dim"`
	Rows       map[string]int `json:"rows"`
	LogDet     float64        `json:"std_logdet"` // added to standardised log-densities
	Dequant    int            `json:"dequantized_columns"`
	Warnings   []string       `json:"warnings,omitempty"`
	Candidates []string       `json:"candidates"`
	Layers     int            `json:"layers"`
}

// Results is the content of results.json: the scale, the datasets and
// every finished unit.
type Results struct {
	Format     string        `json:"format"`
	Scale      Scale         `json:"scale"`
	Machine    string        `json:"machine"`
	Started    time.Time     `json:"started"`
	Seconds    float64       `json:"seconds"` // wall time of all runs, resumed ones added
	Complete   bool          `json:"complete"`
	Datasets   []DatasetInfo `json:"datasets"`
	Costs      []CostRun     `json:"costs"`
	Trainings  []Training    `json:"trainings"`
	Searches   []SearchRun   `json:"searches"`
	Toy        []ToyRun      `json:"toy"`
	ToyTruth   []Training    `json:"toy_truth"`
	done       map[string]bool
	path       string
	runStart   time.Time
	secsBefore float64
}

// Load reads a results.json.
func Load(path string) (*Results, error) {
	b, err := fsio.ReadFile(path, maxResults)
	if err != nil {
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.Format != Format {
		return nil, fmt.Errorf("%s: format %q, want %q", path, r.Format, Format)
	}
	r.index()
	return &r, nil
}

func (r *Results) index() {
	r.done = map[string]bool{}
	for _, t := range r.Trainings {
		r.done[t.Key] = true
	}
	for _, t := range r.ToyTruth {
		r.done[t.Key] = true
	}
	for _, s := range r.Searches {
		r.done[s.Key] = true
	}
	for _, s := range r.Toy {
		r.done[s.Key] = true
	}
	for _, c := range r.Costs {
		r.done[c.Key] = true
	}
}

// Done reports whether the unit key has finished.
func (r *Results) Done(key string) bool { return r.done[key] }

// save writes results.json atomically (temporary file and rename).
func (r *Results) save() error {
	if r.path == "" {
		return nil
	}
	r.Seconds = r.secsBefore + time.Since(r.runStart).Seconds()
	b, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return fmt.Errorf("bench: encoding results: %w", err)
	}
	if err := fsio.WriteFile(r.path, append(b, '\n')); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}

// maxResults bounds the results.json that Load reads.
const maxResults = 256 << 20

// Validate checks a scale before any work starts.
func (s *Scale) Validate() error {
	var errs []string
	bad := func(f string, a ...any) { errs = append(errs, fmt.Sprintf(f, a...)) }
	if len(s.Datasets) == 0 {
		bad("no datasets (from %s)", strings.Join(DatasetNames(), ", "))
	}
	for _, d := range s.Datasets {
		if !slices.Contains(DatasetNames(), d) {
			bad("dataset %q is unknown (want one of %s)", d, strings.Join(DatasetNames(), ", "))
		}
	}
	if s.TrainRows < 50 || s.ValRows < 20 || s.TestRows < 20 {
		bad("rows per split too small (train %d ≥ 50, val %d ≥ 20, test %d ≥ 20)", s.TrainRows, s.ValRows, s.TestRows)
	}
	if s.Layers < 1 || s.Layers > 4 {
		bad("layers %d: want 1–4 (the space is enumerated exhaustively)", s.Layers)
	}
	if len(s.Candidates) < 2 {
		bad("at least two candidates needed, got %v", s.Candidates)
	}
	if s.Epochs < 1 || s.Batch < 1 || s.LR <= 0 {
		bad("epochs %d, batch %d and lr %g must be positive", s.Epochs, s.Batch, s.LR)
	}
	if s.TrainSeeds < 1 || s.SearchSeeds < 1 || s.ToySeeds < 1 || s.ParetoSeeds < 1 {
		bad("seeds must be at least 1 (train %d, search %d, toy %d, pareto %d)", s.TrainSeeds, s.SearchSeeds, s.ToySeeds, s.ParetoSeeds)
	}
	for _, v := range s.Variants {
		if _, ok := variantByName(v); !ok {
			bad("search variant %q is unknown (want %s)", v, strings.Join(VariantNames(), ", "))
		}
	}
	if _, ok := variantByName(s.ParetoVariant); !ok {
		bad("pareto variant %q is unknown", s.ParetoVariant)
	}
	if !slices.Contains(s.Datasets, s.ParetoDataset) {
		bad("pareto dataset %q is not among the datasets %v", s.ParetoDataset, s.Datasets)
	}
	for _, l := range s.Lambdas {
		if !(l >= 0) || math.IsInf(l, 0) {
			bad("λ %g must be finite and ≥ 0", l)
		}
	}
	for _, c := range s.CostSources {
		if _, err := parseCostSource(c); err != nil {
			bad("%v", err)
		}
	}
	if _, ok := strings.CutPrefix(s.ToyData, "toy:"); !ok {
		bad("toy data %q: want toy:NAME", s.ToyData)
	}
	if s.ToyRows < 100 || s.ToyLayers < 1 || s.ToyLayers > 6 {
		bad("toy rows %d (≥ 100) or layers %d (1–6)", s.ToyRows, s.ToyLayers)
	}
	if s.RandomOrders < 1 {
		bad("random orders %d must be ≥ 1", s.RandomOrders)
	}
	if len(errs) > 0 {
		return fmt.Errorf("bench: invalid scale: %s", strings.Join(errs, "; "))
	}
	return nil
}

func parseCostSource(s string) (cost.Source, error) {
	return cost.ParseSource(s)
}

// Run runs (or resumes) the bench and returns every finished unit.
// It validates the options and checks the data files before any work.
// Cancelling ctx stops after the unit in progress; the units finished so
// far are in results.json and a rerun with Resume continues from there.
func Run(ctx context.Context, opt Options) (*Results, error) {
	sc := FullScale()
	if opt.Quick {
		sc = QuickScale()
	}
	if opt.Scale != nil {
		sc = *opt.Scale
	}
	if opt.TrainSeeds > 0 {
		sc.TrainSeeds = opt.TrainSeeds
	}
	if opt.SearchSeeds > 0 {
		sc.SearchSeeds = opt.SearchSeeds
	}
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	if opt.OutDir == "" {
		return nil, errors.New("bench: no output directory (give --out DIR)")
	}
	for _, d := range sc.Datasets {
		for _, f := range datasetFiles(d) {
			p := filepath.Join(opt.DataDir, f)
			if _, err := os.Stat(p); err != nil {
				return nil, fmt.Errorf("bench: dataset %s: %v (give the folder of the real datasets with --data-dir)", d, err)
			}
		}
	}
	if err := os.MkdirAll(opt.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	lock, err := fsio.LockDir(opt.OutDir)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer lock.Unlock()
	path := filepath.Join(opt.OutDir, ResultsFile)
	var res *Results
	if _, err := os.Stat(path); err == nil {
		if !opt.Resume {
			return nil, fmt.Errorf("bench: %s exists; pass --resume to continue it or choose another --out", path)
		}
		if res, err = Load(path); err != nil {
			return nil, err
		}
		if !reflect.DeepEqual(res.Scale, sc) {
			return nil, fmt.Errorf("bench: %s was made at another scale (quick vs full, or other settings); choose another --out", path)
		}
	} else {
		res = &Results{Format: Format, Scale: sc, Started: time.Now().UTC()}
		res.index()
	}
	res.path = path
	res.runStart = time.Now()
	res.secsBefore = res.Seconds
	res.Machine = fmt.Sprintf("%s/%s, GOMAXPROCS %d, %s", runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), runtime.Version())
	r := &runner{sc: sc, opt: opt, res: res, total: countUnits(sc), doneN: len(res.done)}
	err = r.run(ctx)
	res.Complete = err == nil && ctx.Err() == nil && len(res.done) >= r.total
	if serr := res.save(); err == nil {
		err = serr
	}
	if err == nil {
		err = ctx.Err()
	}
	// The report covers the units finished so far, even after an error.
	cmd := opt.Command
	if cmd == "" {
		cmd = "bench.Run"
	}
	if rerr := WriteReport(res, opt.OutDir, opt.Splice, cmd); err == nil {
		err = rerr
	}
	r.logf("bench: %d of %d units finished; report in %s", len(res.done), r.total, filepath.Join(opt.OutDir, SectionFile))
	return res, err
}

type runner struct {
	sc           Scale
	opt          Options
	res          *Results
	total, doneN int
	t0           time.Time
}

func (r *runner) logf(format string, a ...any) {
	if r.opt.Progress == nil {
		return
	}
	el := time.Since(r.t0).Round(time.Second)
	fmt.Fprintf(r.opt.Progress, "[%d/%d %v] %s\n", r.doneN, r.total, el, fmt.Sprintf(format, a...))
}

// countUnits is the number of units of a complete bench.
func countUnits(sc Scale) int {
	n := 1
	for i := 0; i < sc.Layers; i++ {
		n *= len(sc.Candidates)
	}
	toy := 1 << sc.ToyLayers
	return len(sc.Datasets)*(n*sc.TrainSeeds+len(sc.Variants)*sc.SearchSeeds) +
		len(sc.CostSources)*(1+len(sc.Lambdas)*sc.ParetoSeeds) + 4*sc.ToySeeds + toy*sc.TrainSeeds
}

func (r *runner) run(ctx context.Context) error {
	r.t0 = time.Now()
	r.logf("bench: %d units, %d finished before", r.total, r.doneN)
	tmp, err := os.MkdirTemp("", "autonf-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	preps := map[string]*model.Prepared{}
	spaces := map[string]*strategy.Space{}
	for _, d := range r.sc.Datasets {
		p, info, err := prepareDataset(d, r.opt.DataDir, tmp, r.sc)
		if err != nil {
			return err
		}
		sp, err := strategy.NewSpace(p.Train.Cols, r.sc.Layers, r.sc.Candidates, r.sc.Hidden, r.sc.Bins)
		if err != nil {
			return fmt.Errorf("bench: %s: %w", d, err)
		}
		info.Candidates, info.Layers = sp.Names(), sp.Layers
		r.setInfo(info)
		preps[d], spaces[d] = p, sp
	}
	// 1. Ground truth.
	for _, d := range r.sc.Datasets {
		for seed := uint64(0); seed < uint64(r.sc.TrainSeeds); seed++ {
			for _, a := range spaces[d].AllArchs() {
				if err := ctx.Err(); err != nil {
					return nil
				}
				if err := r.trainUnit(ctx, d, preps[d], spaces[d], a, seed, &r.res.Trainings); err != nil {
					return err
				}
			}
		}
	}
	// 2. The toy study and the λ sweep (small), then the searches, seed by
	// seed over every dataset and variant, so that a bench cut short has
	// fewer seeds everywhere rather than no searches somewhere.
	if err := r.toy(ctx); err != nil || ctx.Err() != nil {
		return err
	}
	d := r.sc.ParetoDataset
	for _, src := range r.sc.CostSources {
		if err := r.costUnit(d, spaces[d], src); err != nil {
			return err
		}
		for _, l := range r.sc.Lambdas {
			for seed := uint64(0); seed < uint64(r.sc.ParetoSeeds); seed++ {
				if err := ctx.Err(); err != nil {
					return nil
				}
				if err := r.searchUnit(ctx, d, preps[d], spaces[d], r.sc.ParetoVariant, seed, l, src); err != nil {
					return err
				}
			}
		}
	}
	for seed := uint64(0); seed < uint64(r.sc.SearchSeeds); seed++ {
		for _, d := range r.sc.Datasets {
			for _, v := range r.sc.Variants {
				if err := ctx.Err(); err != nil {
					return nil
				}
				if err := r.searchUnit(ctx, d, preps[d], spaces[d], v, seed, 0, ""); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (r *runner) setInfo(info DatasetInfo) {
	for i, d := range r.res.Datasets {
		if d.Name == info.Name {
			r.res.Datasets[i] = info
			return
		}
	}
	r.res.Datasets = append(r.res.Datasets, info)
}

func archKey(a []int) string {
	s := make([]string, len(a))
	for i, v := range a {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ".")
}

func shortName(sp *strategy.Space, a []int) string {
	abbr := map[string]string{"maf": "MAF", "nsf-ar": "NSF-AR", "affine-coupling": "AC", "nsf-coupling": "NSF-C", "planar": "P", "radial": "R"}
	parts := make([]string, len(a))
	for i, j := range a {
		n := sp.Candidates[j].Name
		if s, ok := abbr[n]; ok {
			n = s
		}
		parts[i] = n
	}
	return strings.Join(parts, "-")
}

// trainUnit trains architecture a of sp on p from scratch with one seed.
func (r *runner) trainUnit(ctx context.Context, d string, p *model.Prepared, sp *strategy.Space, a []int, seed uint64, into *[]Training) error {
	key := fmt.Sprintf("train/%s/%s/seed%d", d, archKey(a), seed)
	if r.res.Done(key) {
		return nil
	}
	t := Training{Key: key, Dataset: d, Arch: slices.Clone(a), Name: shortName(sp, a), Seed: seed}
	val, test, secs, tr, params, err := r.fit(ctx, p, sp, a, seed)
	if ctx.Err() != nil {
		return nil // interrupted: not a finished unit
	}
	t.Seconds, t.Params = secs, params
	if tr != nil {
		t.Epochs, t.StopReason = tr.Epochs, tr.StopReason
	}
	if err != nil {
		t.Error = err.Error()
	} else {
		t.ValNLL, t.TestNLL, t.Test2SE = val, test.nll, test.twoSE
	}
	*into = append(*into, t)
	r.res.done[key] = true
	r.doneN++
	if t.Error != "" {
		r.logf("train %s %s seed %d: FAILED (%s)", d, t.Name, seed, t.Error)
	} else {
		r.logf("train %s %s seed %d: val NLL %.3f, test NLL %.3f (%.1fs, %d epochs)", d, t.Name, seed, t.ValNLL, t.TestNLL, secs, t.Epochs)
	}
	return r.res.save()
}

type testNLL struct{ nll, twoSE float64 }

// fit trains a from scratch and evaluates it: validation and test NLL in
// the user's units.
func (r *runner) fit(ctx context.Context, p *model.Prepared, sp *strategy.Space, a []int, seed uint64) (float64, testNLL, float64, *train.Result, int, error) {
	f, err := flow.Build[float32](sp.Spec(a, shortName(sp, a)), rand.New(rand.NewPCG(seed, 0xbe7c)))
	if err != nil {
		return 0, testNLL{}, 0, nil, 0, err
	}
	cfg := train.Config{Epochs: r.sc.Epochs, Batch: r.sc.Batch, LR: r.sc.LR, Patience: r.sc.Patience, Seed: seed}
	t0 := time.Now()
	tr, err := train.Fit(ctx, f, p.Train, p.Val, cfg)
	secs := time.Since(t0).Seconds()
	if err != nil {
		return 0, testNLL{}, secs, tr, f.NumParams(), err
	}
	if math.IsNaN(tr.BestValNLL) || math.IsInf(tr.BestValNLL, 0) {
		return 0, testNLL{}, secs, tr, f.NumParams(), fmt.Errorf("no finite validation NLL (%s)", tr.StopReason)
	}
	val := p.DataNLL(tr.BestValNLL)
	ev, err := model.Evaluate(p.Model(f, seed), p.TestTable, r.sc.DataSeed+7)
	if err != nil {
		return 0, testNLL{}, secs, tr, f.NumParams(), fmt.Errorf("test evaluation: %w", err)
	}
	if math.IsNaN(ev.Mean) || math.IsInf(ev.Mean, 0) {
		return 0, testNLL{}, secs, tr, f.NumParams(), fmt.Errorf("non-finite test log-likelihood %v", ev.Mean)
	}
	return val, testNLL{-ev.Mean, ev.TwoSE}, secs, tr, f.NumParams(), nil
}

// costUnit prices the candidates of d's space with source src, once.
func (r *runner) costUnit(d string, sp *strategy.Space, src string) error {
	key := fmt.Sprintf("cost/%s/%s", d, src)
	if r.res.Done(key) {
		return nil
	}
	s, err := parseCostSource(src)
	if err != nil {
		return err
	}
	t, err := cost.Price(sp.Candidates, sp.Dim, r.sc.Batch, cost.Train, s, cost.Options{CacheDir: "-", Seed: r.sc.DataSeed})
	if err != nil {
		return fmt.Errorf("bench: pricing %s (%s): %w", d, src, err)
	}
	r.res.Costs = append(r.res.Costs, CostRun{Key: key, Dataset: d, Source: src, Candidates: sp.Names(), Cost: t.Cost})
	r.res.done[key] = true
	r.doneN++
	r.logf("cost %s %s: %v", d, src, roundAll(t.Cost, 3))
	return r.res.save()
}

func roundAll(v []float64, digits int) []float64 {
	p := math.Pow(10, float64(digits))
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = math.Round(x*p) / p
	}
	return out
}

func (r *runner) costsOf(d, src string) []float64 {
	for _, c := range r.res.Costs {
		if c.Dataset == d && c.Source == src {
			return c.Cost
		}
	}
	return nil
}

// searchUnit runs one search of variant v with one seed (λ > 0: with the
// cost table src).
func (r *runner) searchUnit(ctx context.Context, d string, p *model.Prepared, sp *strategy.Space, v string, seed uint64, lambda float64, src string) error {
	key := fmt.Sprintf("search/%s/%s/seed%d", d, v, seed)
	if src != "" {
		key = fmt.Sprintf("pareto/%s/%s/%s/lambda%g/seed%d", d, v, src, lambda, seed)
	}
	if r.res.Done(key) {
		return nil
	}
	vr, _ := variantByName(v)
	o := vr.options(sp.Layers)
	o.Batch, o.Steps, o.Seed = r.sc.Batch, r.sc.SearchSteps, seed+1000
	if src != "" {
		o.Lambda, o.Costs = lambda, r.costsOf(d, src)
	}
	s := SearchRun{Key: key, Dataset: d, Variant: v, Seed: seed, Lambda: lambda, CostSource: src}
	res, err := strategy.Run(ctx, sp, p.Train, p.Val, o)
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		s.Error = err.Error()
	} else {
		fillSearch(&s, sp, res)
		s.Conv = convergenceOf(res, p)
	}
	r.res.Searches = append(r.res.Searches, s)
	r.res.done[key] = true
	r.doneN++
	if s.Error != "" {
		r.logf("search %s %s seed %d: FAILED (%s)", d, v, seed, s.Error)
	} else {
		lam := ""
		if src != "" {
			lam = fmt.Sprintf(" λ=%g (%s)", lambda, src)
		}
		gap := "—"
		if s.Conv.Gap != nil {
			gap = fmt.Sprintf("%+.3f", *s.Conv.Gap)
		}
		r.logf("search %s %s%s seed %d: %s, min max-weight %.3f, saturated %v, gap %s (%.1fs, %d steps, %s)", d, v, lam, seed, s.Name, s.MinMaxW, s.Conv.Saturated, gap, s.Seconds, s.Steps, s.StopReason)
	}
	return r.res.save()
}

func fillSearch(s *SearchRun, sp *strategy.Space, res *strategy.Result) {
	s.Arch, s.Name, s.Weights = slices.Clone(res.Arch), shortName(sp, res.Arch), res.Weights
	s.MinMaxW = 1
	for _, w := range res.Weights {
		s.MinMaxW = math.Min(s.MinMaxW, slices.Max(w))
	}
	s.Seconds, s.StopReason, s.Phases = res.Seconds, res.StopReason, len(res.Phases)
	prev := map[int]int{}
	for _, ph := range res.Phases {
		s.Steps += ph.Steps
		for k, slot := range ph.Slots {
			if c, ok := prev[slot]; ok && k < len(ph.Choice) && c != ph.Choice[k] {
				s.Changed++
			}
			if k < len(ph.Choice) {
				prev[slot] = ph.Choice[k]
			}
		}
	}
}

// Variant is one way of running the search.
type Variant struct {
	Name, Label string
	Strategy    string
	Block       int // 0: the whole space
	Estimator   search.Estimator
	Loss        search.LossKind
}

var variants = []Variant{
	{Name: "grow-b1", Label: "exact, grow, block 1", Strategy: "grow", Block: 1},
	{Name: "grow-b2", Label: "exact, grow, block 2", Strategy: "grow", Block: 2},
	{Name: "block-b1", Label: "exact, block (revisits), block 1", Strategy: "block", Block: 1},
	{Name: "whole", Label: "exact, whole space", Strategy: "grow"},
	{Name: "sampled", Label: "sampled, whole space (autonf search's default estimator, strategy and block)", Strategy: "grow", Estimator: search.Sampled},
	{Name: "original", Label: "original loss L^O + argmax, exact, whole space", Strategy: "grow", Loss: search.Original},
}

// VariantNames lists the search variants.
func VariantNames() []string {
	out := make([]string, len(variants))
	for i, v := range variants {
		out[i] = v.Name
	}
	return out
}

func variantByName(n string) (Variant, bool) {
	for _, v := range variants {
		if v.Name == n {
			return v, true
		}
	}
	return Variant{}, false
}

func (v Variant) options(layers int) strategy.Options {
	b := v.Block
	if b == 0 {
		b = layers
	}
	return strategy.Options{Strategy: v.Strategy, Block: b, Estimator: v.Estimator, Loss: v.Loss}
}
