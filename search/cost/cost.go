package cost

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/autonf/autonf/flow"
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
)

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
	case Measured, Params, FLOPs:
		return c, nil
	}
	return "", fmt.Errorf("cost source %q is unknown (want measured, params or flops)", s)
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
}

// Price prices cands at dimension dim and batch size batch. The reference
// (cost 1) is an affine coupling layer with the hidden sizes of the first
// candidate that has any, preceded like the others by a reverse permutation
// and an LU linear layer when they are. Measured tables are cached per
// machine and configuration.
func Price(cands []Candidate, dim, batch int, e Emphasis, src Source, opt Options) (*Table, error) {
	if len(cands) == 0 {
		return nil, fmt.Errorf("cost: no candidates")
	}
	if opt.Repeats <= 0 {
		opt.Repeats = 15
	}
	ref := reference(cands)
	t := &Table{Emphasis: e, Source: src, Dim: dim, Batch: batch, Reference: ref.Name, Machine: machine(), Created: time.Now().UTC()}
	for _, c := range cands {
		t.Candidates = append(t.Candidates, c.Name)
	}
	key := cacheKey(t, cands, ref)
	if src == Measured {
		if cached, ok := loadCache(opt.CacheDir, key); ok {
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

func reference(cands []Candidate) Candidate {
	var hidden []int
	chained := false
	for _, c := range cands {
		s := c.Spec
		if s.Type == "chain" && len(s.Layers) > 0 {
			chained = true
			s = s.Layers[len(s.Layers)-1]
		}
		if hidden == nil && len(s.Hidden) > 0 {
			hidden = s.Hidden
		}
	}
	ac := flow.LayerSpec{Type: "affine-coupling", Hidden: hidden}
	if chained {
		return Candidate{Name: "affine-coupling (reference)", Spec: flow.LayerSpec{Type: "chain", Layers: []flow.LayerSpec{{Type: "reverse"}, {Type: "lu-linear"}, ac}}}
	}
	return Candidate{Name: "affine-coupling (reference)", Spec: ac}
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

func cacheDir(dir string) string {
	if dir != "" {
		return dir
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "autonf")
}

func loadCache(dir, key string) (*Table, bool) {
	if dir == "-" || cacheDir(dir) == "" {
		return nil, false
	}
	b, err := os.ReadFile(filepath.Join(cacheDir(dir), "costs-"+key+".json"))
	if err != nil {
		return nil, false
	}
	var t Table
	if json.Unmarshal(b, &t) != nil || len(t.Cost) == 0 {
		return nil, false
	}
	return &t, true
}

func saveCache(dir, key string, t *Table) {
	d := cacheDir(dir)
	if dir == "-" || d == "" {
		return
	}
	if os.MkdirAll(d, 0o755) != nil {
		return
	}
	b, _ := json.MarshalIndent(t, "", "  ")
	_ = os.WriteFile(filepath.Join(d, "costs-"+key+".json"), b, 0o644) // a cache: failure to write is harmless
}

// Markdown renders the table for reports.
func (t *Table) Markdown() string {
	var b strings.Builder
	unit := map[Source]string{Measured: "ms per batch", Params: "parameters", FLOPs: "FLOPs per row"}[t.Source]
	fmt.Fprintf(&b, "Costs (%s, emphasis %s, D=%d, batch %d; normalised to %s = 1%s):\n\n", t.Source, t.Emphasis, t.Dim, t.Batch, t.Reference, map[bool]string{true: "; from the cache", false: ""}[t.Cached])
	fmt.Fprintf(&b, "| candidate | cost | %s |\n|---|---|---|\n", unit)
	for i, n := range t.Candidates {
		raw := t.Raw[i]
		if t.Source == Measured {
			raw *= 1000
		}
		fmt.Fprintf(&b, "| %s | %.3g | %.4g |\n", n, t.Cost[i], raw)
	}
	fmt.Fprintf(&b, "\nMachine: %s\n", t.Machine)
	return b.String()
}
