package data

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestDetectGrid(t *testing.T) {
	cases := []struct {
		name   string
		values []float64
		step   float64
		ok     bool
	}{
		{"integers", []float64{0, 3, 5, 5, -2}, 1, true},
		{"even integers are step 1", []float64{0, 2, 4, 8}, 1, true},
		{"minutes", []float64{0, 1.0 / 60, 23 + 59.0/60, 12.5, 7 + 13.0/60}, 1.0 / 60, true},
		{"quarters offset", []float64{0.25, 0.75, 1.25, 3.75}, 0.5, true},
		{"gcd of gaps", []float64{0, 0.4, 1.0}, 0.2, true},
		{"tenths", []float64{0.1, 0.3, 0.7, 2.2}, 0.1, true},
		{"constant", []float64{3, 3, 3}, 0, false},
		{"single", []float64{1.5}, 0, false},
		{"continuous", []float64{0.123456789, 1.987654321, 2.5555551, 0.31415926}, 0, false},
		{"nan", []float64{1, math.NaN()}, 0, false},
	}
	for _, c := range cases {
		step, ok := DetectGrid(c.values)
		if ok != c.ok || (ok && math.Abs(step-c.step) > 1e-12*c.step) {
			t.Errorf("%s: got %v, %v; want %v, %v", c.name, step, ok, c.step, c.ok)
		}
	}
	if step, _ := DetectGrid([]float64{0, 1.0 / 60, 0.5}); step != 1.0/60 {
		t.Errorf("1/60 not snapped: %v", step)
	}
	// Continuous random values are never a grid.
	r := rand.New(rand.NewPCG(1, 2))
	v := make([]float64, 1000)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	if _, ok := DetectGrid(v); ok {
		t.Error("gaussian values detected as a grid")
	}
}

func TestFitDequantizerModes(t *testing.T) {
	// Columns: integers; constant; 0.5-grid with many repeats; 0.001-grid,
	// all distinct; continuous.
	n := 100
	r := rand.New(rand.NewPCG(3, 4))
	d := make([]float64, 0, 5*n)
	for i := 0; i < n; i++ {
		d = append(d, float64(r.IntN(10)), 7, 0.5*float64(r.IntN(6)), 0.001*float64(i*i), r.NormFloat64())
	}
	tab, _ := NewTable("mix.csv", []string{"int", "const", "half", "milli", "cont"}, n, 5, d)

	auto, err := FitDequantizer(tab, "auto")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(auto.Columns, []int{0, 2}) || !reflect.DeepEqual(auto.Steps, []float64{1, 0.5}) || !reflect.DeepEqual(auto.Names, []string{"int", "half"}) {
		t.Errorf("auto: %+v", auto)
	}
	on, _ := FitDequantizer(tab, "on")
	if !reflect.DeepEqual(on.Columns, []int{0, 2, 3}) || math.Abs(on.Steps[2]-0.001) > 1e-15 || len(on.Warnings) != 0 {
		t.Errorf("on: %+v", on)
	}
	off, _ := FitDequantizer(tab, "off")
	if len(off.Columns) != 0 {
		t.Errorf("off: %+v", off)
	}
	cont := tab.Select([]int{4})
	on, _ = FitDequantizer(cont, "on")
	if len(on.Columns) != 0 || len(on.Warnings) != 1 || !strings.Contains(on.Warnings[0], "mix.csv: dequantization is on but no column lies on a grid") {
		t.Errorf("on, no grid: %+v", on)
	}
	if _, err := FitDequantizer(tab, "maybe"); err == nil || !strings.Contains(err.Error(), `"maybe"`) {
		t.Errorf("bad mode: %v", err)
	}

	// Apply: values stay in [x, x+step], other columns unchanged, and the
	// noise covers the cell.
	rng := rand.New(rand.NewPCG(5, 6))
	out := auto.Apply(tab, rng)
	maxFrac := 0.0
	for i := 0; i < n; i++ {
		x, y := tab.Row(i), out.Row(i)
		for j := range x {
			switch j {
			case 0, 2:
				step := auto.Steps[map[int]int{0: 0, 2: 1}[j]]
				if !(y[j] >= x[j] && y[j] <= x[j]+step) {
					t.Fatalf("row %d col %d: %v not in [%v, %v]", i, j, y[j], x[j], x[j]+step)
				}
				maxFrac = math.Max(maxFrac, (y[j]-x[j])/step)
			default:
				if y[j] != x[j] {
					t.Fatalf("column %d changed", j)
				}
			}
		}
	}
	if maxFrac < 0.9 {
		t.Errorf("noise does not fill the cell: max u = %v", maxFrac)
	}
	if tab.Data[0] != d[0] {
		t.Error("Apply modified its input")
	}
	// Same seed, same noise.
	a := auto.Apply(tab, rand.New(rand.NewPCG(9, 9)))
	b := auto.Apply(tab, rand.New(rand.NewPCG(9, 9)))
	if !reflect.DeepEqual(a.Data, b.Data) {
		t.Error("not reproducible")
	}
	if got, want := auto.LogVolume(), math.Log(0.5); math.Abs(got-want) > 1e-15 {
		t.Errorf("LogVolume %v want %v", got, want)
	}

	// JSON round trip.
	js, _ := json.Marshal(auto)
	var back Dequantizer
	if err := json.Unmarshal(js, &back); err != nil || !reflect.DeepEqual(back.Columns, auto.Columns) || !reflect.DeepEqual(back.Steps, auto.Steps) || back.NumCols != 5 {
		t.Errorf("json %s -> %+v %v", js, back, err)
	}
	if !strings.Contains(string(js), `"columns":[0,2]`) || strings.Contains(string(js), "Warnings") {
		t.Errorf("json %s", js)
	}
	// Shape check.
	if err := auto.Check(cont); !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), "has 1 columns but the dequantizer was fitted on 5") {
		t.Errorf("Check: %v", err)
	}
}

func TestStandardizer(t *testing.T) {
	// Columns: a ~ N(3, 2²), constant 5, b = 0.5·a + noise.
	n := 2000
	r := rand.New(rand.NewPCG(7, 8))
	d := make([]float64, 0, 3*n)
	for i := 0; i < n; i++ {
		a := 3 + 2*r.NormFloat64()
		d = append(d, a, 5, 0.5*a+0.1*r.NormFloat64())
	}
	tab, _ := NewTable("train.csv", []string{"a", "k", "b"}, n, 3, d)
	s, warn, err := FitStandardizer(tab, "drop")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Keep, []int{0, 2}) || !reflect.DeepEqual(s.Dropped, []string{"k"}) {
		t.Fatalf("keep %v dropped %v", s.Keep, s.Dropped)
	}
	if len(warn) != 1 || !strings.Contains(warn[0], `train.csv: column "k" (index 1) is constant (value 5): dropped`) {
		t.Fatalf("warnings %q", warn)
	}
	y, err := s.Apply(tab)
	if err != nil {
		t.Fatal(err)
	}
	if y.Cols != 2 || !reflect.DeepEqual(y.Columns, []string{"a", "b"}) {
		t.Fatalf("apply: %v", y.Columns)
	}
	for k := 0; k < 2; k++ {
		m, v := 0.0, 0.0
		for i := 0; i < n; i++ {
			m += y.Data[i*2+k]
		}
		m /= float64(n)
		for i := 0; i < n; i++ {
			v += (y.Data[i*2+k] - m) * (y.Data[i*2+k] - m)
		}
		v /= float64(n)
		if math.Abs(m) > 1e-12 || math.Abs(v-1) > 1e-12 {
			t.Errorf("column %d: mean %v var %v", k, m, v)
		}
	}
	// Invert is the inverse on kept columns.
	x := s.Invert(y.Rows, y.Cols, y.Data)
	for i := 0; i < n; i++ {
		if math.Abs(x[2*i]-tab.Data[3*i]) > 1e-12 || math.Abs(x[2*i+1]-tab.Data[3*i+2]) > 1e-12 {
			t.Fatal("Invert(Apply(x)) != x")
		}
	}

	// LogDet: analytic reference. If x ~ N(mean, diag(std²)) then
	// y = (x-mean)/std ~ N(0, I), and log p_x(x) = log p_y(y) + LogDet().
	logN := func(z, mu, sd float64) float64 {
		return -0.5*math.Log(2*math.Pi) - math.Log(sd) - 0.5*(z-mu)*(z-mu)/(sd*sd)
	}
	for i := 0; i < 5; i++ {
		xr, yr := tab.Row(i), y.Row(i)
		px := logN(xr[0], s.Mean[0], s.Std[0]) + logN(xr[2], s.Mean[1], s.Std[1])
		py := logN(yr[0], 0, 1) + logN(yr[1], 0, 1)
		if math.Abs(px-(py+s.LogDet())) > 1e-10 {
			t.Errorf("row %d: log p_x %v vs log p_y + LogDet %v", i, px, py+s.LogDet())
		}
	}
	// LogDet: finite-difference Jacobian of Apply.
	one := tab.Subset([]int{0})
	base, _ := s.Apply(one)
	h := 1e-6
	logdet := 0.0
	for k, j := range s.Keep {
		p := one.Clone()
		p.Data[j] += h
		yp, _ := s.Apply(p)
		for kk := 0; kk < 2; kk++ {
			dv := (yp.Data[kk] - base.Data[kk]) / h
			if kk != k && math.Abs(dv) > 1e-6 {
				t.Errorf("off-diagonal Jacobian entry %v", dv)
			}
			if kk == k {
				logdet += math.Log(math.Abs(dv))
			}
		}
	}
	if math.Abs(logdet-s.LogDet()) > 1e-6 {
		t.Errorf("finite-difference log det %v, LogDet %v", logdet, s.LogDet())
	}

	// refuse, shape mismatch, all constant, JSON.
	_, _, err = FitStandardizer(tab, "refuse")
	if !errors.Is(err, ErrConstantColumn) || !strings.Contains(err.Error(), `train.csv column "k" (index 1): column is constant (value 5`) {
		t.Errorf("refuse: %v", err)
	}
	if _, err := s.Apply(y); !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), "has 2 columns but the standardizer was fitted on 3") {
		t.Errorf("shape: %v", err)
	}
	if _, _, err := FitStandardizer(tab.Select([]int{1}), "drop"); !errors.Is(err, ErrConstantColumn) || !strings.Contains(err.Error(), "all 1 columns are constant") {
		t.Errorf("all constant: %v", err)
	}
	if _, _, err := FitStandardizer(tab, "keep"); err == nil || !strings.Contains(err.Error(), "drop or refuse") {
		t.Errorf("bad mode: %v", err)
	}
	js, _ := json.Marshal(s)
	var back Standardizer
	if err := json.Unmarshal(js, &back); err != nil || !reflect.DeepEqual(&back, s) {
		t.Errorf("json round trip: %s", js)
	}
}

func TestDequantizeThenStandardizeKeepsConstantsConstant(t *testing.T) {
	// A constant integer column is not dequantized, so the standardizer can
	// still drop it after dequantization.
	tab, _ := NewTable("d.csv", []string{"z", "v"}, 4, 2, []float64{0, 1, 0, 2, 0, 3, 0, 1})
	dq, _ := FitDequantizer(tab, "auto")
	if !reflect.DeepEqual(dq.Columns, []int{1}) {
		t.Fatalf("dequantized %v", dq.Columns)
	}
	s, warn, err := FitStandardizer(dq.Apply(tab, rand.New(rand.NewPCG(1, 1))), "drop")
	if err != nil || !reflect.DeepEqual(s.Dropped, []string{"z"}) || len(warn) != 1 {
		t.Fatalf("%+v %q %v", s, warn, err)
	}
}

// radixSorter.sort agrees with slices.Sort (up to the order of -0 and +0, which
// compare equal) on long inputs of every kind; uniqueSorted agrees exactly
// in length and value.
func TestSortFloatsMatchesSlicesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	gens := map[string]func() float64{
		"normal":    func() float64 { return rng.NormFloat64() },
		"wide":      func() float64 { return rng.NormFloat64() * math.Pow(10, float64(rng.IntN(600)-300)) },
		"grid":      func() float64 { return float64(rng.IntN(50)-25) * 0.25 },
		"zeros":     func() float64 { return []float64{0, math.Copysign(0, -1), 1, -1}[rng.IntN(4)] },
		"subnormal": func() float64 { return float64(rng.IntN(100)-50) * 5e-324 },
		"inf":       func() float64 { return []float64{math.Inf(1), math.Inf(-1), rng.Float64()}[rng.IntN(3)] },
		"nan":       func() float64 { return []float64{math.NaN(), rng.Float64(), -rng.Float64()}[rng.IntN(3)] },
		"7 digits": func() float64 {
			v, _ := strconv.ParseFloat(strconv.FormatFloat(rng.NormFloat64(), 'g', 7, 64), 64)
			return v
		},
		"one value":  func() float64 { return 3.5 },
		"huge range": func() float64 { return math.Float64frombits(rng.Uint64()) },
	}
	for name, gen := range gens {
		for _, n := range []int{1 << 12, 5000, 100000} {
			v := make([]float64, n)
			for i := range v {
				v[i] = gen()
			}
			got, want := slices.Clone(v), slices.Clone(v)
			var rs radixSorter
			rs.sort(got)
			slices.Sort(want)
			for i := range got {
				if !(got[i] == want[i] || (got[i] != got[i] && want[i] != want[i])) {
					t.Fatalf("%s n=%d: element %d is %v, want %v", name, n, i, got[i], want[i])
				}
			}
			gu, wu := slices.Compact(got), slices.Compact(want)
			if len(gu) != len(wu) {
				t.Fatalf("%s n=%d: %d distinct values, want %d", name, n, len(gu), len(wu))
			}
			gs, gok := DetectGrid(v)
			ws, wok, _ := detectGridSorted(wu)
			if gs != ws || gok != wok {
				t.Fatalf("%s n=%d: DetectGrid %v %v, want %v %v", name, n, gs, gok, ws, wok)
			}
		}
	}
}

// TestStandardizerApplyFloat32: the direct float32 path gives exactly the
// values of Apply followed by Float32, and the same shape errors.
func TestStandardizerApplyFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	tab := &Table{Columns: []string{"a", "b", "c", "k"}, Rows: 50, Cols: 4, Source: "t.csv"}
	for i := 0; i < tab.Rows; i++ {
		tab.Data = append(tab.Data, rng.NormFloat64()*3+1, rng.Float64()*1e4, -rng.ExpFloat64(), 7)
	}
	s, _, err := FitStandardizer(tab, "drop")
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.Apply(tab)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.ApplyFloat32(tab)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want.Float32()) {
		t.Error("ApplyFloat32 differs from Apply(...).Float32()")
	}
	bad := &Table{Columns: []string{"a"}, Rows: 1, Cols: 1, Data: []float64{1}, Source: "bad.csv"}
	_, e1 := s.Apply(bad)
	_, e2 := s.ApplyFloat32(bad)
	if e1 == nil || e2 == nil || e1.Error() != e2.Error() {
		t.Errorf("shape errors differ: %v / %v", e1, e2)
	}
}
