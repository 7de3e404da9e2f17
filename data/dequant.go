package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// DetectGrid reports whether values lie on a regular grid, and its step.
//
// Values that are all integers have step 1. Otherwise the candidate step is
// the smallest positive gap g between the sorted distinct values, or g/k for
// the smallest k in 1..8 that works; a candidate close to 1/m for an integer
// m (relative 1e-6) is snapped to exactly 1/m (so minute-resolution hours get
// step 1/60). The candidate is accepted when every value v satisfies
// |(v-min)/step - round((v-min)/step)| <= 1e-6 and max|v|/step <= 1e9. The
// grid may be offset (values a + k·step). Fewer than 2 distinct values (a
// constant column) is never a grid. Non-finite values are never a grid.
func DetectGrid(values []float64) (step float64, ok bool) {
	u := uniqueSorted(values)
	step, ok, _ = detectGridSorted(u)
	return step, ok
}

func uniqueSorted(values []float64) []float64 {
	u := slices.Clone(values)
	var rs radixSorter
	rs.sort(u)
	return slices.Compact(u)
}

// radixSorter sorts float64s, reusing its scratch between calls.
type radixSorter struct{ keys, tmp []uint64 }

// sort sorts u ascending like slices.Sort, by an LSD radix sort of
// the values' bits (six passes of 11 bits, skipping passes where every
// value has the same digit) for long inputs without NaN: about 10× faster
// on a big column. The one difference, -0 before +0 where slices.Sort
// leaves equal zeros in any order, is invisible after slices.Compact.
func (rs *radixSorter) sort(u []float64) {
	if len(u) < 1<<12 {
		slices.Sort(u)
		return
	}
	if cap(rs.keys) < len(u) {
		rs.keys, rs.tmp = make([]uint64, len(u)), make([]uint64, len(u))
	}
	keys, tmp := rs.keys[:len(u)], rs.tmp[:len(u)]
	for i, v := range u {
		if v != v {
			slices.Sort(u)
			return
		}
		// Order-preserving map of float64 to uint64: flip every bit of a
		// negative value, only the sign bit of a positive one.
		b := math.Float64bits(v)
		if b>>63 != 0 {
			b = ^b
		} else {
			b |= 1 << 63
		}
		keys[i] = b
	}
	const bits = 11
	const mask = 1<<bits - 1
	var count [1 << bits]int
	for shift := uint(0); shift < 64; shift += bits {
		clear(count[:])
		for _, k := range keys {
			count[(k>>shift)&mask]++
		}
		if count[(keys[0]>>shift)&mask] == len(keys) {
			continue
		}
		sum := 0
		for d, c := range count {
			count[d] = sum
			sum += c
		}
		for _, k := range keys {
			d := (k >> shift) & mask
			tmp[count[d]] = k
			count[d]++
		}
		keys, tmp = tmp, keys
	}
	for i, k := range keys {
		if k>>63 != 0 {
			k &^= 1 << 63
		} else {
			k = ^k
		}
		u[i] = math.Float64frombits(k)
	}
}

// detectGridSorted is DetectGrid on sorted distinct values; integer reports
// whether all values are integers.
func detectGridSorted(u []float64) (step float64, ok, integer bool) {
	if len(u) < 2 {
		return 0, false, false
	}
	lo, hi := u[0], u[len(u)-1]
	if math.IsNaN(lo) || math.IsInf(lo, 0) || math.IsNaN(hi) || math.IsInf(hi, 0) {
		return 0, false, false
	}
	integer = true
	for _, v := range u {
		if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
			integer = false
			break
		}
	}
	if integer {
		return 1, true, true
	}
	g0 := math.Inf(1)
	for i := 1; i < len(u); i++ {
		if d := u[i] - u[i-1]; d > 0 && d < g0 {
			g0 = d
		}
	}
	maxAbs := math.Max(math.Abs(lo), math.Abs(hi))
	for k := 1; k <= 8; k++ {
		g := g0 / float64(k)
		if inv := 1 / g; inv >= 1 && math.Abs(inv-math.Round(inv)) <= 1e-6*inv {
			g = 1 / math.Round(inv)
		}
		if maxAbs/g > 1e9 || (hi-lo)/g > 1e9 {
			return 0, false, false
		}
		good := true
		for _, v := range u {
			r := (v - lo) / g
			if math.Abs(r-math.Round(r)) > 1e-6 {
				good = false
				break
			}
		}
		if good {
			return g, true, false
		}
	}
	return 0, false, false
}

// Dequantizer adds uniform noise to discrete columns: a value x in a column
// with grid step s becomes x + u·s with u ~ U(0,1), so it lies in [x, x+s)
// (x+s itself only through floating-point rounding).
// A flow fitted to dequantized data models a density p(y); its log-density
// on Apply's output is the log-density of the dequantized data (in the
// table's units). For the discrete data itself, Jensen's inequality gives
// the lower bound log P(x) >= E_u[log p(x + u·s)] + LogVolume().
type Dequantizer struct {
	Columns []int     `json:"columns"`         // 0-based indices of the dequantized columns
	Steps   []float64 `json:"steps"`           // grid step of each, same order as Columns
	Names   []string  `json:"names,omitempty"` // names of those columns (informational)
	NumCols int       `json:"num_cols"`        // column count of the tables it applies to (0: unchecked)

	// Warnings from FitDequantizer (not serialised).
	Warnings []string `json:"-"`
}

// DiscreteUniqueFrac is the "auto" rule's threshold: a non-integer grid
// column counts as discrete when its distinct values number at most this
// fraction of the rows.
const DiscreteUniqueFrac = 0.5

// FitDequantizer chooses the columns of t to dequantize. Modes:
//
//   - "off": none.
//   - "on": every column that lies on a grid (see DetectGrid: integers,
//     or multiples of a detected step, with at least 2 distinct values). If
//     there is none, a warning says so.
//   - "auto" (or ""): a grid column is dequantized when it is
//     integer-valued, or when its distinct values number at most
//     DiscreteUniqueFrac (50%) of the rows, i.e. values repeat as they do in
//     discrete data. Continuous columns that happen to be printed with few
//     decimals, with mostly distinct values, are left alone.
//
// Constant columns are never dequantized (drop them with the Standardizer).
func FitDequantizer(t *Table, mode string) (*Dequantizer, error) {
	d := &Dequantizer{NumCols: t.Cols, Columns: []int{}, Steps: []float64{}}
	m := strings.ToLower(strings.TrimSpace(mode))
	switch m {
	case "off", "none", "no":
		return d, nil
	case "on", "yes", "auto", "":
	default:
		return nil, fmt.Errorf("data: unknown dequantize mode %q (want auto, on or off)", mode)
	}
	col := make([]float64, t.Rows)
	var rs radixSorter
	for j := 0; j < t.Cols; j++ {
		for i := range col {
			col[i] = t.Data[i*t.Cols+j]
		}
		rs.sort(col)
		u := slices.Compact(col)
		step, ok, integer := detectGridSorted(u)
		if !ok {
			continue
		}
		if m != "on" && !integer && float64(len(u)) > DiscreteUniqueFrac*float64(t.Rows) {
			continue
		}
		d.Columns = append(d.Columns, j)
		d.Steps = append(d.Steps, step)
		d.Names = append(d.Names, t.Columns[j])
	}
	if m == "on" && len(d.Columns) == 0 {
		d.Warnings = append(d.Warnings, fmt.Sprintf("%s: dequantization is on but no column lies on a grid (integers or a fixed step); nothing to dequantize", t.Source))
	}
	return d, nil
}

// Check returns an error when t does not have the column count d was
// fitted on.
func (d *Dequantizer) Check(t *Table) error {
	if d.NumCols > 0 && t.Cols != d.NumCols {
		return &Error{Kind: ErrShape, Source: t.Source, Row: -1, Index: -1,
			Detail: fmt.Sprintf("has %d columns but the dequantizer was fitted on %d", t.Cols, d.NumCols)}
	}
	for _, j := range d.Columns {
		if j < 0 || j >= t.Cols {
			return &Error{Kind: ErrShape, Source: t.Source, Row: -1, Index: -1,
				Detail: fmt.Sprintf("dequantizer column index %d out of range [0,%d)", j, t.Cols)}
		}
	}
	return nil
}

// Apply returns a copy of t with x + u·step, u ~ U(0,1) drawn from rng, in
// each dequantized column; other columns are copied unchanged. It panics
// if t does not match (see Check) or rng is nil. Draw fresh noise for each
// pass over the data by reusing the same rng.
func (d *Dequantizer) Apply(t *Table, rng *rand.Rand) *Table {
	if err := d.Check(t); err != nil {
		panic("data: Dequantizer.Apply: " + err.Error())
	}
	out := t.Clone()
	if len(d.Columns) == 0 {
		return out
	}
	if rng == nil {
		panic("data: Dequantizer.Apply: nil rng")
	}
	for i := 0; i < t.Rows; i++ {
		row := out.Data[i*t.Cols : (i+1)*t.Cols]
		for k, j := range d.Columns {
			row[j] += rng.Float64() * d.Steps[k]
		}
	}
	return out
}

// LogVolume returns Σ log step over the dequantized columns: the log-volume
// of one grid cell. log p(dequantized) + LogVolume() is a per-sample lower
// bound on the log-probability of the discrete data.
func (d *Dequantizer) LogVolume() float64 {
	s := 0.0
	for _, st := range d.Steps {
		s += math.Log(st)
	}
	return s
}
