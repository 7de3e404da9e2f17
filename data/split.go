package data

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// SplitOptions control Split.
type SplitOptions struct {
	// ValFrac and TestFrac are the fractions of the training rows held out
	// as validation and test data when no such table is given. Zero means
	// the default 0.1; a negative value means none (the split is nil).
	ValFrac, TestFrac float64
	// Shuffle permutes the training rows (with Seed) before splitting.
	// Files sorted by some column (flights.csv is sorted by time) must be
	// shuffled.
	Shuffle bool
	// Seed seeds the PCG generator used to shuffle: the same seed gives the
	// same split.
	Seed int64
}

// MinSplitRows is the fewest rows Split accepts in any split.
const MinSplitRows = 2

// Split returns the train, validation and test tables. A non-nil val or
// test is used as given (after checking that its columns match train's);
// a nil one is held out from train. The held-out rows come from the end of
// the (optionally shuffled) training rows, in the order
//
//	train | test | val
//
// that is, the last round(ValFrac·N) rows are val and the round(TestFrac·N)
// rows before them are test, where N is the number of rows in train. (This
// mirrors the MAF convention of taking test, then val, off the end.) Every
// resulting split needs at least MinSplitRows rows. The returned tables are
// copies, except val and test given by the caller, which are returned as is.
func Split(train, val, test *Table, opt SplitOptions) (tr, va, te *Table, err error) {
	if train == nil {
		return nil, nil, nil, fmt.Errorf("data: Split: no training table")
	}
	for _, o := range []*Table{val, test} {
		if o != nil {
			if err := CheckSameColumns(train, o); err != nil {
				return nil, nil, nil, err
			}
		}
	}
	vf, err := splitFrac("ValFrac", opt.ValFrac)
	if err != nil {
		return nil, nil, nil, err
	}
	tf, err := splitFrac("TestFrac", opt.TestFrac)
	if err != nil {
		return nil, nil, nil, err
	}
	if val != nil {
		vf = 0
	}
	if test != nil {
		tf = 0
	}
	if vf+tf >= 1 {
		return nil, nil, nil, fmt.Errorf("data: Split: ValFrac %g + TestFrac %g leave no training rows", vf, tf)
	}
	N := train.Rows
	nVal := int(math.Round(vf * float64(N)))
	nTest := int(math.Round(tf * float64(N)))
	nTrain := N - nVal - nTest
	tooFew := func(what string, n int, hint string) error {
		return &Error{Kind: ErrTooFewRows, Source: train.Source, Row: -1, Index: -1,
			Detail: fmt.Sprintf("too few rows: %s would get %d row(s) of %d (need at least %d)%s", what, n, N, MinSplitRows, hint)}
	}
	if vf > 0 && nVal < MinSplitRows {
		return nil, nil, nil, tooFew(fmt.Sprintf("the validation split (ValFrac %g)", vf), nVal,
			"; use more data, a larger fraction or a separate validation file")
	}
	if tf > 0 && nTest < MinSplitRows {
		return nil, nil, nil, tooFew(fmt.Sprintf("the test split (TestFrac %g)", tf), nTest,
			"; use more data, a larger fraction or a separate test file")
	}
	if nTrain < MinSplitRows {
		return nil, nil, nil, tooFew("the training split", nTrain, "")
	}
	for _, o := range []struct {
		t    *Table
		what string
	}{{val, "validation"}, {test, "test"}} {
		if o.t != nil && o.t.Rows < MinSplitRows {
			return nil, nil, nil, &Error{Kind: ErrTooFewRows, Source: o.t.Source, Row: -1, Index: -1,
				Detail: fmt.Sprintf("too few rows: the %s file has %d row(s) (need at least %d)", o.what, o.t.Rows, MinSplitRows)}
		}
	}

	idx := make([]int, N)
	for i := range idx {
		idx[i] = i
	}
	if opt.Shuffle {
		r := rand.New(rand.NewPCG(uint64(opt.Seed), 0x73706c6974)) // "split"
		r.Shuffle(N, func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	}
	tr = train.Subset(idx[:nTrain])
	va, te = val, test
	if val == nil && nVal > 0 {
		va = train.Subset(idx[N-nVal:])
	}
	if test == nil && nTest > 0 {
		te = train.Subset(idx[nTrain : nTrain+nTest])
	}
	return tr, va, te, nil
}

func splitFrac(name string, f float64) (float64, error) {
	switch {
	case f == 0:
		return 0.1, nil
	case f < 0:
		return 0, nil
	case f >= 1 || math.IsNaN(f):
		return 0, fmt.Errorf("data: Split: %s %g must be below 1", name, f)
	}
	return f, nil
}

// CheckSameColumns returns an *Error (kind ErrMismatch) naming both tables'
// sources when b's columns differ from a's in number or (unless either
// table has the default names c0, c1, ...) in names.
func CheckSameColumns(a, b *Table) error {
	if a.Cols != b.Cols {
		return &Error{Kind: ErrMismatch, Source: b.Source, Row: -1, Index: -1,
			Detail: fmt.Sprintf("has %d columns but %s has %d; the files must have the same columns", b.Cols, a.Source, a.Cols)}
	}
	if hasDefaultNames(a.Columns) || hasDefaultNames(b.Columns) {
		return nil
	}
	for j := range a.Columns {
		if a.Columns[j] != b.Columns[j] {
			return &Error{Kind: ErrMismatch, Source: b.Source, Row: -1, Column: b.Columns[j], Index: j,
				Detail: fmt.Sprintf("column names differ: this is %q in %s but %q in %s", b.Columns[j], b.Source, a.Columns[j], a.Source)}
		}
	}
	return nil
}
