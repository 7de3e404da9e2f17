package data

import (
	"fmt"
	"math"
	"strings"
)

// Standardizer drops constant columns and maps each kept column x_j to
// y_j = (x_j - Mean_j) / Std_j, with the mean and (population) standard
// deviation of the training split.
type Standardizer struct {
	Keep    []int     `json:"keep"`              // 0-based input columns kept, in order
	Names   []string  `json:"names,omitempty"`   // names of the kept columns
	Dropped []string  `json:"dropped,omitempty"` // names of the dropped constant columns
	NumCols int       `json:"num_cols"`          // input column count (0: unchecked)
	Mean    []float64 `json:"mean"`              // per kept column
	Std     []float64 `json:"std"`               // per kept column, > 0
}

// FitStandardizer computes per-column means and standard deviations of t.
// A column is constant when its standard deviation is below
// 1e-12·(1+|mean|). constant says what to do with constant columns: "drop"
// (or "") drops them and returns a warning naming each, "refuse" returns an
// *Error (kind ErrConstantColumn) naming the first. It is an error if every
// column is constant.
func FitStandardizer(t *Table, constant string) (*Standardizer, []string, error) {
	mode := strings.ToLower(strings.TrimSpace(constant))
	if mode != "" && mode != "drop" && mode != "refuse" {
		return nil, nil, fmt.Errorf("data: unknown constant-column mode %q (want drop or refuse)", constant)
	}
	if t.Rows == 0 {
		return nil, nil, &Error{Kind: ErrNoData, Source: t.Source, Row: -1, Index: -1, Detail: "no rows to standardise"}
	}
	s := &Standardizer{NumCols: t.Cols, Keep: []int{}, Mean: []float64{}, Std: []float64{}}
	var warnings []string
	n := float64(t.Rows)
	for j := 0; j < t.Cols; j++ {
		mean := 0.0
		for i := 0; i < t.Rows; i++ {
			mean += t.Data[i*t.Cols+j]
		}
		mean /= n
		ss := 0.0
		for i := 0; i < t.Rows; i++ {
			d := t.Data[i*t.Cols+j] - mean
			ss += d * d
		}
		std := math.Sqrt(ss / n)
		if !(std >= 1e-12*(1+math.Abs(mean))) { // also catches NaN
			if mode == "refuse" {
				return nil, nil, &Error{Kind: ErrConstantColumn, Source: t.Source, Row: -1, Column: t.Columns[j], Index: j,
					Detail: fmt.Sprintf("column is constant (value %g, std %g); drop it with --columns, or let constant columns be dropped", mean, std)}
			}
			s.Dropped = append(s.Dropped, t.Columns[j])
			warnings = append(warnings, fmt.Sprintf("%s: column %q (index %d) is constant (value %g): dropped", t.Source, t.Columns[j], j, mean))
			continue
		}
		s.Keep = append(s.Keep, j)
		s.Names = append(s.Names, t.Columns[j])
		s.Mean = append(s.Mean, mean)
		s.Std = append(s.Std, std)
	}
	if len(s.Keep) == 0 {
		return nil, warnings, &Error{Kind: ErrConstantColumn, Source: t.Source, Row: -1, Index: -1,
			Detail: fmt.Sprintf("all %d columns are constant over %d rows; nothing to model", t.Cols, t.Rows)}
	}
	return s, warnings, nil
}

// Apply returns a new table holding the kept columns of t, standardised.
// t must have the column count the standardizer was fitted on.
func (s *Standardizer) Apply(t *Table) (*Table, error) {
	if err := s.check(t); err != nil {
		return nil, err
	}
	out := t.Select(s.Keep)
	K := len(s.Keep)
	for i := 0; i < out.Rows; i++ {
		row := out.Data[i*K : (i+1)*K]
		for k := range row {
			row[k] = (row[k] - s.Mean[k]) / s.Std[k]
		}
	}
	return out, nil
}

// check reports a table whose shape does not fit s.
func (s *Standardizer) check(t *Table) error {
	if s.NumCols > 0 && t.Cols != s.NumCols {
		return &Error{Kind: ErrShape, Source: t.Source, Row: -1, Index: -1,
			Detail: fmt.Sprintf("has %d columns but the standardizer was fitted on %d", t.Cols, s.NumCols)}
	}
	for _, j := range s.Keep {
		if j < 0 || j >= t.Cols {
			return &Error{Kind: ErrShape, Source: t.Source, Row: -1, Index: -1,
				Detail: fmt.Sprintf("standardizer column index %d out of range [0,%d)", j, t.Cols)}
		}
	}
	return nil
}

// ApplyFloat32 is Apply straight into a rows × len(Keep) float32 matrix,
// row-major (the values Apply(t).Float32() gives, without the float64
// copy): a large table is then held once in float64 and once in float32.
func (s *Standardizer) ApplyFloat32(t *Table) ([]float32, error) {
	if err := s.check(t); err != nil {
		return nil, err
	}
	K := len(s.Keep)
	out := make([]float32, t.Rows*K)
	for i := 0; i < t.Rows; i++ {
		src := t.Data[i*t.Cols : (i+1)*t.Cols]
		dst := out[i*K : (i+1)*K]
		for k, j := range s.Keep {
			dst[k] = float32((src[j] - s.Mean[k]) / s.Std[k])
		}
	}
	return out, nil
}

// Invert maps rows×cols standardised values back to user units (of the kept
// columns): x = y·Std + Mean. It returns a new slice and panics if cols is
// not the number of kept columns.
func (s *Standardizer) Invert(rows, cols int, y []float64) []float64 {
	if cols != len(s.Keep) || len(y) < rows*cols {
		panic(fmt.Sprintf("data: Standardizer.Invert: %d×%d values (%d given) but %d kept columns", rows, cols, len(y), len(s.Keep)))
	}
	x := make([]float64, rows*cols)
	for i := 0; i < rows; i++ {
		for k := 0; k < cols; k++ {
			x[i*cols+k] = y[i*cols+k]*s.Std[k] + s.Mean[k]
		}
	}
	return x
}

// LogDet returns Σ_j -log Std_j, the log-determinant of the Jacobian of the
// standardising map, so that log p_x(x) = log p_y(y) + LogDet() converts a
// log-density of standardised data y to one of the (kept columns of the)
// data x in user units.
func (s *Standardizer) LogDet() float64 {
	ld := 0.0
	for _, sd := range s.Std {
		ld -= math.Log(sd)
	}
	return ld
}
