package data

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
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
//
// The input is streamed: lines are parsed in place from one read buffer
// straight into the table's values, which are allocated once when the size
// of r is known (a regular file, or an in-memory reader with Len), so the
// peak memory is about the table's. Lines with quotes go through
// encoding/csv one by one, and the whole rest of the input from a quoted
// field that spans lines on (or all of it for a delimiter other than
// , ; tab space | :); all paths accept the same inputs and give the same
// values and errors.
func LoadCSV(r io.Reader, name string, opt LoadOptions) (*Table, error) {
	comma := opt.Delimiter
	if comma == 0 {
		comma = ','
	}
	size := remaining(r)
	var src recordSource
	var fast *fastSource
	if fastDelimiter(comma) {
		fast = newFastSource(r, name, byte(comma), size)
		src = fast
	} else {
		src = newCSVSource(r, name, comma, 1)
	}
	mkErr := func(kind error, line int, detail string) *Error {
		return &Error{Kind: kind, Source: name, Line: line, Row: -1, Index: -1, Detail: detail}
	}
	read := func() ([]string, []int, int, error) {
		fields, line, err := src.next()
		if err != nil {
			return nil, nil, 0, err
		}
		rec := make([]string, len(fields))
		pos := make([]int, len(fields))
		for j, f := range fields {
			rec[j], pos[j] = string(f), src.fieldLine(j)
		}
		return rec, pos, line, nil
	}

	// Peek at the first two records to decide on the header.
	first, first1Pos, line1, err := read()
	if err == io.EOF {
		return nil, mkErr(ErrNoData, 0, "empty file: no header and no data rows")
	}
	if err != nil {
		return nil, err
	}
	if len(first) > 0 {
		first[0] = strings.TrimSpace(strings.TrimPrefix(first[0], "\ufeff"))
	}
	second, second2Pos, line2, err := read()
	if err != nil && err != io.EOF {
		return nil, err
	}
	haveSecond := err == nil

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
	l := &csvLoader{name: name, D: D, K: len(keep), keep: keep, names: names, header: header, line1: line1,
		maxValues: opt.maxValues(), stats: make([]colStat, len(keep))}
	l.data = make([]float64, 0, l.capacity(fast, size))

	asBytes := func(rec []string) [][]byte {
		out := make([][]byte, len(rec))
		for j, f := range rec {
			out[j] = []byte(f)
		}
		return out
	}
	if !header {
		if e := l.process(asBytes(first), line1, func(j int) int { return first1Pos[j] }); e != nil {
			return nil, e
		}
	}
	if haveSecond {
		if e := l.process(asBytes(second), line2, func(j int) int { return second2Pos[j] }); e != nil {
			return nil, e
		}
		if fast != nil {
			if err := l.fastRows(fast); err != nil {
				return nil, err
			}
		}
		for {
			rec, line, err := src.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
			if e := l.process(rec, line, src.fieldLine); e != nil {
				return nil, e
			}
		}
	}
	for k := range l.stats {
		l.stats[k].numeric += l.fast
	}
	return l.finish()
}

// colStat counts the numeric and non-numeric values of a kept column.
type colStat struct {
	numeric  int
	bad      int
	badLine  int
	badValue string
}

// csvLoader holds the state of LoadCSV past the header.
type csvLoader struct {
	name      string
	D, K      int      // fields per record, kept columns
	keep      []int    // kept field indices, in output order
	names     []string // names of all D fields
	header    bool
	line1     int // line of the first record
	maxValues int
	stats     []colStat
	firstErr  *Error
	data      []float64
	rows      int
	fast      int // rows read by fastRows (all kept values numeric)
}

// capacity is the number of values to allocate: a little more than the
// rows that the rest of the input holds at the mean line length of the
// buffered lines, when its size is known; a small start otherwise.
func (l *csvLoader) capacity(fast *fastSource, size int64) int {
	const small = 1024
	if fast == nil || fast.slow != nil || size < 0 || l.K == 0 {
		return small
	}
	buffered := fast.buf[fast.start:fast.end]
	lines := bytes.Count(buffered, []byte{'\n'})
	if lines == 0 {
		return small
	}
	// Bytes left: the input's size less what was parsed.
	left := size - (fast.total - int64(len(buffered)))
	est := float64(left) / (float64(len(buffered)) / float64(lines))
	rows := int(min(est*1.05+2, float64(l.maxValues/l.K+1)))
	return max(small, (rows+1)*l.K)
}

func (l *csvLoader) tooMany(line int) *Error {
	return &Error{Kind: ErrShape, Source: l.name, Line: line, Row: -1, Index: -1,
		Detail: fmt.Sprintf("more than %d values (%d rows × %d columns so far): the table is too large to load", l.maxValues, l.rows, l.K)}
}

// process appends one record; pos gives the line of field j. Only errors
// that stop reading are returned; the first bad value is kept in firstErr.
func (l *csvLoader) process(rec [][]byte, line int, pos func(j int) int) *Error {
	if len(l.data)+l.K > l.maxValues {
		return l.tooMany(line)
	}
	if len(rec) != l.D {
		what := "header"
		if !l.header {
			what = "first row"
		}
		return &Error{Kind: ErrRagged, Source: l.name, Line: line, Row: -1, Index: -1,
			Detail: fmt.Sprintf("expected %d fields (as in the %s on line %d), got %d", l.D, what, l.line1, len(rec))}
	}
	for k, j := range l.keep {
		if v, ok := parseField(rec[j]); ok {
			l.stats[k].numeric++
			l.data = append(l.data, v)
			continue
		}
		f := string(rec[j])
		v, perr := strconv.ParseFloat(f, 64)
		var e *Error
		switch {
		case f == "":
			e = &Error{Kind: ErrEmptyField, Detail: "empty field (missing values are not supported; drop or impute them first)"}
		case perr != nil && !isRangeErr(perr):
			l.stats[k].bad++
			if l.stats[k].bad == 1 {
				l.stats[k].badLine, l.stats[k].badValue = pos(j), f
			}
			e = &Error{Kind: ErrNotNumber, Detail: notNumberDetail(f)}
		case math.IsNaN(v) || math.IsInf(v, 0):
			l.stats[k].numeric++
			e = &Error{Kind: ErrNotFinite, Detail: fmt.Sprintf("%q is not finite (NaN and ±Inf are not allowed)", f)}
		default:
			l.stats[k].numeric++
		}
		if e != nil && l.firstErr == nil {
			e.Source, e.Line, e.Row, e.Column, e.Index = l.name, pos(j), -1, l.names[j], j
			l.firstErr = e
		}
		l.data = append(l.data, v)
	}
	l.rows++
	return nil
}

// fastRows reads records from s while it stays on the fast path, parsing
// the common rows (D plain numbers, no quotes) in place into l.data and
// the others field by field with process. It returns nil at the end of
// the input and when s has switched to encoding/csv (the caller reads the
// rest with s.next).
func (l *csvLoader) fastRows(s *fastSource) *Error {
	// out[j] is the position of field j among the kept values, or -1.
	out := make([]int, l.D)
	for j := range out {
		out[j] = -1
	}
	for k, j := range l.keep {
		out[j] = k
	}
	comma := s.comma
	for s.slow == nil {
		line, err := s.line()
		if err == errFallback {
			s.switchSlow()
			return nil
		}
		if err != nil { // io.EOF: s.line reports no other error
			return nil
		}
		if len(l.data)+l.K > l.maxValues {
			return l.tooMany(s.lineNo)
		}
		if l.fastRow(line, comma, out) {
			continue
		}
		fields, ok := s.split(line)
		if !ok {
			var qe *Error
			if fields, ok, qe = s.quotedLine(); qe != nil {
				return qe
			}
		}
		if !ok {
			s.unread()
			s.switchSlow()
			return nil
		}
		if e := l.process(fields, s.lineNo, sameLine(s.lineNo)); e != nil {
			return e
		}
	}
	return nil
}

// sameLine returns the pos function of a record on one line.
func sameLine(line int) func(int) int { return func(int) int { return line } }

// fastRow parses a line of D fields whose kept fields are all plain
// numbers (see parseFast) and that has no quote in its skipped fields; it
// reports false, leaving l unchanged, for any other line.
func (l *csvLoader) fastRow(line []byte, comma byte, out []int) bool {
	base := len(l.data)
	if cap(l.data)-base < l.K {
		l.data = slices.Grow(l.data, l.K)
	}
	row := l.data[base : base+l.K]
	p := 0
	last := l.D - 1
	for j, k := range out {
		if k >= 0 {
			v, n, ok := parseFast(line[p:], comma)
			if !ok {
				return false
			}
			row[k] = v
			p += n
		} else {
			for ; p < len(line) && line[p] != comma; p++ {
				if line[p] == '"' {
					return false
				}
			}
		}
		if p == len(line) {
			if j != last {
				return false
			}
			break
		}
		if j == last { // line[p] is a delimiter: more than D fields
			return false
		}
		p++
	}
	l.data = l.data[:base+l.K]
	l.rows++
	l.fast++
	return true
}

// finish reports non-numeric columns and the first bad value, or returns
// the table.
func (l *csvLoader) finish() (*Table, error) {
	if l.rows == 0 {
		return nil, &Error{Kind: ErrNoData, Source: l.name, Row: -1, Index: -1, Detail: fmt.Sprintf("no data rows (only a header line with %d columns)", l.D)}
	}
	keep, names, stats := l.keep, l.names, l.stats
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
		return nil, &Error{Kind: ErrNonNumericColumn, Source: l.name, Row: -1, Column: names[j], Index: j, Detail: detail}
	}
	if l.firstErr != nil {
		return nil, l.firstErr
	}
	cols := make([]string, l.K)
	for k, j := range keep {
		cols[k] = names[j]
	}
	return &Table{Columns: cols, Rows: l.rows, Cols: l.K, Data: l.data, Source: l.name}, nil
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
