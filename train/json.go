package train

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// jfloat is a float64 whose JSON form keeps NaN and ±Inf (as the strings
// "NaN", "+Inf", "-Inf"), which encoding/json refuses; finite values are
// numbers that read back bit for bit.
type jfloat float64

func (f jfloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Inf"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

func (f *jfloat) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		switch s {
		case "NaN":
			*f = jfloat(math.NaN())
		case "+Inf":
			*f = jfloat(math.Inf(1))
		case "-Inf":
			*f = jfloat(math.Inf(-1))
		default:
			return fmt.Errorf("%q is not a number", s)
		}
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return err
	}
	*f = jfloat(v)
	return nil
}

type plainStats EpochStats

type jsonStats struct {
	plainStats
	TrainNLL jfloat `json:"train_nll"`
	ValNLL   jfloat `json:"val_nll"`
	BestVal  jfloat `json:"best_val_nll"`
	LR       jfloat `json:"lr"`
}

// MarshalJSON encodes the stats; non-finite scores (a failed validation,
// the +Inf best before the first one) are written as "NaN"/"+Inf".
func (s EpochStats) MarshalJSON() ([]byte, error) {
	return json.Marshal(jsonStats{plainStats(s), jfloat(s.TrainNLL), jfloat(s.ValNLL), jfloat(s.BestVal), jfloat(s.LR)})
}

// UnmarshalJSON decodes what MarshalJSON wrote.
func (s *EpochStats) UnmarshalJSON(b []byte) error {
	var j jsonStats
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = EpochStats(j.plainStats)
	s.TrainNLL, s.ValNLL, s.BestVal, s.LR = float64(j.TrainNLL), float64(j.ValNLL), float64(j.BestVal), float64(j.LR)
	return nil
}

type plainResult Result

type jsonResult struct {
	plainResult
	BestValNLL jfloat `json:"best_val_nll"`
}

// MarshalJSON encodes the result; a +Inf best score (no validated epoch)
// is written as "+Inf".
func (r Result) MarshalJSON() ([]byte, error) {
	return json.Marshal(jsonResult{plainResult(r), jfloat(r.BestValNLL)})
}

// UnmarshalJSON decodes what MarshalJSON wrote.
func (r *Result) UnmarshalJSON(b []byte) error {
	var j jsonResult
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Result(j.plainResult)
	r.BestValNLL = float64(j.BestValNLL)
	return nil
}
