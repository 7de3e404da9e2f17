package cost

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/internal/fsio"
	"github.com/autonf/autonf/tensor"
)

// Emphasis is what the found flow will mostly be used for.
type Emphasis string

// Emphases.
const (
	Train   Emphasis = "train"   // forward + backward of a training step
	Forward Emphasis = "forward" // density evaluation
	Inverse Emphasis = "inverse" // sampling; autoregressive inverses need D passes
)

// Source is how candidates are priced.
type Source string

// Sources.
const (
	Measured Source = "measured" // median wall time on this machine
	Params   Source = "params"   // learnable parameter count
	// FLOPs is the textbook multiply-add count (×2) per row, in which an
	// autoregressive inverse runs its full conditioner once per variable
	// (D passes). autonf's own inverse computes each hidden unit once, when
	// it becomes ready, so its real sampling cost is far lower: use
	// Measured to price the implementation at hand.
	FLOPs Source = "flops"
	// Paper is the AutoNF paper's Table 1 (Wang et al., AAAI 2023),
	// reverse-engineered so that an 8-layer affine-coupling flow costs
	// exactly 8: per block, for the train / forward / inverse emphases,
	// affine coupling 1 / 1 / 1, RQ-spline coupling 1.4325 / 1.3375 /
	// 1.365, RQ-spline autoregressive 1.664 / 1.4975 / 1.55·D and MAF
	// 1.08 / 1.055 / 1.10·D, D the data dimension (autoregressive
	// inverses take D passes). The table knows nothing of width or bins:
	// every size of a family costs the same, so a search over widths needs
	// Measured, Params or FLOPs to price them. Other candidates (planar,
	// radial, …) have no entry and are an error.
	Paper Source = "paper"
)

// paperTable holds the Paper costs: train, forward, inverse (the inverse
// of the autoregressive families is multiplied by D).
var paperTable = map[string][3]float64{
	"affine-coupling": {1, 1, 1},
	"nsf-coupling":    {1.4325, 1.3375, 1.365},
	"nsf-ar":          {1.664, 1.4975, 1.55},
	"maf":             {1.08, 1.055, 1.10},
}

// paperPerDim lists the families whose Paper inverse cost grows with D.
var paperPerDim = map[string]bool{"nsf-ar": true, "maf": true}

// PaperFamilies lists the families the Paper source prices.
func PaperFamilies() []string { return []string{"maf", "nsf-ar", "affine-coupling", "nsf-coupling"} }

// ParseEmphasis validates an emphasis name.
func ParseEmphasis(s string) (Emphasis, error) {
	switch e := Emphasis(s); e {
	case Train, Forward, Inverse:
		return e, nil
	}
	return "", fmt.Errorf("cost emphasis %q is unknown (want train, forward or inverse)", s)
}

// ParseSource validates a source name.
func ParseSource(s string) (Source, error) {
	switch c := Source(s); c {
	case Measured, Params, FLOPs, Paper:
		return c, nil
	}
	return "", fmt.Errorf("cost source %q is unknown (want measured, params or flops, or paper for the AutoNF paper's Table 1)", s)
}

// Candidate is one named layer (usually a chain) to price.
type Candidate struct {
	Name string
	Spec flow.LayerSpec
}

// Table is a priced list of candidates.
type Table struct {
	Emphasis   Emphasis  `json:"emphasis"`
	Source     Source    `json:"source"`
	Dim        int       `json:"dim"`
	Batch      int       `json:"batch"`
	Reference  string    `json:"reference"`  // the candidate priced 1 (affine coupling)
	Candidates []string  `json:"candidates"` // names, in search order
	Cost       []float64 `json:"cost"`       // normalised: reference = 1
	Raw        []float64 `json:"raw"`        // seconds per batch, parameters, or FLOPs per row
	Machine    string    `json:"machine"`
	Created    time.Time `json:"created"`
	Cached     bool      `json:"-"`
}

// Options tune Price.
type Options struct {
	Repeats  int    // timed rounds over the candidates (median taken; default 15)
	CacheDir string // where measured tables are cached ("" = the user cache dir; "-" = no cache)
	Seed     uint64
	// RefHidden are the hidden sizes of the reference affine coupling
	// (cost 1); nil = those of the first candidate that has any. Give the
	// search's default width when the candidates come in several widths,
	// so that "1" means an affine coupling of that width.
	RefHidden []int
}

// Price prices cands at dimension dim and batch size batch. Each candidate
// is priced with its own spec (hidden sizes, bins), except by Paper, which
// ignores sizes. The reference (cost 1) is an affine coupling layer with
// opt.RefHidden or the hidden sizes of the first candidate that has any,
// preceded like the others by a reverse permutation and an LU linear layer
// when they are. Measured tables are cached per machine and configuration.
func Price(cands []Candidate, dim, batch int, e Emphasis, src Source, opt Options) (*Table, error) {
	if err := Check(cands, e, src); err != nil {
		return nil, err
	}
	if dim < 1 {
		return nil, fmt.Errorf("cost: dimension must be positive, got %d", dim)
	}
	if src == Paper {
		return paperPrice(cands, dim, batch, e)
	}
	if batch < 1 {
		return nil, fmt.Errorf("cost: batch size must be positive, got %d", batch)
	}
	if opt.Repeats <= 0 {
		opt.Repeats = 15
	}
	ref := reference(cands, opt.RefHidden)
	t := &Table{Emphasis: e, Source: src, Dim: dim, Batch: batch, Reference: ref.Name, Machine: machine(), Created: time.Now().UTC()}
	for _, c := range cands {
		t.Candidates = append(t.Candidates, c.Name)
	}
	key := cacheKey(t, cands, ref)
	if src == Measured {
		if cached, ok := loadCache(opt.CacheDir, key, t); ok {
			cached.Cached = true
			return cached, nil
		}
	}
	all := append(slices.Clone(cands), ref)
	raw := make([]float64, len(all))
	layers := make([]flow.Layer[float32], len(all))
	for i, c := range all {
		l, err := flow.NewLayer[float32](max(dim, 2), c.Spec, rand.New(rand.NewPCG(opt.Seed, 1)))
		if err != nil {
			return nil, fmt.Errorf("cost of %s: %w", c.Name, err)
		}
		layers[i] = l
		raw[i] = count(l.Cost(), e, src)
	}
	if src == Measured {
		raw = measureAll(layers, max(dim, 2), batch, e, opt)
	}
	r := raw[len(raw)-1]
	if r <= 0 {
		return nil, fmt.Errorf("cost: reference %s priced %g", ref.Name, r)
	}
	t.Raw = raw[:len(cands)]
	for _, v := range t.Raw {
		t.Cost = append(t.Cost, v/r)
	}
	if src == Measured {
		saveCache(opt.CacheDir, key, t)
	}
	return t, nil
}

func reference(cands []Candidate, hidden []int) Candidate {
	chained := false
	for _, c := range cands {
		s := c.Spec
		if s.Type == "chain" && len(s.Layers) > 0 {
			chained = true
			s = s.Layers[len(s.Layers)-1]
		}
		if len(hidden) == 0 && len(s.Hidden) > 0 {
			hidden = s.Hidden
		}
	}
	ac := flow.LayerSpec{Type: "affine-coupling", Hidden: hidden}
	if chained {
		return Candidate{Name: "affine-coupling (reference)", Spec: flow.LayerSpec{Type: "chain", Layers: []flow.LayerSpec{{Type: "reverse"}, {Type: "lu-linear"}, ac}}}
	}
	return Candidate{Name: "affine-coupling (reference)", Spec: ac}
}

// Check validates a pricing request before any work: candidates given,
// the emphasis and source known, and, for Paper, a Table 1 entry for every
// candidate. Price calls it; call it early to refuse bad options before
// data is prepared.
func Check(cands []Candidate, e Emphasis, src Source) error {
	if len(cands) == 0 {
		return fmt.Errorf("cost: no candidates")
	}
	if _, err := ParseEmphasis(string(e)); err != nil {
		return fmt.Errorf("cost: %w", err)
	}
	if _, err := ParseSource(string(src)); err != nil {
		return fmt.Errorf("cost: %w", err)
	}
	if src == Paper {
		for _, c := range cands {
			if _, ok := paperFamily(c.Spec); !ok {
				return fmt.Errorf("cost: the paper's cost table has no entry for %s (it prices %s); use the measured, params or flops cost source",
					c.Name, strings.Join(PaperFamilies(), ", "))
			}
		}
	}
	return nil
}

// paperPrice prices cands with the paper's Table 1 (see Paper).
func paperPrice(cands []Candidate, dim, batch int, e Emphasis) (*Table, error) {
	col := map[Emphasis]int{Train: 0, Forward: 1, Inverse: 2}[e]
	t := &Table{Emphasis: e, Source: Paper, Dim: dim, Batch: batch, Reference: "affine-coupling (paper Table 1)", Created: time.Now().UTC()}
	for _, c := range cands {
		fam, _ := paperFamily(c.Spec) // Check found them all
		v := paperTable[fam][col]
		if e == Inverse && paperPerDim[fam] {
			v *= float64(dim)
		}
		t.Candidates = append(t.Candidates, c.Name)
		t.Cost = append(t.Cost, v)
		t.Raw = append(t.Raw, v)
	}
	return t, nil
}

// paperFamily finds the Table 1 family of a spec: the transform itself, or
// a chain of permutations and LU linear layers ending in it (the paper's
// block).
func paperFamily(s flow.LayerSpec) (string, bool) {
	if s.Type == "chain" {
		if len(s.Layers) == 0 {
			return "", false
		}
		for _, l := range s.Layers[:len(s.Layers)-1] {
			if l.Type != "reverse" && l.Type != "permutation" && l.Type != "lu-linear" {
				return "", false
			}
		}
		s = s.Layers[len(s.Layers)-1]
	}
	_, ok := paperTable[s.Type]
	return s.Type, ok
}

// count prices a layer by its static descriptor (Params, FLOPs).
func count(k flow.Cost, e Emphasis, src Source) float64 {
	switch src {
	case Params:
		return float64(k.Params)
	case FLOPs:
		switch e {
		case Forward:
			return k.ForwardFLOPs
		case Inverse:
			return k.InverseFLOPs
		default:
			return 3 * k.ForwardFLOPs // backward ≈ 2 × forward
		}
	}
	return 0
}

// measureAll times one batch through every layer and returns the median
// seconds of each. The layers are timed round-robin (one call each per
// round, after two warm-up calls), so that drifts in the machine's load or
// clock affect them all alike.
func measureAll(layers []flow.Layer[float32], dim, batch int, e Emphasis, opt Options) []float64 {
	rng := rand.New(rand.NewPCG(opt.Seed, 2))
	x := tensor.New[float32](batch, dim)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	z := tensor.New[float32](batch, dim)
	dz := tensor.New[float32](batch, dim)
	dx := tensor.New[float32](batch, dim)
	ld := make([]float32, batch)
	dld := make([]float32, batch)
	for i := range dz.Data {
		dz.Data[i] = 1e-3
	}
	ops := make([]flow.Op[float32], len(layers))
	once := func(i int) {
		op := ops[i]
		switch e {
		case Forward:
			op.Forward(x, z, ld)
		case Inverse:
			op.Inverse(x, z, ld)
		default:
			op.Forward(x, z, ld)
			op.Backward(dz, dld, dx)
		}
	}
	for i, l := range layers {
		ops[i] = flow.NewOp(l)
		once(i) // warm-up: buffers, caches
		once(i)
	}
	times := make([][]float64, len(layers))
	for r := 0; r < opt.Repeats; r++ {
		for i := range layers {
			t0 := time.Now()
			once(i)
			times[i] = append(times[i], time.Since(t0).Seconds())
		}
	}
	med := make([]float64, len(layers))
	for i, ts := range times {
		slices.Sort(ts)
		med[i] = ts[len(ts)/2]
	}
	return med
}

func machine() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%s %d CPUs, GEMM %s, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), tensor.KernelName(), cpuModel(host))
}

func cpuModel(host string) string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return host
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "model name") {
			if _, v, ok := strings.Cut(line, ":"); ok {
				return strings.TrimSpace(v)
			}
		}
	}
	return host
}

func cacheKey(t *Table, cands []Candidate, ref Candidate) string {
	b, _ := json.Marshal(struct {
		E        Emphasis
		Dim, B   int
		C        []Candidate
		R        Candidate
		M        string
		Procs    int
		Revision int
		Build    string
	}{t.Emphasis, t.Dim, t.Batch, cands, ref, t.Machine, runtime.GOMAXPROCS(0), 2, buildRevision()})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// buildRevision identifies the binary's source (the VCS revision Go embeds
// in builds from a checkout), so that a change to a layer's code
// invalidates timings measured with the old one.
func buildRevision() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	rev := ""
	for _, kv := range bi.Settings {
		if kv.Key == "vcs.revision" || kv.Key == "vcs.modified" {
			rev += kv.Value
		}
	}
	return rev
}

// CacheEnv names the environment variable that overrides the cache
// directory of measured tables; "off" (or "-") turns the cache off.
const CacheEnv = "AUTONF_COST_CACHE"

// cacheDir resolves Options.CacheDir: "-" (or $AUTONF_COST_CACHE=off)
// means no cache, "" the directory $AUTONF_COST_CACHE or else
// <user cache dir>/autonf ($XDG_CACHE_HOME/autonf or ~/.cache/autonf on
// Linux).
func cacheDir(dir string) string {
	if dir == "-" {
		return ""
	}
	if dir != "" {
		return dir
	}
	switch env := os.Getenv(CacheEnv); env {
	case "off", "-":
		return ""
	case "":
	default:
		return env
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "autonf")
}

// maxCacheBytes bounds a cached table's file.
const maxCacheBytes = 1 << 20

// loadCache returns the cached table of key if it is a valid table for
// want (same emphasis, source, dimension, batch and candidates, one
// finite positive cost per candidate); anything else is ignored (and
// re-measured).
func loadCache(dir, key string, want *Table) (*Table, bool) {
	d := cacheDir(dir)
	if d == "" {
		return nil, false
	}
	b, err := fsio.ReadFile(filepath.Join(d, "costs-"+key+".json"), maxCacheBytes)
	if err != nil {
		return nil, false
	}
	var t Table
	if json.Unmarshal(b, &t) != nil || !validCached(&t, want) {
		return nil, false
	}
	return &t, true
}

func validCached(t, want *Table) bool {
	if t.Emphasis != want.Emphasis || t.Source != want.Source || t.Dim != want.Dim || t.Batch != want.Batch ||
		!slices.Equal(t.Candidates, want.Candidates) || len(t.Cost) != len(want.Candidates) || len(t.Raw) != len(t.Cost) {
		return false
	}
	for i := range t.Cost {
		if !(t.Cost[i] > 0 && t.Raw[i] > 0) || math.IsInf(t.Cost[i], 0) || math.IsInf(t.Raw[i], 0) {
			return false
		}
	}
	return true
}

func saveCache(dir, key string, t *Table) {
	d := cacheDir(dir)
	if d == "" {
		return
	}
	if os.MkdirAll(d, 0o755) != nil {
		return
	}
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return
	}
	_ = fsio.WriteFile(filepath.Join(d, "costs-"+key+".json"), b) // a cache: failure to write is harmless
}

// Markdown renders the table for reports.
func (t *Table) Markdown() string {
	var b strings.Builder
	unit := map[Source]string{Measured: "ms per batch", Params: "parameters", FLOPs: "FLOPs per row", Paper: "paper units"}[t.Source]
	fmt.Fprintf(&b, "Costs (%s, emphasis %s, D=%d, batch %d; normalised to %s = 1%s):\n\n", t.Source, t.Emphasis, t.Dim, t.Batch, t.Reference, map[bool]string{true: "; from the cache", false: ""}[t.Cached])
	fmt.Fprintf(&b, "| candidate | cost | %s |\n|---|---|---|\n", unit)
	for i, n := range t.Candidates {
		raw := t.Raw[i]
		if t.Source == Measured {
			raw *= 1000
		}
		fmt.Fprintf(&b, "| %s | %.3g | %.4g |\n", n, t.Cost[i], raw)
	}
	if t.Source == Paper {
		fmt.Fprintf(&b, "\nSource: the AutoNF paper's Table 1, reverse-engineered (8 affine-coupling layers cost 8); widths and bins are not priced.\n")
	} else {
		fmt.Fprintf(&b, "\nMachine: %s\n", t.Machine)
	}
	return b.String()
}
