package data

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// refLoadCSV is LoadCSV as it was before the streaming parser (encoding/csv,
// one strconv.ParseFloat per field): the reference the fast path must match
// exactly, values and errors.
func refLoadCSV(r io.Reader, name string, opt LoadOptions) (*Table, error) {
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

// sameLoad fails t unless LoadCSV and refLoadCSV agree on in: the same
// table, values bit for bit, or the same error message and kind.
func sameLoad(t *testing.T, in []byte, opt LoadOptions, wrap func(io.Reader) io.Reader) {
	t.Helper()
	rd := func() io.Reader {
		if wrap == nil {
			return bytes.NewReader(in)
		}
		return wrap(bytes.NewReader(in))
	}
	got, gerr := LoadCSV(rd(), "f.csv", opt)
	want, werr := refLoadCSV(rd(), "f.csv", opt)
	if (gerr == nil) != (werr == nil) {
		t.Fatalf("input %q opt %+v:\n got  %v, %v\n want %v, %v", in, opt, got, gerr, want, werr)
	}
	if werr != nil {
		var ge, we *Error
		if gerr.Error() != werr.Error() || errors.As(gerr, &ge) != errors.As(werr, &we) || (ge != nil && *ge != *we) {
			t.Fatalf("input %q opt %+v:\n got  error %#v\n want error %#v", in, opt, gerr, werr)
		}
		return
	}
	if got.Rows != want.Rows || got.Cols != want.Cols || got.Source != want.Source ||
		strings.Join(got.Columns, "\x00") != strings.Join(want.Columns, "\x00") || len(got.Data) != len(want.Data) {
		t.Fatalf("input %q opt %+v:\n got  %+v\n want %+v", in, opt, got, want)
	}
	for i := range got.Data {
		if math.Float64bits(got.Data[i]) != math.Float64bits(want.Data[i]) {
			t.Fatalf("input %q opt %+v: value %d is %v (%#x), want %v (%#x)", in, opt, i,
				got.Data[i], math.Float64bits(got.Data[i]), want.Data[i], math.Float64bits(want.Data[i]))
		}
	}
}

func TestLoadCSVMatchesReference(t *testing.T) {
	inputs := []string{
		"", "\n", "\r\n", "\r", "a", "1", "1\n", "1\r\n", "1\r", "1\r\r\n", "\r\r\n1\n", " \n1\n",
		"a,b\n1,2\n3,4\n", "1,2\n3,4", "1,2\n\n\n3,4\n\n", "a,b\r\n1,2\r\n3,4\r\n",
		"\ufeffa,b\n1,2\n", "\ufeff1,2\n3,4\n", "\ufeff\"a\",b\n1,2\n", " \ufeff a,b\n1,2\n",
		"a,b\n1,2,\n", "a,b\n1\n", "a,b\n1,2\n3\n4,5,6\n", "a,b\n,\n", "a,b\n1,\n", "a,b\n,2\n",
		"x\n1e308\n-0\n", "x\n-0\n+0\n0e999\n-0.0e-5\n", "x\n1e400\n", "x\n-1e400\n", "x\n1e-400\n", "x\n4.9e-324\n",
		"x\n2.2250738585072014e-308\n", "x\n9007199254740993\n", "x\n9007199254740992\n", "x\n12345678901234567890\n",
		"x\n0.1\n0.2\n0.3\n1.7976931348623157e308\n1.7976931348623159e308\n",
		"x\n.5\n5.\n.\n-.\n+\n-\ne5\n1e\n1e+\n1e-\n1e5\n1E5\n1e+05\n1E-05\n",
		"x\n0x1p-2\n0x10\n1_000\n0x_1p0\ninf\n-Inf\n+infinity\nnan\nNaN\n",
		"x\nNA\nn/a\n?\n-\nnull\n", "x,y\n1,cat\n2,dog\n", "x,y,z\na,1,b\nc,2,d\n",
		"a,b\n\"1\",\"2\"\n", "a,b\n\"1,5\",2\n", "a,b\n\" 1 \",2\n", "a,b\n1\"2,3\n", "a,b\n\"1\n2\",3\n4,5\n",
		"a,b\n1,\"2\n", "a,b\n1,2\n\"3\",4\n5,x\n", "\"a\nb\",c\n1,2\n3,4\n5,y\n",
		"a,b\n\u00a01,2\u00a0\n", "a,b\n1\u00a0,\u20002\n", "a,b\n1\u0085,2\n", "a,b\n1 2,3\n", "a,b\n\t1\t,\v2\f\n",
		"a,b\n1\x002,3\n", "a,b\n\x00,3\n", "a,b\n1\r2,3\n", "a,b\n\xff,1\n",
		"a,a\n1,2\n", "c1,,x\n1,2,3\n", "a,b\n1,2\n3,4\n5,6\n",
		"p0,p1,p2,p3\n1,2,3,4\n5,6,7,abc\n", "a,b\n\n1,2\n\n3,x\n",
		"1,2,cat\n3,4,dog\n", "x,y\n1,2\n3,NaN\n4,abc\n", "x,y\n1,abc\n3,NaN\n",
		"a;b\n1;2\n", "a\tb\n1\t2\n3\t\t4\n", "a b\n1 2\n3  4\n", "a|b\n1|2\n",
		"00012,000.5000\n-007e-0002,1.e1\n", "1e22,1e23,1e-22,1e-23\n", "123456789012345678,0.000000000000000000001\n",
		"x\n" + strings.Repeat("9", 19) + "\n" + strings.Repeat("9", 20) + "\n",
		"x\n1e1000\n1e-1000\n0e-1001\n", "x\n0000000000000000000001\n",
		"\"x\",\"y\"\n1,2\n3,4\n", "\"x\",\"y\"\r\n\"1\",\"2\"\r\n3,\"4\"\r\n", "a,b\n\"1\"\r\r\n2,3\n", "a,b\n\"1\",\"2\"\r",
		"a,b\n\"1\",\"2\"", "a,b\n\"1\"\"\",2\n", "a,b\n\"1,\"\"x\"\"\n2\",3\n4,5\n", "a,b\n1,\"2\"x\n", "a,b\nx\"y\",1\n",
		"a,b\n\"\",1\n", "a,b\n\"1\" ,2\n", "a,b\n \"1\",2\n", "a,b\n\"1\"\n\"2\n3\",4\n5,6\n", "\"a\",\"b\"\n\"1\",\"\"\n",
		"a;b\n\"1;5\";2\n3;4\n", "a\tb\n\"1\"\t\"2\"\n",
		"a,b\n\"" + strings.Repeat("1", 5000) + "\",2\n\"" + strings.Repeat(" ", 9000) + "3\",4\n",
	}
	opts := []LoadOptions{{}, {Header: HeaderYes}, {Header: HeaderNo}, {Columns: []string{"1"}},
		{Columns: []string{"1", "0"}}, {Columns: []string{"y", "0"}}, {MaxValues: 3}, {Delimiter: ';'}, {Delimiter: '\t'},
		{Delimiter: ' '}, {Delimiter: '|'}, {Delimiter: 'é'}, {Delimiter: '"'}, {Delimiter: '.'}}
	for _, in := range inputs {
		for _, opt := range opts {
			sameLoad(t, []byte(in), opt, nil)
			sameLoad(t, []byte(in), opt, iotest.OneByteReader)
		}
	}
}

// randomCSV is a CSV text drawn from fields, separators and line ends that
// exercise both parsing paths.
func randomCSV(rng *rand.Rand, rows, cols int) []byte {
	var b bytes.Buffer
	odd := []string{"", " ", "abc", "NA", "NaN", "-Inf", "inf", "1e400", "1e-400", "0x1p-3", "1_0", ".", "-", "+.5", "5.",
		"\"1.5\"", "\"2,5\"", "\" 3 \"", "4\"", "\"5\n6\"", "\"7\"\"8\"", "\"9\r\n\"", "\"\"", "\u00a06", "7\u00a0", "\u3000", "\t8", "9 ", "1e", "12345678901234567890", "-0"}
	for i := 0; i < rows; i++ {
		n := cols
		if rng.IntN(50) == 0 {
			n += rng.IntN(3) - 1
		}
		for j := 0; j < n; j++ {
			if j > 0 {
				b.WriteByte(',')
			}
			var f string
			switch rng.IntN(12) {
			case 0:
				f = odd[rng.IntN(len(odd))]
			case 1:
				f = strconv.FormatFloat(rng.NormFloat64()*math.Pow(10, float64(rng.IntN(60)-30)), 'g', -1, 64)
			case 2:
				f = strconv.FormatFloat(rng.NormFloat64(), 'e', rng.IntN(20), 64)
			case 3:
				f = strconv.FormatFloat(rng.NormFloat64()*1e4, 'f', rng.IntN(12), 64)
			case 4:
				f = strconv.Itoa(rng.IntN(1000000) - 500000)
			default:
				f = strconv.FormatFloat(rng.NormFloat64()*math.Pow(10, float64(rng.IntN(8)-4)), 'g', 7, 64)
			}
			b.WriteString(f)
		}
		switch rng.IntN(20) {
		case 0:
			b.WriteString("\r\n")
		case 1:
			b.WriteString("\n\n")
		default:
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

func TestLoadCSVMatchesReferenceRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for it := 0; it < 400; it++ {
		in := randomCSV(rng, 1+rng.IntN(30), 1+rng.IntN(6))
		if rng.IntN(3) == 0 {
			in = append([]byte("a,b,c,d,e,f\n"), in...)
		}
		opt := LoadOptions{Header: HeaderMode(rng.IntN(3))}
		if rng.IntN(4) == 0 {
			opt.Columns = []string{"0"}
		}
		sameLoad(t, in, opt, nil)
		sameLoad(t, in, opt, iotest.HalfReader)
	}
}

// A big input crosses the 1 MiB read buffer many times; lines longer than
// the buffer make it grow; a quote late in the file switches to
// encoding/csv with the right line numbers; read errors are reported as
// before.
func TestLoadCSVMatchesReferenceLarge(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var clean bytes.Buffer
	clean.WriteString("a,b,c,d,e,f,g,h\n")
	for i := 0; i < 25000; i++ {
		for j := 0; j < 8; j++ {
			if j > 0 {
				clean.WriteByte(',')
			}
			clean.WriteString(strconv.FormatFloat(rng.NormFloat64(), 'g', 7, 64))
		}
		clean.WriteString("\n")
	}
	big := clean.Bytes()
	withQuote := append(bytes.Clone(big), "\"1\",2,3,4,5,6,7,8\n1,2,3,4,5,6,7,x\n"...)
	withBad := append(bytes.Clone(big), "1,2,3,4,5,6,7,x\n1,2\n"...)
	wide := []byte(strings.Repeat("1.5,", 300000) + "2\n" + strings.Repeat("-3,", 300000) + "4\n")
	for _, in := range [][]byte{big, withQuote, withBad, wide} {
		sameLoad(t, in, LoadOptions{}, nil)
		sameLoad(t, in, LoadOptions{Columns: []string{"7", "0"}}, nil)
		sameLoad(t, in, LoadOptions{}, func(r io.Reader) io.Reader { return iotest.DataErrReader(r) })
		sameLoad(t, in, LoadOptions{}, func(r io.Reader) io.Reader {
			return io.MultiReader(io.LimitReader(r, 1<<20+7), iotest.ErrReader(io.ErrUnexpectedEOF))
		})
		sameLoad(t, in, LoadOptions{}, func(r io.Reader) io.Reader { return &chunky{r: r, rng: rand.New(rand.NewPCG(1, 2))} })
	}

}

// chunky returns reads of random sizes, some empty.
type chunky struct {
	r   io.Reader
	rng *rand.Rand
}

func (c *chunky) Read(p []byte) (int, error) {
	return c.r.Read(p[:min(len(p), c.rng.IntN(200000))])
}

// A quoted header or quoted fields that end on their line keep the fast
// source (and its speed) for the rest of the file.
func TestQuotedLinesStayFast(t *testing.T) {
	in := "\"x\",\"y\"\r\n1,2\r\n\"3\",\"4 \"\r\n5,6\r\n"
	s := newFastSource(strings.NewReader(in), "q.csv", ',', -1)
	var got []string
	for {
		f, line, err := s.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d:%q", line, f))
	}
	if s.slow != nil {
		t.Error("switched to the slow path")
	}
	want := `[1:["x" "y"] 2:["1" "2"] 3:["3" "4"] 4:["5" "6"]]`
	if fmt.Sprint(got) != want {
		t.Errorf("got %v, want %s", got, want)
	}
	sameLoad(t, []byte(in), LoadOptions{}, nil)
}

// FuzzLoadCSVReference: LoadCSV and the encoding/csv reference agree on
// any input.
func FuzzLoadCSVReference(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n3,4\n", "1,2\n3,4\n", "x\n1e308\n-0\n", "\ufeffa,b\n\"1\",2\n", "a,b\n1\n", "a;b\n1;2\n",
		"a,b\nNaN,1\n", "", "x\n.5e-3\n", "a,b\r\n1 , 2\r\n\r\n"} {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, b []byte, mode uint8) {
		opt := LoadOptions{MaxValues: 1 << 14, Header: HeaderMode(mode % 3)}
		if mode&4 != 0 {
			opt.Columns = []string{"1", "a"}
		}
		if mode&8 != 0 {
			opt.Delimiter = ';'
		}
		sameLoad(t, b, opt, nil)
	})
}

func TestParseFastMatchesStrconv(t *testing.T) {
	check := func(s string) bool {
		v, n, ok := parseFast([]byte(s), ',')
		if !ok {
			return false
		}
		field := strings.TrimSpace(s[:n])
		want, err := strconv.ParseFloat(field, 64)
		if err != nil || math.Float64bits(v) != math.Float64bits(want) || (n < len(s) && s[n] != ',') {
			t.Fatalf("parseFast(%q) = %v (%#x), %d; strconv.ParseFloat(%q) = %v (%#x), %v",
				s, v, math.Float64bits(v), n, field, want, math.Float64bits(want), err)
		}
		if float32(v) != float32(want) {
			t.Fatalf("%q: float32 %v, want %v", s, float32(v), float32(want))
		}
		return true
	}
	// Edge cases; the ones marked fast must take the fast path.
	for _, c := range []struct {
		s    string
		fast bool
	}{
		{"0", true}, {"-0", true}, {"+0", true}, {"0.0", true}, {"-0.000", true}, {"00", true}, {"1", true}, {"-1", true},
		{".5", true}, {"5.", true}, {"-.5e1", true}, {"1e22", true}, {"1e-22", true}, {"9007199254740992", true},
		{"1.234567e-7", true}, {"  3.25  ", true}, {"\t-2\t", true}, {"1.5,", true}, {"2,3", true}, {"1E+05", true},
		{"9999999999999999999e-22", false}, {"1e23", false}, {"1e-23", false}, {"9007199254740993", false},
		{"12345678901234567890", false}, {"", false}, {" ", false}, {".", false}, {"-", false}, {"+", false}, {"e5", false},
		{"1e", false}, {"1e+", false}, {"1.5.5", false}, {"1..5", false}, {"--1", false}, {"+-1", false}, {"0x10", false},
		{"1_0", false}, {"inf", false}, {"NaN", false}, {"1 2", false}, {"1\u00a0", false}, {"1f", false}, {"1e1000", false},
		{"0e-1001", true}, {"1\r", true}, {"1\x00", false}, {"１", false},
	} {
		if got := check(c.s); got != c.fast {
			t.Errorf("parseFast(%q): fast path %v, want %v", c.s, got, c.fast)
		}
	}
	// Random decimal strings in many formats: every fast result matches
	// strconv, and the common short forms are all fast.
	rng := rand.New(rand.NewPCG(7, 8))
	fast, total := 0, 0
	for i := 0; i < 300000; i++ {
		x := rng.NormFloat64() * math.Pow(10, float64(rng.IntN(50)-25))
		var s string
		common := false
		switch rng.IntN(6) {
		case 0:
			s = strconv.FormatFloat(x, 'g', -1, 64)
		case 1:
			s = strconv.FormatFloat(x, 'e', rng.IntN(18), 64)
		case 2:
			s = strconv.FormatFloat(x, 'f', rng.IntN(25), 64)
		case 3:
			s = strconv.FormatFloat(float64(float32(x)), 'g', -1, 32)
		case 4:
			s = strconv.FormatFloat(rng.NormFloat64()*math.Pow(10, float64(rng.IntN(10)-5)), 'g', 1+rng.IntN(15), 64)
			common = true
		case 5:
			// Random digit strings with a point and an exponent.
			d := make([]byte, 1+rng.IntN(20))
			for k := range d {
				d[k] = byte('0' + rng.IntN(10))
			}
			p := rng.IntN(len(d) + 1)
			s = string(d[:p]) + "." + string(d[p:])
			if rng.IntN(2) == 0 {
				s += "e" + strconv.Itoa(rng.IntN(60)-30)
			}
			if rng.IntN(2) == 0 {
				s = "-" + s
			}
		}
		total++
		if check(s) {
			fast++
		} else if common {
			t.Fatalf("%q: common short form not on the fast path", s)
		}
	}
	t.Logf("%d of %d random strings on the fast path", fast, total)
	if fast < total/3 {
		t.Errorf("only %d of %d random strings on the fast path", fast, total)
	}
}

// Through a file, the values are allocated once at about the right size.
func TestLoadCSVFileCapacity(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	var b bytes.Buffer
	b.WriteString("a,b,c\n")
	for i := 0; i < 100000; i++ {
		fmt.Fprintf(&b, "%.7g,%.6g,%d\n", rng.NormFloat64(), rng.ExpFloat64(), rng.IntN(100))
	}
	p := filepath.Join(t.TempDir(), "f.csv")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	tab, err := Load(p, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := refLoadCSV(bytes.NewReader(b.Bytes()), p, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tab.Rows != want.Rows || !slices.Equal(tab.Data, want.Data) {
		t.Fatalf("got %d rows, want %d (or values differ)", tab.Rows, want.Rows)
	}
	if c, n := cap(tab.Data), len(tab.Data); c < n || c > n+n/10 {
		t.Errorf("capacity %d for %d values: want at most 10%% more", c, n)
	}
}
