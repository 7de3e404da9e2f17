package bench

import (
	"fmt"
	"math"
	"reflect"
	"slices"

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

// extraColumns are the diagnostics shown as table columns when present:
// (field, header, kind) with kind "true" (count of runs) or "median".
var extraColumns = [][3]string{}

func extraHeader() string {
	s := ""
	for _, c := range extraColumns {
		s += " " + c[1] + " |"
	}
	return s
}

func extraSep() string {
	s := ""
	for range extraColumns {
		s += "---|"
	}
	return s
}

func extraBlank() string {
	s := ""
	for range extraColumns {
		s += " |"
	}
	return s
}

func extraCells(e ExtraScore) string {
	s := ""
	for _, c := range extraColumns {
		switch c[2] {
		case "true":
			if n, ok := e.True[c[0]]; ok {
				s += " " + itoa(n) + "/" + itoa(e.Runs) + " |"
				continue
			}
		case "median":
			if x, ok := e.Median[c[0]]; ok {
				s += " " + f3(x) + " |"
				continue
			}
		}
		s += " — |"
	}
	return s
}

func extraToyHeader() string            { return extraHeader() }
func extraToySep() string               { return extraSep() }
func extraToyCells(e ExtraScore) string { return extraCells(e) }

func itoa(n int) string { return fmt.Sprint(n) }
