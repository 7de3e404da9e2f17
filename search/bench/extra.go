package bench

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"

	"github.com/autonf/autonf/search/strategy"
)

// SearchExtra carries what a search reports beyond its architecture and
// weights: every other scalar or numeric-slice field of strategy.Result
// (convergence diagnostics such as saturation flags and the binarisation
// gap), by field name. Non-finite numbers are left out (JSON has none).
type SearchExtra map[string]any

// known lists the Result and Phase fields the bench records in its own
// fields.
var (
	known      = []string{"Arch", "Weights", "Phases", "Seconds", "StopReason", "Chosen"}
	knownPhase = []string{"Round", "Block", "Slots", "Steps", "StopReason", "Seconds", "Choice", "History"}
)

// extraOf collects the diagnostics of res; those of its phases go under
// "phase.FIELD" as one value per phase.
func extraOf(res *strategy.Result) SearchExtra {
	out := fieldsOf(reflect.ValueOf(*res), known, "")
	for _, ph := range res.Phases {
		for k, v := range fieldsOf(reflect.ValueOf(ph), knownPhase, "phase.") {
			list, _ := out[k].([]any)
			out[k] = append(list, v)
		}
	}
	return out
}

func fieldsOf(v reflect.Value, skip []string, prefix string) SearchExtra {
	out := SearchExtra{}
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		if !f.IsExported() || slices.Contains(skip, f.Name) {
			continue
		}
		if x, ok := plain(v.Field(i)); ok {
			out[prefix+f.Name] = x
		}
	}
	return out
}

// plain converts bools, numbers, strings and slices of them to JSON-safe
// values.
func plain(v reflect.Value) (any, bool) {
	switch v.Kind() {
	case reflect.Bool:
		return v.Bool(), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(v.Uint()), true
	case reflect.Float32, reflect.Float64:
		x := v.Float()
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, false
		}
		return x, true
	case reflect.String:
		return v.String(), true
	case reflect.Slice, reflect.Array:
		var out []any
		for i := 0; i < v.Len(); i++ {
			x, ok := plain(v.Index(i))
			if !ok {
				return nil, false
			}
			out = append(out, x)
		}
		return out, true
	}
	return nil, false
}

// ExtraScore summarises the SearchExtra of a variant's runs: for each
// boolean field, how many runs had it true; for each number, the median.
type ExtraScore struct {
	True   map[string]int     `json:"true,omitempty"`
	Median map[string]float64 `json:"median,omitempty"`
	Runs   int                `json:"runs"`
}

func scoreExtras(es []SearchExtra) ExtraScore {
	s := ExtraScore{True: map[string]int{}, Median: map[string]float64{}, Runs: len(es)}
	nums := map[string][]float64{}
	for _, e := range es {
		for k, v := range e {
			switch x := v.(type) {
			case bool:
				if x {
					s.True[k] += 1
				} else if _, ok := s.True[k]; !ok {
					s.True[k] = 0
				}
			case float64:
				nums[k] = append(nums[k], x)
			}
		}
	}
	for k, v := range nums {
		s.Median[k] = stat(v).Median
	}
	return s
}

func scoreExtra(runs []SearchRun) ExtraScore {
	var es []SearchExtra
	for _, r := range runs {
		es = append(es, r.Extra)
	}
	return scoreExtras(es)
}

func scoreToyExtra(runs []ToyRun) ExtraScore {
	var es []SearchExtra
	for _, r := range runs {
		es = append(es, r.Extra)
	}
	return scoreExtras(es)
}

// extraCol is one diagnostic shown as a table column: a boolean field
// (runs where it was true) or a number (median over runs).
type extraCol struct {
	Field string
	Bool  bool
}

// extraColumns lists the diagnostics present in any of the scores, sorted
// by name (booleans first).
func extraColumns(scores []ExtraScore) []extraCol {
	seen := map[extraCol]bool{}
	for _, e := range scores {
		for k := range e.True {
			seen[extraCol{k, true}] = true
		}
		for k := range e.Median {
			seen[extraCol{k, false}] = true
		}
	}
	var out []extraCol
	for c := range seen {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b extraCol) int {
		if a.Bool != b.Bool {
			if a.Bool {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Field, b.Field)
	})
	return out
}

func extraHeader(cols []extraCol) string {
	s := ""
	for _, c := range cols {
		if c.Bool {
			s += " " + c.Field + " (runs) |"
		} else {
			s += " " + c.Field + " (median) |"
		}
	}
	return s
}

func extraSep(cols []extraCol) string { return strings.Repeat("---|", len(cols)) }

func extraBlank(cols []extraCol) string { return strings.Repeat(" |", len(cols)) }

func extraCells(cols []extraCol, e ExtraScore) string {
	s := ""
	for _, c := range cols {
		if c.Bool {
			if n, ok := e.True[c.Field]; ok {
				s += fmt.Sprintf(" %d/%d |", n, e.Runs)
				continue
			}
		} else if x, ok := e.Median[c.Field]; ok {
			s += " " + f3(x) + " |"
			continue
		}
		s += " — |"
	}
	return s
}
