package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/autonf/autonf/search"
	"github.com/autonf/autonf/search/cost"
	"github.com/autonf/autonf/search/pipeline"
	"github.com/autonf/autonf/search/strategy"
)

// runSearch maps the search flags onto pipeline.Options, runs
// pipeline.Run and prints the result.
func runSearch(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("search", "--data F [--val F --test F] --layers 8 --candidates maf,nsf-ar,affine-coupling,nsf-coupling --out RUN_DIR [flags]", stderr)
	var d dataFlags
	d.register(fs)
	def := pipeline.Options{}.Defaults()
	var (
		layers          = fs.Int("layers", def.Layers, "number of layer slots n")
		candidates      = fs.String("candidates", strings.Join(def.Candidates, ","), "candidates per slot, comma-separated: a family ("+strings.Join(strategy.CandidateNames(), ", ")+"), optionally with its own sizes, e.g. nsf-ar:hidden=256x2:bins=16,nsf-ar:hidden=64x2,maf")
		hidden          = fs.String("hidden", "64,64", "hidden sizes of the candidates' conditioners")
		bins            = fs.Int("bins", def.Bins, "spline bins K")
		emphasis        = fs.String("emphasis", "train", "cost emphasis: train, forward (density) or inverse (sampling)")
		costSrc         = fs.String("cost", "measured", "cost source: measured (timed here, affine coupling = 1), params, flops, or paper (the AutoNF paper's Table 1 costs)")
		lambda          = fs.Float64("lambda", 0, "weight λ of the cost term")
		pareto          = fs.Int("pareto", 0, "sweep λ over K values; the front is chosen on validation NLL")
		presets         = fs.String("presets", "", "hand-crafted presets trained at their own sizes beside the search (comma-separated; auto: those of the candidates' families)")
		paretoRefs      = fs.String("pareto-refs", "", "with --pareto: same as --presets (default auto with --pareto; none: no presets)")
		matched         = fs.Bool("matched", false, "also train n × each candidate at the searched sizes (matched single-family yardsticks)")
		checkpointEvery = fs.Int("checkpoint-every", 100, "checkpoint every N search steps (and at every phase end); ≤ 0: at phase ends only")
		strat           = fs.String("strategy", def.Search.Strategy, "grow or block")
		block           = fs.Int("block", 0, "slots searched jointly (default: the whole flow with the sample estimator, 4 with --estimator exact)")
		estimator       = fs.String("estimator", "sample", "sample (one path per row; the whole flow as one block) or exact (every path of a block of --block slots)")
		loss            = fs.String("loss", "upper", "upper (the AutoNF bound L^U) or original (the mixture NLL L^O)")
		steps           = fs.Int("steps", def.Search.Steps, "maximum search steps per block")
		batch           = fs.Int("batch", def.Search.Batch, "batch size of search and retraining")
		thetaLR         = fs.Float64("theta-lr", 2e-3, "Adam learning rate of the transforms' parameters θ")
		alphaLR         = fs.Float64("alpha-lr", 0, "Adam learning rate of the architecture logits α (0: the search's default)")
		retrainEpochs   = fs.Int("retrain-epochs", def.Retrain.Epochs, "maximum epochs when retraining the found architecture")
		patience        = fs.Int("patience", def.Retrain.Patience, "early-stopping patience of retraining")
		warm            = fs.Bool("warm-start", false, "retrain from the supernet's parameters instead of from scratch")
		noRetrain       = fs.Bool("no-retrain", false, "stop after the search (write arch.json only)")
		exhaustive      = fs.Bool("exhaustive", false, "also train every discrete architecture (ground truth; at most 256)")
		random          = fs.Int("random", 0, "also train N distinct random architectures (random-search yardstick)")
		seeds           = fs.Int("seeds", 1, "run K searches with seeds --seed … --seed+K−1; report mean ± s.d. and how often each architecture was picked")
		resume          = fs.Bool("resume", false, "continue an interrupted search from RUN_DIR/checkpoint, at the step where it stopped (refused if made with other data or options)")
		force           = fs.Bool("force", false, "write over an existing run in RUN_DIR")
		seed            = fs.Uint64("seed", 1, "seed")
		out             = fs.String("out", "", "run directory to write")
		jsonOut         = fs.Bool("json", false, "print a JSON summary as the last line of stdout")
	)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "data", "out"); err != nil {
		return err
	}
	for _, c := range []struct {
		name string
		v    int
	}{{"layers", *layers}, {"steps", *steps}, {"batch", *batch}, {"seeds", *seeds}, {"retrain-epochs", *retrainEpochs}, {"bins", *bins}} {
		if c.v < 1 {
			return fmt.Errorf("--%s must be ≥ 1, got %d", c.name, c.v)
		}
	}
	est, err := search.ParseEstimator(*estimator)
	if err != nil {
		return err
	}
	if est == search.Exact && !flagSet(fs, "block") {
		*block = 4
	}
	lk, err := search.ParseLossKind(*loss)
	if err != nil {
		return err
	}
	emph, err := cost.ParseEmphasis(*emphasis)
	if err != nil {
		return err
	}
	src, err := cost.ParseSource(*costSrc)
	if err != nil {
		return err
	}
	hid, err := parseInts(*hidden)
	if err != nil {
		return fmt.Errorf("--hidden: %w", err)
	}
	opt := pipeline.Options{
		Layers: *layers, Candidates: strings.Split(*candidates, ","), Hidden: hid, Bins: *bins,
		Emphasis: emph, Cost: src, Lambda: *lambda,
		Estimator: *estimator,
		Search: strategy.Options{Strategy: *strat, Block: *block, Loss: lk, Steps: *steps, Batch: *batch,
			ThetaLR: *thetaLR, AlphaLR: *alphaLR, Seed: *seed, CheckpointEvery: *checkpointEvery},
		Retrain:   pipeline.RetrainOptions{Epochs: *retrainEpochs, Patience: *patience},
		NoRetrain: *noRetrain, WarmStart: *warm, Seeds: *seeds, Pareto: *pareto,
		Exhaustive: *exhaustive, Random: *random, Matched: *matched,
		Dir: *out, Resume: *resume, Force: *force,
	}
	if *checkpointEvery <= 0 {
		opt.Search.CheckpointEvery = -1
	}
	refs := *presets
	if *paretoRefs != "" {
		refs = *paretoRefs
	} else if refs == "" && *pareto > 0 {
		refs = "auto"
	}
	if refs != "" && refs != "none" {
		opt.Presets = splitList(refs)
	}
	log := stdout
	if *jsonOut {
		log = stderr
	}
	opt.Log = log
	opt.OnStep = progressPrinter(log, opt.Candidates)

	ctx, sig, stop := interruptContext()
	defer stop()
	cfg, err := d.config(*seed)
	if err != nil {
		return err
	}
	res, err := pipeline.Run(ctx, cfg, opt)
	if isTTY(log) {
		fmt.Fprintln(log)
	}
	if s := sig(); s != nil && err != nil {
		return interrupted(s, fmt.Errorf("interrupted by %s: %w", signalName(s), err))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "report: %s\n", filepath.Join(*out, "report.md"))
	if *jsonOut {
		return printJSON(stdout, res.Summary())
	}
	return nil
}

// progressPrinter prints a search progress line every 2 s (every 0.2 s,
// in place, on a terminal).
func progressPrinter(w io.Writer, names []string) func(strategy.Progress) {
	last := time.Now()
	tty := isTTY(w)
	return func(p strategy.Progress) {
		if time.Since(last) < 2*time.Second && !(tty && time.Since(last) > 200*time.Millisecond) {
			return
		}
		last = time.Now()
		parts := make([]string, len(p.Arch))
		for i, j := range p.Arch {
			parts[i] = "?"
			if j >= 0 && j < len(names) {
				parts[i] = names[j]
			}
		}
		line := fmt.Sprintf("round %d block %d step %4d  L^U %.4f  argmax [%s]", p.Round, p.Block+1, p.Step, p.Upper, strings.Join(parts, " "))
		if tty {
			fmt.Fprintf(w, "\r\033[K%s", line)
		} else {
			fmt.Fprintln(w, line)
		}
	}
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, p := range splitList(s) {
		v, err := strconv.Atoi(p)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", p)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no sizes given")
	}
	return out, nil
}
