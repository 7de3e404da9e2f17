package data

import (
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestLoadLimits(t *testing.T) {
	cases := []struct {
		name string
		load func() (*Table, error)
		kind error
		want string
	}{
		{"duplicate header names", func() (*Table, error) {
			return LoadCSV(strings.NewReader("a,b,a\n1,2,3\n"), "d.csv", LoadOptions{})
		}, ErrFormat, `d.csv line 1, column "a" (index 2): column name "a" is also the name of column 0`},
		{"empty name clashes with default", func() (*Table, error) {
			return LoadCSV(strings.NewReader("c1,,x\n1,2,3\n"), "d.csv", LoadOptions{Header: HeaderYes})
		}, ErrFormat, `column name "c1" is also the name of column 0`},
		{"endless line", func() (*Table, error) {
			return LoadCSV(io.LimitReader(zeros{}, MaxLineBytes+10), "zero.csv", LoadOptions{})
		}, ErrFormat, "zero.csv line 1: line is longer than 64 MiB"},
		{"csv too many values", func() (*Table, error) {
			return LoadCSV(strings.NewReader("a,b\n1,2\n3,4\n5,6\n"), "d.csv", LoadOptions{MaxValues: 5})
		}, ErrShape, "d.csv line 4: more than 5 values"},
		{"npy too many values", func() (*Table, error) {
			b := npyBytes(t, "<f8", false, []int{1 << 40, 4}, nil)
			return LoadNPY(io.MultiReader(strings.NewReader(string(b)), zeros{}), "z.npy", LoadOptions{})
		}, ErrShape, "more than 268435456 values"},
		{"npy declared larger than its data", func() (*Table, error) {
			b := npyBytes(t, "<f8", false, []int{1000, 4}, make([]byte, 16))
			return LoadNPY(strings.NewReader(string(b)), "s.npy", LoadOptions{})
		}, ErrFormat, "truncated .npy data"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.load()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
			if !errors.Is(err, c.kind) {
				t.Fatalf("error %v is not %v", err, c.kind)
			}
		})
	}
	// Duplicate names are fine without a header (names are c0, c1, ...),
	// and below the value limit everything loads.
	if tb, err := LoadCSV(strings.NewReader("1,2\n3,4\n"), "d.csv", LoadOptions{MaxValues: 4}); err != nil || tb.Rows != 2 {
		t.Fatalf("at the limit: %v %v", tb, err)
	}
}

func TestWriterChunks(t *testing.T) {
	dir := t.TempDir()
	for _, ext := range []string{".csv", ".tsv", ".npy"} {
		t.Run(ext, func(t *testing.T) {
			path := filepath.Join(dir, "out"+ext)
			w, err := NewWriter(path, []string{"a", "b"}, 3)
			if err != nil {
				t.Fatal(err)
			}
			a, _ := NewTable("x", []string{"a", "b"}, 2, 2, []float64{1, 2, 3, 4})
			b, _ := NewTable("x", []string{"a", "b"}, 1, 2, []float64{0.1, -5e-300})
			if err := w.Write(a); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(path); err == nil {
				t.Fatal("the file appeared before Commit")
			}
			if err := w.Write(b); err != nil {
				t.Fatal(err)
			}
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}
			got, err := Load(path, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Data, []float64{1, 2, 3, 4, 0.1, -5e-300}) {
				t.Fatalf("read back %v", got.Data)
			}
		})
	}
	bad := []struct {
		name string
		do   func(w *Writer) error
		want string
	}{
		{"NaN", func(w *Writer) error {
			tb, _ := NewTable("s", []string{"a"}, 1, 1, []float64{math.NaN()})
			return w.Write(tb)
		}, "not finite"},
		{"too few rows", func(w *Writer) error { return w.Commit() }, "0 rows written, 1 declared"},
		{"too many rows", func(w *Writer) error {
			tb, _ := NewTable("s", []string{"a"}, 2, 1, []float64{1, 2})
			return w.Write(tb)
		}, "more than the 1 rows"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, "bad.csv")
			w, err := NewWriter(path, []string{"a"}, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			if err := c.do(w); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
			w.Abort()
			if ents, _ := os.ReadDir(dir); len(ents) != 3 {
				t.Fatalf("files left: %v", ents)
			}
		})
	}
	if err := Save(filepath.Join(dir, "x.csv"), nil, 1, 1, []float64{math.Inf(1)}); err == nil {
		t.Fatal("Save wrote +Inf")
	}
}

func TestToyBounded(t *testing.T) {
	if _, err := Toy("gaussian-4096", 10_000_000, 1); err == nil || !strings.Contains(err.Error(), "more than 268435456 values") {
		t.Fatalf("huge toy: %v", err)
	}
	if tb, err := Toy("gaussian-3", 10, 1); err != nil || tb.Cols != 3 {
		t.Fatalf("small toy: %v", err)
	}
}
