package data

import (
	"bytes"
	"math"
	"testing"
)

func checkTable(t *testing.T, tb *Table) {
	t.Helper()
	if tb.Rows <= 0 || tb.Cols <= 0 || len(tb.Data) != tb.Rows*tb.Cols || len(tb.Columns) != tb.Cols {
		t.Fatalf("inconsistent table %d×%d with %d values and %d names", tb.Rows, tb.Cols, len(tb.Data), len(tb.Columns))
	}
	seen := map[string]bool{}
	for _, c := range tb.Columns {
		if seen[c] {
			t.Fatalf("duplicate column name %q accepted", c)
		}
		seen[c] = true
	}
	for _, v := range tb.Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("non-finite value %v accepted", v)
		}
	}
}

// FuzzLoadCSV: any bytes give a valid table or an error, never a panic or
// an unbounded allocation (MaxValues is set small).
func FuzzLoadCSV(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n3,4\n", "1,2\n3,4\n", "x\n1e308\n-0\n", "\ufeffa,b\n\"1\",2\n", "a,a\n1,2\n", "a,b\n1\n", "a;b\n1;2\n", "a,b\nNaN,1\n", ""} {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, b []byte, mode uint8) {
		opt := LoadOptions{MaxValues: 1 << 14, Header: HeaderMode(mode % 3)}
		if mode&4 != 0 {
			opt.Columns = []string{"1", "a"}
		}
		tb, err := LoadCSV(bytes.NewReader(b), "f.csv", opt)
		if err == nil {
			checkTable(t, tb)
		}
	})
}

// FuzzLoadNPY: any bytes give a valid table or an error.
func FuzzLoadNPY(f *testing.F) {
	var b bytes.Buffer
	writeNPYHeader(&b, "<f8", false, []int{2, 2})
	for _, v := range []float64{1, 2, 3, 4} {
		var x [8]byte
		for i := range x {
			x[i] = byte(math.Float64bits(v) >> (8 * i))
		}
		b.Write(x[:])
	}
	f.Add(b.Bytes())
	var c bytes.Buffer
	writeNPYHeader(&c, ">i2", true, []int{3})
	c.Write([]byte{0, 1, 0, 2, 255, 255})
	f.Add(c.Bytes())
	f.Add([]byte("\x93NUMPY\x02\x00\xff\xff\xff\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tb, err := LoadNPY(bytes.NewReader(b), "f.npy", LoadOptions{MaxValues: 1 << 14})
		if err == nil {
			checkTable(t, tb)
		}
	})
}
