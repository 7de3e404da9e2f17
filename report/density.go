package report

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Grid is a regular N×N grid of cells covering [XMin, XMax] × [YMin, YMax].
// A density is evaluated at the cell centres.
type Grid struct {
	XMin, XMax, YMin, YMax float64
	N                      int // cells per side; at least 2
}

// maxGridN bounds Grid.N so that a typo cannot allocate gigabytes.
const maxGridN = 4096

// validate checks that g describes a non-empty, finite grid.
func (g Grid) validate() error {
	switch {
	case g.N < 2:
		return fmt.Errorf("report: grid N = %d, need at least 2", g.N)
	case g.N > maxGridN:
		return fmt.Errorf("report: grid N = %d is larger than %d", g.N, maxGridN)
	case !finite(g.XMin) || !finite(g.XMax) || !finite(g.YMin) || !finite(g.YMax):
		return fmt.Errorf("report: grid bounds [%g, %g]×[%g, %g] are not finite", g.XMin, g.XMax, g.YMin, g.YMax)
	case g.XMin >= g.XMax:
		return fmt.Errorf("report: grid XMin %g >= XMax %g", g.XMin, g.XMax)
	case g.YMin >= g.YMax:
		return fmt.Errorf("report: grid YMin %g >= YMax %g", g.YMin, g.YMax)
	}
	return nil
}

// cellX returns the x coordinate of the centre of column i.
func (g Grid) cellX(i int) float64 {
	return g.XMin + (float64(i)+0.5)*(g.XMax-g.XMin)/float64(g.N)
}

// cellY returns the y coordinate of the centre of row j.
func (g Grid) cellY(j int) float64 {
	return g.YMin + (float64(j)+0.5)*(g.YMax-g.YMin)/float64(g.N)
}

// evalGrid calls logp once with the N*N cell centres of g, as rows of an
// (N*N)×2 row-major slice ordered row by row (point k = j*N + i is
// (cellX(i), cellY(j))), and returns its N*N results.
func evalGrid(g Grid, logp func(pts []float64) ([]float64, error)) ([]float64, error) {
	if err := g.validate(); err != nil {
		return nil, err
	}
	if logp == nil {
		return nil, errors.New("report: nil log-density function")
	}
	n := g.N * g.N
	pts := make([]float64, 2*n)
	for j := 0; j < g.N; j++ {
		y := g.cellY(j)
		for i := 0; i < g.N; i++ {
			k := j*g.N + i
			pts[2*k] = g.cellX(i)
			pts[2*k+1] = y
		}
	}
	out, err := logp(pts)
	if err != nil {
		return nil, fmt.Errorf("report: evaluating log-density on grid: %w", err)
	}
	if len(out) != n {
		return nil, fmt.Errorf("report: log-density returned %d values for %d grid points", len(out), n)
	}
	return out, nil
}

// GridIntegral returns Σ exp(logp)·(cell area) over the cell centres of g: the
// midpoint-rule estimate of the probability mass inside the grid (≈1 for a
// normalised density whose mass lies inside the grid). logp is called once
// with all N*N cell centres as rows of an (N*N)×2 row-major slice, ordered
// row by row (point j*N+i has x index i and y index j).
//
// -Inf log-densities count as zero density. NaN or +Inf values make the
// integral meaningless and are reported as an error.
func GridIntegral(g Grid, logp func(pts []float64) ([]float64, error)) (float64, error) {
	vals, err := evalGrid(g, logp)
	if err != nil {
		return 0, err
	}
	bad := 0
	var sum, comp float64 // Kahan summation
	for _, v := range vals {
		if math.IsNaN(v) || math.IsInf(v, 1) {
			bad++
			continue
		}
		y := math.Exp(v) - comp
		t := sum + y
		comp = (t - sum) - y
		sum = t
	}
	if bad > 0 {
		return 0, fmt.Errorf("report: log-density is NaN or +Inf at %d of %d grid points", bad, len(vals))
	}
	area := (g.XMax - g.XMin) / float64(g.N) * (g.YMax - g.YMin) / float64(g.N)
	return sum * area, nil
}

// densityImage renders the densities z (z[j*N+i], column i, row j) as an
// image with square blocks of pixels per cell, so that cells stay crisp when
// the image is scaled; NaN cells are grey.
func densityImage(g Grid, z []float64, peak float64) image.Image {
	scale := max(1, (640+g.N-1)/g.N)
	img := image.NewNRGBA(image.Rect(0, 0, g.N*scale, g.N*scale))
	grey := color.NRGBA{R: 160, G: 160, B: 160, A: 255}
	for j := 0; j < g.N; j++ {
		for i := 0; i < g.N; i++ {
			c := grey
			if v := z[j*g.N+i]; !math.IsNaN(v) {
				c = viridis(v/peak, 1).(color.NRGBA)
			}
			// Image rows run top to bottom, grid rows bottom to top.
			y0 := (g.N - 1 - j) * scale
			for y := y0; y < y0+scale; y++ {
				for x := i * scale; x < (i+1)*scale; x++ {
					img.SetNRGBA(x, y, c)
				}
			}
		}
	}
	return img
}

// Density2D writes a heat map of the density exp(logp(x, y)) on the grid g,
// with a viridis palette (dark purple = 0, yellow = peak density) and a
// colour bar, optionally with points (e.g. model samples) overlaid as small
// red dots; points may be nil. logp is called once with all grid points (see
// GridIntegral for the layout) and returns log-densities; -Inf is zero
// density. The heat map's data area has the aspect ratio of the grid. Use
// GridIntegral for the probability mass shown (e.g. to put it in the title).
//
// Cells where logp is NaN or +Inf are drawn grey and counted in a second
// title line; it is an error if no cell has a usable value. Non-finite points and points outside the grid are
// skipped.
func Density2D(path, title string, g Grid, logp func(pts []float64) ([]float64, error), points [][2]float64) error {
	return Density2DOverlay(path, title, g, logp, points, nil)
}

// Density2DOverlay is Density2D with two optional point sets: samples (e.g.
// drawn from the model) as small red dots and data (e.g. training data) as
// small white dots, with a legend naming them when both are given. Either
// may be nil.
func Density2DOverlay(path, title string, g Grid, logp func(pts []float64) ([]float64, error), samples, data [][2]float64) error {
	vals, err := evalGrid(g, logp)
	if err != nil {
		return err
	}
	z := make([]float64, len(vals))
	bad := 0
	peak := 0.0
	for k, v := range vals {
		if math.IsNaN(v) || math.IsInf(v, 1) {
			z[k] = math.NaN()
			bad++
			continue
		}
		z[k] = math.Exp(v)
		if z[k] > peak && !math.IsInf(z[k], 1) {
			peak = z[k]
		}
	}
	if bad == len(vals) {
		return fmt.Errorf("report: Density2D: log-density is NaN or +Inf at all %d grid points", bad)
	}
	for k, v := range z {
		if math.IsInf(v, 1) { // exp overflow: clamp to the colour range
			z[k] = peak
		}
	}
	if peak <= 0 || !finite(peak) {
		peak = 1 // all zero density: keep a valid colour range
	}
	if bad > 0 {
		if title != "" {
			title += "\n"
		}
		title += fmt.Sprintf("(log-density NaN or +Inf in %d of %d cells, drawn grey)", bad, len(vals))
	}
	p := newPlot(title, "x1", "x2")
	p.X.Padding, p.Y.Padding = 0, 0
	p.Add(plotter.NewImage(densityImage(g, z, peak), g.XMin, g.YMin, g.XMax, g.YMax))

	var (
		entries []legendEntry
		sets    []plotter.XYs
	)
	overlay := func(pts [][2]float64, name string, c color.Color) error {
		xys, _ := finitePoints(pts)
		in := xys[:0]
		for _, xy := range xys {
			if xy.X >= g.XMin && xy.X <= g.XMax && xy.Y >= g.YMin && xy.Y <= g.YMax {
				in = append(in, xy)
			}
		}
		if len(in) == 0 {
			return nil
		}
		sc, err := plotter.NewScatter(in)
		if err != nil {
			return fmt.Errorf("report: Density2D: %w", err)
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: c, Radius: 0.75 * markerRadius(len(in)), Shape: draw.CircleGlyph{}}
		p.Add(sc)
		entries = append(entries, legendEntry{name: name, thumbs: []plot.Thumbnailer{sc}})
		sets = append(sets, in)
		return nil
	}
	if err := overlay(data, "data", color.NRGBA{R: 255, G: 255, B: 255, A: 200}); err != nil {
		return err
	}
	if err := overlay(samples, "samples", color.NRGBA{R: 240, G: 60, B: 40, A: 210}); err != nil {
		return err
	}
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = g.XMin, g.XMax, g.YMin, g.YMax

	// Colour bar in a narrow plot to the right of the heat map.
	cb := plot.New()
	cb.HideX()
	cb.X.Padding, cb.Y.Padding = 0, 0
	cb.Y.Label.Text = "density"
	cb.Y.Label.TextStyle.Font = font.From(sans, labelSize)
	cb.Y.Tick.Label.Font = font.From(sans, tickSize)
	cb.Add(&plotter.ColorBar{ColorMap: &viridisMap{min: 0, max: peak, alpha: 1}, Vertical: true, Colors: 256})

	const (
		mainW = 13 * vg.Centimeter  // width of the heat-map plot
		cbW   = 2.6 * vg.Centimeter // width of the colour-bar plot
		cbIn  = 0.35 * vg.Centimeter
		h0    = 13 * vg.Centimeter
	)
	// Choose the height so that the data area has the aspect of the grid
	// (equal scales on both axes), within [1/2, 2].
	probe := p.DataCanvas(draw.Canvas{Rectangle: vg.Rectangle{Max: vg.Point{X: mainW, Y: h0}}})
	dw, dh := probe.Max.X-probe.Min.X, probe.Max.Y-probe.Min.Y
	aspect := math.Min(math.Max((g.YMax-g.YMin)/(g.XMax-g.XMin), 0.5), 2)
	w, h := mainW+cbW, h0-dh+dw*vg.Length(aspect)
	return render(path, w, h, func(dc draw.Canvas) error {
		main := dc
		main.Max.X -= cbW
		if len(entries) == 2 {
			p.Legend.TextStyle.Color = color.White
			placeLegend(p, main, entries, sets)
			p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = g.XMin, g.XMax, g.YMin, g.YMax
		}
		p.Draw(main)
		da := p.DataCanvas(main)
		side := dc
		side.Min.X = main.Max.X + cbIn
		side.Max.X -= vg.Points(4)
		side.Min.Y, side.Max.Y = da.Min.Y, da.Max.Y
		cb.Draw(side)
		return nil
	})
}

// markerRadius picks a marker size that keeps dense scatters readable.
func markerRadius(n int) vg.Length {
	switch {
	case n > 3000:
		return vg.Points(0.9)
	case n > 500:
		return vg.Points(1.3)
	case n > 100:
		return vg.Points(1.8)
	}
	return vg.Points(2.4)
}

// viridisStops is matplotlib's viridis colour map sampled at 0, 0.1, …, 1.
var viridisStops = [...]color.RGBA{
	{0x44, 0x01, 0x54, 0xff},
	{0x48, 0x25, 0x76, 0xff},
	{0x41, 0x44, 0x87, 0xff},
	{0x35, 0x60, 0x8d, 0xff},
	{0x2a, 0x78, 0x8e, 0xff},
	{0x21, 0x90, 0x8c, 0xff},
	{0x22, 0xa8, 0x84, 0xff},
	{0x43, 0xbf, 0x71, 0xff},
	{0x7a, 0xd1, 0x51, 0xff},
	{0xbb, 0xdf, 0x27, 0xff},
	{0xfd, 0xe7, 0x25, 0xff},
}

// viridis returns the viridis colour at t in [0,1] (linear interpolation
// between the stops), with opacity alpha.
func viridis(t, alpha float64) color.Color {
	if math.IsNaN(t) {
		t = 0
	}
	t = math.Min(math.Max(t, 0), 1)
	f := t * float64(len(viridisStops)-1)
	i := min(int(f), len(viridisStops)-2)
	u := f - float64(i)
	a, b := viridisStops[i], viridisStops[i+1]
	lerp := func(x, y uint8) uint8 { return uint8(math.Round(float64(x) + u*(float64(y)-float64(x)))) }
	return color.NRGBA{R: lerp(a.R, b.R), G: lerp(a.G, b.G), B: lerp(a.B, b.B), A: uint8(math.Round(255 * alpha))}
}

// viridisColors implements palette.Palette.
type viridisColors []color.Color

func (v viridisColors) Colors() []color.Color { return v }

// viridisMap implements palette.ColorMap with the viridis colours.
type viridisMap struct{ min, max, alpha float64 }

var _ palette.ColorMap = (*viridisMap)(nil)

func (m *viridisMap) At(v float64) (color.Color, error) {
	switch {
	case math.IsNaN(v):
		return nil, palette.ErrNaN
	case v < m.min:
		return nil, palette.ErrUnderflow
	case v > m.max:
		return nil, palette.ErrOverflow
	}
	t := 0.0
	if m.max > m.min {
		t = (v - m.min) / (m.max - m.min)
	}
	return viridis(t, m.alpha), nil
}
func (m *viridisMap) Max() float64       { return m.max }
func (m *viridisMap) SetMax(v float64)   { m.max = v }
func (m *viridisMap) Min() float64       { return m.min }
func (m *viridisMap) SetMin(v float64)   { m.min = v }
func (m *viridisMap) Alpha() float64     { return m.alpha }
func (m *viridisMap) SetAlpha(a float64) { m.alpha = a }
func (m *viridisMap) Palette(n int) palette.Palette {
	n = max(n, 2)
	cs := make(viridisColors, n)
	for i := range cs {
		cs[i] = viridis(float64(i)/float64(n-1), m.alpha)
	}
	return cs
}
