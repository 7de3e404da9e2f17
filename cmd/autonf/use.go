package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/autonf/autonf/data"
	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/model"
)

// loadForModel reads a data file for a trained model: without --columns it
// picks the model's columns by name when the file has them (in any order,
// among others), else it takes the file as is.
func loadForModel(m *model.Model, path, columns, header string) (*data.Table, error) {
	hm, err := data.ParseHeaderMode(header)
	if err != nil {
		return nil, err
	}
	opt := data.LoadOptions{Columns: splitList(columns), Header: hm}
	t, err := model.LoadTable(path, opt, 0, 0)
	if err != nil {
		return nil, err
	}
	if columns == "" && t.Cols != len(m.Columns) {
		idx := make([]int, 0, len(m.Columns))
		for _, c := range m.Columns {
			j := slices.Index(t.Columns, c)
			if j < 0 {
				break
			}
			idx = append(idx, j)
		}
		if len(idx) == len(m.Columns) {
			t = t.Select(idx)
		}
	}
	return t, nil
}

func runEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval", "--model MODEL --data F [--json]", stderr)
	modelDir := fs.String("model", "", "model directory (written by autonf train)")
	path := fs.String("data", "", "data file (.csv/.npy) in the units of the training data")
	columns := fs.String("columns", "", "columns to use (default: the model's columns by name, else all)")
	header := fs.String("header", "auto", "CSV header row: auto, yes or no")
	seed := fs.Uint64("seed", 1, "seed of the dequantization noise (models trained with dequantization)")
	jsonOut := fs.Bool("json", false, "print {\"n\":..,\"loglik_mean\":..,\"loglik_2se\":..,\"loglik_median\":..,\"loglik_trimmed_mean\":..,\"outlier_rows\":..} as the last line")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "model", "data"); err != nil {
		return err
	}
	m, err := model.Load(*modelDir)
	if err != nil {
		return err
	}
	t, err := loadForModel(m, *path, *columns, *header)
	if err != nil {
		return err
	}
	ev, err := model.Evaluate(m, t, *seed)
	if err != nil {
		return err
	}
	if w := ev.Warning(); w != "" {
		fmt.Fprintln(stderr, "warning:", w)
	}
	if *jsonOut {
		return printJSON(stdout, ev)
	}
	fmt.Fprintf(stdout, "mean log-likelihood %.4f ± %.4f nats (±2 s.e.), n = %d; median %.4f, %g%%-trimmed mean %.4f, minimum %.4g\n",
		ev.Mean, ev.TwoSE, ev.N, ev.Median, 100*model.TrimFrac, ev.TrimmedMean, ev.Min)
	if ev.Outliers > 0 {
		fmt.Fprintf(stdout, "%d rows lie more than %d training standard deviations from the training mean (largest %.3g)\n", ev.Outliers, model.OutlierZ, ev.MaxAbsZ)
	}
	return nil
}

func runDensity(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("density", "--model MODEL --data F --out F.csv|F.npy", stderr)
	modelDir := fs.String("model", "", "model directory")
	path := fs.String("data", "", "data file (.csv/.npy)")
	out := fs.String("out", "", "output file: one log-density (nats, user units) per input row, .csv or .npy")
	columns := fs.String("columns", "", "columns to use (default: the model's columns by name, else all)")
	header := fs.String("header", "auto", "CSV header row: auto, yes or no")
	seed := fs.Uint64("seed", 1, "seed of the dequantization noise")
	force := fs.Bool("force", false, "overwrite --out if it exists (never an input)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "model", "data", "out"); err != nil {
		return err
	}
	if err := checkOut(*out, *force, outExts, append(model.Files(*modelDir), *path)...); err != nil {
		return err
	}
	m, err := model.Load(*modelDir)
	if err != nil {
		return err
	}
	t, err := loadForModel(m, *path, *columns, *header)
	if err != nil {
		return err
	}
	lp, err := m.LogProb(t, *seed)
	if err != nil {
		return err
	}
	if err := data.Save(*out, []string{"log_density"}, len(lp), 1, lp); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d log-densities to %s\n", len(lp), *out)
	return nil
}

func runSample(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sample", "--model MODEL -n N [--seed N] --out F.csv|F.npy", stderr)
	modelDir := fs.String("model", "", "model directory")
	n := fs.Int("n", 1000, "number of samples (written in chunks: any -n runs in bounded memory)")
	seed := fs.Uint64("seed", 1, "sampling seed")
	out := fs.String("out", "", "output file, .csv (with the model's column names) or .npy")
	force := fs.Bool("force", false, "overwrite --out if it exists (never one of the model's files)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "model", "out"); err != nil {
		return err
	}
	if *n < 1 || *n > maxSamples {
		return fmt.Errorf("-n must be an integer from 1 to %d, got %d", maxSamples, *n)
	}
	if err := checkOut(*out, *force, outExts, model.Files(*modelDir)...); err != nil {
		return err
	}
	m, err := model.Load(*modelDir)
	if err != nil {
		return err
	}
	w, err := data.NewWriter(*out, m.Columns, *n)
	if err != nil {
		return err
	}
	defer w.Abort()
	ctx, sig, stop := interruptContext()
	defer stop()
	err = m.SampleChunks(*n, *seed, func(t *data.Table) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return w.Write(t)
	})
	if s := sig(); s != nil {
		return interrupted(s, fmt.Errorf("interrupted by %s; %s was not written", signalName(s), *out))
	}
	if err != nil {
		return err
	}
	if err := w.Commit(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d samples × %d columns to %s\n", *n, len(m.Columns), *out)
	return nil
}

// maxSamples bounds -n (samples are drawn and written in chunks, so memory
// is bounded whatever -n is; this bounds the time and the file size).
const maxSamples = 1_000_000_000

// outExts are the output formats of sample and density.
var outExts = []string{".csv", ".npy"}

func runArch(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("arch", "--list | --show NAME [--dim D]", stderr)
	list := fs.Bool("list", false, "list the presets")
	show := fs.String("show", "", "print the JSON spec of a preset")
	dim := fs.Int("dim", 2, "data dimension for --show")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := checkInt("dim", *dim, 1, model.MaxDim); err != nil {
		return err
	}
	switch {
	case *list:
		for _, p := range flow.Presets() {
			fmt.Fprintf(stdout, "%-10s %s\n", p.Name, p.Doc)
		}
		fmt.Fprintf(stdout, "\nlayer types: %s\n", strings.Join(flow.LayerTypes(), ", "))
		return nil
	case *show != "":
		s, err := flow.PresetSpec(*show, *dim)
		if err != nil {
			return err
		}
		_, err = stdout.Write(s.JSON())
		return err
	}
	fs.Usage()
	return errUsage
}
