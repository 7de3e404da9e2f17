package flow

import (
	"fmt"

	"github.com/autonf/autonf/tensor"
)

// DefaultMinScale is the default lower bound m of the affine layers' scale
// ("maf", "affine-coupling"): scale = softplus(raw) + m, z = x·scale + μ.
//
// Why this parameterisation (the one of nflows' coupling layers and of
// zuko's MAF before version 1): the scale is positive by construction, can
// only grow linearly with the conditioner's output (no exponential, so one
// bad batch cannot overflow float32), and is at least m, so the inverse
// multiplies by at most 1/m. It is not bounded above, which heavy-tailed
// data need: on MINIBOONE (maf5, 6 seeds, same build) it scored −18.28 mean
// test log-likelihood against −18.82 for a log-scale soft-clamped to ±3
// (s = 3·tanh(raw/3)), with a better validation NLL too (21.76 vs 22.22).
const DefaultMinScale = 1e-3

// affineFLOPs is the rough per-element cost of the affine map (softplus,
// log, multiply-add, log-det sum), counted in FLOPs.
const affineFLOPs = 8

// checkMinScale validates and defaults LayerSpec.MinScale.
func checkMinScale(typ string, m float64) (float64, error) {
	if m == 0 {
		return DefaultMinScale, nil
	}
	if !(m > 0 && m < 1) {
		return 0, fmt.Errorf("%s: min_scale must be in (0, 1), got %g", typ, m)
	}
	return m, nil
}

// sigmoid is 1/(1 + e^−v), the derivative of softplus.
func sigmoid[T Float](v T) T {
	if tensor.Is32[T]() {
		return T(1 / (1 + tensor.Exp32(-float32(v))))
	}
	return 1 / (1 + tensor.Exp(-v))
}

// affineConditioner validates and defaults the conditioner fields shared by
// the affine layers (Hidden default [256, 256], Activation default relu)
// and rejects fields that do not apply to the layer type typ.
func affineConditioner(typ string, spec LayerSpec) ([]int, Activation, error) {
	hidden := []int{256, 256}
	if len(spec.Hidden) > 0 {
		hidden = append([]int(nil), spec.Hidden...)
	}
	for i, h := range hidden {
		if h <= 0 {
			return nil, "", fmt.Errorf("%s: hidden[%d] = %d, widths must be positive", typ, i, h)
		}
	}
	act, err := ParseActivation(spec.Activation)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", typ, err)
	}
	spec.Type = typ
	if err := checkFields(spec); err != nil {
		return nil, "", err
	}
	return hidden, act, nil
}
