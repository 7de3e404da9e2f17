package strategy

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/search/cost"
)

// Space is a search space: Layers slots, each choosing one of Candidates.
// CandidateSpecs holds, index for index, the family and hyperparameters
// each candidate was built from.
type Space struct {
	Dim            int
	Layers         int
	Candidates     []cost.Candidate
	CandidateSpecs []CandidateSpec
}

// Bounds of a search space, checked before anything is allocated.
const (
	MaxLayers      = 64          // slots per space
	MaxCandidates  = 32          // candidates per slot
	MaxHiddenWidth = 4096        // width of one conditioner hidden layer
	MaxHiddenDepth = 4           // hidden layers per conditioner
	MinBins        = 2           // spline bins K, lower bound
	MaxBins        = 256         // spline bins K, upper bound
	MaxSpaceParams = 100_000_000 // learnable parameters of all slots' candidates together (estimated)
)

// paperBlock lists the candidates that the AutoNF paper wraps as
// [reverse permutation → LU linear → transform]; they are also the
// candidates with a conditioner network (key hidden).
var paperBlock = []string{"maf", "nsf-ar", "affine-coupling", "nsf-coupling"}

// defaultHidden is the conditioners' width when none is given (flow's own
// default for maf, nsf-ar and the couplings).
var defaultHidden = []int{256, 256}

// splineFamilies are the candidates with rational-quadratic splines (key bins).
var splineFamilies = []string{"nsf-ar", "nsf-coupling"}

// CandidateNames lists the candidate families NewSpace and ParseCandidates accept.
func CandidateNames() []string {
	return append(slices.Clone(paperBlock), "planar", "radial", "actnorm", "lu-linear", "permutation")
}

// NewSpace builds a space from candidate names with shared hyperparameters:
// maf, nsf-ar, affine-coupling and nsf-coupling become the paper's blocks
// [reverse → lu-linear → transform] with the given hidden sizes and (for
// the splines) bins; planar, radial and the other layer types stand alone.
// A name may carry its own hyperparameters in the syntax of
// [ParseCandidates] ("nsf-ar:hidden=256x2:bins=16"); NewSpace is
// ParseCandidates of the names joined by commas followed by [NewSpaceFrom].
func NewSpace(dim, layers int, names []string, hidden []int, bins int) (*Space, error) {
	if len(names) > MaxCandidates {
		return nil, fmt.Errorf("search space: %d candidates; at most %d are allowed", len(names), MaxCandidates)
	}
	for i, n := range names {
		if strings.Contains(n, ",") {
			return nil, fmt.Errorf("search space: candidate %d (%s) contains a comma; give one candidate per name", i+1, n)
		}
	}
	cands, err := ParseCandidates(strings.Join(names, ","), hidden, bins)
	if err != nil {
		return nil, err
	}
	return NewSpaceFrom(dim, layers, cands)
}

// NewSpaceFrom builds a space of layers slots from candidate specs (usually
// from [ParseCandidates]). A candidate with an empty Name is named by
// [CandidateSpec.Label], or by its bare family when no other candidate has
// that family; names must be unique. It checks the dimension, the number
// of slots (1..MaxLayers) and candidates (1..MaxCandidates), every
// candidate's hyperparameters and the estimated parameter count of the
// whole space (at most MaxSpaceParams) before building anything, then
// builds each candidate once to validate it.
func NewSpaceFrom(dim, layers int, cands []CandidateSpec) (*Space, error) {
	if dim < 1 {
		return nil, fmt.Errorf("search space: dimension must be positive, got %d", dim)
	}
	cands, err := resolve(layers, cands)
	if err != nil {
		return nil, err
	}
	var total float64
	for _, c := range cands {
		if dim < 2 && strings.Contains(c.Family, "coupling") {
			return nil, fmt.Errorf("search space: candidate %s needs at least 2 dimensions (the data has 1)", c.Name)
		}
		total += float64(layers) * c.estParams(dim)
	}
	if total > MaxSpaceParams {
		return nil, fmt.Errorf("search space: %d slots × %d candidates at dimension %d hold about %.3g parameters (at most %.0e); use fewer slots, fewer candidates or narrower conditioners",
			layers, len(cands), dim, total, float64(MaxSpaceParams))
	}
	s := &Space{Dim: dim, Layers: layers, CandidateSpecs: cands}
	for _, c := range cands {
		spec := c.LayerSpec()
		// Validate by building once.
		if _, err := flow.NewLayer[float32](dim, spec, rand.New(rand.NewPCG(1, 1))); err != nil {
			return nil, fmt.Errorf("search space: candidate %s: %w", c.Name, err)
		}
		s.Candidates = append(s.Candidates, cost.Candidate{Name: c.Name, Spec: spec})
	}
	return s, nil
}

// ValidateSpace checks, without the data, what NewSpaceFrom checks before
// it needs the dimension: the number of slots and candidates, every
// candidate's family and hyperparameters, and unique names. Call it
// before preparing any data.
func ValidateSpace(layers int, cands []CandidateSpec) error {
	_, err := resolve(layers, cands)
	return err
}

// CostCandidates returns the candidates as cost.Price takes them (name and
// layer spec, as a Space built from them holds them in Candidates), so a
// cost source can be checked (cost.Check) before any data is prepared.
// Call it on validated candidates (ParseCandidates or ValidateSpace).
func CostCandidates(cands []CandidateSpec) []cost.Candidate {
	out := make([]cost.Candidate, len(cands))
	for i, c := range cands {
		out[i] = cost.Candidate{Name: c.Name, Spec: c.LayerSpec()}
	}
	return out
}

// resolve checks the slot count and the candidates and fills in their
// defaults (hidden 256×2) and names, on a copy.
func resolve(layers int, cands []CandidateSpec) ([]CandidateSpec, error) {
	if layers < 1 || layers > MaxLayers {
		return nil, fmt.Errorf("search space: the number of layers (slots) must be in 1..%d, got %d", MaxLayers, layers)
	}
	if len(cands) < 1 {
		return nil, fmt.Errorf("search space: no candidates (give one or more of %s)", strings.Join(CandidateNames(), ", "))
	}
	if len(cands) > MaxCandidates {
		return nil, fmt.Errorf("search space: %d candidates; at most %d are allowed", len(cands), MaxCandidates)
	}
	cands = slices.Clone(cands)
	family := map[string]int{}
	for _, c := range cands {
		family[c.Family]++
	}
	names, labels := map[string]int{}, map[string]int{}
	for i, c := range cands {
		c.Hidden = slices.Clone(c.Hidden)
		if len(c.Hidden) == 0 && hasConditioner(c.Family) {
			c.Hidden = slices.Clone(defaultHidden)
		}
		if err := c.check(); err != nil {
			return nil, fmt.Errorf("search space: candidate %d (%s): %w", i+1, c.Family, err)
		}
		if c.Name == "" {
			c.Name = c.Family
			if family[c.Family] > 1 {
				c.Name = c.Label()
			}
		}
		if k, dup := names[c.Name]; dup {
			return nil, fmt.Errorf("search space: candidates %d and %d are both named %q", k+1, i+1, c.Name)
		}
		names[c.Name] = i
		if k, dup := labels[c.Label()]; dup {
			return nil, fmt.Errorf("search space: candidates %d and %d are the same layer (%s)", k+1, i+1, c.Label())
		}
		labels[c.Label()] = i
		cands[i] = c
	}
	return cands, nil
}

// CandidateSpec is one candidate of a search space: a layer family from
// [CandidateNames] and the hyperparameters it is built with, so that a
// space can offer one family at several widths and resolutions
// (nsf-ar[256x2,K16] beside nsf-ar[64x2,K8]) and the search chooses the
// layer type together with its size.
type CandidateSpec struct {
	Family string // maf, nsf-ar, affine-coupling, nsf-coupling, planar, …
	Hidden []int  // conditioner hidden widths (maf, nsf-ar and the couplings only; nil = 256×2, flow's default)
	Bins   int    // spline bins K (nsf-ar and nsf-coupling only; 0 = flow.DefaultSplineBins)
	Name   string // display name, unique within a space (see ParseCandidates)
}

// hasConditioner reports whether the family takes hidden sizes.
func hasConditioner(family string) bool { return slices.Contains(paperBlock, family) }

// isSpline reports whether the family takes bins.
func isSpline(family string) bool { return slices.Contains(splineFamilies, family) }

// Label renders the family and its hyperparameters: "nsf-ar[256x2,K16]",
// "maf[64x2]", "nsf-coupling[128-64,K8]", or the bare family for the
// candidates without hyperparameters ("planar"). Uniform widths print as
// width x depth, others as widths joined by "-".
func (c CandidateSpec) Label() string {
	var parts []string
	if len(c.Hidden) > 0 {
		parts = append(parts, formatHidden(c.Hidden))
	}
	if isSpline(c.Family) {
		parts = append(parts, fmt.Sprintf("K%d", c.bins()))
	}
	if len(parts) == 0 {
		return c.Family
	}
	return c.Family + "[" + strings.Join(parts, ",") + "]"
}

func (c CandidateSpec) bins() int {
	if c.Bins == 0 && isSpline(c.Family) {
		return flow.DefaultSplineBins
	}
	return c.Bins
}

func formatHidden(h []int) string {
	if len(h) > 0 && slices.Equal(h, slices.Repeat(h[:1], len(h))) {
		return fmt.Sprintf("%dx%d", h[0], len(h))
	}
	parts := make([]string, len(h))
	for i, v := range h {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, "-")
}

// LayerSpec returns the candidate's layer: the paper's block [reverse →
// lu-linear → transform] for maf, nsf-ar, affine-coupling and nsf-coupling,
// the bare layer otherwise.
func (c CandidateSpec) LayerSpec() flow.LayerSpec {
	if hasConditioner(c.Family) {
		b := flow.CandidateBlock(c.Family, slices.Clone(c.Hidden), c.bins())
		return flow.LayerSpec{Type: "chain", Layers: b}
	}
	return flow.LayerSpec{Type: c.Family}
}

// check validates the family and the bounds of its hyperparameters.
func (c CandidateSpec) check() error {
	if !slices.Contains(CandidateNames(), c.Family) {
		return fmt.Errorf("unknown family %q; candidates: %s", c.Family, strings.Join(CandidateNames(), ", "))
	}
	if len(c.Hidden) > 0 && !hasConditioner(c.Family) {
		return fmt.Errorf("%s has no conditioner network, so hidden does not apply (hidden applies to %s)", c.Family, strings.Join(paperBlock, ", "))
	}
	if c.Bins != 0 && !isSpline(c.Family) {
		return fmt.Errorf("%s is not a spline, so bins does not apply (bins applies to %s)", c.Family, strings.Join(splineFamilies, ", "))
	}
	if err := checkHidden(c.Hidden); err != nil {
		return err
	}
	if c.Bins != 0 && (c.Bins < MinBins || c.Bins > MaxBins) {
		return fmt.Errorf("bins %d is out of range; want %d..%d", c.Bins, MinBins, MaxBins)
	}
	return nil
}

func checkHidden(h []int) error {
	if len(h) > MaxHiddenDepth {
		return fmt.Errorf("%d hidden layers; at most %d are allowed", len(h), MaxHiddenDepth)
	}
	for _, v := range h {
		if v < 1 || v > MaxHiddenWidth {
			return fmt.Errorf("hidden width %d is out of range; want 1..%d", v, MaxHiddenWidth)
		}
	}
	return nil
}

// estParams bounds the learnable parameters of one instance of the
// candidate at dimension dim from above, without building it (couplings
// are counted as if they conditioned on and transformed all dim columns).
func (c CandidateSpec) estParams(dim int) float64 {
	d := float64(dim)
	mlp := func(in, out float64) float64 {
		h := c.Hidden
		if len(h) == 0 {
			h = defaultHidden
		}
		sum, prev := 0.0, in
		for _, w := range h {
			sum += (prev + 1) * float64(w)
			prev = float64(w)
		}
		return sum + (prev+1)*out
	}
	lu := d*d + d
	p := float64(3*c.bins() - 1) // spline parameters per element
	switch c.Family {
	case "maf", "affine-coupling":
		return lu + mlp(d, 2*d)
	case "nsf-ar", "nsf-coupling":
		return lu + mlp(d, d*p)
	case "lu-linear":
		return lu
	case "permutation":
		return 0
	default: // planar, radial, actnorm
		return 2*d + 2
	}
}

// ParseCandidates parses a candidate list: comma-separated entries, each a
// family from [CandidateNames] optionally followed by ":key=value" pairs,
//
//	nsf-ar:hidden=256x2:bins=16,nsf-ar:hidden=64x2,maf,affine-coupling
//
// Keys: hidden (conditioner widths: "256x2" is two layers of 256, "256" one
// layer, "256-128" one of each; widths 1..MaxHiddenWidth, at most
// MaxHiddenDepth layers; maf, nsf-ar and the couplings only) and bins
// (spline bins K in MinBins..MaxBins; nsf-ar and nsf-coupling only).
// Candidates without a key take defHidden and defBins (0 = flow's default
// of 8 bins; defHidden nil = flow's default 256×2). Both defaults are
// checked against the same bounds.
//
// Display names (CandidateSpec.Name): the bare family ("maf") when the
// entry has no keys and is the only one of its family, otherwise
// [CandidateSpec.Label] ("nsf-ar[256x2,K16]", "nsf-ar[64x2,K8]",
// "maf[64x2]"). Two entries that resolve to the same family and
// hyperparameters are an error, as are more than MaxCandidates entries.
// Errors name the entry by position and text, e.g.
// "candidate 2 (nsf-ar:hiden=64): unknown key hiden; keys: hidden, bins".
func ParseCandidates(list string, defHidden []int, defBins int) ([]CandidateSpec, error) {
	if strings.TrimSpace(list) == "" {
		return nil, fmt.Errorf("search space: no candidates (give one or more of %s)", strings.Join(CandidateNames(), ", "))
	}
	if n := strings.Count(list, ",") + 1; n > MaxCandidates {
		return nil, fmt.Errorf("search space: %d candidates; at most %d are allowed", n, MaxCandidates)
	}
	if err := checkHidden(defHidden); err != nil {
		return nil, fmt.Errorf("search space: default hidden sizes %v: %w", defHidden, err)
	}
	if defBins != 0 && (defBins < MinBins || defBins > MaxBins) {
		return nil, fmt.Errorf("search space: default bins %d is out of range; want %d..%d", defBins, MinBins, MaxBins)
	}
	entries := strings.Split(list, ",")
	out := make([]CandidateSpec, 0, len(entries))
	explicit := make([]bool, 0, len(entries))
	family := map[string]int{}
	for i, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			return nil, fmt.Errorf("search space: candidate %d is empty (a stray comma?)", i+1)
		}
		if fam, _, _ := strings.Cut(e, ":"); !slices.Contains(CandidateNames(), strings.TrimSpace(fam)) {
			return nil, fmt.Errorf("search space: candidate %q is unknown (number %d in the list); candidates: %s",
				strings.TrimSpace(fam), i+1, strings.Join(CandidateNames(), ", "))
		}
		c, keys, err := parseCandidate(e, defHidden, defBins)
		if err != nil {
			return nil, fmt.Errorf("search space: candidate %d (%s): %w", i+1, e, err)
		}
		out = append(out, c)
		explicit = append(explicit, keys)
		family[c.Family]++
	}
	seen := map[string]int{}
	for i := range out {
		c := &out[i]
		lab := c.Label()
		if k, dup := seen[lab]; dup {
			return nil, fmt.Errorf("search space: candidate %d (%s) is the same as candidate %d (%s): both are %s",
				i+1, strings.TrimSpace(entries[i]), k+1, strings.TrimSpace(entries[k]), lab)
		}
		seen[lab] = i
		c.Name = lab
		if !explicit[i] && family[c.Family] == 1 {
			c.Name = c.Family
		}
	}
	return out, nil
}

// parseCandidate parses one entry; keys reports whether it had any.
func parseCandidate(e string, defHidden []int, defBins int) (CandidateSpec, bool, error) {
	fields := strings.Split(e, ":")
	c := CandidateSpec{Family: strings.TrimSpace(fields[0])}
	if !slices.Contains(CandidateNames(), c.Family) {
		return c, false, fmt.Errorf("unknown family %q; candidates: %s", c.Family, strings.Join(CandidateNames(), ", "))
	}
	var hidden []int
	bins, gotHidden, gotBins := 0, false, false
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return c, false, fmt.Errorf("%q is not key=value; write e.g. %s:hidden=64x2", f, c.Family)
		}
		switch k {
		case "hidden":
			if gotHidden {
				return c, false, fmt.Errorf("hidden given twice")
			}
			if !hasConditioner(c.Family) {
				return c, false, fmt.Errorf("%s has no conditioner network, so hidden does not apply (hidden applies to %s)", c.Family, strings.Join(paperBlock, ", "))
			}
			h, err := parseHidden(v)
			if err != nil {
				return c, false, err
			}
			hidden, gotHidden = h, true
		case "bins":
			if gotBins {
				return c, false, fmt.Errorf("bins given twice")
			}
			if !isSpline(c.Family) {
				return c, false, fmt.Errorf("%s is not a spline, so bins does not apply (bins applies to %s)", c.Family, strings.Join(splineFamilies, ", "))
			}
			b, err := strconv.Atoi(v)
			if err != nil || b < MinBins || b > MaxBins {
				return c, false, fmt.Errorf("bins %q: want a whole number in %d..%d", v, MinBins, MaxBins)
			}
			bins, gotBins = b, true
		default:
			return c, false, fmt.Errorf("unknown key %s; keys: hidden, bins", k)
		}
	}
	if hasConditioner(c.Family) {
		c.Hidden = slices.Clone(defHidden)
		if len(c.Hidden) == 0 {
			c.Hidden = slices.Clone(defaultHidden)
		}
		if gotHidden {
			c.Hidden = hidden
		}
	}
	if isSpline(c.Family) {
		c.Bins = defBins
		if gotBins {
			c.Bins = bins
		}
		c.Bins = c.bins()
	}
	return c, gotHidden || gotBins, c.check()
}

// parseHidden parses "256x2", "256" or "256-128" within the bounds,
// checking each number's size before anything is built.
func parseHidden(v string) ([]int, error) {
	bad := fmt.Errorf("hidden %q: want widths like 256x2 (two layers of 256), 256 or 256-128, each a whole number in 1..%d, at most %d layers", v, MaxHiddenWidth, MaxHiddenDepth)
	num := func(s string, hi int) (int, bool) {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		return n, err == nil && n >= 1 && n <= hi
	}
	if w, d, ok := strings.Cut(v, "x"); ok {
		width, ok1 := num(w, MaxHiddenWidth)
		depth, ok2 := num(d, MaxHiddenDepth)
		if !ok1 || !ok2 {
			return nil, bad
		}
		return slices.Repeat([]int{width}, depth), nil
	}
	parts := strings.Split(v, "-")
	if len(parts) > MaxHiddenDepth {
		return nil, bad
	}
	out := make([]int, len(parts))
	for i, p := range parts {
		n, ok := num(p, MaxHiddenWidth)
		if !ok {
			return nil, bad
		}
		out[i] = n
	}
	return out, nil
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
// per slot), with chains flattened into their layers; each layer carries
// its own candidate's hidden sizes and bins.
func (s *Space) Spec(arch []int, name string) *flow.Spec {
	sp := &flow.Spec{Format: flow.SpecFormat, Name: name, Dim: s.Dim, Base: "normal"}
	for _, j := range arch {
		c := s.Candidates[j].Spec
		ls := []flow.LayerSpec{c}
		if c.Type == "chain" {
			ls = c.Layers
		}
		for _, l := range ls {
			l.Hidden = slices.Clone(l.Hidden) // the flow must not share slices with the space
			sp.Layers = append(sp.Layers, l)
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

// presetFor names the hand-crafted preset built of each candidate family's
// transform ("" for planar and radial: planar-k and radial-k, k = Layers).
var presetFor = map[string]string{"maf": "maf5", "nsf-ar": "nsf-ar-8", "affine-coupling": "realnvp5", "nsf-coupling": "nsf-c-8"}

// RefPresets returns the hand-crafted presets (flow.PresetSpec names) to
// compare a search with: those whose transform family is among the
// candidates, once per family however many sizes of it the space offers —
// maf5 for maf, nsf-ar-8 for nsf-ar, realnvp5 for affine-coupling, nsf-c-8
// for nsf-coupling, and planar-k / radial-k with k = Layers for planar and
// radial.
func (s *Space) RefPresets() []string {
	var out []string
	for _, c := range s.CandidateSpecs {
		var name string
		switch {
		case presetFor[c.Family] != "":
			name = presetFor[c.Family]
		case c.Family == "planar" || c.Family == "radial":
			name = fmt.Sprintf("%s-%d", c.Family, s.Layers)
		}
		if name != "" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// firstOf returns the first candidate of a family, if any.
func (s *Space) firstOf(family string) (CandidateSpec, bool) {
	for _, c := range s.CandidateSpecs {
		if c.Family == family {
			return c, true
		}
	}
	return CandidateSpec{}, false
}

// PresetSpec builds the preset name at the space's dimension with the
// candidates' conditioner sizes, so that a preset and the found
// architectures differ in their layers only (the presets' own 2×256 is the
// paper's MINIBOONE size; a search at --hidden 64,64 is compared with
// presets at 64,64). Each layer of a family among the candidates takes the
// hidden sizes and bins of the first candidate of that family (nsf-ar-8 in
// a space "nsf-ar:hidden=256x2:bins=16,nsf-ar:hidden=64x2" is built at
// 256×2, K=16); the other layers take hidden and bins (when given: nil and
// 0 keep the preset's own sizes).
func (s *Space) PresetSpec(name string, hidden []int, bins int) (*flow.Spec, error) {
	sp, err := flow.PresetSpec(name, s.Dim)
	if err != nil {
		return nil, err
	}
	for i := range sp.Layers {
		l := &sp.Layers[i]
		h, b := hidden, bins
		if c, ok := s.firstOf(l.Type); ok {
			if len(c.Hidden) > 0 {
				h = c.Hidden
			}
			if c.Bins > 0 {
				b = c.Bins
			}
		}
		if len(l.Hidden) > 0 && len(h) > 0 {
			l.Hidden = slices.Clone(h)
		}
		if l.Bins > 0 && b > 0 {
			l.Bins = b
		}
	}
	return sp, nil
}

// PresetCost prices a preset with the search's cost table (one normalised
// cost per candidate, affine coupling = 1): the sum over the preset's
// layers of the matching candidate's cost. A layer matches the candidate
// of its family with the same hidden sizes and bins; the reverse
// permutation and LU linear layers that open the paper's blocks [reverse →
// lu-linear → transform] are part of that block's cost, so a preset built
// of the paper's blocks (nsf-ar-8, nsf-c-8) maps 1:1 onto candidates.
// maf5 and realnvp5 have no LU layers; each of their layers is priced as
// the corresponding block, i.e. slightly high (by the share of the reverse
// and LU layers). Layers that match no candidate (another type, or another
// size) are priced by extra at their own sizes: it gets them as candidates
// (the paper's block of the layer's family, hidden sizes and bins; a
// conditioner layer without hidden sizes takes hidden, a spline layer
// without bins takes bins) and returns their normalised costs on the same
// scale; with extra nil they are an error. It returns the cost and the
// count of layers priced as each candidate, keyed by the candidate's name
// (for the unmatched ones: the bare type, or its label when a candidate
// has that family at another size or the preset has several sizes of it).
func (s *Space) PresetCost(sp *flow.Spec, costs []float64, hidden []int, bins int, extra func([]cost.Candidate) ([]float64, error)) (float64, map[string]int, error) {
	if len(costs) != len(s.Candidates) {
		return 0, nil, fmt.Errorf("preset cost: %d costs for %d candidates", len(costs), len(s.Candidates))
	}
	price := map[string]float64{}
	key := map[string]string{} // label → counts key
	for j, c := range s.CandidateSpecs {
		price[c.Label()] = costs[j]
		key[c.Label()] = c.Name
	}
	var missing []CandidateSpec
	var labels []string // a label per preset layer ("" = part of a block)
	ls := sp.Layers
	for i, l := range ls {
		if (l.Type == "reverse" || l.Type == "permutation" || l.Type == "lu-linear") && opensBlock(ls, i) {
			labels = append(labels, "")
			continue
		}
		c := CandidateSpec{Family: l.Type}
		if hasConditioner(l.Type) {
			c.Hidden = l.Hidden
			if len(c.Hidden) == 0 {
				c.Hidden = hidden
			}
		}
		if isSpline(l.Type) {
			c.Bins = l.Bins
			if c.Bins == 0 {
				c.Bins = bins
			}
		}
		lab := c.Label()
		labels = append(labels, lab)
		if _, ok := price[lab]; !ok && !slices.ContainsFunc(missing, func(m CandidateSpec) bool { return m.Label() == lab }) {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		var names []string
		for _, m := range missing {
			names = append(names, m.Label())
		}
		if extra == nil {
			return 0, nil, fmt.Errorf("preset %s: layer(s) %s match no candidate", sp.Name, strings.Join(names, ", "))
		}
		perType := map[string]int{}
		for _, m := range missing {
			perType[m.Family]++
		}
		var cands []cost.Candidate
		for k, m := range missing {
			m.Name = m.Family
			if _, has := s.firstOf(m.Family); has || perType[m.Family] > 1 {
				m.Name = names[k]
			}
			es, err := NewSpaceFrom(s.Dim, 1, []CandidateSpec{m})
			if err != nil {
				return 0, nil, fmt.Errorf("preset %s: pricing %s: %w", sp.Name, names[k], err)
			}
			cands = append(cands, es.Candidates[0])
			key[names[k]] = m.Name
		}
		ec, err := extra(cands)
		if err != nil {
			return 0, nil, fmt.Errorf("preset %s: %w", sp.Name, err)
		}
		if len(ec) != len(cands) {
			return 0, nil, fmt.Errorf("preset %s: %d extra costs for %d layer types", sp.Name, len(ec), len(cands))
		}
		for k := range missing {
			price[names[k]] = ec[k]
		}
	}
	counts := map[string]int{}
	for _, lab := range labels {
		if lab != "" {
			counts[lab]++
		}
	}
	total := 0.0
	out := map[string]int{}
	for _, lab := range slices.Sorted(maps.Keys(counts)) {
		total += float64(counts[lab]) * price[lab]
		out[key[lab]] += counts[lab]
	}
	return total, out, nil
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
