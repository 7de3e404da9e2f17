package data

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// seqTable has rows 0..n-1 with row i = (i, 10i).
func seqTable(name string, n int) *Table {
	d := make([]float64, 2*n)
	for i := 0; i < n; i++ {
		d[2*i], d[2*i+1] = float64(i), float64(10*i)
	}
	t, _ := NewTable(name, []string{"a", "b"}, n, 2, d)
	return t
}

func firstCol(t *Table) []int {
	out := make([]int, t.Rows)
	for i := range out {
		out[i] = int(t.Data[i*t.Cols])
	}
	return out
}

func TestSplitSizesAndOrder(t *testing.T) {
	tr, va, te, err := Split(seqTable("x.csv", 100), nil, nil, SplitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Rows != 80 || va.Rows != 10 || te.Rows != 10 {
		t.Fatalf("sizes %d %d %d", tr.Rows, va.Rows, te.Rows)
	}
	// Unshuffled: train | test | val.
	if firstCol(tr)[79] != 79 || firstCol(te)[0] != 80 || firstCol(te)[9] != 89 || firstCol(va)[0] != 90 || firstCol(va)[9] != 99 {
		t.Fatalf("order: test %v val %v", firstCol(te), firstCol(va))
	}

	tr, va, te, err = Split(seqTable("x.csv", 1000), nil, nil, SplitOptions{ValFrac: 0.2, TestFrac: -1})
	if err != nil || tr.Rows != 800 || va.Rows != 200 || te != nil {
		t.Fatalf("no test: %v %v %v %v", tr, va, te, err)
	}

	// Given val and test are used as is; nothing is held out.
	v, ts := seqTable("v.csv", 5), seqTable("t.csv", 7)
	tr, va, te, err = Split(seqTable("x.csv", 50), v, ts, SplitOptions{Shuffle: true})
	if err != nil || tr.Rows != 50 || va != v || te != ts {
		t.Fatalf("given: %v %v", tr, err)
	}
	// Given val only: test held out from the end.
	tr, va, te, err = Split(seqTable("x.csv", 50), v, nil, SplitOptions{TestFrac: 0.2})
	if err != nil || tr.Rows != 40 || va != v || te.Rows != 10 || firstCol(te)[0] != 40 {
		t.Fatalf("given val: %v %v %v", tr, te, err)
	}
}

func TestSplitShuffleDeterministic(t *testing.T) {
	x := seqTable("x.csv", 200)
	run := func(seed int64) [3][]int {
		tr, va, te, err := Split(x, nil, nil, SplitOptions{Shuffle: true, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return [3][]int{firstCol(tr), firstCol(va), firstCol(te)}
	}
	a, b, c := run(1), run(1), run(2)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different splits")
	}
	if reflect.DeepEqual(a, c) {
		t.Fatal("different seeds, same split")
	}
	all := slices.Concat(a[0], a[1], a[2])
	slices.Sort(all)
	for i, v := range all {
		if v != i {
			t.Fatalf("rows lost or duplicated: %v", all)
		}
	}
	if slices.IsSorted(a[0]) {
		t.Fatal("not shuffled")
	}
	// Rows stay intact.
	tr, _, _, _ := Split(x, nil, nil, SplitOptions{Shuffle: true, Seed: 1})
	for i := 0; i < tr.Rows; i++ {
		if tr.Row(i)[1] != 10*tr.Row(i)[0] {
			t.Fatal("row broken")
		}
	}
}

func TestSplitErrors(t *testing.T) {
	renamed := seqTable("val.csv", 10)
	renamed.Columns = []string{"a", "z"}
	generic := seqTable("val.npy", 10)
	generic.Columns = DefaultColumnNames(2)
	three, _ := NewTable("test.csv", nil, 2, 3, make([]float64, 6))
	cases := []struct {
		name      string
		train     *Table
		val, test *Table
		opt       SplitOptions
		kind      error
		wants     []string
	}{
		{"too few val", seqTable("train.csv", 12), nil, nil, SplitOptions{}, ErrTooFewRows,
			[]string{"train.csv: too few rows", "validation split (ValFrac 0.1) would get 1 row(s) of 12", "at least 2"}},
		{"too few test", seqTable("train.csv", 12), nil, nil, SplitOptions{ValFrac: 0.5, TestFrac: 0.05}, ErrTooFewRows,
			[]string{"test split (TestFrac 0.05) would get 1 row(s)"}},
		{"too few train", seqTable("train.csv", 10), nil, nil, SplitOptions{ValFrac: 0.5, TestFrac: 0.4}, ErrTooFewRows,
			[]string{"training split would get 1 row(s) of 10"}},
		{"tiny given val", seqTable("train.csv", 40), seqTable("val.csv", 1), nil, SplitOptions{}, ErrTooFewRows,
			[]string{"val.csv: too few rows: the validation file has 1 row(s)"}},
		{"name mismatch", seqTable("train.csv", 40), renamed, nil, SplitOptions{}, ErrMismatch,
			[]string{`val.csv column "z" (index 1)`, `is "z" in val.csv but "b" in train.csv`}},
		{"count mismatch", seqTable("train.csv", 40), nil, three, SplitOptions{}, ErrMismatch,
			[]string{"test.csv: has 3 columns but train.csv has 2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, _, err := Split(c.train, c.val, c.test, c.opt)
			if !errors.Is(err, c.kind) {
				t.Fatalf("error %v: want kind %v", err, c.kind)
			}
			for _, w := range c.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
	// Default names only need the same count.
	if _, _, _, err := Split(seqTable("train.csv", 40), generic, nil, SplitOptions{}); err != nil {
		t.Errorf("generic names: %v", err)
	}
	if _, _, _, err := Split(seqTable("train.csv", 40), nil, nil, SplitOptions{ValFrac: 0.6, TestFrac: 0.5}); err == nil || !strings.Contains(err.Error(), "leave no training rows") {
		t.Errorf("fractions: %v", err)
	}
}
