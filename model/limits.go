package model

import (
	"fmt"
	"math"
	"slices"

	"github.com/autonf/autonf/data"
	"github.com/autonf/autonf/flow"
)

// Limits on what a model (or an architecture spec) may ask for. They are
// checked before anything is allocated, so a corrupt or hostile model.json
// (a hidden width of 1e9, a dim of 2³²) is refused with a message instead
// of exhausting memory. They are far above any realistic tabular flow.
const (
	MaxDim       = 1 << 14 // columns
	MaxHidden    = 1 << 14 // width of one hidden layer
	MaxDepth     = 64      // hidden layers of one conditioner
	MaxLayers    = 4096    // layers in a flow, chains counted by their sub-layers
	MaxNesting   = 8       // chains inside chains
	MaxBins      = 1024    // spline bins
	MaxParams    = 1 << 27 // float32 parameters of a whole flow (512 MiB)
	MaxModelJSON = 64 << 20
	// MaxWeightsFile bounds weights.safetensors: MaxParams float32 values
	// plus its header.
	MaxWeightsFile = 4*MaxParams + maxHeader + 8
)

// CheckSpec checks an architecture spec against the limits above before a
// flow is built from it: dim, layer count and nesting, hidden widths and
// depth, spline bins, finite hyperparameters, and an upper bound on the
// parameter count. Errors name the layer ("layer 3 (maf): ...").
func CheckSpec(s *flow.Spec) error { return CheckSpecParams(s, MaxParams) }

// CheckSpecParams is CheckSpec with another bound on the parameter count
// (at most MaxParams is enforced either way).
func CheckSpecParams(s *flow.Spec, maxParams int) error {
	maxParams = min(maxParams, MaxParams)
	if s == nil {
		return fmt.Errorf("arch spec: missing")
	}
	if err := s.Validate(); err != nil {
		return err
	}
	if s.Dim > MaxDim {
		return fmt.Errorf("arch spec: dim %d is above the limit of %d columns", s.Dim, MaxDim)
	}
	var params float64
	count := 0
	var walk func(path string, ls []flow.LayerSpec, depth int) error
	walk = func(path string, ls []flow.LayerSpec, depth int) error {
		if depth > MaxNesting {
			return fmt.Errorf("arch spec: %s: chains nested more than %d deep", path, MaxNesting)
		}
		for i, l := range ls {
			where := fmt.Sprintf("%slayer %d (%s)", path, i, l.Type)
			count++
			if count > MaxLayers {
				return fmt.Errorf("arch spec: more than %d layers", MaxLayers)
			}
			p, err := layerBound(s.Dim, l)
			if err != nil {
				return fmt.Errorf("arch spec: %s: %w", where, err)
			}
			params += p
			if params > float64(maxParams) {
				return fmt.Errorf("arch spec: %s: the flow would have more than %d parameters (the limit); use fewer or narrower layers", where, maxParams)
			}
			if l.Type == "chain" {
				if err := walk(where+" → ", l.Layers, depth+1); err != nil {
					return err
				}
			} else if len(l.Layers) > 0 {
				return fmt.Errorf("arch spec: %s: only chains have sub-layers", where)
			}
		}
		return nil
	}
	return walk("", s.Layers, 0)
}

// layerBound checks one layer's fields and returns an upper bound on its
// parameter count (masks and buffers included).
func layerBound(dim int, l flow.LayerSpec) (float64, error) {
	if len(l.Hidden) > MaxDepth {
		return 0, fmt.Errorf("%d hidden layers (at most %d)", len(l.Hidden), MaxDepth)
	}
	for _, h := range l.Hidden {
		if h < 1 || h > MaxHidden {
			return 0, fmt.Errorf("hidden width %d must be between 1 and %d", h, MaxHidden)
		}
	}
	if l.Bins < 0 || l.Bins > MaxBins {
		return 0, fmt.Errorf("bins %d must be between 1 and %d", l.Bins, MaxBins)
	}
	for _, v := range []struct {
		name string
		v    float64
	}{{"tail_bound", l.TailBound}, {"min_scale", l.MinScale}, {"momentum", l.Momentum}, {"eps", l.Eps}} {
		if math.IsNaN(v.v) || math.IsInf(v.v, 0) || v.v < 0 {
			return 0, fmt.Errorf("%s %v must be a finite number ≥ 0", v.name, v.v)
		}
	}
	if l.Perm != nil && len(l.Perm) != dim {
		return 0, fmt.Errorf("perm has %d entries, want %d", len(l.Perm), dim)
	}
	d := float64(dim)
	bins := float64(max(l.Bins, flow.DefaultSplineBins))
	hidden := l.Hidden
	if len(hidden) == 0 {
		hidden = []int{256, 256} // larger than every default
	}
	mlp := func(in, out float64) float64 {
		n, prev := 0.0, in
		for _, h := range hidden {
			n += (prev + 1) * float64(h)
			prev = float64(h)
		}
		return n + (prev+1)*out
	}
	switch l.Type {
	case "maf", "affine-coupling":
		return 2 * mlp(d, 2*d), nil // ×2: MADE masks
	case "nsf-ar", "nsf-coupling":
		return 2 * mlp(d, d*(3*bins+1)), nil
	case "lu-linear":
		return 3 * d * d, nil
	case "planar", "radial", "actnorm", "batchnorm", "reverse", "permutation", "chain":
		return 4*d + 4, nil
	}
	// A type registered later: bound it as a conditioner network.
	return 2 * mlp(d, d*(3*bins+1)), nil
}

// checkManifest cross-checks the fields of a model.json against each other
// and against the architecture, before any flow is built.
func checkManifest(man *manifest) error {
	if man.Arch == nil || man.Standardizer == nil {
		return fmt.Errorf("%s lacks the arch or standardizer section", ManifestFile)
	}
	if err := CheckSpec(man.Arch); err != nil {
		return err
	}
	cols := man.Columns
	if len(cols) == 0 || len(cols) > MaxDim {
		return fmt.Errorf("%d columns (want 1 to %d)", len(cols), MaxDim)
	}
	seen := make(map[string]bool, len(cols))
	for _, c := range cols {
		if seen[c] {
			return fmt.Errorf("column %q appears twice in columns", c)
		}
		seen[c] = true
	}
	s := man.Standardizer
	if s.NumCols != 0 && s.NumCols != len(cols) {
		return fmt.Errorf("standardizer was fitted on %d columns but the model has %d", s.NumCols, len(cols))
	}
	if len(s.Mean) != len(s.Keep) || len(s.Std) != len(s.Keep) || (s.Names != nil && len(s.Names) != len(s.Keep)) {
		return fmt.Errorf("standardizer keeps %d columns but has %d means, %d stds and %d names", len(s.Keep), len(s.Mean), len(s.Std), len(s.Names))
	}
	if len(s.Keep) != man.Arch.Dim {
		return fmt.Errorf("arch dim %d but the standardizer keeps %d columns", man.Arch.Dim, len(s.Keep))
	}
	for k, j := range s.Keep {
		if j < 0 || j >= len(cols) || (k > 0 && j <= s.Keep[k-1]) {
			return fmt.Errorf("standardizer keep %v is not an increasing list of column indices in [0,%d)", s.Keep, len(cols))
		}
	}
	for k, j := range s.Keep {
		if s.Names != nil && s.Names[k] != cols[j] {
			return fmt.Errorf("standardizer column %d is named %q but column %d is %q", k, s.Names[k], j, cols[j])
		}
		if !finite(s.Mean[k]) {
			return fmt.Errorf("standardizer mean of column %q is %v (must be finite)", cols[j], s.Mean[k])
		}
		if !finite(s.Std[k]) || !(s.Std[k] > 0) {
			return fmt.Errorf("standardizer std of column %q is %v (must be finite and > 0)", cols[j], s.Std[k])
		}
	}
	for _, d := range s.Dropped {
		j := slices.Index(cols, d)
		if j < 0 || slices.Contains(s.Keep, j) {
			return fmt.Errorf("standardizer drops %q, which is not a dropped column of the model", d)
		}
	}
	if len(s.Keep)+len(s.Dropped) != len(cols) {
		return fmt.Errorf("standardizer keeps %d and drops %d columns, the model has %d", len(s.Keep), len(s.Dropped), len(cols))
	}
	for name, v := range man.Constants {
		if !slices.Contains(s.Dropped, name) {
			return fmt.Errorf("constant for %q, which is not a dropped column", name)
		}
		if !finite(v) {
			return fmt.Errorf("constant of column %q is %v (must be finite)", name, v)
		}
	}
	for _, d := range s.Dropped {
		if _, ok := man.Constants[d]; !ok {
			return fmt.Errorf("dropped column %q has no constant value", d)
		}
	}
	if dq := man.Dequantizer; dq != nil {
		if err := checkDequantizer(dq, cols); err != nil {
			return err
		}
	}
	return nil
}

func checkDequantizer(dq *data.Dequantizer, cols []string) error {
	if dq.NumCols != 0 && dq.NumCols != len(cols) {
		return fmt.Errorf("dequantizer was fitted on %d columns but the model has %d", dq.NumCols, len(cols))
	}
	if len(dq.Steps) != len(dq.Columns) || (dq.Names != nil && len(dq.Names) != len(dq.Columns)) {
		return fmt.Errorf("dequantizer has %d columns but %d steps and %d names", len(dq.Columns), len(dq.Steps), len(dq.Names))
	}
	for k, j := range dq.Columns {
		if j < 0 || j >= len(cols) || (k > 0 && j <= dq.Columns[k-1]) {
			return fmt.Errorf("dequantizer columns %v are not an increasing list of column indices in [0,%d)", dq.Columns, len(cols))
		}
	}
	for k, j := range dq.Columns {
		if dq.Names != nil && dq.Names[k] != cols[j] {
			return fmt.Errorf("dequantizer column %d is named %q but column %d is %q", k, dq.Names[k], j, cols[j])
		}
		if !finite(dq.Steps[k]) || !(dq.Steps[k] > 0) {
			return fmt.Errorf("dequantizer step of column %q is %v (must be finite and > 0)", cols[j], dq.Steps[k])
		}
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
