package data

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// HeaderMode says whether the first row of a CSV file holds column names.
type HeaderMode int

const (
	// HeaderAuto detects a header: the first row is a header when one of its
	// non-empty fields is not a number and, if there is a second row, that
	// field's column holds a number in the second row. (So a file with no
	// header whose label column is text in every row is read as header-less,
	// and the label column is then reported as non-numeric.) A single-row
	// file is a header when any field is not a number.
	HeaderAuto HeaderMode = iota
	// HeaderYes: the first row is always a header.
	HeaderYes
	// HeaderNo: there is no header; columns are named c0, c1, ....
	HeaderNo
)

// String returns "auto", "yes" or "no".
func (h HeaderMode) String() string {
	switch h {
	case HeaderAuto:
		return "auto"
	case HeaderYes:
		return "yes"
	case HeaderNo:
		return "no"
	}
	return fmt.Sprintf("HeaderMode(%d)", int(h))
}

// ParseHeaderMode parses "auto" (or ""), "yes"/"true"/"1" and "no"/"false"/"0".
func ParseHeaderMode(s string) (HeaderMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return HeaderAuto, nil
	case "yes", "true", "1", "on":
		return HeaderYes, nil
	case "no", "false", "0", "off":
		return HeaderNo, nil
	}
	return HeaderAuto, fmt.Errorf("data: unknown header mode %q (want auto, yes or no)", s)
}

// LoadOptions control Load, LoadCSV and LoadNPY.
type LoadOptions struct {
	// Columns to keep, by name or 0-based index, in the given order; empty
	// keeps all. Names take precedence over indices. Unknown columns are an
	// error listing the available names. Columns not kept are not parsed, so
	// this is how label or other text columns are skipped.
	Columns []string
	// Header says whether a CSV file's first row holds column names
	// (ignored for npy files).
	Header HeaderMode
	// Delimiter separates CSV fields; 0 means ',' (Load uses '\t' for .tsv).
	Delimiter rune
	// MaxValues bounds the number of values read (kept rows × columns), so
	// that a huge or endless input (/dev/zero, a wrong path) is refused
	// instead of exhausting memory; 0 means DefaultMaxValues.
	MaxValues int
}

// DefaultMaxValues is the default LoadOptions.MaxValues: 2²⁸ values
// (2 GiB as float64), far above any table autonf is meant for.
const DefaultMaxValues = 1 << 28

// MaxLineBytes bounds one line of a CSV file.
const MaxLineBytes = 64 << 20

func (o LoadOptions) maxValues() int {
	if o.MaxValues > 0 {
		return o.MaxValues
	}
	return DefaultMaxValues
}

// lineLimiter fails a read once a line exceeds MaxLineBytes, so that a
// file without newlines (binary data, /dev/zero) cannot grow one CSV
// record without bound.
type lineLimiter struct {
	r    io.Reader
	name string
	cur  int // bytes since the last newline
	line int // 1-based line being read
	max  int
}

func (l *lineLimiter) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for i, c := range p[:n] {
		if c == '\n' {
			l.cur = 0
			l.line++
			continue
		}
		l.cur++
		if l.cur > l.max {
			return i, &Error{Kind: ErrFormat, Source: l.name, Line: l.line, Row: -1, Index: -1,
				Detail: fmt.Sprintf("line is longer than %d MiB: not a text table (binary data?)", l.max>>20)}
		}
	}
	return n, err
}

// LoadCSV reads a CSV file of numbers from r; name is used in error messages
// (normally the file path). Blank lines are skipped, fields are trimmed of
// surrounding spaces, quoting follows RFC 4180, and a UTF-8 byte order mark
// is ignored. Every kept field must parse with strconv.ParseFloat to a finite
// value; anything else is an *Error naming the file, the 1-based line in the
// file and the column.
func LoadCSV(r io.Reader, name string, opt LoadOptions) (*Table, error) {
	cr := csv.NewReader(bufio.NewReaderSize(&lineLimiter{r: r, name: name, line: 1, max: MaxLineBytes}, 1<<16))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	if opt.Delimiter != 0 {
		cr.Comma = opt.Delimiter
	}
	mkErr := func(kind error, line int, detail string) *Error {
		return &Error{Kind: kind, Source: name, Line: line, Row: -1, Index: -1, Detail: detail}
	}
	read := func() ([]string, int, error) {
		rec, err := cr.Read()
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, 0, mkErr(ErrFormat, pe.Line, "malformed CSV: "+pe.Err.Error())
			}
			if err == io.EOF {
				return nil, 0, io.EOF
			}
			var de *Error
			if errors.As(err, &de) {
				return nil, 0, de
			}
			return nil, 0, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		for j := range rec {
			rec[j] = strings.TrimSpace(rec[j])
		}
		return rec, line, nil
	}

	// Peek at the first two records to decide on the header.
	first, line1, err := read()
	if err == io.EOF {
		return nil, mkErr(ErrNoData, 0, "empty file: no header and no data rows")
	}
	if err != nil {
		return nil, err
	}
	first = append([]string(nil), first...)
	if len(first) > 0 {
		first[0] = strings.TrimSpace(strings.TrimPrefix(first[0], "\ufeff"))
	}
	first1Pos := make([]int, len(first))
	for j := range first {
		first1Pos[j], _ = cr.FieldPos(j)
	}
	second, line2, err := read()
	if err != nil && err != io.EOF {
		return nil, err
	}
	haveSecond := err == nil
	var second2Pos []int
	if haveSecond {
		second = append([]string(nil), second...)
		second2Pos = make([]int, len(second))
		for j := range second {
			second2Pos[j], _ = cr.FieldPos(j)
		}
	}

	header := false
	switch opt.Header {
	case HeaderYes:
		header = true
	case HeaderNo:
		header = false
	default:
		for j, f := range first {
			if f == "" || isNumber(f) {
				continue
			}
			if !haveSecond || (j < len(second) && isNumber(second[j])) {
				header = true
				break
			}
		}
	}

	D := len(first)
	var names []string
	if header {
		names = make([]string, D)
		for j, f := range first {
			if f == "" {
				f = "c" + strconv.Itoa(j)
			}
			names[j] = f
		}
		seen := make(map[string]int, D)
		for j, n := range names {
			if i, dup := seen[n]; dup {
				return nil, &Error{Kind: ErrFormat, Source: name, Line: line1, Row: -1, Column: n, Index: j,
					Detail: fmt.Sprintf("column name %q is also the name of column %d; column names must be unique (rename one)", n, i)}
			}
			seen[n] = j
		}
	} else {
		names = DefaultColumnNames(D)
	}
	keep := make([]int, D)
	for j := range keep {
		keep[j] = j
	}
	if len(opt.Columns) > 0 {
		keep, err = resolveColumns(name, names, opt.Columns)
		if err != nil {
			return nil, err
		}
	}
	K := len(keep)

	type colStat struct {
		numeric  int
		bad      int
		badLine  int
		badValue string
	}
	stats := make([]colStat, K)
	var firstErr *Error
	data := make([]float64, 0, 1024)
	rows := 0

	maxValues := opt.maxValues()
	process := func(rec []string, line int, pos func(j int) int) *Error {
		if len(data)+K > maxValues {
			return &Error{Kind: ErrShape, Source: name, Line: line, Row: -1, Index: -1,
				Detail: fmt.Sprintf("more than %d values (%d rows × %d columns so far): the table is too large to load", maxValues, rows, K)}
		}
		if len(rec) != D {
			what := "header"
			if !header {
				what = "first row"
			}
			return &Error{Kind: ErrRagged, Source: name, Line: line, Row: -1, Index: -1,
				Detail: fmt.Sprintf("expected %d fields (as in the %s on line %d), got %d", D, what, line1, len(rec))}
		}
		for k, j := range keep {
			f := rec[j]
			v, perr := strconv.ParseFloat(f, 64)
			var e *Error
			switch {
			case f == "":
				e = &Error{Kind: ErrEmptyField, Detail: "empty field (missing values are not supported; drop or impute them first)"}
			case perr != nil && !isRangeErr(perr):
				stats[k].bad++
				if stats[k].bad == 1 {
					stats[k].badLine, stats[k].badValue = pos(j), f
				}
				e = &Error{Kind: ErrNotNumber, Detail: notNumberDetail(f)}
			case math.IsNaN(v) || math.IsInf(v, 0):
				stats[k].numeric++
				e = &Error{Kind: ErrNotFinite, Detail: fmt.Sprintf("%q is not finite (NaN and ±Inf are not allowed)", f)}
			default:
				stats[k].numeric++
			}
			if e != nil && firstErr == nil {
				e.Source, e.Line, e.Row, e.Column, e.Index = name, pos(j), -1, names[j], j
				firstErr = e
			}
			data = append(data, v)
		}
		rows++
		return nil
	}

	if !header {
		if e := process(first, line1, func(j int) int { return first1Pos[j] }); e != nil {
			return nil, e
		}
	}
	if haveSecond {
		if e := process(second, line2, func(j int) int { return second2Pos[j] }); e != nil {
			return nil, e
		}
		for {
			rec, line, err := read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
			if e := process(rec, line, func(j int) int { l, _ := cr.FieldPos(j); return l }); e != nil {
				return nil, e
			}
		}
	}

	if rows == 0 {
		return nil, mkErr(ErrNoData, 0, fmt.Sprintf("no data rows (only a header line with %d columns)", D))
	}
	// A kept column whose every non-empty value is non-numeric is a text
	// (label) column: say so, and suggest --columns.
	var textCols []int
	for k := range keep {
		if stats[k].numeric == 0 && stats[k].bad > 0 {
			textCols = append(textCols, k)
		}
	}
	if len(textCols) > 0 {
		k := textCols[0]
		j := keep[k]
		var numeric []string
		for kk, jj := range keep {
			if stats[kk].numeric > 0 {
				numeric = append(numeric, names[jj])
			}
		}
		detail := fmt.Sprintf("column is not numeric (e.g. %q on line %d)", stats[k].badValue, stats[k].badLine)
		if len(textCols) > 1 {
			var others []string
			for _, kk := range textCols[1:] {
				others = append(others, strconv.Quote(names[keep[kk]]))
			}
			detail += "; other non-numeric columns: " + strings.Join(others, ", ")
		}
		if len(numeric) > 0 {
			detail += "; select the numeric columns with --columns (LoadOptions.Columns), e.g. --columns " + strings.Join(numeric, ",")
		} else {
			detail += "; select numeric columns with --columns (LoadOptions.Columns)"
		}
		return nil, &Error{Kind: ErrNonNumericColumn, Source: name, Row: -1, Column: names[j], Index: j, Detail: detail}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	cols := make([]string, K)
	for k, j := range keep {
		cols[k] = names[j]
	}
	return &Table{Columns: cols, Rows: rows, Cols: K, Data: data, Source: name}, nil
}

func isRangeErr(err error) bool {
	var ne *strconv.NumError
	return errors.As(err, &ne) && ne.Err == strconv.ErrRange
}

// isNumber reports whether f parses as a float (NaN and Inf included).
func isNumber(f string) bool {
	_, err := strconv.ParseFloat(f, 64)
	return err == nil || isRangeErr(err)
}

func notNumberDetail(f string) string {
	s := fmt.Sprintf("%q is not a number", f)
	switch strings.ToLower(f) {
	case "na", "n/a", "null", "none", "nil", "missing", "?", "-":
		s += " (missing values are not supported; drop or impute them first)"
	}
	return s
}

// SaveCSV writes a header line of column names (c0, c1, ... when columns is
// nil) followed by rows×cols values formatted with strconv 'g', -1 (the
// shortest text that reads back to the same float64), through a temporary
// file and a rename (see Writer).
func SaveCSV(path string, columns []string, rows, cols int, data []float64) error {
	return save(path, columns, rows, cols, data, ".csv")
}
