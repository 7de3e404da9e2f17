package flow

import (
	"fmt"
	"slices"
)

// Neural spline flows (Durkan et al. 2019): rational-quadratic spline
// layers whose per-element spline parameters come from a conditioner
// network, in a coupling ("nsf-coupling") and an autoregressive ("nsf-ar")
// variant: the Coupling and Autoregressive conditioners over the spline
// transformer (splineTr).

// defaultNSFHidden is the conditioners' default hidden widths.
var defaultNSFHidden = []int{256, 256}

// nsfCommon validates and fills the hyperparameters both NSF layers share:
// hidden widths, activation, bins and tail bound.
func nsfCommon[T Float](spec *LayerSpec) (Activation, *Spline[T], error) {
	if len(spec.Hidden) == 0 {
		spec.Hidden = slices.Clone(defaultNSFHidden)
	} else {
		spec.Hidden = slices.Clone(spec.Hidden)
	}
	for _, h := range spec.Hidden {
		if h <= 0 {
			return "", nil, fmt.Errorf("hidden widths must be positive, got %v", spec.Hidden)
		}
	}
	act, err := ParseActivation(spec.Activation)
	if err != nil {
		return "", nil, err
	}
	spec.Activation = string(act)
	if spec.Bins == 0 {
		spec.Bins = DefaultSplineBins
	}
	if spec.TailBound == 0 {
		spec.TailBound = DefaultSplineBound
	}
	spl, err := NewSpline[T](spec.Bins, spec.TailBound)
	if err != nil {
		return "", nil, err
	}
	return act, spl, nil
}
