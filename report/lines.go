package report

import (
	"errors"
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Series is one line of a line plot: the points (X[i], Y[i]), drawn in
// order, named Name in the legend. X and Y must have the same length.
type Series struct {
	Name string
	X, Y []float64
}

// markerLimit is the largest number of points for which a line series also
// gets a marker at every point.
const markerLimit = 60

// LinePlot writes a PNG line plot (e.g. the training curve: train and
// validation NLL per epoch) to path: one coloured line per series, a legend
// with the series names placed where it hides no data, and light grid lines.
// Short series (at most 60 points) also get a marker at each point, so that
// a single-point series is visible.
//
// Points with a NaN or infinite coordinate are skipped; a series with no
// point left is omitted. It is an error if series is empty, if a series has
// len(X) != len(Y), or if no finite point is left at all.
func LinePlot(path, title, xlabel, ylabel string, series []Series) error {
	if len(series) == 0 {
		return errors.New("report: LinePlot: no series")
	}
	p := newPlot(title, xlabel, ylabel)
	var (
		entries []legendEntry
		lines   []plotter.XYs
		skipped int
		total   int
	)
	for i, s := range series {
		if len(s.X) != len(s.Y) {
			return fmt.Errorf("report: LinePlot: series %d (%q) has %d x values and %d y values", i, s.Name, len(s.X), len(s.Y))
		}
		xys, n := finiteXYs(s.X, s.Y)
		skipped += n
		total += len(s.X)
		if len(xys) == 0 {
			continue
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return fmt.Errorf("report: LinePlot: series %q: %w", s.Name, err)
		}
		l.Color = seriesColor(i)
		l.Width = vg.Points(1.6)
		l.Dashes = seriesDashes(i)
		p.Add(l)
		thumbs := []plot.Thumbnailer{l}
		if len(xys) <= markerLimit {
			sc, err := plotter.NewScatter(xys)
			if err != nil {
				return fmt.Errorf("report: LinePlot: series %q: %w", s.Name, err)
			}
			sc.GlyphStyle = draw.GlyphStyle{Color: seriesColor(i), Radius: vg.Points(2.2), Shape: draw.CircleGlyph{}}
			p.Add(sc)
			thumbs = append(thumbs, sc)
		}
		lines = append(lines, xys)
		if s.Name != "" {
			entries = append(entries, legendEntry{name: s.Name, thumbs: thumbs})
		}
	}
	if len(lines) == 0 {
		if total == 0 {
			return errors.New("report: LinePlot: all series are empty")
		}
		return fmt.Errorf("report: LinePlot: no finite points (all %d points are NaN or infinite)", skipped)
	}
	const w, h = 16 * vg.Centimeter, 10 * vg.Centimeter
	return render(path, w, h, func(dc draw.Canvas) error {
		placeLegend(p, dc, entries, lines)
		p.Draw(dc)
		return nil
	})
}

// TrainingCurve is LinePlot for a training run (convenience): x axis
// "epoch", y axis "NLL", series "train NLL" (train against epochs) and
// "val NLL" (val against epochs). val may be nil or empty when there is no
// validation set; otherwise train and val must have len(epochs) values.
func TrainingCurve(path string, epochs []float64, train, val []float64) error {
	if len(epochs) == 0 {
		return errors.New("report: TrainingCurve: no epochs")
	}
	if len(train) != len(epochs) {
		return fmt.Errorf("report: TrainingCurve: %d epochs but %d train values", len(epochs), len(train))
	}
	series := []Series{{Name: "train NLL", X: epochs, Y: train}}
	if len(val) > 0 {
		if len(val) != len(epochs) {
			return fmt.Errorf("report: TrainingCurve: %d epochs but %d val values", len(epochs), len(val))
		}
		series = append(series, Series{Name: "val NLL", X: epochs, Y: val})
	}
	return LinePlot(path, "Training curve", "epoch", "NLL", series)
}
