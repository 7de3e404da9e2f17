package main

import (
	"fmt"
	"io"
	"math"
	"path/filepath"

	"github.com/autonf/autonf/data"
	"github.com/autonf/autonf/model"
	"github.com/autonf/autonf/report"
	"github.com/autonf/autonf/train"
)

func saveCurve(dir string, res *train.Result) error {
	if err := train.WriteCurveCSV(filepath.Join(dir, "curve.csv"), res.Curve); err != nil {
		return err
	}
	if len(res.Curve) < 2 {
		return nil
	}
	ep, tr, va := make([]float64, len(res.Curve)), make([]float64, len(res.Curve)), make([]float64, len(res.Curve))
	for i, s := range res.Curve {
		ep[i], tr[i], va[i] = float64(s.Epoch), s.TrainNLL, s.ValNLL
	}
	return report.TrainingCurve(filepath.Join(dir, "curve.png"), ep, tr, va)
}

func runPlot(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("plot", "--model MODEL [--data F] --out F.png", stderr)
	modelDir := fs.String("model", "", "model directory")
	path := fs.String("data", "", "data file (or toy:NAME) to overlay (optional)")
	out := fs.String("out", "", "PNG file: a density map for 2-D models, data vs samples scatter otherwise")
	n := fs.Int("n", 2000, "number of samples / data points shown")
	seed := fs.Uint64("seed", 1, "sampling seed")
	force := fs.Bool("force", false, "overwrite --out if it exists (never an input)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required(fs, "model", "out"); err != nil {
		return err
	}
	if *n < 1 || *n > maxPlotPoints {
		return fmt.Errorf("-n must be an integer from 1 to %d, got %d", maxPlotPoints, *n)
	}
	if err := checkOut(*out, *force, []string{".png"}, append(model.Files(*modelDir), *path)...); err != nil {
		return err
	}
	m, err := model.Load(*modelDir)
	if err != nil {
		return err
	}
	var pts [][2]float64
	if *path != "" {
		t, err := loadForModel(m, *path, "", "auto")
		if err != nil {
			return err
		}
		pts = firstTwo(t, *n)
	}
	st, err := m.Sample(*n, *seed)
	if err != nil {
		return err
	}
	samples := firstTwo(st, *n)
	if m.Dim() == 2 && len(m.Standardizer.Keep) == 2 {
		s := m.Standardizer
		g := report.Grid{XMin: s.Mean[0] - 4*s.Std[0], XMax: s.Mean[0] + 4*s.Std[0], YMin: s.Mean[1] - 4*s.Std[1], YMax: s.Mean[1] + 4*s.Std[1], N: 200}
		logp := func(xy []float64) ([]float64, error) {
			t, err := data.NewTable("grid", m.Columns, len(xy)/2, 2, xy)
			if err != nil {
				return nil, err
			}
			return m.LogProb(t, *seed)
		}
		mass, err := report.GridIntegral(g, logp)
		if err != nil {
			return err
		}
		if err := report.Density2DOverlay(*out, fmt.Sprintf("model density (mass on the plot %.3f)", mass), g, logp, nil, pts); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s (density integrates to %.4f over the plotted area)\n", *out, mass)
		return nil
	}
	panels := []report.Panel{{Title: "model samples", Points: samples}}
	if pts != nil {
		panels = append([]report.Panel{{Title: "data", Points: pts}}, panels...)
	}
	if err := report.Scatter2D(*out, fmt.Sprintf("first two of %d columns", m.Dim()), panels); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", *out)
	return nil
}

// maxPlotPoints bounds plot -n.
const maxPlotPoints = 1_000_000

func firstTwo(t *data.Table, n int) [][2]float64 {
	n = min(n, t.Rows)
	out := make([][2]float64, 0, n)
	for i := 0; i < n; i++ {
		r := t.Row(i)
		p := [2]float64{r[0], math.NaN()}
		if t.Cols > 1 {
			p[1] = r[1]
		} else {
			p[1] = 0
		}
		out = append(out, p)
	}
	return out
}
