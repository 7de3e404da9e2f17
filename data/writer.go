package data

import (
	"bufio"
	"encoding/binary"
	"encoding/csv"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/autonf/autonf/internal/fsio"
)

// Writer writes a table to a file in chunks, so that an output of any size
// is written in bounded memory. The format follows the extension as in
// Save. The file is written to an exclusive temporary file in the target's
// directory and appears under its name only at Commit (see internal/fsio):
// an error or a crash never leaves a partial file. NaN and infinite values
// are refused.
type Writer struct {
	f       *fsio.File
	bw      *bufio.Writer
	npy     bool
	comma   rune
	cols    int
	rows    int // declared rows (npy); -1: any (csv)
	written int
	buf     []byte
}

// NewWriter starts writing path. rows is the total number of rows the
// caller will write (the .npy header records it; Commit checks it) and
// columns are the column names (the CSV header line; not stored in .npy).
func NewWriter(path string, columns []string, rows int) (*Writer, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".csv", ".txt", ".tsv", ".npy":
		return newWriter(path, columns, rows, ext)
	}
	return nil, unsupported(path)
}

// newWriter writes format ".csv" (or ".txt"), ".tsv" or ".npy" whatever
// path's extension.
func newWriter(path string, columns []string, rows int, format string) (*Writer, error) {
	w := &Writer{cols: len(columns), rows: rows, buf: make([]byte, 0, 32), comma: ','}
	switch format {
	case ".tsv":
		w.comma = '\t'
	case ".npy":
		w.npy = true
	}
	if rows < 0 || len(columns) == 0 {
		return nil, fmt.Errorf("%s: cannot write %d rows × %d columns", path, rows, len(columns))
	}
	f, err := fsio.Create(path)
	if err != nil {
		return nil, err
	}
	w.f, w.bw = f, bufio.NewWriterSize(f, 1<<16)
	if w.npy {
		err = writeNPYHeader(w.bw, "<f8", false, []int{rows, len(columns)})
	} else {
		cw := csv.NewWriter(w.bw)
		cw.Comma = w.comma
		if err = cw.Write(columns); err == nil {
			cw.Flush()
			err = cw.Error()
		}
	}
	if err != nil {
		f.Abort()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return w, nil
}

// Write appends the rows of t (which must have the writer's column count).
func (w *Writer) Write(t *Table) error {
	if t.Cols != w.cols {
		return fmt.Errorf("%s: writing %d columns to a file of %d", w.f.Path(), t.Cols, w.cols)
	}
	if w.written+t.Rows > w.rows {
		return fmt.Errorf("%s: more than the %d rows declared", w.f.Path(), w.rows)
	}
	if err := t.CheckFinite(); err != nil {
		return err
	}
	if w.npy {
		var b [8]byte
		for _, v := range t.Data[:t.Rows*t.Cols] {
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
			w.bw.Write(b[:])
		}
	} else {
		for i := 0; i < t.Rows; i++ {
			for j, v := range t.Row(i) {
				if j > 0 {
					w.bw.WriteRune(w.comma)
				}
				w.buf = strconv.AppendFloat(w.buf[:0], v, 'g', -1, 64)
				w.bw.Write(w.buf)
			}
			w.bw.WriteByte('\n')
		}
	}
	w.written += t.Rows
	return nil
}

// Commit flushes the file and makes it appear under its name. It fails if
// fewer rows were written than declared.
func (w *Writer) Commit() error {
	if w.written != w.rows {
		w.f.Abort()
		return fmt.Errorf("%s: %d rows written, %d declared", w.f.Path(), w.written, w.rows)
	}
	if err := w.bw.Flush(); err != nil {
		w.f.Abort()
		return fmt.Errorf("%s: %w", w.f.Path(), err)
	}
	return w.f.Commit()
}

// Abort discards the file (a no-op after Commit), so it can be deferred.
func (w *Writer) Abort() { w.f.Abort() }
