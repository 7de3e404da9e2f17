package data

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Table is Rows × Cols named columns of float64, stored row-major in Data.
type Table struct {
	Columns    []string  // column names; "c0", "c1", ... when the source has none
	Rows, Cols int       // shape
	Data       []float64 // len Rows*Cols, row i is Data[i*Cols:(i+1)*Cols]
	Source     string    // file path or generator name, used in error messages
}

// NewTable checks the shape of data and wraps it (without copying) in a
// Table. A nil columns gets the default names c0, c1, ....
func NewTable(source string, columns []string, rows, cols int, data []float64) (*Table, error) {
	if rows < 0 || cols < 0 {
		return nil, &Error{Kind: ErrShape, Source: source, Line: 0, Row: -1, Index: -1,
			Detail: fmt.Sprintf("negative shape %d×%d", rows, cols)}
	}
	if len(data) != rows*cols {
		return nil, &Error{Kind: ErrShape, Source: source, Row: -1, Index: -1,
			Detail: fmt.Sprintf("%d values for a %d×%d table (want %d)", len(data), rows, cols, rows*cols)}
	}
	if columns == nil {
		columns = DefaultColumnNames(cols)
	}
	if len(columns) != cols {
		return nil, &Error{Kind: ErrShape, Source: source, Row: -1, Index: -1,
			Detail: fmt.Sprintf("%d column names for %d columns", len(columns), cols)}
	}
	return &Table{Columns: columns, Rows: rows, Cols: cols, Data: data, Source: source}, nil
}

// DefaultColumnNames returns "c0", ..., "c{n-1}", the names given to the
// columns of files without a header.
func DefaultColumnNames(n int) []string {
	names := make([]string, n)
	for j := range names {
		names[j] = "c" + strconv.Itoa(j)
	}
	return names
}

// hasDefaultNames reports whether t's columns are exactly c0..c{D-1}.
func hasDefaultNames(cols []string) bool {
	for j, c := range cols {
		if c != "c"+strconv.Itoa(j) {
			return false
		}
	}
	return true
}

// Row returns row i as a slice of t.Data (not a copy).
func (t *Table) Row(i int) []float64 {
	return t.Data[i*t.Cols : (i+1)*t.Cols : (i+1)*t.Cols]
}

// Select returns a copy of t holding only the columns with the given
// 0-based indices, in that order. It panics on an index out of range.
func (t *Table) Select(cols []int) *Table {
	for _, c := range cols {
		if c < 0 || c >= t.Cols {
			panic(fmt.Sprintf("data: Select: column index %d out of range [0,%d) in %s", c, t.Cols, t.Source))
		}
	}
	out := &Table{Columns: make([]string, len(cols)), Rows: t.Rows, Cols: len(cols),
		Data: make([]float64, t.Rows*len(cols)), Source: t.Source}
	for k, c := range cols {
		out.Columns[k] = t.Columns[c]
	}
	for i := 0; i < t.Rows; i++ {
		src := t.Data[i*t.Cols:]
		dst := out.Data[i*len(cols):]
		for k, c := range cols {
			dst[k] = src[c]
		}
	}
	return out
}

// Subset returns a copy of t holding only the rows with the given 0-based
// indices, in that order. It panics on an index out of range.
func (t *Table) Subset(rows []int) *Table {
	out := &Table{Columns: append([]string(nil), t.Columns...), Rows: len(rows), Cols: t.Cols,
		Data: make([]float64, len(rows)*t.Cols), Source: t.Source}
	for k, r := range rows {
		if r < 0 || r >= t.Rows {
			panic(fmt.Sprintf("data: Subset: row index %d out of range [0,%d) in %s", r, t.Rows, t.Source))
		}
		copy(out.Data[k*t.Cols:(k+1)*t.Cols], t.Data[r*t.Cols:(r+1)*t.Cols])
	}
	return out
}

// Clone returns a deep copy of t.
func (t *Table) Clone() *Table {
	return &Table{Columns: append([]string(nil), t.Columns...), Rows: t.Rows, Cols: t.Cols,
		Data: append([]float64(nil), t.Data...), Source: t.Source}
}

// Float32 returns t.Data converted to float32 (row-major, len Rows*Cols).
func (t *Table) Float32() []float32 {
	out := make([]float32, len(t.Data))
	for i, v := range t.Data {
		out[i] = float32(v)
	}
	return out
}

// ColumnIndex resolves a column given by name or by 0-based index (as a
// decimal string) to its index. Names take precedence over indices. An
// unknown column gives an *Error (kind ErrUnknownColumn) listing the
// available names.
func (t *Table) ColumnIndex(spec string) (int, error) {
	return resolveColumn(t.Source, t.Columns, spec)
}

func resolveColumn(source string, names []string, spec string) (int, error) {
	s := strings.TrimSpace(spec)
	found := -1
	for j, n := range names {
		if n == s {
			if found >= 0 {
				return 0, &Error{Kind: ErrUnknownColumn, Source: source, Row: -1, Index: -1,
					Detail: fmt.Sprintf("column name %q is ambiguous: it names columns %d and %d; select by index instead", s, found, j)}
			}
			found = j
		}
	}
	if found >= 0 {
		return found, nil
	}
	if k, err := strconv.Atoi(s); err == nil {
		if k >= 0 && k < len(names) {
			return k, nil
		}
		return 0, &Error{Kind: ErrUnknownColumn, Source: source, Row: -1, Index: -1,
			Detail: fmt.Sprintf("column index %d out of range: the file has %d columns (indices 0-%d); available: %s",
				k, len(names), len(names)-1, listNames(names))}
	}
	return 0, &Error{Kind: ErrUnknownColumn, Source: source, Row: -1, Index: -1,
		Detail: fmt.Sprintf("unknown column %q; available: %s", s, listNames(names))}
}

// resolveColumns resolves a list of column specs; duplicates are an error.
func resolveColumns(source string, names []string, specs []string) ([]int, error) {
	idx := make([]int, 0, len(specs))
	seen := make(map[int]string, len(specs))
	for _, s := range specs {
		j, err := resolveColumn(source, names, s)
		if err != nil {
			return nil, err
		}
		if prev, ok := seen[j]; ok {
			return nil, &Error{Kind: ErrUnknownColumn, Source: source, Row: -1, Column: names[j], Index: j,
				Detail: fmt.Sprintf("selected twice (as %q and %q)", prev, s)}
		}
		seen[j] = s
		idx = append(idx, j)
	}
	return idx, nil
}

// listNames formats column names for error messages, eliding long lists.
func listNames(names []string) string {
	const max = 40
	var b strings.Builder
	for j, n := range names {
		if j == max {
			fmt.Fprintf(&b, ", ... (%d more)", len(names)-max)
			break
		}
		if j > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(n))
	}
	if len(names) == 0 {
		return "(none)"
	}
	return b.String()
}

// Sentinel error kinds; an *Error wraps exactly one of them (errors.Is).
var (
	ErrNotNumber        = errors.New("not a number")
	ErrNotFinite        = errors.New("not finite")
	ErrRagged           = errors.New("wrong number of fields")
	ErrEmptyField       = errors.New("empty field")
	ErrNoData           = errors.New("no data")
	ErrNonNumericColumn = errors.New("non-numeric column")
	ErrUnknownColumn    = errors.New("unknown column")
	ErrFormat           = errors.New("bad or unsupported file format")
	ErrShape            = errors.New("shape mismatch")
	ErrMismatch         = errors.New("columns differ between files")
	ErrTooFewRows       = errors.New("too few rows")
	ErrConstantColumn   = errors.New("constant column")
)

// Error describes a problem with a data file or table. Its message has the
// form
//
//	<source>[ line L| row R][, column "name" (index j)]: <detail>
//
// where L is the 1-based line number in a CSV file and R the 0-based data row
// (npy files and in-memory tables).
type Error struct {
	Kind   error  // one of the Err* sentinels
	Source string // file path or generator name
	Line   int    // 1-based line in a CSV file; 0 when not applicable
	Row    int    // 0-based data row; -1 when not applicable (ignored if Line > 0)
	Column string // column name (when Index >= 0)
	Index  int    // 0-based column index; -1 when not applicable
	Detail string // what is wrong, and what to do about it
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	if e.Line > 0 {
		fmt.Fprintf(&b, " line %d", e.Line)
	} else if e.Row >= 0 {
		fmt.Fprintf(&b, " row %d", e.Row)
	}
	if e.Index >= 0 {
		if e.Line > 0 || e.Row >= 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, " column %q (index %d)", e.Column, e.Index)
	}
	b.WriteString(": ")
	b.WriteString(e.Detail)
	return b.String()
}

// Unwrap returns the error's kind, so errors.Is(err, ErrNotNumber) works.
func (e *Error) Unwrap() error { return e.Kind }

// CheckFinite returns an *Error (kind ErrNotFinite) naming the first NaN or
// infinite value in t, or nil.
func (t *Table) CheckFinite() error {
	for k, v := range t.Data {
		if v != v || v > maxFloat || v < -maxFloat {
			i, j := k/t.Cols, k%t.Cols
			return &Error{Kind: ErrNotFinite, Source: t.Source, Row: i, Column: t.Columns[j], Index: j,
				Detail: fmt.Sprintf("value %v is not finite (NaN and ±Inf are not allowed)", v)}
		}
	}
	return nil
}

const maxFloat = 1.7976931348623157e308
