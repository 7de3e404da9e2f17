package report

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"

	"github.com/autonf/autonf/internal/fsio"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// dpi is the resolution of every PNG written by this package.
const dpi = 144

// sans is the typeface used for all text (bundled with gonum/plot).
var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// Font sizes.
const (
	titleSize  = vg.Length(13)
	labelSize  = vg.Length(11)
	tickSize   = vg.Length(9)
	legendFont = vg.Length(10)
)

// qualitative is the "tab10" qualitative palette (matplotlib / d3 category10),
// used for series, panels and candidates.
var qualitative = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, // blue
	{0xff, 0x7f, 0x0e, 0xff}, // orange
	{0x2c, 0xa0, 0x2c, 0xff}, // green
	{0xd6, 0x27, 0x28, 0xff}, // red
	{0x94, 0x67, 0xbd, 0xff}, // purple
	{0x8c, 0x56, 0x4b, 0xff}, // brown
	{0xe3, 0x77, 0xc2, 0xff}, // pink
	{0x7f, 0x7f, 0x7f, 0xff}, // grey
	{0xbc, 0xbd, 0x22, 0xff}, // olive
	{0x17, 0xbe, 0xcf, 0xff}, // cyan
}

// seriesColor returns the i-th qualitative colour (cycling).
func seriesColor(i int) color.RGBA {
	return qualitative[((i%len(qualitative))+len(qualitative))%len(qualitative)]
}

// withAlpha returns c with opacity a in [0,1] (as a premultiplied colour).
func withAlpha(c color.RGBA, a float64) color.Color {
	return color.NRGBA{R: c.R, G: c.G, B: c.B, A: uint8(math.Round(255 * a))}
}

// seriesDashes returns a dash pattern that distinguishes the i-th series once
// the colours start repeating (solid for the first cycle).
func seriesDashes(i int) []vg.Length {
	switch (i / len(qualitative)) % 3 {
	case 1:
		return []vg.Length{vg.Points(6), vg.Points(3)}
	case 2:
		return []vg.Length{vg.Points(2), vg.Points(2)}
	}
	return nil
}

// newPlot returns a plot with sans-serif text, the given labels and light
// grid lines.
func newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(sans, titleSize)
	p.Title.Padding = vg.Points(6)
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font = font.From(sans, labelSize)
		ax.Tick.Label.Font = font.From(sans, tickSize)
	}
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.Legend.TextStyle.Font = font.From(sans, legendFont)
	p.Legend.ThumbnailWidth = vg.Points(18)
	p.Legend.Padding = vg.Points(2)
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{Y: 225}
	grid.Horizontal.Color = color.Gray{Y: 225}
	p.Add(grid)
	return p
}

// render draws onto a w×h canvas with fn and writes the result as a PNG
// file at path. Panics inside gonum/plot are turned into errors.
func render(path string, w, h vg.Length, fn func(dc draw.Canvas) error) (err error) {
	if path == "" {
		return errors.New("report: empty output path")
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("report: drawing %s: %v", path, r)
		}
	}()
	c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(dpi))
	if err := fn(draw.New(c)); err != nil {
		return err
	}
	// Through a temporary file and a rename: a failure leaves no partial
	// picture and never writes through a symlink.
	err = fsio.Write(path, func(w io.Writer) error {
		_, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(w)
		return err
	})
	if err != nil {
		return fmt.Errorf("report: writing %s: %w", path, err)
	}
	return nil
}

// savePlot renders a single plot as a w×h PNG.
func savePlot(path string, p *plot.Plot, w, h vg.Length) error {
	return render(path, w, h, func(dc draw.Canvas) error {
		p.Draw(dc)
		return nil
	})
}

// finite reports whether v is neither NaN nor ±Inf.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// finiteXYs returns the points (x[i], y[i]) with both coordinates finite and
// the number of points skipped. x and y must have equal lengths.
func finiteXYs(x, y []float64) (plotter.XYs, int) {
	xys := make(plotter.XYs, 0, len(x))
	for i := range x {
		if finite(x[i]) && finite(y[i]) {
			xys = append(xys, plotter.XY{X: x[i], Y: y[i]})
		}
	}
	return xys, len(x) - len(xys)
}

// finitePoints returns the finite points of pts and the number skipped.
func finitePoints(pts [][2]float64) (plotter.XYs, int) {
	xys := make(plotter.XYs, 0, len(pts))
	for _, p := range pts {
		if finite(p[0]) && finite(p[1]) {
			xys = append(xys, plotter.XY{X: p[0], Y: p[1]})
		}
	}
	return xys, len(pts) - len(xys)
}

// drawTitle writes a figure title centred at the top of dc and returns the
// canvas below it.
func drawTitle(dc draw.Canvas, title string) draw.Canvas {
	if title == "" {
		return dc
	}
	sty := plot.New().Title.TextStyle
	sty.Font = font.From(sans, titleSize+1)
	rect := sty.Rectangle(title)
	top := dc.Max.Y - vg.Points(4)
	dc.FillText(sty, vg.Point{X: dc.Center().X, Y: top + sty.FontExtents().Descent}, title)
	dc.Max.Y = top - rect.Size().Y - vg.Points(4)
	return dc
}

// legendEntry is one entry of a legend: its text and thumbnail(s).
type legendEntry struct {
	name   string
	thumbs []plot.Thumbnailer
}

// legendSize returns the size of a legend with the given entries.
func legendSize(l *plot.Legend, entries []legendEntry) (w, h vg.Length) {
	var eh vg.Length
	for _, e := range entries {
		r := l.TextStyle.Rectangle(" " + e.name)
		w = max(w, l.ThumbnailWidth+r.Max.X)
		eh = max(eh, l.TextStyle.Rectangle(e.name).Max.Y)
	}
	n := vg.Length(len(entries))
	h = n*eh + max(n-1, 0)*l.Padding
	return w, h
}

// placeLegend adds entries to p's legend and puts the legend into the corner
// of the data area that hides the fewest of the given data samples
// (polylines in data coordinates; single points are polylines of length 1).
// If every corner would hide data, the y range is extended upwards so that
// the legend sits in empty space above the data. dc is the canvas p will be
// drawn on; p's axis ranges must be final apart from this adjustment.
func placeLegend(p *plot.Plot, dc draw.Canvas, entries []legendEntry, lines []plotter.XYs) {
	if len(entries) == 0 {
		return
	}
	for _, e := range entries {
		p.Legend.Add(e.name, e.thumbs...)
	}
	inset := vg.Points(6)
	lw, lh := legendSize(&p.Legend, entries)
	da := p.DataCanvas(dc)
	dw, dh := da.Max.X-da.Min.X, da.Max.Y-da.Min.Y
	if dw <= 0 || dh <= 0 {
		return
	}
	fw := float64((lw + 2*inset) / dw)
	fh := float64((lh + 2*inset) / dh)

	// Sample the data in normalised coordinates, densifying segments so
	// that lines crossing a corner are counted.
	var samples [][2]float64
	norm := func(xy plotter.XY) [2]float64 { return [2]float64{p.X.Norm(xy.X), p.Y.Norm(xy.Y)} }
	for _, l := range lines {
		for i, xy := range l {
			a := norm(xy)
			samples = append(samples, a)
			if i == 0 {
				continue
			}
			b := norm(l[i-1])
			d := math.Hypot(a[0]-b[0], a[1]-b[1])
			if !finite(d) {
				continue
			}
			k := min(int(d/0.005), 400)
			for j := 1; j < k; j++ {
				t := float64(j) / float64(k)
				samples = append(samples, [2]float64{b[0] + t*(a[0]-b[0]), b[1] + t*(a[1]-b[1])})
			}
		}
	}
	type corner struct{ top, left bool }
	corners := []corner{{true, false}, {true, true}, {false, false}, {false, true}}
	best, bestCount := corners[0], math.MaxInt
	for _, c := range corners {
		x0, x1 := 1-fw, 1.0
		if c.left {
			x0, x1 = 0, fw
		}
		y0, y1 := 1-fh, 1.0
		if !c.top {
			y0, y1 = 0, fh
		}
		n := 0
		for _, s := range samples {
			if s[0] >= x0 && s[0] <= x1 && s[1] >= y0 && s[1] <= y1 {
				n++
			}
		}
		if n < bestCount {
			best, bestCount = c, n
		}
	}
	if bestCount > 0 && fh < 0.5 {
		// Every corner hides something: make head room above the data.
		if _, isLinear := p.Y.Scale.(plot.LinearScale); isLinear {
			span := p.Y.Max - p.Y.Min
			p.Y.Max = p.Y.Min + span/(1-fh-0.02)
			best = corner{top: true, left: false}
		}
	}
	p.Legend.Top, p.Legend.Left = best.top, best.left
	p.Legend.XOffs, p.Legend.YOffs = -inset, -inset
	if best.left {
		p.Legend.XOffs = inset
	}
	if !best.top {
		p.Legend.YOffs = inset
	}
}
