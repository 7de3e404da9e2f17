package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/autonf/autonf/data"
	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/model"
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
	if d.valSplit <= 0 || d.valSplit >= 1 {
		return cfg, fmt.Errorf("--val-split %g must be in (0, 1)", d.valSplit)
	}
	if d.testSplit <= 0 || d.testSplit >= 1 {
		return cfg, fmt.Errorf("--test-split %g must be in (0, 1)", d.testSplit)
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
func resolveSpec(arch string, dim int) (*flow.Spec, error) {
	if strings.HasSuffix(arch, ".json") || strings.ContainsRune(arch, os.PathSeparator) {
		s, err := flow.ReadSpec(arch)
		if err != nil {
			return nil, err
		}
		if s.Dim != dim {
			return nil, fmt.Errorf("%s: the spec is for %d dimensions but the data has %d columns (after dropping constant ones)", arch, s.Dim, dim)
		}
		return s, nil
	}
	return flow.PresetSpec(arch, dim)
}

type trainFlags struct {
	dataFlags
	arch, out               string
	epochs, batch, patience int
	warmup                  int
	dropLast                bool
	lr, clip, weightDecay   float64
	seed                    uint64
	jsonOut, quiet          bool
	maxTime                 time.Duration
}

func runTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("train", "--data F [--val F --test F] --arch PRESET|SPEC.json --out MODEL [flags]", stderr)
	var f trainFlags
	f.dataFlags.register(fs)
	fs.StringVar(&f.arch, "arch", "maf5", "architecture: a preset (autonf arch --list) or a JSON spec file")
	fs.StringVar(&f.out, "out", "", "model directory to write")
	fs.IntVar(&f.epochs, "epochs", 1000, "maximum epochs")
	fs.IntVar(&f.batch, "batch", 512, "batch size")
	fs.Float64Var(&f.lr, "lr", 1e-3, "peak learning rate (Adam, cosine schedule with warm-up)")
	fs.Float64Var(&f.clip, "clip", 5, "gradient-norm clip (0: off)")
	fs.IntVar(&f.warmup, "warmup", 0, "learning-rate warm-up steps (0: 1 % of the maximum steps, at most 500; -1: none)")
	fs.BoolVar(&f.dropLast, "drop-last", false, "skip each epoch's last, partial batch")
	fs.Float64Var(&f.weightDecay, "weight-decay", 0, "decoupled weight decay")
	fs.IntVar(&f.patience, "patience", 20, "early stopping: epochs without validation improvement (0: off)")
	fs.Uint64Var(&f.seed, "seed", 1, "seed for weights, batches and dequantization noise")
	fs.DurationVar(&f.maxTime, "max-time", 0, "stop training after this long (e.g. 10m; 0: no limit)")
	fs.BoolVar(&f.jsonOut, "json", false, "print a JSON summary as the last line of stdout")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress output")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "data", "out"); err != nil {
		return err
	}
	if f.epochs < 1 || f.batch < 1 || f.lr <= 0 || f.patience < 0 || f.clip < 0 {
		return fmt.Errorf("--epochs and --batch must be ≥ 1, --lr > 0, --patience and --clip ≥ 0")
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
	progressW := stdout
	if f.jsonOut {
		progressW = stderr
	}
	fmt.Fprintf(progressW, "training %s (%d layers, %d parameters) on %d rows × %d columns; validation %d rows\n",
		spec.Name, len(spec.Layers), fl.NumParams(), prep.Train.Rows, prep.Train.Cols, prep.Val.Rows)

	cfg := train.Config{Epochs: f.epochs, Batch: f.batch, LR: f.lr, ClipNorm: f.clip, Patience: f.patience,
		WeightDecay: f.weightDecay, Seed: f.seed, MaxTime: f.maxTime, Warmup: f.warmup, DropLast: f.dropLast}
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, trainErr := train.Fit(ctx, fl, prep.Train, prep.Val, cfg)
	if res == nil {
		return trainErr
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	m := prep.Model(fl, f.seed)
	m.Meta.Training, _ = json.Marshal(map[string]any{
		"arch": f.arch, "epochs": res.Epochs, "steps": res.Steps, "best_epoch": res.BestEpoch,
		"best_val_nll": res.BestValNLL, "stop_reason": res.StopReason, "seconds": res.Elapsed.Seconds(),
		"skipped_steps": res.SkippedSteps, "batch": f.batch, "lr": f.lr, "patience": f.patience,
	})
	if err := m.Save(f.out); err != nil {
		return err
	}
	if err := saveCurve(f.out, res); err != nil {
		fmt.Fprintln(stderr, "warning: training curve:", err)
	}
	fmt.Fprintf(progressW, "%s after %d epochs (%.1f s); best validation NLL %.4f at epoch %d; model saved to %s\n",
		res.StopReason, res.Epochs, res.Elapsed.Seconds(), res.BestValNLL, res.BestEpoch, f.out)
	summary := map[string]any{"model": f.out, "epochs": res.Epochs, "best_epoch": res.BestEpoch,
		"best_val_nll": res.BestValNLL, "train_seconds": res.Elapsed.Seconds(), "stop_reason": res.StopReason,
		"params": fl.NumParams()}
	if prep.TestTable != nil {
		ev, err := model.Evaluate(m, prep.TestTable, f.seed)
		if err != nil {
			return err
		}
		fmt.Fprintf(progressW, "test log-likelihood %.4f ± %.4f nats (n = %d)\n", ev.Mean, ev.TwoSE, ev.N)
		summary["test_loglik_mean"], summary["test_loglik_2se"], summary["test_n"] = ev.Mean, ev.TwoSE, ev.N
	}
	if trainErr != nil {
		return fmt.Errorf("%w; the best weights so far were saved to %s", trainErr, f.out)
	}
	if f.jsonOut {
		return printJSON(stdout, summary)
	}
	return nil
}
