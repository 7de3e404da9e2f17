package search

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/tensor"
)

// LossKind selects the supernet objective.
type LossKind int

const (
	// Upper is L^U = −mean_x Σ_k W_k log p_k(x), the Jensen upper bound
	// whose minimiser over the weights is one-hot (the AutoNF objective).
	Upper LossKind = iota
	// Original is L^O = −mean_x log Σ_k W_k p_k(x), the NLL of the mixture.
	Original
)

// String returns "upper" or "original".
func (k LossKind) String() string {
	switch k {
	case Upper:
		return "upper"
	case Original:
		return "original"
	}
	return fmt.Sprintf("LossKind(%d)", int(k))
}

// ParseLossKind parses "upper" (also "U") or "original" (also "O").
func ParseLossKind(s string) (LossKind, error) {
	switch strings.ToLower(s) {
	case "upper", "u":
		return Upper, nil
	case "original", "o":
		return Original, nil
	}
	return 0, fmt.Errorf("search: loss %q is unknown (want upper or original)", s)
}

// Estimator selects how the supernet loss and its gradients are computed.
type Estimator int

const (
	// Exact evaluates every path with the prefix-sharing tree.
	Exact Estimator = iota
	// Sampled draws one path per data row (L^U only); see
	// [Supernet.SampleLoss].
	Sampled
)

// String returns "exact" or "sample".
func (e Estimator) String() string {
	switch e {
	case Exact:
		return "exact"
	case Sampled:
		return "sample"
	}
	return fmt.Sprintf("Estimator(%d)", int(e))
}

// ParseEstimator parses "exact" or "sample".
func ParseEstimator(s string) (Estimator, error) {
	switch strings.ToLower(s) {
	case "exact":
		return Exact, nil
	case "sample", "sampled":
		return Sampled, nil
	}
	return 0, fmt.Errorf("search: estimator %q is unknown (want exact or sample)", s)
}

// MaxPaths bounds the number of paths Π m_i the exact estimator accepts (its
// memory and time grow with it); use the sample estimator or block-wise
// search beyond.
const MaxPaths = 1 << 16

// Losses are the two supernet objectives on one batch.
type Losses struct {
	Upper    float64 // L^U
	Original float64 // L^O
}

// Of returns the loss of the given kind.
func (l Losses) Of(k LossKind) float64 {
	if k == Original {
		return l.Original
	}
	return l.Upper
}

// Supernet is the AutoNF search space: n slots of candidate layers with
// architecture logits. Fields are set by [New]; the layer lists must not be
// changed afterwards (Alpha may be written freely). A Supernet owns its
// workspaces and is not safe for concurrent use.
type Supernet[T flow.Float] struct {
	Dim    int
	Prefix []flow.Layer[T]   // fixed layers before the slots (may be empty)
	Slots  [][]flow.Layer[T] // Slots[i][j]: candidate j of slot i
	Suffix []flow.Layer[T]   // fixed layers after the slots (may be empty)

	// Alpha[i][j] is the logit of candidate j at slot i; AlphaGrad is its
	// gradient (Evaluate, SampleLoss and AddCostGrad add into it). Both are
	// views of the flat AlphaParam.
	Alpha, AlphaGrad [][]float64

	// Temperature τ of the weights, w_i = softmax(α_i/τ) (0 means 1). The
	// losses' α gradients include the factor 1/τ. A schedule annealing τ
	// towards 0 drives the weights to one-hot without changing the argmax
	// of α (see strategy.Options.TempEnd).
	Temperature float64

	// ThetaUniform ε ∈ [0, 1] mixes uniform weights into the paths that the
	// sample estimator draws for a θ-only gradient (SampleLoss with
	// thetaGrad and not alphaGrad): slot i's candidates are drawn from
	// (1 − ε)·w_i + ε/m_i, so every candidate gets at least a fraction ε/m_i
	// of each θ batch, whatever its weight. Without it a candidate of
	// weight w trains on ≈ w·B rows per step and falls behind the exact
	// estimator's training (which Adam's per-parameter normalisation makes
	// independent of w), a rich-get-richer bias on α. The α gradient is not
	// affected (its paths are always drawn from w); the θ objective becomes
	// the mean NLL under the mixed path distribution instead of L^U.
	ThetaUniform float64

	// PairedBaseline makes SampleLoss use each row's twin as its baseline
	// (the batch must hold every row twice; see SampleLoss).
	PairedBaseline bool

	// Workers is the number of goroutines a loss spreads its independent
	// work over: the tree nodes of one level (Evaluate) or the candidates
	// of one slot (SampleLoss). 0 means GOMAXPROCS; 1 runs serially and
	// leaves large matrix products to split over the cores instead. The
	// losses and gradients are bit-identical for every value: what the
	// workers share is reduced in a fixed order. Supernets with BatchNorm
	// layers always run serially.
	Workers int

	alphaParam *flow.Param[float64]
	pre, suf   flow.Layer[T] // chains of Prefix / Suffix, nil when empty
	logw       [][]float64   // log-softmax of Alpha (refreshed by each loss)
	w          [][]float64   // softmax of Alpha
	tr         *tree[T]      // exact-estimator state, built on first use
	sm         *sampler[T]   // sample-estimator state, built on first use
	rng        *rand.Rand
	pl         *pool // the workers, made on first use
	batchNorm  int8  // 1: some layer has BatchNorm, −1: none, 0: not checked
}

// New assembles a supernet over data of dimension dim. slots[i] lists the
// candidates of slot i (at least one slot, at least one candidate each);
// prefix and suffix are fixed layers applied before and after the slots
// (nil for none). Every layer must have dimension dim, and no layer object
// may appear twice in the same path (a candidate's op is per tree node,
// but a layer's parameters are shared by all of its uses). α starts at 0
// (uniform weights); the sample estimator's generator is seeded with 1.
func New[T flow.Float](dim int, prefix []flow.Layer[T], slots [][]flow.Layer[T], suffix []flow.Layer[T]) (*Supernet[T], error) {
	if dim < 1 {
		return nil, fmt.Errorf("search: dim must be positive, got %d", dim)
	}
	if len(slots) == 0 {
		return nil, errors.New("search: the supernet needs at least one slot")
	}
	check := func(where string, l flow.Layer[T]) error {
		if l == nil {
			return fmt.Errorf("search: %s is nil", where)
		}
		if l.Dim() != dim {
			return fmt.Errorf("search: %s (%s) has dimension %d, want %d", where, l.Spec().Type, l.Dim(), dim)
		}
		return nil
	}
	for i, l := range prefix {
		if err := check(fmt.Sprintf("prefix layer %d", i), l); err != nil {
			return nil, err
		}
	}
	for i, l := range suffix {
		if err := check(fmt.Sprintf("suffix layer %d", i), l); err != nil {
			return nil, err
		}
	}
	total := 0
	for i, c := range slots {
		if len(c) == 0 {
			return nil, fmt.Errorf("search: slot %d has no candidates", i)
		}
		for j, l := range c {
			if err := check(fmt.Sprintf("slot %d candidate %d", i, j), l); err != nil {
				return nil, err
			}
		}
		total += len(c)
	}
	s := &Supernet[T]{Dim: dim, Prefix: prefix, Slots: slots, Suffix: suffix}
	s.alphaParam = flow.NewParam[float64]("alpha", total)
	off := 0
	for _, c := range slots {
		m := len(c)
		s.Alpha = append(s.Alpha, s.alphaParam.Value[off:off+m:off+m])
		s.AlphaGrad = append(s.AlphaGrad, s.alphaParam.Grad[off:off+m:off+m])
		s.logw = append(s.logw, make([]float64, m))
		s.w = append(s.w, make([]float64, m))
		off += m
	}
	if len(prefix) > 0 {
		s.pre = flow.NewChain(prefix...)
	}
	if len(suffix) > 0 {
		s.suf = flow.NewChain(suffix...)
	}
	s.rng = rand.New(rand.NewPCG(1, 0x5ea4c4))
	return s, nil
}

// NewFromSpecs builds a supernet whose candidate j at slot i is a fresh
// layer built from cands[i][j] (each with its own parameters, initialised
// from rng). Use [Uniform] for the same candidate list at every slot.
func NewFromSpecs[T flow.Float](dim int, cands [][]flow.LayerSpec, rng *rand.Rand) (*Supernet[T], error) {
	slots := make([][]flow.Layer[T], len(cands))
	for i, c := range cands {
		for j, spec := range c {
			l, err := flow.NewLayer[T](dim, spec, rng)
			if err != nil {
				return nil, fmt.Errorf("search: slot %d candidate %d (%s): %w", i, j, spec.Type, err)
			}
			slots[i] = append(slots[i], l)
		}
	}
	return New(dim, nil, slots, nil)
}

// Uniform repeats one candidate list for n slots (the specs are shared; the
// layers built from them are not).
func Uniform(n int, cands []flow.LayerSpec) [][]flow.LayerSpec {
	out := make([][]flow.LayerSpec, n)
	for i := range out {
		out[i] = cands
	}
	return out
}

// NumSlots is n.
func (s *Supernet[T]) NumSlots() int { return len(s.Slots) }

// NumPaths is Π_i m_i, the number of architectures in the space.
func (s *Supernet[T]) NumPaths() int {
	k := 1
	for _, c := range s.Slots {
		k *= len(c)
		if k > 1<<40 {
			return 1 << 40
		}
	}
	return k
}

// PathArch decodes path index k into its candidate per slot. Paths are
// numbered in mixed radix with slot 0 most significant (the order of
// [Supernet.PathLogProbs]).
func (s *Supernet[T]) PathArch(k int) []int {
	n := len(s.Slots)
	a := make([]int, n)
	for i := n - 1; i >= 0; i-- {
		m := len(s.Slots[i])
		a[i] = k % m
		k /= m
	}
	return a
}

// PathIndex is the inverse of PathArch.
func (s *Supernet[T]) PathIndex(arch []int) int {
	k := 0
	for i, j := range arch {
		k = k*len(s.Slots[i]) + j
	}
	return k
}

// AlphaParam exposes α as one flat parameter (slot-major) for an optimiser;
// its Value and Grad share storage with Alpha and AlphaGrad.
func (s *Supernet[T]) AlphaParam() *flow.Param[float64] { return s.alphaParam }

// Params lists the learnable layer parameters θ (prefix, candidates,
// suffix), each once.
func (s *Supernet[T]) Params() []*flow.Param[T] {
	var ps []*flow.Param[T]
	seen := map[*T]bool{}
	add := func(l flow.Layer[T]) {
		for _, p := range l.Params() {
			if len(p.Value) > 0 {
				if seen[&p.Value[0]] {
					continue
				}
				seen[&p.Value[0]] = true
			}
			ps = append(ps, p)
		}
	}
	for _, l := range s.Prefix {
		add(l)
	}
	for _, c := range s.Slots {
		for _, l := range c {
			add(l)
		}
	}
	for _, l := range s.Suffix {
		add(l)
	}
	return ps
}

// ZeroGrad clears the θ gradients and AlphaGrad.
func (s *Supernet[T]) ZeroGrad() {
	s.ZeroThetaGrad()
	clear(s.alphaParam.Grad)
}

// ZeroThetaGrad clears the θ gradients only.
func (s *Supernet[T]) ZeroThetaGrad() {
	for _, p := range s.Params() {
		clear(p.Grad)
	}
}

// SetTraining switches every layer with train/eval behaviour (BatchNorm).
func (s *Supernet[T]) SetTraining(training bool) {
	set := func(l flow.Layer[T]) {
		if t, ok := l.(flow.TrainingSetter); ok {
			t.SetTraining(training)
		}
	}
	for _, l := range s.Prefix {
		set(l)
	}
	for _, c := range s.Slots {
		for _, l := range c {
			set(l)
		}
	}
	for _, l := range s.Suffix {
		set(l)
	}
}

// InitFromData runs the data-dependent initialisation of the layers that
// have one (ActNorm), like flow.Flow.InitFromData: each prefix layer is
// initialised on its input, every candidate of slot i on the output of the
// argmax path through slots 0..i−1, and the suffix on the argmax path's
// output.
func (s *Supernet[T]) InitFromData(x *tensor.Mat[T]) error {
	if err := s.checkInput(x); err != nil {
		return err
	}
	cur := x
	ld := make([]T, x.Rows)
	apply := func(l flow.Layer[T], init bool) {
		if di, ok := l.(flow.DataInitializer[T]); ok && init {
			di.InitFromData(cur)
		}
		out := tensor.New[T](x.Rows, s.Dim)
		flow.NewOp(l).Forward(cur, out, ld)
		cur = out
	}
	for _, l := range s.Prefix {
		apply(l, true)
	}
	arch := s.Argmax()
	for i, c := range s.Slots {
		for j, l := range c {
			if di, ok := l.(flow.DataInitializer[T]); ok && j != arch[i] {
				di.InitFromData(cur)
			}
		}
		apply(c[arch[i]], true)
	}
	for _, l := range s.Suffix {
		apply(l, true)
	}
	return nil
}

// Seed reseeds the generator of the sample estimator.
func (s *Supernet[T]) Seed(seed uint64) { s.rng = rand.New(rand.NewPCG(seed, 0x5ea4c4)) }

// invTemp is 1/τ.
func (s *Supernet[T]) invTemp() float64 {
	if s.Temperature <= 0 {
		return 1
	}
	return 1 / s.Temperature
}

// refreshWeights recomputes log w and w from Alpha/τ (log-softmax, stable).
func (s *Supernet[T]) refreshWeights() {
	it := s.invTemp()
	for i, a := range s.Alpha {
		mx := math.Inf(-1)
		for _, v := range a {
			mx = math.Max(mx, v*it)
		}
		sum := 0.0
		for _, v := range a {
			sum += math.Exp(v*it - mx)
		}
		lse := mx + math.Log(sum)
		for j, v := range a {
			s.logw[i][j] = v*it - lse
			s.w[i][j] = math.Exp(v*it - lse)
		}
	}
}

// Weights returns w_i = softmax(α_i/τ) for every slot (a fresh copy).
func (s *Supernet[T]) Weights() [][]float64 {
	s.refreshWeights()
	out := make([][]float64, len(s.w))
	for i, w := range s.w {
		out[i] = append([]float64(nil), w...)
	}
	return out
}

// Argmax returns the candidate with the largest logit at each slot (the
// first on ties): the derived architecture.
func (s *Supernet[T]) Argmax() []int {
	a := make([]int, len(s.Alpha))
	for i, al := range s.Alpha {
		for j, v := range al {
			if v > al[a[i]] {
				a[i] = j
			}
		}
	}
	return a
}

// SetOneHot sets α so that slot i selects arch[i] with weight exactly 1 in
// float64 (logit margin 1e4: the other weights underflow to 0).
func (s *Supernet[T]) SetOneHot(arch []int) {
	for i, a := range s.Alpha {
		for j := range a {
			a[j] = -1e4
		}
		a[arch[i]] = 0
	}
}

// Layers returns the layers of the architecture arch (prefix, the chosen
// candidate of each slot, suffix): the same layer objects, sharing their
// parameters with the supernet.
func (s *Supernet[T]) Layers(arch []int) []flow.Layer[T] {
	ls := append([]flow.Layer[T](nil), s.Prefix...)
	for i, j := range arch {
		ls = append(ls, s.Slots[i][j])
	}
	return append(ls, s.Suffix...)
}

// Derive returns the layers of the argmax architecture (see Layers).
func (s *Supernet[T]) Derive() []flow.Layer[T] { return s.Layers(s.Argmax()) }

// DeriveSpec returns the architecture spec of the argmax path (standard
// normal base), from which flow.Build makes a fresh model to retrain.
func (s *Supernet[T]) DeriveSpec() *flow.Spec {
	sp := &flow.Spec{Format: flow.SpecFormat, Name: "autonf-derived", Dim: s.Dim, Base: "normal"}
	for _, l := range s.Derive() {
		sp.Layers = append(sp.Layers, l.Spec())
	}
	return sp
}

// DerivedFlow wraps the argmax path as a flow that shares the supernet's
// parameters (the trained weights, without retraining).
func (s *Supernet[T]) DerivedFlow() *flow.Flow[T] { return flow.New(s.Dim, s.Derive()...) }

// NonFiniteError says where a supernet forward pass first produced NaN/Inf.
// errors.Is(err, flow.ErrNonFinite) holds.
type NonFiniteError struct {
	Stage     string // "input", "prefix", "slot", "suffix" or "base"
	Slot      int    // the slot (Stage "slot"), else -1
	Candidate int    // the candidate at Slot (Stage "slot"), else -1
	Path      []int  // the (partial) path that produced it, nil for input/prefix
	Type      string // the layer type (Stage "slot")
}

// Error implements error.
func (e *NonFiniteError) Error() string {
	switch e.Stage {
	case "input":
		return "search: non-finite value in the input data"
	case "prefix":
		return "search: non-finite value produced by the prefix layers"
	case "slot":
		return fmt.Sprintf("search: non-finite value produced by slot %d candidate %d (%s) on path %v", e.Slot, e.Candidate, e.Type, e.Path)
	case "suffix":
		return fmt.Sprintf("search: non-finite value produced by the suffix layers on path %v", e.Path)
	}
	return fmt.Sprintf("search: non-finite base log-density on path %v", e.Path)
}

// Unwrap makes errors.Is(err, flow.ErrNonFinite) work.
func (e *NonFiniteError) Unwrap() error { return flow.ErrNonFinite }

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func allFinite[T flow.Float](v []T) bool {
	for _, x := range v {
		if !finite(float64(x)) {
			return false
		}
	}
	return true
}

func grow[E any](s []E, n int) []E {
	if cap(s) < n {
		return make([]E, n)
	}
	return s[:n]
}

var halfLog2Pi = 0.5 * math.Log(2*math.Pi)

// logNormal is log N(row; 0, I).
func logNormal[T flow.Float](row []T) float64 {
	ss := 0.0
	for _, v := range row {
		ss += float64(v) * float64(v)
	}
	return -float64(len(row))*halfLog2Pi - ss/2
}

func (s *Supernet[T]) checkInput(x *tensor.Mat[T]) error {
	if x.Cols != s.Dim {
		return fmt.Errorf("search: data has %d columns, the supernet expects %d", x.Cols, s.Dim)
	}
	if x.Rows < 1 {
		return errors.New("search: empty batch")
	}
	return nil
}
