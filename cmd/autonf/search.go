package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/model"
	"github.com/autonf/autonf/report"
	"github.com/autonf/autonf/search"
	"github.com/autonf/autonf/search/cost"
	"github.com/autonf/autonf/search/strategy"
	"github.com/autonf/autonf/train"
)

type searchFlags struct {
	dataFlags
	layers, block, steps, batch, bins, bigBins   int
	candidates, hidden, emphasis, costSrc        string
	paretoRefs                                   string
	checkpointEvery                              int
	strategy, estimator, loss, out               string
	lambda, thetaLR, alphaLR                     float64
	pareto, random, retrainEpochs, patience      int
	seed                                         uint64
	exhaustive, warm, jsonOut, resume, noRetrain bool
}

func runSearch(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("search", "--data F [--val F --test F] --layers 8 --candidates maf,nsf-ar,affine-coupling,nsf-coupling --out RUN_DIR [flags]", stderr)
	var f searchFlags
	f.dataFlags.register(fs)
	fs.IntVar(&f.layers, "layers", 8, "number of layer slots n")
	fs.StringVar(&f.candidates, "candidates", "maf,nsf-ar,affine-coupling,nsf-coupling", "candidates per slot: "+strings.Join(strategy.CandidateNames(), ", "))
	fs.StringVar(&f.hidden, "hidden", "64,64", "hidden sizes of the candidates' conditioners")
	fs.IntVar(&f.bins, "bins", 8, "spline bins K")
	fs.StringVar(&f.emphasis, "emphasis", "train", "cost emphasis: train, forward (density) or inverse (sampling)")
	fs.StringVar(&f.costSrc, "cost", "measured", "cost source: measured (timed here, affine coupling = 1), params or flops")
	fs.Float64Var(&f.lambda, "lambda", 0, "weight λ of the cost term")
	fs.IntVar(&f.pareto, "pareto", 0, "sweep λ over K values and report the non-dominated (test NLL, cost) set")
	fs.StringVar(&f.paretoRefs, "pareto-refs", "auto", "hand-crafted presets trained beside the --pareto front (comma-separated flow presets; auto: those built of the candidates; none)")
	fs.IntVar(&f.checkpointEvery, "checkpoint-every", 100, "checkpoint every N search steps (and at every phase end); ≤ 0: at phase ends only")
	fs.StringVar(&f.strategy, "strategy", "grow", "grow or block")
	fs.IntVar(&f.block, "block", 4, "slots searched jointly (exact estimator); the whole flow with --estimator sample")
	fs.StringVar(&f.estimator, "estimator", "exact", "exact (tree over all paths of a block) or sample (one path per row)")
	fs.StringVar(&f.loss, "loss", "upper", "upper (the AutoNF bound L^U) or original (the mixture NLL L^O)")
	fs.IntVar(&f.steps, "steps", 500, "maximum search steps per block")
	fs.IntVar(&f.batch, "batch", 512, "batch size of search and retraining")
	fs.Float64Var(&f.thetaLR, "theta-lr", 2e-3, "Adam learning rate of the transforms' parameters θ")
	fs.Float64Var(&f.alphaLR, "alpha-lr", 2e-3, "Adam learning rate of the architecture logits α")
	fs.IntVar(&f.retrainEpochs, "retrain-epochs", 200, "maximum epochs when retraining the found architecture")
	fs.IntVar(&f.patience, "patience", 20, "early-stopping patience of retraining")
	fs.BoolVar(&f.warm, "warm-start", false, "retrain from the supernet's parameters instead of from scratch")
	fs.BoolVar(&f.noRetrain, "no-retrain", false, "stop after the search (write arch.json only)")
	fs.BoolVar(&f.exhaustive, "exhaustive", false, "also train every discrete architecture (ground truth; small spaces only)")
	fs.IntVar(&f.random, "random", 0, "also train N random architectures (random-search yardstick)")
	fs.BoolVar(&f.resume, "resume", false, "continue an interrupted search from RUN_DIR/checkpoint, at the step where it stopped (with --pareto: each λ that has a checkpoint)")
	fs.Uint64Var(&f.seed, "seed", 1, "seed")
	fs.StringVar(&f.out, "out", "", "run directory to write")
	fs.BoolVar(&f.jsonOut, "json", false, "print a JSON summary as the last line of stdout")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "data", "out"); err != nil {
		return err
	}
	est, err := search.ParseEstimator(f.estimator)
	if err != nil {
		return err
	}
	lk, err := search.ParseLossKind(f.loss)
	if err != nil {
		return err
	}
	emph, err := cost.ParseEmphasis(f.emphasis)
	if err != nil {
		return err
	}
	src, err := cost.ParseSource(f.costSrc)
	if err != nil {
		return err
	}
	hidden, err := parseInts(f.hidden)
	if err != nil {
		return fmt.Errorf("--hidden: %w", err)
	}
	if f.steps < 1 || f.batch < 1 || f.retrainEpochs < 1 || f.lambda < 0 || f.pareto < 0 || f.random < 0 {
		return fmt.Errorf("--steps, --batch and --retrain-epochs must be ≥ 1; --lambda, --pareto and --random ≥ 0")
	}
	log := stdout
	if f.jsonOut {
		log = stderr
	}
	prep, err := f.prepare(f.seed, stderr)
	if err != nil {
		return err
	}
	space, err := strategy.NewSpace(prep.Train.Cols, f.layers, splitList(f.candidates), hidden, f.bins)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return err
	}
	fmt.Fprintf(log, "search space: %d slots × %d candidates (%s) = %d architectures; data %d × %d, validation %d rows\n",
		f.layers, len(space.Candidates), strings.Join(space.Names(), ", "), space.NumArchs(), prep.Train.Rows, prep.Train.Cols, prep.Val.Rows)

	costs, err := cost.Price(space.Candidates, space.Dim, f.batch, emph, src, cost.Options{Seed: f.seed})
	if err != nil {
		return err
	}
	fmt.Fprint(log, costs.Markdown())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opt := strategy.Options{Strategy: f.strategy, Block: f.block, Estimator: est, Loss: lk, Lambda: f.lambda,
		Costs: costs.Cost, Batch: f.batch, ThetaLR: f.thetaLR, AlphaLR: f.alphaLR, Seed: f.seed, Steps: f.steps,
		CheckpointEvery: f.checkpointEvery}
	if f.checkpointEvery <= 0 {
		opt.CheckpointEvery = -1
	}
	if est == search.Sampled && !flagSet(fs, "block") {
		opt.Block = f.layers
	}
	rep := &runReport{Flags: f, Space: space, Costs: costs, Prep: prep, Log: log, Stderr: stderr}

	if f.pareto > 0 {
		refs, err := rep.refNames()
		if err != nil {
			return err
		}
		return rep.pareto(ctx, opt, f.pareto, refs, stdout)
	}
	run, err := rep.searchOnce(ctx, opt, f.out, f.resume)
	if err != nil {
		return err
	}
	summary := map[string]any{"arch": space.ArchString(run.res.Arch), "search_seconds": run.res.Seconds, "cost": run.cost}
	if run.eval != nil {
		summary["test_loglik_mean"], summary["test_loglik_2se"], summary["retrain_seconds"] = run.eval.Mean, run.eval.TwoSE, run.retrainSeconds
	}
	var yard []yardRow
	if f.exhaustive {
		if space.NumArchs() > 256 {
			return fmt.Errorf("--exhaustive: %d architectures is too many to train (at most 256)", space.NumArchs())
		}
		yard = append(yard, rep.trainAll(ctx, "exhaustive", space.AllArchs())...)
	}
	if f.random > 0 {
		rng := rand.New(rand.NewPCG(f.seed, 0x4a4d))
		var archs [][]int
		for k := 0; k < f.random; k++ {
			a := make([]int, space.Layers)
			for i := range a {
				a[i] = rng.IntN(len(space.Candidates))
			}
			archs = append(archs, a)
		}
		yard = append(yard, rep.trainAll(ctx, "random", archs)...)
	}
	if err := rep.writeReport(f.out, run, yard); err != nil {
		return err
	}
	fmt.Fprintf(log, "report: %s\n", filepath.Join(f.out, "report.md"))
	if f.jsonOut {
		return printJSON(stdout, summary)
	}
	return nil
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

type runReport struct {
	Flags  searchFlags
	Space  *strategy.Space
	Costs  *cost.Table
	Prep   *model.Prepared
	Log    io.Writer
	Stderr io.Writer
}

type searchRun struct {
	lambda         float64
	res            *strategy.Result
	spec           *flow.Spec
	eval           *model.Eval
	valNLL         float64
	retrainSeconds float64
	cost           float64
	allCosts       map[string]float64
}

// searchOnce runs one search at opt.Lambda, derives and retrains the
// architecture, and evaluates it; dir receives arch.json, the model and the
// checkpoint.
func (r *runReport) searchOnce(ctx context.Context, opt strategy.Options, dir string, resume bool) (*searchRun, error) {
	ckpt := filepath.Join(dir, "checkpoint")
	if resume {
		st, err := loadCheckpoint(ckpt)
		if err != nil {
			return nil, fmt.Errorf("--resume: %w", err)
		}
		opt.Resume = st
		if st.Step > 0 {
			fmt.Fprintf(r.Log, "resuming in phase %d at step %d\n", st.Phase+1, st.Step)
		} else {
			fmt.Fprintf(r.Log, "resuming after phase %d\n", st.Phase)
		}
	}
	opt.Checkpoint = func(st *strategy.State) error { return saveCheckpoint(ckpt, st) }
	last := time.Now()
	tty := isTTY(r.Log)
	opt.OnStep = func(p strategy.Progress) {
		if time.Since(last) < 2*time.Second && !(tty && time.Since(last) > 200*time.Millisecond) {
			return
		}
		last = time.Now()
		line := fmt.Sprintf("round %d block %d step %4d  L^U %.4f  argmax %s", p.Round, p.Block+1, p.Step, p.Upper, archShort(r.Space, p.Arch))
		if tty {
			fmt.Fprintf(r.Log, "\r\033[K%s", line)
		} else {
			fmt.Fprintln(r.Log, line)
		}
	}
	res, err := strategy.Run(ctx, r.Space, r.Prep.Train, r.Prep.Val, opt)
	if tty {
		fmt.Fprintln(r.Log)
	}
	if err != nil {
		return nil, err
	}
	if res.StopReason == "interrupted" {
		p := res.Phases[len(res.Phases)-1]
		return nil, fmt.Errorf("search interrupted in round %d, block %d at step %d; the checkpoint in %s continues it with --resume", p.Round, p.Block+1, p.Steps, ckpt)
	}
	run := &searchRun{lambda: opt.Lambda, res: res, spec: r.Space.Spec(res.Arch, "autonf-search")}
	run.cost = search.PathCost(search.Broadcast(r.Costs.Cost, len(res.Arch)), res.Arch)
	fmt.Fprintf(r.Log, "found (λ=%g, %.1f s): %s  [%s cost %.3g]\n", opt.Lambda, res.Seconds, r.Space.ArchString(res.Arch), r.Costs.Emphasis, run.cost)
	if err := os.WriteFile(filepath.Join(dir, "arch.json"), run.spec.JSON(), 0o644); err != nil {
		return nil, err
	}
	if r.Flags.noRetrain {
		return run, nil
	}
	var fl *flow.Flow[float32]
	if r.Flags.warm {
		fl = flow.New(r.Space.Dim, res.Chosen...)
	} else {
		fl, err = flow.Build[float32](run.spec, rand.New(rand.NewPCG(r.Flags.seed, 0xf10)))
		if err != nil {
			return nil, err
		}
	}
	m, tr, ev, err := r.retrain(ctx, fl)
	if err != nil {
		return nil, err
	}
	run.eval, run.valNLL, run.retrainSeconds = ev, tr.BestValNLL, tr.Elapsed.Seconds()
	if err := m.Save(filepath.Join(dir, "model")); err != nil {
		return nil, err
	}
	run.allCosts = r.archCosts(res.Arch)
	if ev != nil {
		fmt.Fprintf(r.Log, "retrained in %.1f s (%d epochs): test log-likelihood %.4f ± %.4f nats (n = %d)\n", run.retrainSeconds, tr.Epochs, ev.Mean, ev.TwoSE, ev.N)
	}
	return run, nil
}

func (r *runReport) retrain(ctx context.Context, fl *flow.Flow[float32]) (*model.Model, *train.Result, *model.Eval, error) {
	cfg := train.Config{Epochs: r.Flags.retrainEpochs, Batch: r.Flags.batch, LR: 1e-3, Patience: r.Flags.patience, Seed: r.Flags.seed}
	tr, err := train.Fit(ctx, fl, r.Prep.Train, r.Prep.Val, cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	m := r.Prep.Model(fl, r.Flags.seed)
	m.Meta.Training, _ = json.Marshal(map[string]any{"epochs": tr.Epochs, "best_val_nll": tr.BestValNLL, "seconds": tr.Elapsed.Seconds(), "stop_reason": tr.StopReason})
	if r.Prep.TestTable == nil {
		return m, tr, nil, nil
	}
	ev, err := model.Evaluate(m, r.Prep.TestTable, r.Flags.seed)
	if err != nil {
		return nil, nil, nil, err
	}
	return m, tr, &ev, nil
}

// archCosts prices the found architecture under all three emphases
// (measured unless --cost says otherwise), relative to affine coupling.
func (r *runReport) archCosts(arch []int) map[string]float64 {
	out := map[string]float64{}
	for _, e := range []cost.Emphasis{cost.Train, cost.Forward, cost.Inverse} {
		t, err := cost.Price(r.Space.Candidates, r.Space.Dim, r.Flags.batch, e, r.Costs.Source, cost.Options{Seed: r.Flags.seed})
		if err != nil {
			continue
		}
		out[string(e)] = search.PathCost(search.Broadcast(t.Cost, len(arch)), arch)
	}
	return out
}

type yardRow struct {
	Kind   string
	Arch   string
	ValNLL float64
	Test   *model.Eval
	Cost   float64
	Secs   float64
}

// trainAll trains each architecture from scratch (the yardsticks).
func (r *runReport) trainAll(ctx context.Context, kind string, archs [][]int) []yardRow {
	var rows []yardRow
	for k, a := range archs {
		fl, err := flow.Build[float32](r.Space.Spec(a, kind), rand.New(rand.NewPCG(r.Flags.seed, 0xf10)))
		if err != nil {
			fmt.Fprintln(r.Stderr, "warning:", err)
			continue
		}
		_, tr, ev, err := r.retrain(ctx, fl)
		if err != nil {
			fmt.Fprintf(r.Stderr, "warning: %s %s: %v\n", kind, r.Space.ArchString(a), err)
			continue
		}
		row := yardRow{Kind: kind, Arch: r.Space.ArchString(a), ValNLL: tr.BestValNLL, Test: ev, Secs: tr.Elapsed.Seconds(),
			Cost: search.PathCost(search.Broadcast(r.Costs.Cost, len(a)), a)}
		rows = append(rows, row)
		fmt.Fprintf(r.Log, "%s %d/%d: %s  val NLL %.4f  (%.1f s)\n", kind, k+1, len(archs), row.Arch, row.ValNLL, row.Secs)
	}
	slices.SortFunc(rows, func(a, b yardRow) int { return cmpFloat(a.ValNLL, b.ValNLL) })
	return rows
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// refRow is a hand-crafted preset trained beside a Pareto sweep.
type refRow struct {
	Name   string
	Layers int
	Hidden []int
	Counts map[string]int
	Cost   float64
	ValNLL float64
	Test   *model.Eval
	Secs   float64
	Err    error
}

// refNames resolves --pareto-refs: "auto" (the presets built of the
// candidates), "none", or a list of flow presets.
func (r *runReport) refNames() ([]string, error) {
	switch strings.TrimSpace(r.Flags.paretoRefs) {
	case "auto", "":
		return r.Space.RefPresets(), nil
	case "none":
		return nil, nil
	}
	names := splitList(r.Flags.paretoRefs)
	hidden, _ := parseInts(r.Flags.hidden)
	for _, n := range names {
		if _, err := r.Space.PresetSpec(n, hidden, r.Flags.bins); err != nil {
			return nil, fmt.Errorf("--pareto-refs: %w", err)
		}
	}
	return names, nil
}

// trainRefs trains each preset (with the candidates' hidden sizes and bins)
// under the retraining budget of the found architectures and prices it with
// the search's cost table (strategy.Space.PresetCost).
func (r *runReport) trainRefs(ctx context.Context, names []string) []refRow {
	hidden, _ := parseInts(r.Flags.hidden)
	extra := func(cands []cost.Candidate) ([]float64, error) {
		all := append(slices.Clone(r.Space.Candidates), cands...)
		t, err := cost.Price(all, r.Space.Dim, r.Flags.batch, r.Costs.Emphasis, r.Costs.Source, cost.Options{Seed: r.Flags.seed})
		if err != nil {
			return nil, err
		}
		return t.Cost[len(r.Space.Candidates):], nil
	}
	var rows []refRow
	for k, name := range names {
		row := refRow{Name: name}
		sp, err := r.Space.PresetSpec(name, hidden, r.Flags.bins)
		if err == nil {
			row.Layers = len(sp.Layers)
			for _, l := range sp.Layers {
				if len(l.Hidden) > 0 {
					row.Hidden = l.Hidden
				}
			}
			row.Cost, row.Counts, err = r.Space.PresetCost(sp, r.Costs.Cost, hidden, r.Flags.bins, extra)
		}
		var fl *flow.Flow[float32]
		if err == nil {
			fl, err = flow.Build[float32](sp, rand.New(rand.NewPCG(r.Flags.seed, 0xf10)))
		}
		if err == nil {
			var tr *train.Result
			_, tr, row.Test, err = r.retrain(ctx, fl)
			if err == nil {
				row.ValNLL, row.Secs = tr.BestValNLL, tr.Elapsed.Seconds()
			}
		}
		if err != nil {
			row.Err = err
			fmt.Fprintf(r.Stderr, "warning: preset %s: %v\n", name, err)
		} else {
			fmt.Fprintf(r.Log, "preset %d/%d: %s  cost %.3g  val NLL %.4f  (%.1f s)\n", k+1, len(names), name, row.Cost, row.ValNLL, row.Secs)
		}
		rows = append(rows, row)
	}
	return rows
}

// pareto sweeps λ over k values from 0 to a scale set by the costs, trains
// the preset references, and reports the non-dominated (test NLL, cost) set
// of the found architectures with the presets beside it.
func (r *runReport) pareto(ctx context.Context, opt strategy.Options, k int, refNames []string, stdout io.Writer) error {
	lambdas := paretoLambdas(r.Costs.Cost, k)
	var runs []*searchRun
	var pts []report.Point
	for i, lam := range lambdas {
		dir := filepath.Join(r.Flags.out, fmt.Sprintf("lambda-%02d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		o := opt
		o.Lambda = lam
		_, statErr := os.Stat(filepath.Join(dir, "checkpoint", "state.json"))
		run, err := r.searchOnce(ctx, o, dir, r.Flags.resume && statErr == nil)
		if err != nil {
			return fmt.Errorf("λ=%g: %w", lam, err)
		}
		runs = append(runs, run)
		nll := run.valNLL
		if run.eval != nil {
			nll = -run.eval.Mean
		}
		pts = append(pts, report.Point{Label: fmt.Sprintf("λ=%.3g", lam), Cost: run.cost, NLL: nll})
	}
	refs := r.trainRefs(ctx, refNames)
	var refPts []report.Point
	for _, rr := range refs {
		if rr.Err != nil {
			continue
		}
		nll := rr.ValNLL
		if rr.Test != nil {
			nll = -rr.Test.Mean
		}
		refPts = append(refPts, report.Point{Label: rr.Name, Cost: rr.Cost, NLL: nll})
	}
	front := report.NonDominated(pts)
	var frontPts []report.Point
	for _, i := range front {
		frontPts = append(frontPts, pts[i])
	}
	nllKind := "test NLL"
	if r.Prep.TestTable == nil {
		nllKind = "validation NLL"
	}
	png := filepath.Join(r.Flags.out, "pareto.png")
	if err := report.ParetoFront(png, "AutoNF λ sweep: "+nllKind+" vs cost", fmt.Sprintf("%s cost (%s, affine coupling = 1 per layer)", r.Costs.Emphasis, r.Costs.Source), pts, frontPts, refPts); err != nil {
		fmt.Fprintln(r.Stderr, "warning: pareto plot:", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# AutoNF Pareto sweep\n\n%s\n\n| λ | architecture | cost | %s | on front |\n|---|---|---|---|---|\n", r.Costs.Markdown(), nllKind)
	for i, run := range runs {
		fmt.Fprintf(&b, "| %.3g | %s | %.3g | %.4f | %v |\n", run.lambda, r.Space.ArchString(run.res.Arch), run.cost, pts[i].NLL, slices.Contains(front, i))
	}
	if len(refs) > 0 {
		fmt.Fprintf(&b, "\n## Hand-crafted presets\n\nEach preset is trained from scratch with the same retraining budget as the found architectures "+
			"(≤ %d epochs, patience %d, batch %d, seed %d) and built with the candidates' conditioner sizes (hidden %s, %d bins) instead of the presets' own 2×256, "+
			"so that presets and found architectures differ in their layers only. A preset's cost is the sum over its layers of the matching candidate's normalised cost "+
			"from the table above (the reverse and LU layers of the paper's blocks are part of the block; maf5 and realnvp5 have none, so each of their layers is priced as the full block, slightly high).\n\n"+
			"| preset | layers | cost (per-layer breakdown) | %s | dominated by | seconds |\n|---|---|---|---|---|---|\n",
			r.Flags.retrainEpochs, r.Flags.patience, r.Flags.batch, r.Flags.seed, r.Flags.hidden, r.Flags.bins, nllKind)
		for _, rr := range refs {
			if rr.Err != nil {
				fmt.Fprintf(&b, "| %s | — | — | failed: %v | — | — |\n", rr.Name, rr.Err)
				continue
			}
			nll := rr.ValNLL
			if rr.Test != nil {
				nll = -rr.Test.Mean
			}
			var parts []string
			for _, typ := range slices.Sorted(maps.Keys(rr.Counts)) {
				parts = append(parts, fmt.Sprintf("%d × %s", rr.Counts[typ], typ))
			}
			var by []string
			for i, p := range pts {
				if p.Cost <= rr.Cost && p.NLL <= nll && (p.Cost < rr.Cost || p.NLL < nll) {
					by = append(by, fmt.Sprintf("λ=%.3g", runs[i].lambda))
				}
			}
			dom := "—"
			if len(by) > 0 {
				dom = strings.Join(by, ", ")
			}
			fmt.Fprintf(&b, "| %s | %d | %.3g (%s) | %.4f | %s | %.1f |\n", rr.Name, rr.Layers, rr.Cost, strings.Join(parts, " + "), nll, dom, rr.Secs)
		}
	}
	b.WriteString("\n![Pareto front](pareto.png)\n")
	if err := os.WriteFile(filepath.Join(r.Flags.out, "report.md"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(r.Log, "pareto: %d of %d λ values are non-dominated; report %s\n", len(front), len(runs), filepath.Join(r.Flags.out, "report.md"))
	if r.Flags.jsonOut {
		var fr, rf []map[string]any
		for _, i := range front {
			fr = append(fr, map[string]any{"lambda": runs[i].lambda, "arch": r.Space.ArchString(runs[i].res.Arch), "cost": pts[i].Cost, "test_nll": pts[i].NLL})
		}
		for _, p := range refPts {
			rf = append(rf, map[string]any{"preset": p.Label, "cost": p.Cost, "test_nll": p.NLL})
		}
		return printJSON(stdout, map[string]any{"front": fr, "presets": rf})
	}
	return nil
}

// paretoLambdas returns 0 and k−1 geometric values up to the λ at which one
// slot's cost spread is worth 2 nats: λ_max = 2 / (c_max − c_min).
func paretoLambdas(c []float64, k int) []float64 {
	spread := slices.Max(c) - slices.Min(c)
	if spread <= 0 {
		spread = 1
	}
	hi := 2 / spread
	out := []float64{0}
	for i := 1; i < k; i++ {
		out = append(out, hi*math.Pow(100, float64(i-k+1)/float64(max(1, k-2))))
	}
	return out
}

func archShort(s *strategy.Space, arch []int) string {
	parts := make([]string, len(arch))
	for i, j := range arch {
		if j < 0 {
			parts[i] = "?"
		} else {
			parts[i] = s.Candidates[j].Name
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}
