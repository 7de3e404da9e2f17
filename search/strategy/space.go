// Package strategy drives AutoNF searches end to end: it builds the search
// space from candidate names, runs the block-wise strategies of the paper
// (grow, block) or a whole-flow search with the sample estimator, derives
// the discrete architecture, and provides the yardsticks (exhaustive and
// random search) and λ sweeps (Pareto fronts).
package strategy

import (
	"fmt"
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
