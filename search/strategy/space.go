package strategy

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/search/cost"
)

// Space is a search space: Layers slots, each choosing one of Candidates.
type Space struct {
	Dim        int
	Layers     int
	Candidates []cost.Candidate
}

// paperBlock lists the candidates that the AutoNF paper wraps as
// [reverse permutation → LU linear → transform].
var paperBlock = []string{"maf", "nsf-ar", "affine-coupling", "nsf-coupling"}

// CandidateNames lists the names NewSpace accepts.
func CandidateNames() []string {
	return append(slices.Clone(paperBlock), "planar", "radial", "actnorm", "lu-linear", "permutation")
}

// NewSpace builds a space from candidate names. maf, nsf-ar,
// affine-coupling and nsf-coupling become the paper's blocks
// [reverse → lu-linear → transform] with the given hidden sizes and bins;
// planar, radial and the other layer types stand alone.
func NewSpace(dim, layers int, names []string, hidden []int, bins int) (*Space, error) {
	if dim < 1 {
		return nil, fmt.Errorf("search space: dimension must be positive, got %d", dim)
	}
	if layers < 1 {
		return nil, fmt.Errorf("search space: --layers must be at least 1, got %d", layers)
	}
	if len(names) < 1 {
		return nil, fmt.Errorf("search space: no candidates (give --candidates, from %s)", strings.Join(CandidateNames(), ", "))
	}
	s := &Space{Dim: dim, Layers: layers}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			return nil, fmt.Errorf("search space: candidate %q given twice", n)
		}
		seen[n] = true
		var spec flow.LayerSpec
		switch {
		case slices.Contains(paperBlock, n):
			if dim < 2 && strings.Contains(n, "coupling") {
				return nil, fmt.Errorf("search space: %s needs at least 2 dimensions", n)
			}
			spec = flow.LayerSpec{Type: "chain", Layers: flow.CandidateBlock(n, hidden, bins)}
		case slices.Contains(CandidateNames(), n):
			spec = flow.LayerSpec{Type: n}
		default:
			return nil, fmt.Errorf("search space: candidate %q is unknown; candidates: %s", n, strings.Join(CandidateNames(), ", "))
		}
		// Validate by building once.
		if _, err := flow.NewLayer[float32](dim, spec, rand.New(rand.NewPCG(1, 1))); err != nil {
			return nil, fmt.Errorf("search space: candidate %s: %w", n, err)
		}
		s.Candidates = append(s.Candidates, cost.Candidate{Name: n, Spec: spec})
	}
	return s, nil
}

// Names returns the candidate names.
func (s *Space) Names() []string {
	out := make([]string, len(s.Candidates))
	for i, c := range s.Candidates {
		out[i] = c.Name
	}
	return out
}

// Spec returns the ordinary flow of an architecture (one candidate index
// per slot), with chains flattened into their layers.
func (s *Space) Spec(arch []int, name string) *flow.Spec {
	sp := &flow.Spec{Format: flow.SpecFormat, Name: name, Dim: s.Dim, Base: "normal"}
	for _, j := range arch {
		c := s.Candidates[j].Spec
		if c.Type == "chain" {
			sp.Layers = append(sp.Layers, c.Layers...)
		} else {
			sp.Layers = append(sp.Layers, c)
		}
	}
	return sp
}

// ArchString renders an architecture as candidate names.
func (s *Space) ArchString(arch []int) string {
	parts := make([]string, len(arch))
	for i, j := range arch {
		parts[i] = s.Candidates[j].Name
	}
	return strings.Join(parts, " → ")
}

// NumArchs is m^n (saturating at a large value).
func (s *Space) NumArchs() int {
	n := 1
	for i := 0; i < s.Layers; i++ {
		n *= len(s.Candidates)
		if n > 1<<30 {
			return 1 << 30
		}
	}
	return n
}

// AllArchs enumerates every architecture (for exhaustive search).
func (s *Space) AllArchs() [][]int {
	var out [][]int
	arch := make([]int, s.Layers)
	var rec func(i int)
	rec = func(i int) {
		if i == s.Layers {
			out = append(out, slices.Clone(arch))
			return
		}
		for j := range s.Candidates {
			arch[i] = j
			rec(i + 1)
		}
	}
	rec(0)
	return out
}

// presetFor names the hand-crafted preset built of each candidate's
// transform ("" for planar and radial: planar-k and radial-k, k = Layers).
var presetFor = map[string]string{"maf": "maf5", "nsf-ar": "nsf-ar-8", "affine-coupling": "realnvp5", "nsf-coupling": "nsf-c-8"}

// RefPresets returns the hand-crafted presets (flow.PresetSpec names) to
// compare a search with: those whose transform family is among the
// candidates — maf5 for maf, nsf-ar-8 for nsf-ar, realnvp5 for
// affine-coupling, nsf-c-8 for nsf-coupling, and planar-k / radial-k with
// k = Layers for planar and radial.
func (s *Space) RefPresets() []string {
	var out []string
	for _, c := range s.Candidates {
		switch {
		case presetFor[c.Name] != "":
			out = append(out, presetFor[c.Name])
		case c.Name == "planar" || c.Name == "radial":
			out = append(out, fmt.Sprintf("%s-%d", c.Name, s.Layers))
		}
	}
	return out
}

// PresetSpec builds the preset name at the space's dimension with the
// candidates' conditioner sizes: every layer that has hidden sizes gets
// hidden, and every spline layer gets bins, so that a preset and the found
// architectures differ in their layers only (the presets' own 2×256 is the
// paper's MINIBOONE size; a search at --hidden 64,64 is compared with
// presets at 64,64).
func (s *Space) PresetSpec(name string, hidden []int, bins int) (*flow.Spec, error) {
	sp, err := flow.PresetSpec(name, s.Dim)
	if err != nil {
		return nil, err
	}
	for i := range sp.Layers {
		if len(sp.Layers[i].Hidden) > 0 && len(hidden) > 0 {
			sp.Layers[i].Hidden = slices.Clone(hidden)
		}
		if sp.Layers[i].Bins > 0 && bins > 0 {
			sp.Layers[i].Bins = bins
		}
	}
	return sp, nil
}

// PresetCost prices a preset with the search's cost table costs (one
// normalised cost per candidate, affine coupling = 1): the sum over the
// preset's layers of the matching candidate's cost. A layer matches the
// candidate of the same name; the reverse permutation and LU linear layers
// that open the paper's blocks [reverse → lu-linear → transform] are part
// of that block's cost, so a preset built of the paper's blocks (nsf-ar-8,
// nsf-c-8) maps 1:1 onto candidates. maf5 and realnvp5 have no LU layers;
// each of their layers is priced as the corresponding block, i.e. slightly
// high (by the share of the reverse and LU layers). Layers of a type that
// is not a candidate are priced by extra (given the candidates to price, it
// returns their normalised costs on the same scale); with extra nil they
// are an error. It returns the cost and the count of each priced type.
func (s *Space) PresetCost(sp *flow.Spec, costs []float64, hidden []int, bins int, extra func([]cost.Candidate) ([]float64, error)) (float64, map[string]int, error) {
	if len(costs) != len(s.Candidates) {
		return 0, nil, fmt.Errorf("preset cost: %d costs for %d candidates", len(costs), len(s.Candidates))
	}
	price := map[string]float64{}
	for j, c := range s.Candidates {
		price[c.Name] = costs[j]
	}
	counts := map[string]int{}
	var missing []string
	ls := sp.Layers
	for i, l := range ls {
		if (l.Type == "reverse" || l.Type == "permutation" || l.Type == "lu-linear") && opensBlock(ls, i) {
			continue
		}
		if _, ok := price[l.Type]; !ok && !slices.Contains(missing, l.Type) {
			missing = append(missing, l.Type)
		}
		counts[l.Type]++
	}
	if len(missing) > 0 {
		if extra == nil {
			return 0, nil, fmt.Errorf("preset %s: layer type(s) %s are not among the candidates", sp.Name, strings.Join(missing, ", "))
		}
		var cands []cost.Candidate
		for _, typ := range missing {
			es, err := NewSpace(s.Dim, 1, []string{typ}, hidden, bins)
			if err != nil {
				return 0, nil, fmt.Errorf("preset %s: pricing %s: %w", sp.Name, typ, err)
			}
			cands = append(cands, es.Candidates[0])
		}
		ec, err := extra(cands)
		if err != nil {
			return 0, nil, fmt.Errorf("preset %s: %w", sp.Name, err)
		}
		if len(ec) != len(cands) {
			return 0, nil, fmt.Errorf("preset %s: %d extra costs for %d layer types", sp.Name, len(ec), len(cands))
		}
		for k, typ := range missing {
			price[typ] = ec[k]
		}
	}
	total := 0.0
	for _, typ := range slices.Sorted(maps.Keys(counts)) {
		total += float64(counts[typ]) * price[typ]
	}
	return total, counts, nil
}

// opensBlock reports whether layer i (a permutation or LU linear layer)
// is followed, through further such layers, by one of the paper's block
// transforms.
func opensBlock(ls []flow.LayerSpec, i int) bool {
	for k := i + 1; k < len(ls); k++ {
		switch t := ls[k].Type; {
		case t == "reverse" || t == "permutation" || t == "lu-linear":
			continue
		default:
			return slices.Contains(paperBlock, t)
		}
	}
	return false
}
