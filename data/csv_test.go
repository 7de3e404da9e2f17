package data

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoadCSVErrors(t *testing.T) {
	cases := []struct {
		name   string
		input  string
		opt    LoadOptions
		kind   error
		wants  []string // substrings of the message
		nowant []string
	}{
		{"not a number", "p0,p1,p2,p3\n1,2,3,4\n5,6,7,abc\n", LoadOptions{}, ErrNotNumber,
			[]string{`digits.csv line 3, column "p3" (index 3): "abc" is not a number`}, nil},
		{"not a number after blank lines", "a,b\n\n1,2\n\n3,x\n", LoadOptions{}, ErrNotNumber,
			[]string{`digits.csv line 5, column "b" (index 1)`, `"x" is not a number`}, nil},
		{"missing marker", "a,b\n1,2\nNA,4\n", LoadOptions{}, ErrNotNumber,
			[]string{`line 3, column "a" (index 0)`, `"NA" is not a number`, "missing values"}, nil},
		{"NaN", "a,b\n1,2\n3,NaN\n", LoadOptions{}, ErrNotFinite,
			[]string{`digits.csv line 3, column "b" (index 1)`, `"NaN" is not finite`}, nil},
		{"Inf", "a,b\n1,-Inf\n3,4\n", LoadOptions{}, ErrNotFinite,
			[]string{`line 2, column "b" (index 1)`, `"-Inf" is not finite`}, nil},
		{"overflow", "a,b\n1,1e400\n3,4\n", LoadOptions{}, ErrNotFinite,
			[]string{`line 2, column "b" (index 1)`, `"1e400" is not finite`}, nil},
		{"ragged short", "a,b,c\n1,2,3\n4,5\n", LoadOptions{}, ErrRagged,
			[]string{"digits.csv line 3: expected 3 fields", "got 2"}, nil},
		{"ragged long no header", "1,2\n3,4,5\n", LoadOptions{}, ErrRagged,
			[]string{"digits.csv line 2: expected 2 fields (as in the first row on line 1), got 3"}, nil},
		{"empty field", "a,b\n1,2\n3,\n", LoadOptions{}, ErrEmptyField,
			[]string{`digits.csv line 3, column "b" (index 1): empty field`}, nil},
		{"empty file", "", LoadOptions{}, ErrNoData, []string{"digits.csv: empty file"}, nil},
		{"blank lines only", "\n\n\n", LoadOptions{}, ErrNoData, []string{"digits.csv: empty file"}, nil},
		{"header only", "a,b,c\n", LoadOptions{}, ErrNoData, []string{"digits.csv: no data rows"}, nil},
		{"header only forced", "1,2\n", LoadOptions{Header: HeaderYes}, ErrNoData, []string{"no data rows"}, nil},
		{"label column", "x,y,label\n1,2,cat\n3,4,dog\n", LoadOptions{}, ErrNonNumericColumn,
			[]string{`digits.csv column "label" (index 2)`, "not numeric", `"cat" on line 2`, "--columns x,y"}, nil},
		{"label column no header", "1,2,cat\n3,4,dog\n", LoadOptions{}, ErrNonNumericColumn,
			[]string{`column "c2" (index 2)`, "--columns c0,c1"}, nil},
		{"label column selected", "x,y,label\n1,2,cat\n3,4,dog\n", LoadOptions{Columns: []string{"label", "x"}}, ErrNonNumericColumn,
			[]string{`column "label" (index 2)`, "--columns x"}, nil},
		{"two label columns", "a,x,b\nu,1,v\nw,2,z\n", LoadOptions{}, ErrNonNumericColumn,
			[]string{`column "a" (index 0)`, `other non-numeric columns: "b"`, "--columns x"}, nil},
		{"unknown column name", "x,y\n1,2\n", LoadOptions{Columns: []string{"z"}}, ErrUnknownColumn,
			[]string{`digits.csv: unknown column "z"; available: "x", "y"`}, nil},
		{"column index out of range", "x,y\n1,2\n", LoadOptions{Columns: []string{"5"}}, ErrUnknownColumn,
			[]string{"column index 5 out of range", `available: "x", "y"`}, nil},
		{"column selected twice", "x,y\n1,2\n", LoadOptions{Columns: []string{"x", "0"}}, ErrUnknownColumn,
			[]string{`column "x" (index 0): selected twice`}, nil},
		{"bad quote", "a,b\n1,\"2\n", LoadOptions{}, ErrFormat, []string{"digits.csv line 2", "malformed CSV"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tab, err := LoadCSV(strings.NewReader(c.input), "digits.csv", c.opt)
			if err == nil {
				t.Fatalf("no error; got table %+v", tab)
			}
			if !errors.Is(err, c.kind) {
				t.Errorf("error %q: want kind %v", err, c.kind)
			}
			var de *Error
			if !errors.As(err, &de) {
				t.Errorf("error %T is not *data.Error", err)
			}
			for _, w := range c.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadCSVUnselectedTextColumnIsIgnored(t *testing.T) {
	in := "x,label,y\n1,cat,2\n3,dog,4\n"
	tab, err := LoadCSV(strings.NewReader(in), "in.csv", LoadOptions{Columns: []string{"x", "y"}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tab.Data, []float64{1, 2, 3, 4}) || !reflect.DeepEqual(tab.Columns, []string{"x", "y"}) {
		t.Fatalf("got %+v", tab)
	}
}

func TestLoadCSVHeaderDetection(t *testing.T) {
	cases := []struct {
		name  string
		input string
		mode  HeaderMode
		cols  []string
		rows  int
		data  []float64
	}{
		{"auto header", "a, b\n1,2\n3,4\n", HeaderAuto, []string{"a", "b"}, 2, []float64{1, 2, 3, 4}},
		{"auto no header", "1,2\n3,4\n", HeaderAuto, []string{"c0", "c1"}, 2, []float64{1, 2, 3, 4}},
		{"auto partly numeric header", "x,2\n1,2\n", HeaderAuto, []string{"x", "2"}, 1, []float64{1, 2}},
		{"auto bom crlf spaces", "\ufeffa,b\r\n 1 , 2\r\n", HeaderAuto, []string{"a", "b"}, 1, []float64{1, 2}},
		{"auto empty header name", "a,\n1,2\n", HeaderAuto, []string{"a", "c1"}, 1, []float64{1, 2}},
		{"yes numeric header", "10,20\n1,2\n", HeaderYes, []string{"10", "20"}, 1, []float64{1, 2}},
		{"no", "1,2\n3,4\n", HeaderNo, []string{"c0", "c1"}, 2, []float64{1, 2, 3, 4}},
		{"quoted header", "\"a,1\",b\n1,2\n", HeaderAuto, []string{"a,1", "b"}, 1, []float64{1, 2}},
		{"scientific and signs", "a\n-1e-3\n+2.5E2\n", HeaderAuto, []string{"a"}, 2, []float64{-1e-3, 250}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tab, err := LoadCSV(strings.NewReader(c.input), "in.csv", LoadOptions{Header: c.mode})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(tab.Columns, c.cols) || tab.Rows != c.rows || tab.Cols != len(c.cols) || !reflect.DeepEqual(tab.Data, c.data) {
				t.Fatalf("got cols %q rows %d data %v; want %q %d %v", tab.Columns, tab.Rows, tab.Data, c.cols, c.rows, c.data)
			}
			if tab.Source != "in.csv" {
				t.Errorf("Source %q", tab.Source)
			}
		})
	}
	// "no" on a file with a header: the header is data and is not numeric.
	_, err := LoadCSV(strings.NewReader("a,b\n1,2\n"), "in.csv", LoadOptions{Header: HeaderNo})
	if err == nil || !strings.Contains(err.Error(), `in.csv line 1, column "c0" (index 0): "a" is not a number`) {
		t.Fatalf("HeaderNo with header line: %v", err)
	}
}

func TestParseHeaderMode(t *testing.T) {
	for s, want := range map[string]HeaderMode{"": HeaderAuto, "auto": HeaderAuto, "yes": HeaderYes, "NO": HeaderNo} {
		got, err := ParseHeaderMode(s)
		if err != nil || got != want {
			t.Errorf("ParseHeaderMode(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseHeaderMode("maybe"); err == nil || !strings.Contains(err.Error(), "auto, yes or no") {
		t.Errorf("bad mode: %v", err)
	}
}

func TestColumnSelection(t *testing.T) {
	in := "a,b,c,d\n1,2,3,4\n5,6,7,8\n"
	for _, c := range []struct {
		sel  []string
		cols []string
		data []float64
	}{
		{[]string{"c", "a"}, []string{"c", "a"}, []float64{3, 1, 7, 5}},
		{[]string{"3", "1"}, []string{"d", "b"}, []float64{4, 2, 8, 6}},
		{[]string{"b", " 2 "}, []string{"b", "c"}, []float64{2, 3, 6, 7}},
	} {
		tab, err := LoadCSV(strings.NewReader(in), "in.csv", LoadOptions{Columns: c.sel})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(tab.Columns, c.cols) || !reflect.DeepEqual(tab.Data, c.data) {
			t.Errorf("select %q: got %q %v", c.sel, tab.Columns, tab.Data)
		}
	}
	// Names win over indices: a column named "0".
	tab, err := LoadCSV(strings.NewReader("x,0\n1,2\n"), "in.csv", LoadOptions{Columns: []string{"0"}, Header: HeaderYes})
	if err != nil || tab.Data[0] != 2 {
		t.Fatalf("name precedence: %v %v", tab, err)
	}
	// Duplicate names are refused whatever is selected (a model trained on
	// such a file could not tell its columns apart).
	_, err = LoadCSV(strings.NewReader("x,x\n1,2\n"), "in.csv", LoadOptions{Columns: []string{"1"}})
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "must be unique") {
		t.Fatalf("duplicate names: %v", err)
	}
}

func TestSaveCSVRoundTrip(t *testing.T) {
	dir := t.TempDir()
	data := []float64{0.1, 1e-300, -3, 1.0 / 3, 123456789.125, 0}
	for _, name := range []string{"a.csv", "a.tsv", "a.txt"} {
		p := filepath.Join(dir, name)
		if err := Save(p, []string{"x", "y,z"}, 3, 2, data); err != nil {
			t.Fatal(err)
		}
		tab, err := Load(p, LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(tab.Data, data) || !reflect.DeepEqual(tab.Columns, []string{"x", "y,z"}) || tab.Source != p {
			t.Fatalf("%s: got %+v", name, tab)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "a.csv"))
	if !strings.HasPrefix(string(b), "x,\"y,z\"\n0.1,1e-300\n") {
		t.Errorf("csv text %q", b)
	}
	if err := SaveCSV(filepath.Join(dir, "b.csv"), nil, 2, 2, []float64{1, 2, 3}); !errors.Is(err, ErrShape) {
		t.Errorf("shape mismatch: %v", err)
	}
}

func TestLoadExtensions(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "data.parquet")
	os.WriteFile(p, []byte("x"), 0o644)
	_, err := Load(p, LoadOptions{})
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "data.parquet") || !strings.Contains(err.Error(), ".csv, .txt, .tsv, .npy") {
		t.Fatalf("unsupported extension: %v", err)
	}
	if err := Save(filepath.Join(dir, "x.json"), nil, 1, 1, []float64{1}); !errors.Is(err, ErrFormat) {
		t.Fatalf("save unsupported: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.csv"), LoadOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestTableOps(t *testing.T) {
	tab, err := NewTable("t", []string{"a", "b", "c"}, 2, 3, []float64{1, 2, 3, 4, 5, 6})
	if err != nil {
		t.Fatal(err)
	}
	if got := tab.Row(1); !reflect.DeepEqual(got, []float64{4, 5, 6}) {
		t.Errorf("Row(1) = %v", got)
	}
	s := tab.Select([]int{2, 0})
	if !reflect.DeepEqual(s.Columns, []string{"c", "a"}) || !reflect.DeepEqual(s.Data, []float64{3, 1, 6, 4}) {
		t.Errorf("Select: %+v", s)
	}
	r := tab.Subset([]int{1, 1, 0})
	if r.Rows != 3 || !reflect.DeepEqual(r.Data, []float64{4, 5, 6, 4, 5, 6, 1, 2, 3}) {
		t.Errorf("Subset: %+v", r)
	}
	r.Data[0] = 99
	if tab.Data[3] != 4 {
		t.Error("Subset shares data")
	}
	if f := tab.Float32(); len(f) != 6 || f[5] != 6 {
		t.Errorf("Float32: %v", f)
	}
	if _, err := NewTable("t", nil, 2, 2, []float64{1}); !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), "t: 1 values for a 2×2 table") {
		t.Errorf("NewTable: %v", err)
	}
	bad, _ := NewTable("gen", nil, 2, 2, []float64{1, 2, 3, 0})
	if err := bad.CheckFinite(); err != nil {
		t.Error(err)
	}
	bad.Data[2] = posInf()
	if err := bad.CheckFinite(); !errors.Is(err, ErrNotFinite) || !strings.Contains(err.Error(), `gen row 1, column "c0" (index 0): value +Inf is not finite`) {
		t.Errorf("CheckFinite: %v", err)
	}
}

func posInf() float64 { x := 1e308; return x * 10 }
