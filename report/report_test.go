package report

import (
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// stdNormal2D is the log-density of a standard 2-D normal, in the layout
// that Density2D and GridIntegral use.
func stdNormal2D(pts []float64) ([]float64, error) {
	out := make([]float64, len(pts)/2)
	for i := range out {
		x, y := pts[2*i], pts[2*i+1]
		out[i] = -0.5*(x*x+y*y) - math.Log(2*math.Pi)
	}
	return out, nil
}

// bimodal is an asymmetric mixture (a big mode at (-1.5,-1) and a small one
// at (2, 1.5)), useful to check the heat-map orientation.
func bimodal(pts []float64) ([]float64, error) {
	out := make([]float64, len(pts)/2)
	for i := range out {
		x, y := pts[2*i], pts[2*i+1]
		a := 0.7 * math.Exp(-0.5*((x+1.5)*(x+1.5)+(y+1)*(y+1))/0.5) / (2 * math.Pi * 0.5)
		b := 0.3 * math.Exp(-0.5*((x-2)*(x-2)+(y-1.5)*(y-1.5))/0.2) / (2 * math.Pi * 0.2)
		out[i] = math.Log(a + b)
	}
	return out, nil
}

// checkPNG decodes the PNG at path and checks that it is reasonably large
// and not a single colour.
func checkPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	b := img.Bounds()
	if b.Dx() < 300 || b.Dy() < 200 {
		t.Errorf("%s: image is only %dx%d", path, b.Dx(), b.Dy())
	}
	colours := map[[4]uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y && len(colours) < 3; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, a := img.At(x, y).RGBA()
			colours[[4]uint32{r, g, bl, a}] = true
		}
	}
	if len(colours) < 3 {
		t.Errorf("%s: image has only %d colours", path, len(colours))
	}
	return img
}

// outDir returns the directory for test pictures: $REPORT_TEST_OUT if set
// (to look at them), else a temporary directory.
func outDir(t *testing.T) string {
	if d := os.Getenv("REPORT_TEST_OUT"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// gaussCloud returns n points of an isotropic normal around (cx, cy).
func gaussCloud(r *rand.Rand, n int, cx, cy, s float64) [][2]float64 {
	pts := make([][2]float64, n)
	for i := range pts {
		pts[i] = [2]float64{cx + s*r.NormFloat64(), cy + s*r.NormFloat64()}
	}
	return pts
}

// moons returns n points of the two-moons data set.
func moons(r *rand.Rand, n int) [][2]float64 {
	pts := make([][2]float64, n)
	for i := range pts {
		a := math.Pi * r.Float64()
		if i%2 == 0 {
			pts[i] = [2]float64{math.Cos(a), math.Sin(a)}
		} else {
			pts[i] = [2]float64{1 - math.Cos(a), 0.5 - math.Sin(a)}
		}
		pts[i][0] += 0.08 * r.NormFloat64()
		pts[i][1] += 0.08 * r.NormFloat64()
	}
	return pts
}

func TestPicturesAreValidPNGs(t *testing.T) {
	dir := outDir(t)
	r := rand.New(rand.NewPCG(1, 2))

	epochs := make([]float64, 40)
	train := make([]float64, 40)
	val := make([]float64, 40)
	for i := range epochs {
		epochs[i] = float64(i + 1)
		train[i] = 1.2 + 2.5*math.Exp(-float64(i)/6) + 0.02*r.NormFloat64()
		val[i] = 1.35 + 2.4*math.Exp(-float64(i)/6) + 0.004*float64(i) + 0.03*r.NormFloat64()
	}
	val[7] = math.NaN() // skipped silently

	steps := make([]float64, 200)
	cands := []string{"affine coupling", "spline coupling", "MAF", "planar", "identity"}
	weights := make([][][]float64, 6)
	for s := range weights {
		weights[s] = make([][]float64, len(cands))
		for c := range cands {
			weights[s][c] = make([]float64, len(steps))
		}
		win := s % len(cands)
		for k := range steps {
			steps[k] = float64(k)
			z := make([]float64, len(cands))
			total := 0.0
			for c := range cands {
				logit := 0.0
				if c == win {
					logit = float64(k) / 40
				} else {
					logit = -float64(c) * float64(k) / 400
				}
				z[c] = math.Exp(logit)
				total += z[c]
			}
			for c := range cands {
				weights[s][c][k] = z[c] / total
			}
		}
	}

	var found []Point
	for i := range 80 {
		cost := math.Exp(math.Log(2e3) + r.Float64()*math.Log(500))
		nll := 1.1 + 3/math.Log10(cost) + 0.25*r.Float64()
		found = append(found, Point{Label: fmt.Sprint(i), Cost: cost, NLL: nll})
	}
	refs := []Point{
		{Label: "RealNVP-4", Cost: 2e4, NLL: 1.95},
		{Label: "MAF-5", Cost: 1.2e5, NLL: 1.62},
		{Label: "NSF-8", Cost: 6e5, NLL: 1.45},
	}

	tests := []struct {
		name string
		draw func(path string) error
	}{
		{"line", func(p string) error {
			return LinePlot(p, "Learning-rate sweep", "step", "loss", []Series{
				{Name: "lr=1e-3", X: epochs, Y: train},
				{Name: "lr=3e-4", X: epochs, Y: val},
				{Name: "single", X: []float64{20}, Y: []float64{2}},
			})
		}},
		{"training_curve", func(p string) error { return TrainingCurve(p, epochs, train, val) }},
		{"training_curve_noval", func(p string) error { return TrainingCurve(p, epochs, train, nil) }},
		{"density", func(p string) error {
			g := Grid{XMin: -4, XMax: 4, YMin: -4, YMax: 4, N: 120}
			return Density2D(p, "Bimodal model density", g, bimodal, gaussCloud(r, 300, 2, 1.5, 0.45))
		}},
		{"density_overlay", func(p string) error {
			g := Grid{XMin: -4, XMax: 4, YMin: -4, YMax: 4, N: 100}
			return Density2DOverlay(p, "Standard normal", g, stdNormal2D, gaussCloud(r, 400, 0, 0, 1), gaussCloud(r, 400, 0.3, 0.3, 1))
		}},
		{"scatter", func(p string) error {
			return Scatter2D(p, "Two moons: data vs model", []Panel{
				{Title: "data", Points: moons(r, 2000)},
				{Title: "model samples", Points: moons(r, 2000)},
				{Title: "empty"},
			})
		}},
		{"weights", func(p string) error {
			return WeightTrajectories(p, "Architecture weights", steps, weights, cands)
		}},
		{"pareto", func(p string) error {
			return ParetoFront(p, "Cost vs NLL", "parameters", found, nil, refs)
		}},
		{"pareto_linear", func(p string) error {
			lin := []Point{{Cost: 1, NLL: 3}, {Cost: 2, NLL: 2.5}, {Cost: 3, NLL: 2.6}, {Cost: 4, NLL: 1.9}, {Cost: 5, NLL: 2.2}}
			front := []Point{lin[3], lin[0], lin[1]} // unsorted on purpose
			return ParetoFront(p, "", "layers", lin, front, []Point{{Label: "preset", Cost: 2.5, NLL: 2.8}})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".png")
			if err := tc.draw(path); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			checkPNG(t, path)
		})
	}
}

// TestDensityOrientation checks that the heat map is neither flipped nor
// transposed: a bump in the upper-left quadrant is drawn upper left.
func TestDensityOrientation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.png")
	g := Grid{XMin: -4, XMax: 4, YMin: -4, YMax: 4, N: 60}
	bump := func(pts []float64) ([]float64, error) {
		out := make([]float64, len(pts)/2)
		for i := range out {
			x, y := pts[2*i]+2, pts[2*i+1]-2
			out[i] = -2 * (x*x + y*y)
		}
		return out, nil
	}
	if err := Density2D(path, "", g, bump, nil); err != nil {
		t.Fatal(err)
	}
	img := checkPNG(t, path)
	// Find the most yellow pixel (high R+G, low B), left of the colour bar.
	b := img.Bounds()
	bestX, bestY, best := 0, 0, -1.0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Min.X+b.Dx()*3/4; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if s := float64(r) + float64(g) - 2*float64(bl); s > best {
				best, bestX, bestY = s, x, y
			}
		}
	}
	if bestX > b.Dx()*9/20 || bestY > b.Dy()/2 {
		t.Errorf("peak drawn at (%d, %d) in a %dx%d image, want upper left", bestX, bestY, b.Dx(), b.Dy())
	}
}

func TestGridIntegral(t *testing.T) {
	got, err := GridIntegral(Grid{XMin: -6, XMax: 6, YMin: -6, YMax: 6, N: 200}, stdNormal2D)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-1) > 1e-3 {
		t.Errorf("integral of standard normal = %v, want 1 ± 1e-3", got)
	}
	// Half the mass is right of x = 0.
	half, err := GridIntegral(Grid{XMin: 0, XMax: 6, YMin: -6, YMax: 6, N: 200}, stdNormal2D)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(half-0.5) > 1e-3 {
		t.Errorf("half-plane integral = %v, want 0.5", half)
	}
	// -Inf is zero density.
	zero := func(pts []float64) ([]float64, error) {
		out := make([]float64, len(pts)/2)
		for i := range out {
			out[i] = math.Inf(-1)
		}
		return out, nil
	}
	if got, err := GridIntegral(Grid{XMin: 0, XMax: 1, YMin: 0, YMax: 1, N: 4}, zero); err != nil || got != 0 {
		t.Errorf("integral of zero density = %v, %v; want 0, nil", got, err)
	}
}

// TestGridLayout checks the documented point layout: point j*N+i is the
// centre of column i, row j.
func TestGridLayout(t *testing.T) {
	g := Grid{XMin: 0, XMax: 4, YMin: 10, YMax: 12, N: 4}
	var seen []float64
	_, err := GridIntegral(g, func(pts []float64) ([]float64, error) {
		seen = slices.Clone(pts)
		return make([]float64, len(pts)/2), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2*16 {
		t.Fatalf("got %d coordinates, want 32", len(seen))
	}
	for j := range 4 {
		for i := range 4 {
			k := j*4 + i
			wx, wy := 0.5+float64(i), 10.25+0.5*float64(j)
			if seen[2*k] != wx || seen[2*k+1] != wy {
				t.Errorf("point %d = (%v, %v), want (%v, %v)", k, seen[2*k], seen[2*k+1], wx, wy)
			}
		}
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.png")
	nan := math.NaN()
	allNaN := func(pts []float64) ([]float64, error) {
		out := make([]float64, len(pts)/2)
		for i := range out {
			out[i] = nan
		}
		return out, nil
	}
	short := func(pts []float64) ([]float64, error) { return []float64{0}, nil }
	failing := func(pts []float64) ([]float64, error) { return nil, errors.New("boom") }
	good := Grid{XMin: -1, XMax: 1, YMin: -1, YMax: 1, N: 10}

	tests := []struct {
		name string
		err  error
		want string // substring of the error message
	}{
		{"line no series", LinePlot(path, "", "", "", nil), "no series"},
		{"line empty series", LinePlot(path, "", "", "", []Series{{Name: "a"}}), "empty"},
		{"line length mismatch", LinePlot(path, "", "", "", []Series{{X: []float64{1, 2}, Y: []float64{1}}}), "2 x values"},
		{"line all NaN", LinePlot(path, "", "", "", []Series{{X: []float64{nan, 1}, Y: []float64{1, math.Inf(1)}}}), "NaN"},
		{"training no epochs", TrainingCurve(path, nil, nil, nil), "no epochs"},
		{"training mismatch", TrainingCurve(path, []float64{1, 2}, []float64{1, 2}, []float64{1}), "val"},
		{"density N<2", Density2D(path, "", Grid{XMin: 0, XMax: 1, YMin: 0, YMax: 1, N: 1}, stdNormal2D, nil), "N = 1"},
		{"density xmin>=xmax", Density2D(path, "", Grid{XMin: 1, XMax: 1, YMin: 0, YMax: 1, N: 10}, stdNormal2D, nil), "XMin"},
		{"density ymin>=ymax", Density2D(path, "", Grid{XMin: 0, XMax: 1, YMin: 2, YMax: 1, N: 10}, stdNormal2D, nil), "YMin"},
		{"density NaN bound", Density2D(path, "", Grid{XMin: nan, XMax: 1, YMin: 0, YMax: 1, N: 10}, stdNormal2D, nil), "finite"},
		{"density all NaN", Density2D(path, "", good, allNaN, nil), "NaN"},
		{"density nil logp", Density2D(path, "", good, nil, nil), "nil"},
		{"density short logp", Density2D(path, "", good, short, nil), "returned 1 values"},
		{"density failing logp", Density2D(path, "", good, failing, nil), "boom"},
		{"integral N<2", func() error { _, err := GridIntegral(Grid{XMax: 1, YMax: 1}, stdNormal2D); return err }(), "N = 0"},
		{"integral NaN", func() error { _, err := GridIntegral(good, allNaN); return err }(), "NaN"},
		{"scatter no panels", Scatter2D(path, "", nil), "no panels"},
		{"scatter empty panels", Scatter2D(path, "", []Panel{{Title: "a"}}), "empty"},
		{"scatter all NaN", Scatter2D(path, "", []Panel{{Points: [][2]float64{{nan, 0}}}}), "NaN"},
		{"weights no steps", WeightTrajectories(path, "", nil, [][][]float64{{{}}}, []string{"a"}), "no steps"},
		{"weights no slots", WeightTrajectories(path, "", []float64{0}, nil, []string{"a"}), "no slots"},
		{"weights no candidates", WeightTrajectories(path, "", []float64{0}, [][][]float64{{{0}}}, nil), "no candidates"},
		{"weights candidate mismatch", WeightTrajectories(path, "", []float64{0}, [][][]float64{{{1}, {0}}}, []string{"a"}), "2 candidates"},
		{"weights step mismatch", WeightTrajectories(path, "", []float64{0, 1}, [][][]float64{{{1}}}, []string{"a"}), "1 values for 2 steps"},
		{"weights all NaN", WeightTrajectories(path, "", []float64{0}, [][][]float64{{{nan}}}, []string{"a"}), "NaN"},
		{"pareto empty", ParetoFront(path, "", "", nil, nil, nil), "no points"},
		{"pareto all NaN", ParetoFront(path, "", "", []Point{{Cost: nan, NLL: 1}}, nil, []Point{{Cost: 1, NLL: math.Inf(1)}}), "NaN"},
		{"empty path", LinePlot("", "", "", "", []Series{{X: []float64{1}, Y: []float64{1}}}), "path"},
		{"missing dir", LinePlot(filepath.Join(dir, "no", "such", "x.png"), "", "", "", []Series{{X: []float64{1}, Y: []float64{1}}}), "no such"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil {
				t.Fatalf("no error, want one containing %q", tc.want)
			}
			if !strings.Contains(tc.err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", tc.err, tc.want)
			}
		})
	}
}

// TestDegenerateInputs checks inputs that are odd but drawable.
func TestDegenerateInputs(t *testing.T) {
	dir := outDir(t)
	zero := func(pts []float64) ([]float64, error) {
		out := make([]float64, len(pts)/2)
		for i := range out {
			out[i] = math.Inf(-1)
		}
		return out, nil
	}
	huge := func(pts []float64) ([]float64, error) {
		out := make([]float64, len(pts)/2)
		for i := range out {
			out[i] = 1000 * pts[2*i] // exp overflows on the right half
		}
		return out, nil
	}
	g := Grid{XMin: -1, XMax: 1, YMin: -1, YMax: 1, N: 8}
	tests := []struct {
		name string
		draw func(path string) error
	}{
		{"constant line", func(p string) error {
			return LinePlot(p, "flat", "x", "y", []Series{{Name: "c", X: []float64{1, 2, 3}, Y: []float64{5, 5, 5}}})
		}},
		{"partly NaN line", func(p string) error {
			return LinePlot(p, "", "", "", []Series{{X: []float64{1, 2, 3}, Y: []float64{math.NaN(), 1, 2}}, {Name: "all NaN", X: []float64{1}, Y: []float64{math.NaN()}}})
		}},
		{"zero density", func(p string) error { return Density2D(p, "zero", g, zero, [][2]float64{{5, 5}, {math.NaN(), 0}}) }},
		{"partly NaN density", func(p string) error {
			return Density2D(p, "holes", Grid{XMin: -3, XMax: 3, YMin: -2, YMax: 2, N: 30}, func(pts []float64) ([]float64, error) {
				out, _ := stdNormal2D(pts)
				for i := range out {
					if pts[2*i] > 1 && pts[2*i+1] > 0 {
						out[i] = math.NaN()
					}
				}
				return out, nil
			}, nil)
		}},
		{"overflowing density", func(p string) error { return Density2D(p, "huge", g, huge, nil) }},
		{"single scatter point", func(p string) error { return Scatter2D(p, "", []Panel{{Points: [][2]float64{{1, 1}}}}) }},
		{"single pareto point", func(p string) error { return ParetoFront(p, "", "cost", []Point{{Cost: 1, NLL: 1}}, nil, nil) }},
		{"only refs", func(p string) error {
			return ParetoFront(p, "", "cost", nil, nil, []Point{{Label: "a", Cost: 1, NLL: 1}})
		}},
		{"single step weights", func(p string) error {
			return WeightTrajectories(p, "", []float64{0}, [][][]float64{{{0.5}, {0.5}}}, []string{"a", "b"})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "degenerate_"+strings.ReplaceAll(tc.name, " ", "_")+".png")
			if err := tc.draw(path); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(path); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// bruteNonDominated is the O(n²) definition.
func bruteNonDominated(pts []Point) []int {
	var out []int
	for i, p := range pts {
		if !finite(p.Cost) || !finite(p.NLL) {
			continue
		}
		dominated := false
		for j, q := range pts {
			if j == i || !finite(q.Cost) || !finite(q.NLL) {
				continue
			}
			if q.Cost <= p.Cost && q.NLL <= p.NLL && (q.Cost < p.Cost || q.NLL < p.NLL) {
				dominated = true
				break
			}
		}
		if !dominated {
			out = append(out, i)
		}
	}
	return out
}

func TestNonDominated(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 500 {
		n := r.IntN(40)
		pts := make([]Point, n)
		for i := range pts {
			// Small integer grid so that ties and duplicates are common.
			pts[i] = Point{Cost: float64(r.IntN(8)), NLL: float64(r.IntN(8))}
			if r.IntN(20) == 0 {
				pts[i].NLL = math.NaN()
			}
		}
		got := NonDominated(pts)
		want := bruteNonDominated(pts)
		gotSet := slices.Clone(got)
		slices.Sort(gotSet)
		if !slices.Equal(gotSet, want) {
			t.Fatalf("trial %d: NonDominated(%v) = %v, want (as a set) %v", trial, pts, got, want)
		}
		for k := 1; k < len(got); k++ {
			a, b := pts[got[k-1]], pts[got[k]]
			if a.Cost > b.Cost || (a.Cost == b.Cost && a.NLL > b.NLL) {
				t.Fatalf("trial %d: result %v not sorted by cost", trial, got)
			}
		}
	}
	if got := NonDominated(nil); got == nil || len(got) != 0 {
		t.Errorf("NonDominated(nil) = %#v, want empty non-nil", got)
	}
}

func ExampleNonDominated() {
	pts := []Point{
		{Label: "tiny", Cost: 1e3, NLL: 2.9},
		{Label: "small", Cost: 5e3, NLL: 2.1},
		{Label: "bloated", Cost: 9e3, NLL: 2.4}, // dominated by "small"
		{Label: "large", Cost: 2e4, NLL: 1.7},
	}
	for _, i := range NonDominated(pts) {
		fmt.Println(pts[i].Label)
	}
	// Output:
	// tiny
	// small
	// large
}
