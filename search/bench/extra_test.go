package bench

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestExtras(t *testing.T) {
	type fake struct {
		Arch      []int
		Saturated bool
		Gap       float64
		Bad       float64
		Steps     int
		Slots     []bool
		Chosen    []any
		hidden    int
	}
	e := fieldsOf(reflect.ValueOf(fake{Saturated: true, Gap: 0.25, Bad: math.NaN(), Steps: 3, Slots: []bool{true, false}, hidden: 1}), []string{"Arch", "Chosen"}, "")
	want := SearchExtra{"Saturated": true, "Gap": 0.25, "Steps": 3.0, "Slots": []any{true, false}}
	if !reflect.DeepEqual(e, want) {
		t.Fatalf("fieldsOf = %#v, want %#v", e, want)
	}
	// JSON round trip keeps the same values (numbers are float64 already).
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var back SearchExtra
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, e) {
		t.Fatalf("round trip %#v (%v)", back, err)
	}
	s := scoreExtras([]SearchExtra{e, {"Saturated": false, "Gap": 0.75, "Steps": 5.0}})
	if s.True["Saturated"] != 1 || s.Median["Gap"] != 0.5 || s.Median["Steps"] != 4 || s.Runs != 2 {
		t.Errorf("scoreExtras = %+v", s)
	}
	cols := extraColumns([]ExtraScore{s})
	if h := extraHeader(cols); h != " Saturated (runs) | Gap (median) | Steps (median) |" {
		t.Errorf("header %q", h)
	}
	if c := extraCells(cols, s); !strings.Contains(c, " 1/2 |") || !strings.Contains(c, " 0.500 |") {
		t.Errorf("cells %q", c)
	}
}
