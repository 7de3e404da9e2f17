package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/autonf/autonf/data"
	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/internal/fsio"
	"github.com/autonf/autonf/model"
	"github.com/autonf/autonf/tensor"
	"github.com/autonf/autonf/train"
)

// dataFlags are the data options shared by train and search.
type dataFlags struct {
	data, val, test, columns, header, dequantize, constant string
	valSplit, testSplit                                    float64
	shuffle                                                int64
	toyRows                                                int
}

func (d *dataFlags) register(fs interface {
	StringVar(*string, string, string, string)
	Float64Var(*float64, string, float64, string)
	Int64Var(*int64, string, int64, string)
	IntVar(*int, string, int, string)
}) {
	fs.StringVar(&d.data, "data", "", "training data: a .csv or .npy file, or toy:NAME ("+strings.Join(data.ToyNames(), ", ")+")")
	fs.StringVar(&d.val, "val", "", "validation data file (default: the last --val-split of --data)")
	fs.StringVar(&d.test, "test", "", "test data file (default without --val: a further --test-split of --data)")
	fs.StringVar(&d.columns, "columns", "", "comma-separated columns to use, by name or 0-based index (default: all)")
	fs.StringVar(&d.header, "header", "auto", "CSV header row: auto, yes or no")
	fs.Float64Var(&d.valSplit, "val-split", 0.1, "fraction of --data held out for validation when --val is absent")
	fs.Float64Var(&d.testSplit, "test-split", 0.1, "fraction of --data held out for testing when --val and --test are absent")
	fs.Int64Var(&d.shuffle, "shuffle", -1, "shuffle rows with this seed before holding out (default: file order)")
	fs.StringVar(&d.dequantize, "dequantize", "auto", "add uniform noise to integer/grid-valued columns: auto, on or off")
	fs.StringVar(&d.constant, "constant", "drop", "constant columns: drop (with a warning) or refuse")
	fs.IntVar(&d.toyRows, "toy-rows", 20000, "rows generated for --data toy:NAME")
}

func (d *dataFlags) config(seed uint64) (model.DataConfig, error) {
	hm, err := data.ParseHeaderMode(d.header)
	if err != nil {
		return model.DataConfig{}, err
	}
	cfg := model.DataConfig{
		Data: d.data, Val: d.val, Test: d.test, Columns: splitList(d.columns), Header: hm,
		ValFrac: d.valSplit, TestFrac: d.testSplit, Seed: seed, Dequantize: d.dequantize,
		Constant: d.constant, ToyRows: d.toyRows,
	}
	inside := func(v float64) bool { return v > 0 && v < 1 }
	if err := checkAll(
		checkFloat("val-split", d.valSplit, "in (0, 1)", inside),
		checkFloat("test-split", d.testSplit, "in (0, 1)", inside),
		checkFloat("val-split + --test-split", d.valSplit+d.testSplit, "below 1", func(v float64) bool { return v < 1 }),
		checkInt("toy-rows", d.toyRows, 10, maxToyRows),
	); err != nil {
		return cfg, err
	}
	if d.test == "" && d.val != "" {
		cfg.TestFrac = -1 // explicit validation file: no test set is carved out
	}
	if d.test != "" && d.val == "" {
		cfg.TestFrac = -1
	}
	if d.shuffle >= 0 {
		cfg.Shuffle, cfg.Seed = true, uint64(d.shuffle)
	}
	return cfg, nil
}

// maxToyRows bounds --toy-rows.
const maxToyRows = 10_000_000

// inputs lists the data files the flags name (not toy:NAME).
func (d *dataFlags) inputs() []string {
	var out []string
	for _, p := range []string{d.data, d.val, d.test} {
		if _, toy := data.ParseToy(p); p != "" && !toy {
			out = append(out, p)
		}
	}
	return out
}

// prepare loads and preprocesses the data as the flags say, printing the
// warnings (dropped constant columns, dequantisation) to stderr.
func (d *dataFlags) prepare(seed uint64, stderr io.Writer) (*model.Prepared, error) {
	cfg, err := d.config(seed)
	if err != nil {
		return nil, err
	}
	prep, err := model.PrepareData(cfg)
	if err != nil {
		return nil, err
	}
	for _, w := range prep.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	return prep, nil
}

// resolveSpec turns --arch (a preset name or a JSON spec file) into a spec
// for dim columns.
// The spec is checked against model.CheckSpec's limits (layer count,
// widths, parameter count) before anything is built.
func resolveSpec(arch string, dim int) (*flow.Spec, error) {
	if strings.HasSuffix(arch, ".json") || strings.ContainsRune(arch, os.PathSeparator) {
		b, err := fsio.ReadFile(arch, maxSpecBytes)
		if err != nil {
			return nil, fmt.Errorf("--arch: %w", err)
		}
		s, err := flow.ParseSpec(b, arch)
		if err != nil {
			return nil, err
		}
		if s.Dim != dim {
			return nil, fmt.Errorf("%s: the spec is for %d dimensions but the data has %d columns (after dropping constant ones)", arch, s.Dim, dim)
		}
		if err := model.CheckSpec(s); err != nil {
			return nil, fmt.Errorf("%s: %w", arch, err)
		}
		return s, nil
	}
	s, err := flow.PresetSpec(arch, dim)
	if err != nil {
		return nil, err
	}
	if err := model.CheckSpec(s); err != nil {
		return nil, fmt.Errorf("preset %s: %w", arch, err)
	}
	return s, nil
}

// maxSpecBytes bounds an architecture spec file.
const maxSpecBytes = 16 << 20

type trainFlags struct {
	dataFlags
	arch, out               string
	epochs, batch, patience int
	warmup                  int
	dropLast                bool
	lr, clip, weightDecay   float64
	seed                    uint64
	jsonOut, quiet          bool
	maxTime, ckptEvery      time.Duration
	force, resume           bool
	bf16                    bool
}

// checkpointDir is where train keeps its checkpoint inside --out.
const checkpointDir = "checkpoint"

// maxEpochs bounds --epochs.
const maxEpochs = 10_000_000

func (f *trainFlags) validate() error {
	return checkAll(
		checkInt("epochs", f.epochs, 1, maxEpochs),
		checkInt("batch", f.batch, 1, 1<<20),
		checkFloat("lr", f.lr, "in (0, 10]", func(v float64) bool { return v > 0 && v <= 10 }),
		checkFloat("clip", f.clip, "≥ 0", nonNegative),
		checkFloat("weight-decay", f.weightDecay, "≥ 0 with --weight-decay × --lr < 1", func(v float64) bool { return v >= 0 && v*f.lr < 1 }),
		checkInt("patience", f.patience, 0, maxEpochs),
		checkInt("warmup", f.warmup, -1, math.MaxInt32),
		checkDuration("max-time", f.maxTime),
		checkDuration("checkpoint-every", f.ckptEvery),
		checkBF16(f.bf16),
	)
}

// checkBF16 refuses --bf16 on a CPU without AVX512-BF16 (rather than train
// on a slow emulation, or silently in float32).
func checkBF16(on bool) error {
	if on && !tensor.HasBF16() {
		return fmt.Errorf("--bf16: this CPU lacks AVX512-BF16 (bf16 GEMMs would run on a slow emulation); drop --bf16 to train in float32")
	}
	return nil
}

// fingerprint records what a checkpoint must agree with to be resumed:
// every option that changes the result, and digests of the prepared data
// and of the architecture.
func (f *trainFlags) fingerprint(fs *flag.FlagSet, prep *model.Prepared, spec *flow.Spec) map[string]string {
	fp := map[string]string{}
	for _, name := range []string{"data", "val", "test", "columns", "header", "val-split", "test-split", "shuffle",
		"dequantize", "constant", "toy-rows", "arch", "epochs", "batch", "lr", "clip", "warmup", "drop-last",
		"weight-decay", "patience", "seed"} {
		fp["--"+name] = fs.Lookup(name).Value.String()
	}
	if f.bf16 {
		fp["--bf16"] = "true" // absent when off: checkpoints from before the flag still match
	}
	digest := func(m *tensor.Mat[float32]) string {
		h := sha256.New()
		var b [4]byte
		for _, v := range m.Data[:m.Rows*m.Cols] {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
			h.Write(b[:])
		}
		return fmt.Sprintf("%d×%d sha256 %x", m.Rows, m.Cols, h.Sum(nil)[:8])
	}
	fp["training data"] = digest(prep.Train)
	fp["validation data"] = digest(prep.Val)
	fp["columns"] = strings.Join(prep.Columns, ",")
	sum := sha256.Sum256(spec.JSON())
	fp["architecture"] = fmt.Sprintf("sha256 %x", sum[:8])
	return fp
}

// differences names what differs between a checkpoint's fingerprint and
// this run's.
func differences(saved, now map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(now)) {
		if saved[k] != now[k] {
			if strings.HasPrefix(k, "--") {
				out = append(out, fmt.Sprintf("%s %q in the checkpoint, %q now", k, saved[k], now[k]))
			} else {
				out = append(out, fmt.Sprintf("the %s differs (checkpoint %s, now %s)", k, saved[k], now[k]))
			}
		}
	}
	return out
}

func runTrain(args []string, stdout, stderr io.Writer) (err error) {
	fs := newFlags("train", "--data F [--val F --test F] --arch PRESET|SPEC.json --out MODEL [flags]", stderr)
	var f trainFlags
	f.dataFlags.register(fs)
	fs.StringVar(&f.arch, "arch", "maf5", "architecture: a preset (autonf arch --list) or a JSON spec file")
	fs.StringVar(&f.out, "out", "", "model directory to write (refused if it holds a model, unless --force or --resume)")
	fs.IntVar(&f.epochs, "epochs", 1000, "maximum epochs")
	fs.IntVar(&f.batch, "batch", 512, "batch size")
	fs.Float64Var(&f.lr, "lr", 1e-3, "peak learning rate (Adam, cosine schedule with warm-up)")
	fs.Float64Var(&f.clip, "clip", 5, "gradient-norm clip (0: off)")
	fs.IntVar(&f.warmup, "warmup", 0, "learning-rate warm-up steps (0: 1 % of the maximum steps, at most 500; -1: none)")
	fs.BoolVar(&f.dropLast, "drop-last", false, "skip each epoch's last, partial batch")
	fs.Float64Var(&f.weightDecay, "weight-decay", 0, "decoupled weight decay")
	fs.IntVar(&f.patience, "patience", 20, "early stopping: epochs without validation improvement (0: off)")
	fs.Uint64Var(&f.seed, "seed", 1, "seed for weights, batches and dequantization noise")
	fs.DurationVar(&f.maxTime, "max-time", 0, "stop training after this long (e.g. 10m; 0: no limit); counted across --resume")
	fs.DurationVar(&f.ckptEvery, "checkpoint-every", time.Minute, "write OUT/checkpoint after an epoch once this long has passed since the last (0: every epoch); also on SIGINT/SIGTERM")
	fs.BoolVar(&f.resume, "resume", false, "continue an interrupted run from OUT/checkpoint, exactly (same data and options required)")
	fs.BoolVar(&f.force, "force", false, "replace a model or checkpoint already in --out")
	fs.BoolVar(&f.jsonOut, "json", false, "print a JSON summary as the last line of stdout")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress output")
	fs.BoolVar(&f.bf16, "bf16", false, "conditioner GEMMs of the training steps in bfloat16 with float32 accumulation (needs AVX512-BF16; validation, test and the saved model stay float32)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "data", "out"); err != nil {
		return err
	}
	if err := f.validate(); err != nil {
		return err
	}
	if _, err := f.config(f.seed); err != nil {
		return err
	}
	if f.resume && f.force {
		return fmt.Errorf("--resume and --force contradict each other: --resume continues the run in %s, --force starts it afresh", f.out)
	}

	// The output directory: created, locked against a second writer, and
	// checked before any work (fsio.OpenDir). A directory this run created
	// is removed again if the run fails before writing anything into it.
	ckpt := filepath.Join(f.out, checkpointDir)
	lock, err := fsio.OpenDir("--out", f.out, f.force || f.resume, model.ManifestFile, checkpointDir)
	if err != nil {
		if errors.Is(err, fsio.ErrExists) {
			if _, serr := os.Stat(filepath.Join(ckpt, train.StateFile)); serr == nil {
				return fmt.Errorf("%w (an interrupted run: continue it with --resume)", err)
			}
		}
		return err
	}
	defer func() { lock.Release(err != nil) }()
	for _, in := range f.inputs() {
		for _, o := range model.Files(f.out) {
			if fsio.SameFile(in, o) {
				return fmt.Errorf("--out %s would overwrite the input %s (%s); choose another --out", f.out, in, o)
			}
		}
	}
	var resume *train.State
	var savedFP map[string]string
	if f.resume {
		resume, savedFP, err = train.LoadCheckpoint(ckpt)
		if err != nil {
			if errors.Is(err, train.ErrNoCheckpoint) {
				return fmt.Errorf("--resume: %w (nothing to resume; train without --resume)", err)
			}
			return fmt.Errorf("--resume: %w", err)
		}
	}

	prep, err := f.prepare(f.seed, stderr)
	if err != nil {
		return err
	}
	spec, err := resolveSpec(f.arch, prep.Train.Cols)
	if err != nil {
		return err
	}
	fl, err := flow.Build[float32](spec, rand.New(rand.NewPCG(f.seed, 0xf10)))
	if err != nil {
		return err
	}
	fp := f.fingerprint(fs, prep, fl.Spec())
	if resume != nil {
		if d := differences(savedFP, fp); len(d) > 0 {
			return fmt.Errorf("--resume: the checkpoint in %s was made with other data or options: %s; rerun with the same ones, or start afresh with --force", ckpt, strings.Join(d, "; "))
		}
	}
	if f.force {
		// Only now, with the data and the architecture ready: a --force run
		// that fails early leaves the old checkpoint alone.
		if err := os.RemoveAll(ckpt); err != nil {
			return fmt.Errorf("--force: removing the old checkpoint: %w", err)
		}
	}
	progressW := stdout
	if f.jsonOut {
		progressW = stderr
	}
	fmt.Fprintf(progressW, "training %s (%d layers, %d parameters) on %d rows × %d columns; validation %d rows\n",
		spec.Name, len(spec.Layers), fl.NumParams(), prep.Train.Rows, prep.Train.Cols, prep.Val.Rows)
	if resume != nil {
		fmt.Fprintf(progressW, "resuming at epoch %d, step %d of the epoch (best validation NLL so far %s)\n", resume.Epoch+1, resume.StepInEpoch, fmtNLL(resume.Result.BestValNLL))
	}

	cfg := train.Config{Epochs: f.epochs, Batch: f.batch, LR: f.lr, ClipNorm: f.clip, Patience: f.patience,
		WeightDecay: f.weightDecay, Seed: f.seed, MaxTime: f.maxTime, Warmup: f.warmup, DropLast: f.dropLast,
		CheckpointEvery: f.ckptEvery, Resume: resume, BF16: f.bf16}
	cfg.Checkpoint = func(st *train.State) error { return train.SaveCheckpoint(ckpt, st, fp) }
	if f.clip == 0 {
		cfg.ClipNorm = -1
	}
	if f.patience == 0 {
		cfg.Patience = -1
	}
	if !f.quiet {
		pr := train.NewProgress(progressW, isTTY(progressW), f.epochs)
		cfg.OnEpoch, cfg.OnStep = pr.Epoch, pr.Step
	}
	ctx, sig, stop := interruptContext()
	defer stop()
	res, trainErr := train.Fit(ctx, fl, prep.Train, prep.Val, cfg)
	if res == nil {
		return trainErr
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	signalled := sig()
	switch {
	case errors.Is(trainErr, train.ErrNotTrained):
		msg := fmt.Errorf("%w; no model saved", trainErr)
		if signalled != nil {
			return interrupted(signalled, fmt.Errorf("interrupted by %s: %w; the checkpoint in %s continues it with --resume", signalName(signalled), msg, ckpt))
		}
		if res.StopReason == "time limit" {
			return fmt.Errorf("%w; raise --max-time (the checkpoint in %s continues with --resume)", msg, ckpt)
		}
		return fmt.Errorf("%w; check the data, or lower --lr", msg)
	case errors.Is(trainErr, train.ErrDiverged):
		best := "no epoch reached a finite validation score"
		if res.BestEpoch >= 1 {
			best = fmt.Sprintf("the best validation NLL was %s at epoch %d", fmtNLL(res.BestValNLL), res.BestEpoch)
		}
		return fmt.Errorf("%w; no model saved (%s); lower --lr, or --clip", trainErr, best)
	case trainErr != nil:
		return trainErr
	}
	m := prep.Model(fl, f.seed)
	m.Meta.Training, _ = json.Marshal(map[string]any{
		"arch": f.arch, "epochs": res.Epochs, "steps": res.Steps, "best_epoch": res.BestEpoch,
		"best_val_nll": res.BestValNLL, "stop_reason": res.StopReason, "seconds": res.Elapsed.Seconds(),
		"skipped_steps": res.SkippedSteps, "batch": f.batch, "lr": f.lr, "patience": f.patience, "bf16": f.bf16,
	})
	if err := m.Save(f.out); err != nil {
		return err
	}
	if err := saveCurve(f.out, res); err != nil {
		fmt.Fprintln(stderr, "warning: training curve:", err)
	}
	if signalled != nil {
		return interrupted(signalled, fmt.Errorf("interrupted by %s at epoch %d after %d steps; the best weights so far (epoch %d, validation NLL %s) were saved to %s, and the checkpoint in %s continues the run with --resume",
			signalName(signalled), res.Epochs+1, res.Steps, res.BestEpoch, fmtNLL(res.BestValNLL), f.out, ckpt))
	}
	if err := os.RemoveAll(ckpt); err != nil {
		fmt.Fprintln(stderr, "warning: removing the finished run's checkpoint:", err)
	}
	fmt.Fprintf(progressW, "%s after %d epochs (%.1f s); best validation NLL %.4f at epoch %d; model saved to %s\n",
		res.StopReason, res.Epochs, res.Elapsed.Seconds(), res.BestValNLL, res.BestEpoch, f.out)
	summary := map[string]any{"model": f.out, "epochs": res.Epochs, "best_epoch": res.BestEpoch,
		"best_val_nll": res.BestValNLL, "train_seconds": res.Elapsed.Seconds(), "stop_reason": res.StopReason,
		"params": fl.NumParams()}
	if prep.TestTable != nil {
		ev, err := model.Evaluate(m, prep.TestTable, f.seed)
		if err != nil {
			return fmt.Errorf("test evaluation (the model was saved to %s): %w", f.out, err)
		}
		fmt.Fprintf(progressW, "test log-likelihood %.4f ± %.4f nats (n = %d; median %.4f, %g%%-trimmed mean %.4f)\n", ev.Mean, ev.TwoSE, ev.N, ev.Median, 100*model.TrimFrac, ev.TrimmedMean)
		if w := ev.Warning(); w != "" {
			fmt.Fprintln(stderr, "warning: test data:", w)
		}
		summary["test_loglik_mean"], summary["test_loglik_2se"], summary["test_n"] = ev.Mean, ev.TwoSE, ev.N
		summary["test_loglik_median"], summary["test_loglik_trimmed_mean"], summary["test_outlier_rows"] = ev.Median, ev.TrimmedMean, ev.Outliers
	}
	if f.jsonOut {
		return printJSON(stdout, summary)
	}
	return nil
}

func fmtNLL(v float64) string {
	if math.IsInf(v, 1) {
		return "none"
	}
	return fmt.Sprintf("%.4f", v)
}
