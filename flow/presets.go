package flow

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Preset is a named, documented hand-crafted architecture.
type Preset struct {
	Name   string
	Doc    string // definition and source
	layers func(dim int) []LayerSpec
}

var hidden2x256 = []int{256, 256}

// presets are the hand-crafted baselines of the AutoNF paper and classic
// flows. The hidden sizes (2×256) follow the paper's MINIBOONE protocol.
var presets = []Preset{
	{"maf5", "5 × MAF (MADE 2×256, ReLU), autoregressive order reversed between layers. Papamakarios et al. 2017.", mafN(5)},
	{"maf10", "10 × MAF (MADE 2×256, ReLU), order reversed between layers. Papamakarios et al. 2017.", mafN(10)},
	{"realnvp5", "5 × affine coupling (MLP 2×256, ReLU), masks alternating even/odd. Dinh et al. 2017.", realNVPN(5)},
	{"realnvp10", "10 × affine coupling (MLP 2×256, ReLU), masks alternating even/odd. Dinh et al. 2017.", realNVPN(10)},
	{"nsf-ar-8", "8 × [reverse permutation → LU linear → RQ-spline autoregressive (MADE 2×256, K=8, B=3)]. Durkan et al. 2019; the AutoNF paper's hand-crafted NSF-AR baseline.", blockN(8, "nsf-ar")},
	{"nsf-c-8", "8 × [reverse permutation → LU linear → RQ-spline coupling (MLP 2×256, K=8, B=3)]. Durkan et al. 2019; the AutoNF paper's hand-crafted NSF-C baseline.", blockN(8, "nsf-coupling")},
	{"planar-k", "k planar layers (tanh), e.g. planar-16. Rezende & Mohamed 2015; the AutoNF toy study's candidate.", nil},
	{"radial-k", "k radial layers, e.g. radial-16. Rezende & Mohamed 2015; the AutoNF toy study's candidate.", nil},
}

func mafN(n int) func(int) []LayerSpec {
	return func(int) []LayerSpec {
		var ls []LayerSpec
		for i := 0; i < n; i++ {
			order := "natural"
			if i%2 == 1 {
				order = "reversed"
			}
			ls = append(ls, LayerSpec{Type: "maf", Hidden: slices.Clone(hidden2x256), Order: order})
		}
		return ls
	}
}

func realNVPN(n int) func(int) []LayerSpec {
	return func(int) []LayerSpec {
		var ls []LayerSpec
		for i := 0; i < n; i++ {
			mask := "even"
			if i%2 == 1 {
				mask = "odd"
			}
			ls = append(ls, LayerSpec{Type: "affine-coupling", Hidden: slices.Clone(hidden2x256), Mask: mask})
		}
		return ls
	}
}

// CandidateBlock is the AutoNF paper's unit: a reverse permutation and an LU
// linear layer before the nonlinear transform typ.
func CandidateBlock(typ string, hidden []int, bins int) []LayerSpec {
	t := LayerSpec{Type: typ, Hidden: slices.Clone(hidden)}
	if strings.HasPrefix(typ, "nsf") {
		t.Bins = bins
	}
	return []LayerSpec{{Type: "reverse"}, {Type: "lu-linear"}, t}
}

func blockN(n int, typ string) func(int) []LayerSpec {
	return func(int) []LayerSpec {
		var ls []LayerSpec
		for i := 0; i < n; i++ {
			ls = append(ls, CandidateBlock(typ, hidden2x256, 8)...)
		}
		return ls
	}
}

// Presets lists the presets in a stable order.
func Presets() []Preset { return presets }

// PresetSpec returns the spec of a preset for data of dimension dim.
// "planar-k" and "radial-k" take the number of layers k in the name.
func PresetSpec(name string, dim int) (*Spec, error) {
	if dim <= 0 {
		return nil, fmt.Errorf("preset %s: dimension must be positive, got %d", name, dim)
	}
	for _, p := range presets {
		if p.Name == name && p.layers != nil {
			return &Spec{Format: SpecFormat, Name: name, Dim: dim, Base: "normal", Layers: p.layers(dim)}, nil
		}
	}
	for _, typ := range []string{"planar", "radial"} {
		if rest, ok := strings.CutPrefix(name, typ+"-"); ok {
			k, err := strconv.Atoi(rest)
			if err != nil || k < 1 || k > 1000 {
				return nil, fmt.Errorf("preset %q: want %s-K with K a number of layers in 1..1000", name, typ)
			}
			ls := make([]LayerSpec, k)
			for i := range ls {
				ls[i] = LayerSpec{Type: typ}
			}
			return &Spec{Format: SpecFormat, Name: name, Dim: dim, Base: "normal", Layers: ls}, nil
		}
	}
	names := make([]string, len(presets))
	for i, p := range presets {
		names[i] = p.Name
	}
	sort.Strings(names)
	return nil, fmt.Errorf("preset %q is unknown; presets: %s", name, strings.Join(names, ", "))
}
