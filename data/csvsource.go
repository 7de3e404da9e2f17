package data

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// recordSource yields the records of a CSV file.
type recordSource interface {
	// next returns the next record's fields, trimmed as by
	// strings.TrimSpace (valid until the next call), and the 1-based line of
	// its first field; io.EOF after the last record. Errors are *Error or
	// wrap the reader's error.
	next() (fields [][]byte, line int, err error)
	// fieldLine is the line of field j of the record last returned.
	fieldLine(j int) int
}

// csvSource reads records with encoding/csv: the general path, for quoted
// fields, non-ASCII delimiters and everything the fast path leaves to it.
type csvSource struct {
	cr     *csv.Reader
	name   string
	offset int // lines before the first line of cr's input
	buf    []byte
	fields [][]byte
	ends   []int
}

// newCSVSource reads r, whose first byte starts line line of the file.
func newCSVSource(r io.Reader, name string, comma rune, line int) *csvSource {
	cr := csv.NewReader(bufio.NewReaderSize(&lineLimiter{r: r, name: name, line: line, max: MaxLineBytes}, 1<<16))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.Comma = comma
	return &csvSource{cr: cr, name: name, offset: line - 1}
}

func (s *csvSource) next() ([][]byte, int, error) {
	rec, err := s.cr.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, 0, &Error{Kind: ErrFormat, Source: s.name, Line: pe.Line + s.offset, Row: -1, Index: -1,
				Detail: "malformed CSV: " + pe.Err.Error()}
		}
		if err == io.EOF {
			return nil, 0, io.EOF
		}
		var de *Error
		if errors.As(err, &de) {
			return nil, 0, de
		}
		return nil, 0, fmt.Errorf("%s: %w", s.name, err)
	}
	s.buf, s.ends = s.buf[:0], s.ends[:0]
	for _, f := range rec {
		s.buf = append(s.buf, strings.TrimSpace(f)...)
		s.ends = append(s.ends, len(s.buf))
	}
	s.fields = s.fields[:0]
	lo := 0
	for _, hi := range s.ends {
		s.fields = append(s.fields, s.buf[lo:hi:hi])
		lo = hi
	}
	return s.fields, s.fieldLine(0), nil
}

func (s *csvSource) fieldLine(j int) int {
	l, _ := s.cr.FieldPos(j)
	return l + s.offset
}

// fastDelimiter reports whether the fast path handles delimiter c: ASCII,
// valid for encoding/csv and not part of a number's syntax.
func fastDelimiter(c rune) bool {
	switch c {
	case ',', ';', '\t', ' ', '|', ':':
		return true
	}
	return false
}

// fastSource reads lines straight from the reader into one buffer and
// splits them at the delimiter, without per-record allocations. A line
// with quotes whose record ends on it is parsed alone by encoding/csv.
// Lines it cannot read exactly as encoding/csv does — a quoted field
// going on to the next line, a line longer than MaxLineBytes, a read
// error — switch it, from that line on, to a csvSource over the rest of
// the input (slow).
type fastSource struct {
	r     io.Reader
	name  string
	comma byte
	buf   []byte
	start int // buf[start:end] is unread
	end   int
	eof   bool
	rerr  error // read error, reported once the buffered data is used
	empty int   // consecutive empty reads
	total int64 // bytes read from r

	nextLine  int // line number of the line at buf[start]
	lineNo    int // line number of the line last returned
	lineStart int // its offset in buf

	fields [][]byte
	slow   *csvSource

	// Lines with quotes that end their record go through qr one by one.
	qr   *csv.Reader
	feed *lineFeed
	qbuf []byte
}

// lineFeed hands one line at a time to a csv.Reader.
type lineFeed struct{ b []byte }

func (f *lineFeed) Read(p []byte) (int, error) {
	if len(f.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, f.b)
	f.b = f.b[n:]
	return n, nil
}

// errFallback tells that the rest of the input goes to the csvSource.
var errFallback = errors.New("fallback to encoding/csv")

// newFastSource reads r, of size bytes (-1: unknown), with a 1 MiB buffer
// (less for a smaller input; it grows for longer lines).
func newFastSource(r io.Reader, name string, comma byte, size int64) *fastSource {
	n := 1 << 20
	if size >= 0 && size < int64(n) {
		n = max(512, int(size)+1)
	}
	return &fastSource{r: r, name: name, comma: comma, buf: make([]byte, n), nextLine: 1}
}

// fill compacts the buffer, grows it when full (up to just above
// MaxLineBytes) and reads more.
func (s *fastSource) fill() {
	if s.start > 0 {
		s.end = copy(s.buf, s.buf[s.start:s.end])
		s.start = 0
	}
	if s.end == len(s.buf) {
		nb := make([]byte, min(2*len(s.buf), MaxLineBytes+1<<20))
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	n, err := s.r.Read(s.buf[s.end:])
	s.end += n
	s.total += int64(n)
	switch {
	case err == io.EOF:
		s.eof = true
	case err != nil:
		s.rerr = err
	case n == 0:
		if s.empty++; s.empty >= 100 {
			s.rerr = io.ErrNoProgress
		}
	default:
		s.empty = 0
	}
}

// line returns the next non-empty line without its newline and one
// trailing '\r' (as encoding/csv normalises them), errFallback for a line
// it must leave to encoding/csv (s.start is then that line's start), or
// io.EOF.
func (s *fastSource) line() ([]byte, error) {
	for {
		var line []byte
		if i := bytes.IndexByte(s.buf[s.start:s.end], '\n'); i >= 0 {
			if i > MaxLineBytes {
				return nil, errFallback
			}
			line = s.buf[s.start : s.start+i]
			s.lineStart, s.lineNo = s.start, s.nextLine
			s.start += i + 1
			s.nextLine++
		} else if s.end-s.start > MaxLineBytes || s.rerr != nil {
			return nil, errFallback
		} else if !s.eof {
			s.fill()
			continue
		} else if s.start == s.end {
			return nil, io.EOF
		} else {
			line = s.buf[s.start:s.end]
			s.lineStart, s.lineNo = s.start, s.nextLine
			s.start = s.end
			s.nextLine++
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if len(line) > 0 {
			return line, nil
		}
	}
}

// unread puts the line last returned back.
func (s *fastSource) unread() {
	s.start, s.nextLine = s.lineStart, s.lineNo
}

// switchSlow hands the unread input to a csvSource.
func (s *fastSource) switchSlow() {
	rest := io.Reader(s.r)
	switch {
	case s.rerr != nil:
		rest = errReader{s.rerr}
	case s.eof:
		rest = eofReader{}
	}
	s.slow = newCSVSource(io.MultiReader(bytes.NewReader(s.buf[s.start:s.end]), rest), s.name, rune(s.comma), s.nextLine)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// quotedLine parses the line last returned, which holds quotes, with
// encoding/csv when its record ends on it: an even number of quotes (a
// quoted field that goes on to the next line leaves an odd number, see
// encoding/csv's readRecord). ok false: leave the rest to switchSlow.
func (s *fastSource) quotedLine() (fields [][]byte, ok bool, err *Error) {
	raw := s.buf[s.lineStart:s.start] // with its line end, normalised by csv as in a whole file
	if bytes.Count(raw, []byte{'"'})%2 != 0 {
		return nil, false, nil
	}
	if s.qr == nil {
		s.feed = &lineFeed{}
		s.qr = csv.NewReader(s.feed)
		s.qr.FieldsPerRecord = -1
		s.qr.ReuseRecord = true
		s.qr.Comma = rune(s.comma)
	}
	s.feed.b = raw
	rec, rerr := s.qr.Read()
	if rerr != nil {
		var pe *csv.ParseError
		if errors.As(rerr, &pe) {
			return nil, true, &Error{Kind: ErrFormat, Source: s.name, Line: s.lineNo, Row: -1, Index: -1,
				Detail: "malformed CSV: " + pe.Err.Error()}
		}
		return nil, false, nil
	}
	if len(s.feed.b) != 0 {
		return nil, false, nil
	}
	s.qbuf = s.qbuf[:0]
	for _, f := range rec {
		s.qbuf = append(s.qbuf, strings.TrimSpace(f)...)
	}
	s.fields = s.fields[:0]
	lo := 0
	for _, f := range rec {
		n := len(strings.TrimSpace(f))
		s.fields = append(s.fields, s.qbuf[lo:lo+n:lo+n])
		lo += n
	}
	return s.fields, true, nil
}

// split cuts line at the delimiter into trimmed fields; false when the
// line holds a quote (encoding/csv's business).
func (s *fastSource) split(line []byte) ([][]byte, bool) {
	if bytes.IndexByte(line, '"') >= 0 {
		return nil, false
	}
	s.fields = s.fields[:0]
	for {
		i := bytes.IndexByte(line, s.comma)
		f := line
		if i >= 0 {
			f = line[:i]
		}
		s.fields = append(s.fields, trimSpace(f))
		if i < 0 {
			return s.fields, true
		}
		line = line[i+1:]
	}
}

// trimSpace is bytes.TrimSpace (hence strings.TrimSpace) with an inlined
// ASCII path.
func trimSpace(f []byte) []byte {
	for len(f) > 0 && asciiSpace[f[0]] {
		f = f[1:]
	}
	for len(f) > 0 && asciiSpace[f[len(f)-1]] {
		f = f[:len(f)-1]
	}
	if len(f) > 0 && (f[0] >= 0x80 || f[len(f)-1] >= 0x80) {
		f = bytes.TrimSpace(f)
	}
	return f
}

func (s *fastSource) next() ([][]byte, int, error) {
	if s.slow != nil {
		return s.slow.next()
	}
	line, err := s.line()
	if err == errFallback {
		s.switchSlow()
		return s.slow.next()
	}
	if err != nil {
		return nil, 0, err
	}
	fields, ok := s.split(line)
	if !ok {
		var qe *Error
		if fields, ok, qe = s.quotedLine(); qe != nil {
			return nil, 0, qe
		}
	}
	if !ok {
		s.unread()
		s.switchSlow()
		return s.slow.next()
	}
	return fields, s.lineNo, nil
}

func (s *fastSource) fieldLine(j int) int {
	if s.slow != nil {
		return s.slow.fieldLine(j)
	}
	return s.lineNo
}

// remaining estimates the bytes of r left to read (-1: unknown): the size
// of a regular file past its offset, or Len() of an in-memory reader.
func remaining(r io.Reader) int64 {
	switch r := r.(type) {
	case *os.File:
		st, err := r.Stat()
		if err != nil || !st.Mode().IsRegular() {
			return -1
		}
		off, err := r.Seek(0, io.SeekCurrent)
		if err != nil {
			return -1
		}
		return max(0, st.Size()-off)
	case interface{ Len() int }:
		return int64(r.Len())
	}
	return -1
}
