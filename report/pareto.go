package report

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Point is one evaluated architecture: a label, its cost (e.g. parameter
// count or FLOPs) and its NLL. Both Cost and NLL are minimised.
type Point struct {
	Label     string
	Cost, NLL float64
}

// NonDominated returns the indices of the points of pts that no other point
// dominates in (Cost, NLL), both minimised, sorted by increasing cost (ties
// by NLL, then index). A point dominates another if it is no worse in both
// and strictly better in at least one; identical points do not dominate each
// other, so duplicates on the front are all returned. Points with a NaN or
// infinite coordinate are ignored. The result is empty (not nil) for no
// points.
func NonDominated(pts []Point) []int {
	idx := make([]int, 0, len(pts))
	for i, p := range pts {
		if finite(p.Cost) && finite(p.NLL) {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(a, b int) int {
		pa, pb := pts[a], pts[b]
		switch {
		case pa.Cost != pb.Cost:
			if pa.Cost < pb.Cost {
				return -1
			}
			return 1
		case pa.NLL != pb.NLL:
			if pa.NLL < pb.NLL {
				return -1
			}
			return 1
		}
		return a - b
	})
	front := make([]int, 0, len(idx))
	best := math.Inf(1) // lowest NLL among strictly cheaper points
	for g := 0; g < len(idx); {
		// Points of equal cost form a group; within it only the lowest NLL
		// (first, as sorted) can survive.
		e := g + 1
		for e < len(idx) && pts[idx[e]].Cost == pts[idx[g]].Cost {
			e++
		}
		low := pts[idx[g]].NLL
		if low < best {
			for k := g; k < e && pts[idx[k]].NLL == low; k++ {
				front = append(front, idx[k])
			}
			best = low
		}
		g = e
	}
	return front
}

// ParetoFront writes a PNG scatter of architectures in the (cost, NLL)
// plane: found points as small translucent blue dots ("candidates"), the
// front points as red dots connected by a red staircase (the attainment
// boundary: horizontal, then down), and the reference points (hand-crafted
// presets) as green diamonds labelled with their Label. If front is empty it
// is computed from found with NonDominated. The x axis is costLabel and
// becomes logarithmic when all costs are positive and span more than a
// factor of 50; the y axis is "NLL".
//
// Points with a non-finite coordinate are skipped; it is an error if no
// finite point is left.
func ParetoFront(path, title, costLabel string, found []Point, front []Point, refs []Point) error {
	if len(front) == 0 && len(found) > 0 {
		for _, i := range NonDominated(found) {
			front = append(front, found[i])
		}
	}
	toXYs := func(ps []Point) plotter.XYs {
		xys := make(plotter.XYs, 0, len(ps))
		for _, p := range ps {
			if finite(p.Cost) && finite(p.NLL) {
				xys = append(xys, plotter.XY{X: p.Cost, Y: p.NLL})
			}
		}
		return xys
	}
	fXYs, frXYs := toXYs(found), toXYs(front)
	slices.SortFunc(frXYs, func(a, b plotter.XY) int {
		if a.X != b.X {
			return cmpFloat(a.X, b.X)
		}
		return cmpFloat(a.Y, b.Y)
	})
	var rXYs plotter.XYs
	var rLabels []string
	for _, r := range refs {
		if finite(r.Cost) && finite(r.NLL) {
			rXYs = append(rXYs, plotter.XY{X: r.Cost, Y: r.NLL})
			rLabels = append(rLabels, r.Label)
		}
	}
	all := len(fXYs) + len(frXYs) + len(rXYs)
	if all == 0 {
		if len(found)+len(front)+len(refs) == 0 {
			return errors.New("report: ParetoFront: no points")
		}
		return errors.New("report: ParetoFront: no finite points (all are NaN or infinite)")
	}

	p := newPlot(title, costLabel, "NLL")
	logX := true
	cmin, cmax := math.Inf(1), math.Inf(-1)
	for _, set := range []plotter.XYs{fXYs, frXYs, rXYs} {
		for _, xy := range set {
			logX = logX && xy.X > 0
			cmin, cmax = math.Min(cmin, xy.X), math.Max(cmax, xy.X)
		}
	}
	if logX && cmax/cmin > 50 {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}

	var entries []legendEntry
	var lines []plotter.XYs
	if len(fXYs) > 0 {
		sc, err := plotter.NewScatter(fXYs)
		if err != nil {
			return fmt.Errorf("report: ParetoFront: %w", err)
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: withAlpha(seriesColor(0), 0.55), Radius: vg.Points(2.2), Shape: draw.CircleGlyph{}}
		p.Add(sc)
		entries = append(entries, legendEntry{name: "candidates", thumbs: []plot.Thumbnailer{sc}})
		for _, xy := range fXYs {
			lines = append(lines, plotter.XYs{xy})
		}
	}
	if len(frXYs) > 0 {
		red := seriesColor(3)
		l, err := plotter.NewLine(frXYs)
		if err != nil {
			return fmt.Errorf("report: ParetoFront: %w", err)
		}
		l.StepStyle = plotter.PostStep
		l.Color = red
		l.Width = vg.Points(1.6)
		sc, err := plotter.NewScatter(frXYs)
		if err != nil {
			return fmt.Errorf("report: ParetoFront: %w", err)
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: red, Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
		p.Add(l, sc)
		entries = append(entries, legendEntry{name: "Pareto front", thumbs: []plot.Thumbnailer{l, sc}})
		stairs := make(plotter.XYs, 0, 2*len(frXYs))
		for i, xy := range frXYs {
			if i > 0 {
				stairs = append(stairs, plotter.XY{X: xy.X, Y: frXYs[i-1].Y})
			}
			stairs = append(stairs, xy)
		}
		lines = append(lines, stairs)
	}
	if len(rXYs) > 0 {
		green := seriesColor(2)
		sc, err := plotter.NewScatter(rXYs)
		if err != nil {
			return fmt.Errorf("report: ParetoFront: %w", err)
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: green, Radius: vg.Points(4), Shape: diamondGlyph{}}
		lb, err := plotter.NewLabels(plotter.XYLabels{XYs: rXYs, Labels: rLabels})
		if err != nil {
			return fmt.Errorf("report: ParetoFront: %w", err)
		}
		for i := range lb.TextStyle {
			lb.TextStyle[i].Font = font.From(sans, tickSize)
			lb.TextStyle[i].Color = color.RGBA{0x1b, 0x5e, 0x20, 0xff}
		}
		lb.Offset = vg.Point{X: vg.Points(5), Y: vg.Points(3)}
		p.Add(sc, lb)
		entries = append(entries, legendEntry{name: "presets", thumbs: []plot.Thumbnailer{sc}})
		for _, xy := range rXYs {
			lines = append(lines, plotter.XYs{xy})
		}
	}
	// Margin so that markers and labels do not sit on the axes.
	padRange(&p.Y, 0.05)
	if _, isLog := p.X.Scale.(plot.LogScale); !isLog {
		padRange(&p.X, 0.05)
	}

	const w, h = 16 * vg.Centimeter, 11 * vg.Centimeter
	return render(path, w, h, func(dc draw.Canvas) error {
		placeLegend(p, dc, entries, lines)
		p.Draw(dc)
		return nil
	})
}

// padRange widens a linear axis range by frac of its span on each side.
func padRange(ax *plot.Axis, frac float64) {
	span := ax.Max - ax.Min
	if !(span > 0) || !finite(span) {
		return
	}
	ax.Min -= frac * span
	ax.Max += frac * span
}

// cmpFloat compares two non-NaN floats.
func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// diamondGlyph is a filled diamond marker.
type diamondGlyph struct{}

// DrawGlyph implements draw.GlyphDrawer.
func (diamondGlyph) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	r := sty.Radius * 1.25
	c.FillPolygon(sty.Color, []vg.Point{
		{X: pt.X, Y: pt.Y + r},
		{X: pt.X + r, Y: pt.Y},
		{X: pt.X, Y: pt.Y - r},
		{X: pt.X - r, Y: pt.Y},
	})
}
