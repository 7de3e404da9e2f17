package report

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Panel is one panel of Scatter2D: a titled set of 2-D points.
type Panel struct {
	Title  string
	Points [][2]float64
}

// Scatter2D writes one PNG with the panels side by side in a row (e.g. data
// samples next to model samples), each a scatter of its points in its own
// colour, under the figure title. All panels share the same axis limits,
// chosen to cover every finite point with equal x and y spans, so that the
// panels can be compared directly.
//
// Non-finite points are skipped; a panel may be empty, but it is an error if
// panels is empty or no finite point is left in any panel.
func Scatter2D(path, title string, panels []Panel) error {
	if len(panels) == 0 {
		return errors.New("report: Scatter2D: no panels")
	}
	xmin, xmax := math.Inf(1), math.Inf(-1)
	ymin, ymax := math.Inf(1), math.Inf(-1)
	sets := make([]plotter.XYs, len(panels))
	total, skipped := 0, 0
	for i, pn := range panels {
		xys, n := finitePoints(pn.Points)
		sets[i] = xys
		skipped += n
		total += len(xys)
		for _, xy := range xys {
			xmin, xmax = math.Min(xmin, xy.X), math.Max(xmax, xy.X)
			ymin, ymax = math.Min(ymin, xy.Y), math.Max(ymax, xy.Y)
		}
	}
	if total == 0 {
		if skipped == 0 {
			return errors.New("report: Scatter2D: all panels are empty")
		}
		return fmt.Errorf("report: Scatter2D: no finite points (all %d points are NaN or infinite)", skipped)
	}
	// Equal spans, 5% margin on each side.
	span := math.Max(xmax-xmin, ymax-ymin)
	if span <= 0 {
		span = 2
	}
	span *= 1.1
	cx, cy := (xmin+xmax)/2, (ymin+ymax)/2

	plots := make([]*plot.Plot, len(panels))
	for i, pn := range panels {
		p := newPlot(pn.Title, "x1", "x2")
		if len(sets[i]) > 0 {
			sc, err := plotter.NewScatter(sets[i])
			if err != nil {
				return fmt.Errorf("report: Scatter2D: panel %d: %w", i, err)
			}
			alpha := 0.85
			switch n := len(sets[i]); {
			case n > 3000:
				alpha = 0.4
			case n > 500:
				alpha = 0.6
			}
			sc.GlyphStyle = draw.GlyphStyle{
				Color:  withAlpha(seriesColor(i), alpha),
				Radius: markerRadius(len(sets[i])),
				Shape:  draw.CircleGlyph{},
			}
			p.Add(sc)
		}
		p.X.Min, p.X.Max = cx-span/2, cx+span/2
		p.Y.Min, p.Y.Max = cy-span/2, cy+span/2
		plots[i] = p
	}

	const panelW, panelH = 9 * vg.Centimeter, 9.5 * vg.Centimeter
	return render(path, vg.Length(len(panels))*panelW, panelH, func(dc draw.Canvas) error {
		body := drawTitle(dc, title)
		tiles := draw.Tiles{
			Rows: 1, Cols: len(panels),
			PadX:   vg.Points(14),
			PadTop: vg.Points(4), PadBottom: vg.Points(4),
			PadLeft: vg.Points(4), PadRight: vg.Points(10),
		}
		cs := plot.Align([][]*plot.Plot{plots}, tiles, body)
		for i, p := range plots {
			p.Draw(cs[0][i])
		}
		return nil
	})
}

// WeightTrajectories writes one PNG for the architecture search: one panel
// per layer slot, each showing every candidate's softmax weight against the
// search step as a line (y axis fixed to [0, 1]), with one shared legend of
// the candidate names to the right of the panels. Panels are laid out in
// rows of at most four
// (as evenly filled as possible).
//
// weights is indexed [slot][candidate][stepIndex]: every slot needs
// len(candidates) rows of len(steps) values. Non-finite values are skipped;
// it is an error if the shapes do not match or no finite value is left.
func WeightTrajectories(path, title string, steps []float64, weights [][][]float64, candidates []string) error {
	switch {
	case len(steps) == 0:
		return errors.New("report: WeightTrajectories: no steps")
	case len(weights) == 0:
		return errors.New("report: WeightTrajectories: no slots")
	case len(candidates) == 0:
		return errors.New("report: WeightTrajectories: no candidates")
	}
	plots := make([]*plot.Plot, len(weights))
	legend := plot.NewLegend()
	var entries []legendEntry
	total, skipped := 0, 0
	for s, slot := range weights {
		if len(slot) != len(candidates) {
			return fmt.Errorf("report: WeightTrajectories: slot %d has %d candidates, want %d", s, len(slot), len(candidates))
		}
		p := newPlot(fmt.Sprintf("slot %d", s+1), "step", "weight")
		for c, ws := range slot {
			if len(ws) != len(steps) {
				return fmt.Errorf("report: WeightTrajectories: slot %d candidate %d (%q) has %d values for %d steps", s, c, candidates[c], len(ws), len(steps))
			}
			xys, n := finiteXYs(steps, ws)
			skipped += n
			total += len(xys)
			l, err := plotter.NewLine(xys)
			if err != nil {
				return fmt.Errorf("report: WeightTrajectories: %w", err)
			}
			l.Color = seriesColor(c)
			l.Dashes = seriesDashes(c)
			l.Width = vg.Points(1.6)
			if len(xys) > 0 {
				p.Add(l)
			}
			if s == 0 {
				entries = append(entries, legendEntry{name: candidates[c], thumbs: []plot.Thumbnailer{l}})
			}
		}
		p.Y.Min, p.Y.Max = 0, 1
		plots[s] = p
	}
	if total == 0 {
		return fmt.Errorf("report: WeightTrajectories: no finite weights (all %d values are NaN or infinite)", skipped)
	}
	legend.TextStyle.Font = plots[0].Legend.TextStyle.Font
	legend.ThumbnailWidth = vg.Points(22)
	legend.Padding = vg.Points(3)
	legend.Left, legend.Top = true, true
	for _, e := range entries {
		legend.Add(e.name, e.thumbs...)
	}
	legW, _ := legendSize(&legend, entries)

	// At most four panels per row, rows as evenly filled as possible.
	rows := (len(plots) + 3) / 4
	cols := (len(plots) + rows - 1) / rows
	grid := make([][]*plot.Plot, rows)
	for r := range grid {
		grid[r] = make([]*plot.Plot, cols)
		for c := range cols {
			if k := r*cols + c; k < len(plots) {
				grid[r][c] = plots[k]
			}
		}
	}
	const panelW, panelH = 7.5 * vg.Centimeter, 6 * vg.Centimeter
	legendW := legW + vg.Points(36)
	w := vg.Length(cols)*panelW + legendW
	h := vg.Length(rows)*panelH + vg.Centimeter
	return render(path, w, h, func(dc draw.Canvas) error {
		body := drawTitle(dc, title)
		side := body
		side.Min.X = body.Max.X - legendW + vg.Points(12)
		side.Max.Y -= vg.Points(20)
		body.Max.X -= legendW
		tiles := draw.Tiles{
			Rows: rows, Cols: cols,
			PadX: vg.Points(14), PadY: vg.Points(14),
			PadTop: vg.Points(4), PadBottom: vg.Points(4),
			PadLeft: vg.Points(4), PadRight: vg.Points(4),
		}
		cs := plot.Align(grid, tiles, body)
		for r := range grid {
			for c, p := range grid[r] {
				if p != nil {
					p.Draw(cs[r][c])
				}
			}
		}
		legend.Draw(side)
		return nil
	})
}
