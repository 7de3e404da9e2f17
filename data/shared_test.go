package data

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sharedData returns the real-data folder: $AUTONF_SHARED_DATA, else
// ../shared/data next to the module root. Tests skip when it is absent.
func sharedData(t *testing.T, file string) string {
	t.Helper()
	dir := os.Getenv("AUTONF_SHARED_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "data")
	}
	p := filepath.Join(dir, file)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("real data %s not available (set AUTONF_SHARED_DATA to the folder holding it): %v", file, err)
	}
	return p
}

func TestSharedMiniBooNE(t *testing.T) {
	p := sharedData(t, "miniboone/val.npy")
	tab, err := Load(p, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tab.Rows != 3284 || tab.Cols != 43 || tab.Columns[42] != "c42" {
		t.Fatalf("shape %d×%d", tab.Rows, tab.Cols)
	}
	m, v := moments(tab)
	for j := range m {
		if math.Abs(m[j]) > 0.2 || v[j] < 0.5 || v[j] > 1.5 {
			t.Errorf("column %d: mean %v var %v (file is pre-standardised)", j, m[j], v[j])
		}
	}
	dq, _ := FitDequantizer(tab, "auto")
	if len(dq.Columns) != 0 {
		t.Errorf("continuous MiniBooNE columns dequantized: %v", dq.Names)
	}
	// Round trip through SaveNPY is byte-identical in values.
	out := filepath.Join(t.TempDir(), "mb.npy")
	if err := SaveNPY(out, tab.Rows, tab.Cols, tab.Data); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(p)
	b, _ := os.ReadFile(out)
	if !reflect.DeepEqual(a[128:], b[128:]) {
		t.Error("SaveNPY payload differs from the original")
	}
}

func TestSharedDigits(t *testing.T) {
	p := sharedData(t, "digits.csv")
	tab, err := Load(p, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tab.Rows != 1797 || tab.Cols != 64 || tab.Columns[0] != "p0" || tab.Columns[63] != "p63" {
		t.Fatalf("shape %d×%d, columns %q..%q", tab.Rows, tab.Cols, tab.Columns[0], tab.Columns[63])
	}
	dq, _ := FitDequantizer(tab, "auto")
	if len(dq.Columns) != 61 {
		t.Errorf("dequantized %d columns, want 61 (all but the 3 constant ones)", len(dq.Columns))
	}
	for _, s := range dq.Steps {
		if s != 1 {
			t.Fatalf("step %v", s)
		}
	}
	x := dq.Apply(tab, rand.New(rand.NewPCG(1, 2)))
	s, warn, err := FitStandardizer(x, "drop")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Dropped, []string{"p0", "p32", "p39"}) || len(s.Keep) != 61 || len(warn) != 3 {
		t.Fatalf("dropped %v, warnings %q", s.Dropped, warn)
	}
	for i, c := range []string{`"p0" (index 0)`, `"p32" (index 32)`, `"p39" (index 39)`} {
		if !strings.Contains(warn[i], c) || !strings.Contains(warn[i], "constant") {
			t.Errorf("warning %q does not name %s", warn[i], c)
		}
	}
	if _, err := s.Apply(x); err != nil {
		t.Fatal(err)
	}
	// Selection by name and index.
	sel, err := Load(p, LoadOptions{Columns: []string{"p5", "63"}})
	if err != nil || !reflect.DeepEqual(sel.Columns, []string{"p5", "p63"}) || sel.Data[0] != tab.Data[5] || sel.Data[1] != tab.Data[63] {
		t.Fatalf("select: %v %v", sel.Columns, err)
	}
}

func TestSharedFlights(t *testing.T) {
	if testing.Short() {
		t.Skip("flights.csv (200k rows) skipped in -short mode")
	}
	p := sharedData(t, "flights.csv")
	tab, err := Load(p, LoadOptions{Columns: []string{"time", "delay"}})
	if err != nil {
		t.Fatal(err)
	}
	if tab.Rows != 200000 || tab.Cols != 2 {
		t.Fatalf("shape %d×%d", tab.Rows, tab.Cols)
	}
	dq, err := FitDequantizer(tab, "auto")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(dq.Names, []string{"time", "delay"}) || dq.Steps[0] != 1.0/60 || dq.Steps[1] != 1 {
		t.Fatalf("dequantizer %+v", dq)
	}
	col := make([]float64, tab.Rows)
	for i := range col {
		col[i] = tab.Data[2*i]
	}
	if step, ok := DetectGrid(col); !ok || step != 1.0/60 {
		t.Fatalf("time grid %v %v", step, ok)
	}
	tr, va, te, err := Split(tab, nil, nil, SplitOptions{Shuffle: true, Seed: 1})
	if err != nil || tr.Rows != 160000 || va.Rows != 20000 || te.Rows != 20000 {
		t.Fatalf("split: %v", err)
	}
}

func TestSharedShuttleSatellite(t *testing.T) {
	for _, c := range []struct {
		file       string
		rows, cols int
	}{{"shuttle.csv", 58000, 9}, {"satellite.csv", 6435, 36}} {
		p := sharedData(t, c.file)
		tab, err := Load(p, LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if tab.Rows != c.rows || tab.Cols != c.cols {
			t.Fatalf("%s: shape %d×%d", c.file, tab.Rows, tab.Cols)
		}
		dq, _ := FitDequantizer(tab, "auto")
		if len(dq.Columns) != c.cols {
			t.Errorf("%s: %d of %d columns dequantized", c.file, len(dq.Columns), c.cols)
		}
	}
}
