package flow

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
)

// SpecFormat is the format tag written into every architecture spec.
const SpecFormat = "autonf.arch/v1"

// LayerSpec holds one layer's type and hyperparameters. Fields a type does
// not use are left empty; defaults are filled in by the constructor and
// written back by Layer.Spec so that a saved spec is complete.
type LayerSpec struct {
	Type string `json:"type"`

	// Conditioner networks (coupling, MADE).
	Hidden     []int  `json:"hidden,omitempty"`     // hidden layer widths
	Activation string `json:"activation,omitempty"` // relu (default), tanh, elu

	// Coupling layers: which half is transformed. "even" transforms the
	// columns with even index conditioned on the odd ones, "odd" the reverse.
	Mask string `json:"mask,omitempty"`

	// Autoregressive layers: "natural" (x_i depends on x_<i) or "reversed".
	Order string `json:"order,omitempty"`

	// Rational-quadratic splines.
	Bins      int     `json:"bins,omitempty"`       // K
	TailBound float64 `json:"tail_bound,omitempty"` // B: identity tails outside [-B, B] (affine layers: see Tails)

	// Affine layers: the scale is softplus(raw) + MinScale.
	MinScale float64 `json:"min_scale,omitempty"`
	// Affine layers: "linear" makes the layer tail-safe: its conditioner
	// sees its inputs clamped to [−TailBound, TailBound], so outside that
	// box the layer is affine with the boundary's shift and scale (see
	// Autoregressive). Empty (the default): no clamp.
	Tails string `json:"tails,omitempty"`

	// Permutations: the stored permutation (random permutations keep it so a
	// saved model is rebuilt exactly) and the seed it was drawn from.
	Perm []int  `json:"perm,omitempty"`
	Seed uint64 `json:"seed,omitempty"`

	// BatchNorm.
	Momentum float64 `json:"momentum,omitempty"`
	Eps      float64 `json:"eps,omitempty"`

	// Chains: the sub-layers applied in order (type "chain").
	Layers []LayerSpec `json:"layers,omitempty"`
}

// SpecFields lists the JSON names of LayerSpec's hyperparameter fields
// (every field but "type"), in declaration order.
func SpecFields() []string {
	t := reflect.TypeFor[LayerSpec]()
	var out []string
	for i := range t.NumField() {
		if name := jsonName(t.Field(i)); name != "type" {
			out = append(out, name)
		}
	}
	return out
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

// setFields lists the JSON names of the hyperparameter fields of s that
// are set (not zero).
func (s LayerSpec) setFields() []string {
	v := reflect.ValueOf(s)
	t := v.Type()
	var out []string
	for i := range t.NumField() {
		if name := jsonName(t.Field(i)); name != "type" && !v.Field(i).IsZero() {
			out = append(out, name)
		}
	}
	return out
}

// Clone returns a deep copy of s (no slice shared with s).
func (s LayerSpec) Clone() LayerSpec {
	c := s
	c.Hidden = slices.Clone(s.Hidden)
	c.Perm = slices.Clone(s.Perm)
	if s.Layers != nil {
		c.Layers = make([]LayerSpec, len(s.Layers))
		for i, l := range s.Layers {
			c.Layers[i] = l.Clone()
		}
	}
	return c
}

// Clone returns a deep copy of s.
func (s *Spec) Clone() *Spec {
	c := *s
	if s.Layers != nil {
		c.Layers = make([]LayerSpec, len(s.Layers))
		for i, l := range s.Layers {
			c.Layers[i] = l.Clone()
		}
	}
	return &c
}

// Spec describes a whole flow: dimension, base distribution and layers in
// data→noise order.
type Spec struct {
	Format string      `json:"format"`
	Name   string      `json:"name,omitempty"`
	Dim    int         `json:"dim"`
	Base   string      `json:"base"` // "normal" (default) or "diag-normal" (learnable mean and scale)
	Layers []LayerSpec `json:"layers"`
}

// Validate checks the spec's structure (types known, dim positive).
func (s *Spec) Validate() error {
	if s.Format != "" && s.Format != SpecFormat {
		return fmt.Errorf("arch spec: format %q is not supported (want %q)", s.Format, SpecFormat)
	}
	if s.Dim <= 0 {
		return fmt.Errorf("arch spec: dim must be positive, got %d", s.Dim)
	}
	switch s.Base {
	case "", "normal", "diag-normal":
	default:
		return fmt.Errorf("arch spec: base %q is unknown (want normal or diag-normal)", s.Base)
	}
	if len(s.Layers) == 0 {
		return fmt.Errorf("arch spec: no layers")
	}
	for i, l := range s.Layers {
		if _, ok := ctors32[l.Type]; !ok {
			return fmt.Errorf("arch spec: layer %d: %w", i, unknownType(l.Type))
		}
	}
	return nil
}

// ReadSpec loads a JSON spec file. Unknown fields are an error, so typos in
// hyperparameter names do not pass silently.
func ReadSpec(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseSpec(b, path)
}

// ParseSpec decodes a JSON spec; name is used in error messages.
func ParseSpec(b []byte, name string) (*Spec, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var s Spec
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: not a valid arch spec: %w", name, err)
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &s, nil
}

// JSON returns the indented JSON encoding of the spec.
func (s *Spec) JSON() []byte {
	b, _ := json.MarshalIndent(s, "", "  ")
	return append(b, '\n')
}

func unknownType(t string) error {
	return fmt.Errorf("layer type %q is unknown; known types: %s", t, strings.Join(LayerTypes(), ", "))
}

func sortStrings(s []string) { sort.Strings(s) }
