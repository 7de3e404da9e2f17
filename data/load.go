package data

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// SupportedExtensions lists the file extensions Load and Save understand.
var SupportedExtensions = []string{".csv", ".txt", ".tsv", ".npy"}

func unsupported(path string) error {
	return &Error{Kind: ErrFormat, Source: path, Row: -1, Index: -1,
		Detail: fmt.Sprintf("unsupported file extension %q: supported are %s (.csv/.txt comma separated, .tsv tab separated)",
			filepath.Ext(path), strings.Join(SupportedExtensions, ", "))}
}

// Load reads a data file, choosing the format by extension (case
// insensitive): .csv and .txt are comma separated, .tsv is tab separated
// (unless opt.Delimiter is set), .npy is a NumPy array. Other extensions are
// an error listing the supported ones.
func Load(path string, opt LoadOptions) (*Table, error) {
	ext := strings.ToLower(filepath.Ext(path))
	switch ext {
	case ".csv", ".txt", ".tsv", ".npy":
	default:
		return nil, unsupported(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if ext == ".npy" {
		return LoadNPY(f, path, opt)
	}
	if ext == ".tsv" && opt.Delimiter == 0 {
		opt.Delimiter = '\t'
	}
	return LoadCSV(f, path, opt)
}

// Save writes rows×cols values to path, choosing the format by extension
// like Load: .csv/.txt (comma), .tsv (tab) with a header line of column
// names (c0, c1, ... when columns is nil), or .npy (float64; column names
// are not stored). Values are written with strconv 'g', -1 (the shortest
// text that reads back to the same float64). The file is written through
// a temporary file and a rename (see Writer); NaN and ±Inf are refused.
func Save(path string, columns []string, rows, cols int, data []float64) error {
	ext := strings.ToLower(filepath.Ext(path))
	switch ext {
	case ".csv", ".txt", ".tsv", ".npy":
	default:
		return unsupported(path)
	}
	return save(path, columns, rows, cols, data, ext)
}

func save(path string, columns []string, rows, cols int, data []float64, format string) error {
	if columns == nil {
		columns = DefaultColumnNames(cols)
	}
	t, err := NewTable(path, columns, rows, cols, data)
	if err != nil {
		return err
	}
	w, err := newWriter(path, columns, rows, format)
	if err != nil {
		return err
	}
	defer w.Abort()
	if err := w.Write(t); err != nil {
		return err
	}
	return w.Commit()
}

// SaveTable writes t with Save.
func SaveTable(path string, t *Table) error {
	return Save(path, t.Columns, t.Rows, t.Cols, t.Data)
}
