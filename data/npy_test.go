package data

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// npyBytes builds a .npy file with the given header fields and payload.
func npyBytes(t *testing.T, descr string, fortran bool, shape []int, payload []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := writeNPYHeader(&b, descr, fortran, shape); err != nil {
		t.Fatal(err)
	}
	b.Write(payload)
	return b.Bytes()
}

func encode(order binary.ByteOrder, vals any) []byte {
	var b bytes.Buffer
	binary.Write(&b, order, vals)
	return b.Bytes()
}

func TestNPYRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.npy")
	data := []float64{1.5, -2, math.Pi, 1e-300, 0, 7}
	if err := Save(p, nil, 3, 2, data); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(p)
	if len(raw) != 128+8*6 || !bytes.HasPrefix(raw, []byte("\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }")) {
		t.Fatalf("header %q", raw[:128])
	}
	tab, err := Load(p, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tab.Rows != 3 || tab.Cols != 2 || !reflect.DeepEqual(tab.Data, data) || !reflect.DeepEqual(tab.Columns, []string{"c0", "c1"}) {
		t.Fatalf("got %+v", tab)
	}
	tab, err = Load(p, LoadOptions{Columns: []string{"1"}})
	if err != nil || !reflect.DeepEqual(tab.Data, []float64{-2, 1e-300, 7}) || tab.Columns[0] != "c1" {
		t.Fatalf("select: %+v %v", tab, err)
	}
}

func TestLoadNPYDtypes(t *testing.T) {
	f32 := []float32{1, 2.5, -3, 4, 5, 6}
	want := []float64{1, 2.5, -3, 4, 5, 6}
	cases := []struct {
		name    string
		file    []byte
		rows    int
		cols    int
		want    []float64
		wantCol []string
	}{
		{"<f4", npyBytes(t, "<f4", false, []int{2, 3}, encode(binary.LittleEndian, f32)), 2, 3, want, nil},
		{">f4", npyBytes(t, ">f4", false, []int{2, 3}, encode(binary.BigEndian, f32)), 2, 3, want, nil},
		{">f8", npyBytes(t, ">f8", false, []int{3, 2}, encode(binary.BigEndian, want)), 3, 2, want, nil},
		{"1-D", npyBytes(t, "<f8", false, []int{6}, encode(binary.LittleEndian, want)), 6, 1, want, []string{"c0"}},
		// Fortran order: the 2×3 matrix [[1,2.5,-3],[4,5,6]] stored column by column.
		{"fortran", npyBytes(t, "<f8", true, []int{2, 3}, encode(binary.LittleEndian, []float64{1, 4, 2.5, 5, -3, 6})), 2, 3, want, nil},
		{"<i8", npyBytes(t, "<i8", false, []int{2, 2}, encode(binary.LittleEndian, []int64{-1, 2, 3, 1 << 40})), 2, 2, []float64{-1, 2, 3, 1 << 40}, nil},
		{"|u1", npyBytes(t, "|u1", false, []int{1, 3}, []byte{0, 17, 255}), 1, 3, []float64{0, 17, 255}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tab, err := LoadNPY(bytes.NewReader(c.file), "x.npy", LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if tab.Rows != c.rows || tab.Cols != c.cols || !reflect.DeepEqual(tab.Data, c.want) {
				t.Fatalf("got %d×%d %v", tab.Rows, tab.Cols, tab.Data)
			}
			if c.wantCol != nil && !reflect.DeepEqual(tab.Columns, c.wantCol) {
				t.Fatalf("columns %q", tab.Columns)
			}
		})
	}
}

func TestLoadNPYErrors(t *testing.T) {
	good := encode(binary.LittleEndian, []float64{1, 2, 3, 4})
	withNaN := encode(binary.LittleEndian, []float64{1, 2, 3, math.NaN()})
	cases := []struct {
		name  string
		file  []byte
		opt   LoadOptions
		kind  error
		wants []string
	}{
		{"empty", nil, LoadOptions{}, ErrNoData, []string{"val.npy: empty file"}},
		{"not npy", []byte("a,b\n1,2\n"), LoadOptions{}, ErrFormat, []string{"val.npy: not a .npy file: bad magic"}},
		{"NaN", npyBytes(t, "<f8", false, []int{2, 2}, withNaN), LoadOptions{}, ErrNotFinite,
			[]string{`val.npy row 1, column "c1" (index 1): value NaN is not finite`}},
		{"truncated", npyBytes(t, "<f8", false, []int{3, 2}, good), LoadOptions{}, ErrFormat,
			[]string{"val.npy: truncated .npy data", "needs 48 bytes, file has 32"}},
		{"3-D", npyBytes(t, "<f8", false, []int{1, 2, 2}, good), LoadOptions{}, ErrFormat,
			[]string{"val.npy: array has shape (1, 2, 2): want 1-D (N,) or 2-D (N, D)"}},
		{"complex", npyBytes(t, "<c16", false, []int{2, 1}, good), LoadOptions{}, ErrFormat,
			[]string{`val.npy: unsupported dtype "<c16"`, "float32/float64"}},
		{"zero rows", npyBytes(t, "<f8", false, []int{0, 4}, nil), LoadOptions{}, ErrNoData,
			[]string{"val.npy: no data: array shape is (0, 4)"}},
		{"unknown column", npyBytes(t, "<f8", false, []int{2, 2}, good), LoadOptions{Columns: []string{"p3"}}, ErrUnknownColumn,
			[]string{`val.npy: unknown column "p3"; available: "c0", "c1"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadNPY(bytes.NewReader(c.file), "val.npy", c.opt)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, c.kind) {
				t.Errorf("error %q: want kind %v", err, c.kind)
			}
			for _, w := range c.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
	// Structured dtype: descr is a list, not a string.
	var b bytes.Buffer
	b.Write(npyMagic)
	dict := "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }\n"
	b.Write([]byte{1, 0, byte(len(dict)), 0})
	b.WriteString(dict)
	b.Write(good[:8])
	if _, err := LoadNPY(&b, "s.npy", LoadOptions{}); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "structured") {
		t.Errorf("structured: %v", err)
	}
}
