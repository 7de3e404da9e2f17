package data

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

func moments(t *Table) (mean, variance []float64) {
	mean = make([]float64, t.Cols)
	variance = make([]float64, t.Cols)
	for i := 0; i < t.Rows; i++ {
		for j, v := range t.Row(i) {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(t.Rows)
	}
	for i := 0; i < t.Rows; i++ {
		for j, v := range t.Row(i) {
			variance[j] += (v - mean[j]) * (v - mean[j])
		}
	}
	for j := range variance {
		variance[j] /= float64(t.Rows)
	}
	return mean, variance
}

func TestToyShapesDeterminismMoments(t *testing.T) {
	const n = 20000
	cases := []struct {
		name       string
		cols       int
		mean, vari []float64 // nil: unchecked
		tol        float64
		bound      float64 // all |x| below this
	}{
		{"moons", 2, []float64{0, 0.3}, nil, 0.05, 4},
		{"circles", 2, []float64{0, 0}, []float64{0.5 * (4.5 + 1.125), 0.5 * (4.5 + 1.125)}, 0.1, 5},
		{"8gaussians", 2, []float64{0, 0}, []float64{8.25 / (1.414 * 1.414), 8.25 / (1.414 * 1.414)}, 0.1, 6},
		{"checkerboard", 2, []float64{0, 0}, []float64{64.0 / 12, 64.0 / 12}, 0.1, 4.0001},
		{"2spirals", 2, []float64{0, 0}, nil, 0.1, 6},
		{"pinwheel", 2, []float64{0, 0}, nil, 0.1, 20},
		{"gaussian-3", 3, []float64{0, 0, 0}, []float64{1, 1, 1}, 0.05, 10},
		{"synthetic-5", 5, nil, nil, 0, 1e6},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := Toy(c.name, n, 42)
			if err != nil {
				t.Fatal(err)
			}
			if a.Rows != n || a.Cols != c.cols || len(a.Data) != n*c.cols || len(a.Columns) != c.cols || a.Source != "toy:"+c.name {
				t.Fatalf("shape %d×%d source %q", a.Rows, a.Cols, a.Source)
			}
			b, _ := Toy(c.name, n, 42)
			if !reflect.DeepEqual(a.Data, b.Data) {
				t.Fatal("same seed, different data")
			}
			d, _ := Toy(c.name, n, 43)
			if reflect.DeepEqual(a.Data, d.Data) {
				t.Fatal("different seed, same data")
			}
			if err := a.CheckFinite(); err != nil {
				t.Fatal(err)
			}
			for _, v := range a.Data {
				if math.Abs(v) > c.bound {
					t.Fatalf("value %v beyond %v", v, c.bound)
				}
			}
			m, v := moments(a)
			for j := range c.mean {
				if math.Abs(m[j]-c.mean[j]) > c.tol {
					t.Errorf("mean[%d] = %v, want %v", j, m[j], c.mean[j])
				}
			}
			for j := range c.vari {
				if math.Abs(v[j]-c.vari[j]) > c.tol*c.vari[j]+c.tol {
					t.Errorf("var[%d] = %v, want %v", j, v[j], c.vari[j])
				}
			}
		})
	}
}

func TestToyDetails(t *testing.T) {
	// checkerboard: occupied squares alternate.
	cb, _ := Toy("checkerboard", 5000, 1)
	for i := 0; i < cb.Rows; i++ {
		x := cb.Row(i)
		sx, sy := int(math.Floor(x[0]/2)), int(math.Floor(x[1]/2))
		if ((sx+sy)%2+2)%2 != 0 {
			t.Fatalf("point %v on an empty square", x)
		}
	}
	// gaussian-D correlations 0.5^|i-j|.
	g, _ := Toy("gaussian-3", 40000, 2)
	c02 := 0.0
	c01 := 0.0
	for i := 0; i < g.Rows; i++ {
		r := g.Row(i)
		c01 += r[0] * r[1]
		c02 += r[0] * r[2]
	}
	if c01 /= float64(g.Rows); math.Abs(c01-0.5) > 0.03 {
		t.Errorf("corr(0,1) = %v", c01)
	}
	if c02 /= float64(g.Rows); math.Abs(c02-0.25) > 0.03 {
		t.Errorf("corr(0,2) = %v", c02)
	}
	// Small n works for every generator.
	for _, name := range []string{"moons", "circles", "8gaussians", "checkerboard", "2spirals", "pinwheel", "gaussian-1", "synthetic-1"} {
		if tab, err := Toy(name, 1, 0); err != nil || tab.Rows != 1 {
			t.Errorf("%s n=1: %v", name, err)
		}
	}
}

func TestToyErrors(t *testing.T) {
	_, err := Toy("spiral", 10, 0)
	if err == nil || !strings.Contains(err.Error(), `unknown toy data set "spiral"`) || !strings.Contains(err.Error(), "moons, circles, 8gaussians") {
		t.Errorf("unknown: %v", err)
	}
	for _, name := range []string{"gaussian-0", "synthetic-x", "gaussian-", "synthetic-100000"} {
		if _, err := Toy(name, 10, 0); err == nil || !strings.Contains(err.Error(), "must be an integer in 1..") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Toy("moons", 0, 0); err == nil || !strings.Contains(err.Error(), "n >= 1") {
		t.Errorf("n=0: %v", err)
	}
	if name, ok := ParseToy("toy:moons"); !ok || name != "moons" {
		t.Errorf("ParseToy: %q %v", name, ok)
	}
	if _, ok := ParseToy("moons.csv"); ok {
		t.Error("ParseToy accepted a file name")
	}
	if got := ToyNames(); len(got) != 8 || got[6] != "gaussian-D" {
		t.Errorf("ToyNames %v", got)
	}
	if _, err := ToyLogDensity("moons", &Table{Cols: 2}); err == nil || !strings.Contains(err.Error(), "gaussian-D and synthetic-D only") {
		t.Errorf("ToyLogDensity moons: %v", err)
	}
	g, _ := Toy("gaussian-3", 2, 0)
	if _, err := ToyLogDensity("gaussian-4", g); err == nil || !strings.Contains(err.Error(), "has 3 columns but gaussian-4 has 4") {
		t.Errorf("ToyLogDensity dims: %v", err)
	}
}

// The exact densities integrate to 1 and agree with the samplers.
func TestToyLogDensity(t *testing.T) {
	for _, name := range []string{"gaussian-2", "synthetic-2"} {
		// 2-D grid integral over [-L, L]².
		const L, h = 14.0, 0.05
		var pts []float64
		for x := -L; x < L; x += h {
			for y := -L; y < L; y += h {
				pts = append(pts, x+h/2, y+h/2)
			}
		}
		grid := &Table{Columns: DefaultColumnNames(2), Rows: len(pts) / 2, Cols: 2, Data: pts, Source: "grid"}
		lp, err := ToyLogDensity(name, grid)
		if err != nil {
			t.Fatal(err)
		}
		sum := 0.0
		for _, v := range lp {
			sum += math.Exp(v) * h * h
		}
		if math.Abs(sum-1) > 2e-3 {
			t.Errorf("%s integrates to %v", name, sum)
		}
	}
	// synthetic-1: sample frequencies of intervals match the density.
	const n = 100000
	s, _ := Toy("synthetic-1", n, 7)
	edges := []float64{-3, -1, 0, 1, 2, 4}
	for k := 0; k+1 < len(edges); k++ {
		a, b := edges[k], edges[k+1]
		cnt := 0
		for _, v := range s.Data {
			if v >= a && v < b {
				cnt++
			}
		}
		const m = 2000
		pts := make([]float64, m)
		for i := range pts {
			pts[i] = a + (b-a)*(float64(i)+0.5)/m
		}
		lp, _ := ToyLogDensity("synthetic-1", &Table{Columns: []string{"c0"}, Rows: m, Cols: 1, Data: pts})
		mass := 0.0
		for _, v := range lp {
			mass += math.Exp(v) * (b - a) / m
		}
		if frac := float64(cnt) / n; math.Abs(frac-mass) > 0.006 {
			t.Errorf("[%v,%v): sample fraction %v, density mass %v", a, b, frac, mass)
		}
	}
	// gaussian-D: mean log density of samples ≈ -entropy.
	g, _ := Toy("gaussian-4", 50000, 3)
	lp, _ := ToyLogDensity("gaussian-4", g)
	mean := 0.0
	for _, v := range lp {
		mean += v / float64(len(lp))
	}
	// Entropy: D/2 log(2πe) + 1/2 log det Σ, det Σ = (1-ρ²)^(D-1).
	want := -(2*math.Log(2*math.Pi*math.E) + 0.5*3*math.Log(0.75))
	if math.Abs(mean-want) > 0.03 {
		t.Errorf("gaussian-4 mean log density %v, want %v", mean, want)
	}
}
