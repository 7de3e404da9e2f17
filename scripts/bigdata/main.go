// Command bigdata measures autonf on big tables (issue 9, item 5): it
// generates a 2 M × 8 CSV and a 1 M × 63 NPY file (deterministic mixtures
// of correlated Gaussians, 7 significant digits), then, each in a fresh
// child process, measures the load time, the peak memory (VmHWM from
// /proc/self/status, and runtime.MemStats), the rows/s of one training
// epoch (train.Fit, MAF × 5, hidden 2 × 256, batch 512), of the bare
// training step of the same flow (the loop of BenchmarkTrainStep5) and of
// log-density (flow.LogProb). It prints a markdown table.
//
//	go run ./scripts/bigdata -out /tmp/bigdata
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/autonf/autonf/data"
	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/tensor"
	"github.com/autonf/autonf/train"
)

var (
	out       = flag.String("out", "/tmp/bigdata", "directory for the generated files")
	csvRows   = flag.Int("csv-rows", 2_000_000, "rows of the generated 8-column CSV")
	npyRows   = flag.Int("npy-rows", 1_000_000, "rows of the generated 63-column NPY")
	reps      = flag.Int("reps", 3, "load measurements per file (each in a fresh process)")
	epochRows = flag.Int("epoch-rows", 0, "train the epoch on the first N rows (0: all)")
	stepReps  = flag.Int("steps", 100, "bare training steps timed before and after the epoch")
	only      = flag.String("only", "", "load or train: run only that part")
	child     = flag.String("child", "", "internal: run one measurement (load or train) on -file")
	file      = flag.String("file", "", "internal: the file for -child")
)

func main() {
	flag.Parse()
	var err error
	switch *child {
	case "load":
		err = childLoad(*file)
	case "train":
		err = childTrain(*file)
	case "":
		err = run()
	default:
		err = fmt.Errorf("unknown -child %q", *child)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bigdata:", err)
		os.Exit(1)
	}
}

// loadResult is what a load child reports.
type loadResult struct {
	Seconds    float64 `json:"seconds"`
	Rows       int     `json:"rows"`
	Cols       int     `json:"cols"`
	VmHWMKiB   int     `json:"vmhwm_kib"`
	SysBytes   uint64  `json:"sys_bytes"`
	TotalAlloc uint64  `json:"total_alloc_bytes"`
	HeapLive   uint64  `json:"heap_live_bytes"`
}

// trainResult is what a train child reports.
type trainResult struct {
	Rows        int       `json:"rows"`
	Cols        int       `json:"cols"`
	StepMS      []float64 `json:"step_ms"`       // bare step times (ms), before and after the epoch
	EpochSteps  int       `json:"epoch_steps"`   // steps in the epoch
	StepsSecs   float64   `json:"steps_seconds"` // Fit start to the last step
	FitSecs     float64   `json:"fit_seconds"`   // whole Fit (with InitFromData and validation)
	ValRows     int       `json:"val_rows"`
	LogProbSecs float64   `json:"logprob_seconds"`
	VmHWMKiB    int       `json:"vmhwm_kib"`
}

func vmHWM() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return -1
}

func childLoad(path string) error {
	t0 := time.Now()
	t, err := data.Load(path, data.LoadOptions{})
	if err != nil {
		return err
	}
	dt := time.Since(t0)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r := loadResult{Seconds: dt.Seconds(), Rows: t.Rows, Cols: t.Cols, VmHWMKiB: vmHWM(),
		SysBytes: ms.Sys, TotalAlloc: ms.TotalAlloc, HeapLive: ms.HeapAlloc}
	runtime.KeepAlive(t)
	return json.NewEncoder(os.Stdout).Encode(r)
}

// benchFlow is the flow of flow/flow_bench_test.go's benchFlow("maf", 5, dim).
func benchFlow(dim int) (*flow.Flow[float32], error) {
	var ls []flow.LayerSpec
	for i := 0; i < 5; i++ {
		ls = append(ls, flow.LayerSpec{Type: "maf", Hidden: []int{256, 256}, Order: []string{"natural", "reversed"}[i%2]})
	}
	return flow.Build[float32](&flow.Spec{Dim: dim, Layers: ls}, rand.New(rand.NewPCG(1, 1)))
}

// bareSteps times n steps of the loop of benchTrainStep (ZeroGrad, NLLGrad,
// Adam) on one 512-row batch of x, after one untimed step.
func bareSteps(f *flow.Flow[float32], x *tensor.Mat[float32], n int) ([]float64, error) {
	ps := f.Params()
	params := make([]*flow.Param[float32], len(ps))
	for i, p := range ps {
		params[i] = p.Param
	}
	opt := train.NewAdam(params)
	b := x.SliceRows(0, 512)
	f.SetTraining(true)
	var ms []float64
	for i := 0; i <= n; i++ {
		t0 := time.Now()
		f.ZeroGrad()
		if _, err := f.NLLGrad(b); err != nil {
			return nil, err
		}
		opt.Step(1e-4)
		if i > 0 {
			ms = append(ms, float64(time.Since(t0).Nanoseconds())/1e6)
		}
	}
	return ms, nil
}

func childTrain(path string) error {
	t, err := data.Load(path, data.LoadOptions{})
	if err != nil {
		return err
	}
	x := tensor.FromSlice(t.Rows, t.Cols, t.Float32())
	t = nil
	runtime.GC()
	n := x.Rows
	if *epochRows > 0 && *epochRows < n {
		n = *epochRows
	}
	nVal := min(10_000, x.Rows/100)
	tr, va := x.SliceRows(0, n), x.SliceRows(x.Rows-nVal, x.Rows)
	res := trainResult{Rows: n, Cols: x.Cols, ValRows: nVal}

	fb, err := benchFlow(x.Cols)
	if err != nil {
		return err
	}
	ms, err := bareSteps(fb, x, *stepReps)
	if err != nil {
		return err
	}
	res.StepMS = append(res.StepMS, ms...)

	f, err := benchFlow(x.Cols)
	if err != nil {
		return err
	}
	var lastStep time.Time
	t0 := time.Now()
	_, err = train.Fit(context.Background(), f, tr, va, train.Config{Epochs: 1, Batch: 512, Seed: 1,
		OnStep: func(epoch, step, steps int, loss float64) { lastStep = time.Now(); res.EpochSteps = step + 1 }})
	if err != nil {
		return err
	}
	res.FitSecs = time.Since(t0).Seconds()
	res.StepsSecs = lastStep.Sub(t0).Seconds()

	if ms, err = bareSteps(fb, x, *stepReps); err != nil {
		return err
	}
	res.StepMS = append(res.StepMS, ms...)

	lp := make([]float32, 4096)
	t0 = time.Now()
	for lo := 0; lo < x.Rows; lo += len(lp) {
		hi := min(lo+len(lp), x.Rows)
		if err := f.LogProb(x.SliceRows(lo, hi), lp[:hi-lo]); err != nil {
			return err
		}
	}
	res.LogProbSecs = time.Since(t0).Seconds()
	res.VmHWMKiB = vmHWM()
	return json.NewEncoder(os.Stdout).Encode(res)
}

// mixture draws rows from a fixed mixture of 5 correlated Gaussians in dim
// dimensions, rounded to 7 significant digits.
type mixture struct {
	dim   int
	mu    [][]float64
	chol  [][]float64 // lower-triangular factors, row-major dim×dim
	rng   *rand.Rand
	z, xr []float64
}

func newMixture(dim int, seed uint64) *mixture {
	m := &mixture{dim: dim, rng: rand.New(rand.NewPCG(seed, 0xb16)), z: make([]float64, dim)}
	for k := 0; k < 5; k++ {
		mu := make([]float64, dim)
		l := make([]float64, dim*dim)
		for i := range mu {
			mu[i] = 4*m.rng.Float64() - 2
			for j := 0; j < i; j++ {
				l[i*dim+j] = 0.5 * m.rng.NormFloat64() / math.Sqrt(float64(i))
			}
			l[i*dim+i] = 0.2 + m.rng.Float64()
		}
		m.mu, m.chol = append(m.mu, mu), append(m.chol, l)
	}
	return m
}

func (m *mixture) row(dst []float64) {
	k := m.rng.IntN(len(m.mu))
	for i := range m.z {
		m.z[i] = m.rng.NormFloat64()
	}
	l := m.chol[k]
	for i := range dst {
		s := m.mu[k][i]
		for j := 0; j <= i; j++ {
			s += l[i*m.dim+j] * m.z[j]
		}
		v, _ := strconv.ParseFloat(strconv.FormatFloat(s, 'g', 7, 64), 64)
		dst[i] = v
	}
}

// generate writes rows × dim rows of the mixture to path (unless a file of
// that name exists) in chunks through data.Writer.
func generate(path string, rows, dim int, seed uint64) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	w, err := data.NewWriter(path, data.DefaultColumnNames(dim), rows)
	if err != nil {
		return err
	}
	defer w.Abort()
	m := newMixture(dim, seed)
	const chunk = 10_000
	buf := make([]float64, chunk*dim)
	for done := 0; done < rows; done += chunk {
		r := min(chunk, rows-done)
		for i := 0; i < r; i++ {
			m.row(buf[i*dim : (i+1)*dim])
		}
		t, err := data.NewTable(path, nil, r, dim, buf[:r*dim])
		if err != nil {
			return err
		}
		if err := w.Write(t); err != nil {
			return err
		}
	}
	return w.Commit()
}

func runChild(kind, path string, extra ...string) ([]byte, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := append([]string{"-child", kind, "-file", path}, extra...)
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	return cmd.Output()
}

func stats(v []float64) (lo, med float64) {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[0], s[len(s)/2]
}

// goBenchStep runs the flow package's step benchmark for maf at D=8 and
// returns its ms/step (-1 when it cannot be run, e.g. outside the module).
func goBenchStep() float64 {
	cmd := exec.Command("go", "test", "./flow", "-run", "^$", "-bench", "TrainStep5/maf/D=8$", "-benchtime", "100x", "-count", "1")
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		for i := 1; i < len(f); i++ {
			if f[i] == "ms/step" {
				v, err := strconv.ParseFloat(f[i-1], 64)
				if err == nil {
					return v
				}
			}
		}
	}
	return -1
}

func run() error {
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	files := []struct {
		path      string
		rows, dim int
	}{
		{filepath.Join(*out, fmt.Sprintf("mix%dx8.csv", *csvRows)), *csvRows, 8},
		{filepath.Join(*out, fmt.Sprintf("mix%dx63.npy", *npyRows)), *npyRows, 63},
	}
	for i, fl := range files {
		t0 := time.Now()
		if err := generate(fl.path, fl.rows, fl.dim, uint64(i+1)); err != nil {
			return err
		}
		st, err := os.Stat(fl.path)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "%s: %d × %d, %.1f MB (%.1fs)\n", fl.path, fl.rows, fl.dim, float64(st.Size())/1e6, time.Since(t0).Seconds())
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	if *only != "train" {
		fmt.Fprintf(w, "\n| file | size | rows × cols | load s (min / median of %d) | load rows/s (best) | MB/s (best) | peak RSS VmHWM (max) | matrix | VmHWM / matrix | MemStats.Sys | TotalAlloc |\n|---|---|---|---|---|---|---|---|---|---|---|\n", *reps)
		for _, fl := range files {
			var secs []float64
			var last loadResult
			hwm := 0
			for r := 0; r < *reps; r++ {
				b, err := runChild("load", fl.path)
				if err != nil {
					return err
				}
				if err := json.Unmarshal(b, &last); err != nil {
					return err
				}
				secs = append(secs, last.Seconds)
				hwm = max(hwm, last.VmHWMKiB)
			}
			st, _ := os.Stat(fl.path)
			lo, med := stats(secs)
			matrix := float64(last.Rows*last.Cols) * 8
			fmt.Fprintf(w, "| %s | %.0f MB | %d × %d | %.3f / %.3f | %.2f M | %.0f | %.0f MB | %.0f MB | %.2f | %.0f MB | %.0f MB |\n",
				filepath.Base(fl.path), float64(st.Size())/1e6, last.Rows, last.Cols, lo, med, float64(last.Rows)/lo/1e6,
				float64(st.Size())/lo/1e6, float64(hwm)*1024/1e6, matrix/1e6, float64(hwm)*1024/matrix,
				float64(last.SysBytes)/1e6, float64(last.TotalAlloc)/1e6)
		}
		w.Flush()
	}
	if *only == "load" {
		return nil
	}
	gb := goBenchStep()
	fmt.Fprintf(w, "\n`go test ./flow -run '^$' -bench 'TrainStep5/maf/D=8$' -benchtime 100x`: %.2f ms/step = %.0f rows/s\n", gb, 512/gb*1e3)
	fmt.Fprintf(w, "\n| file | epoch rows | bare step ms (min / median of %d) | bare step rows/s (median) | epoch steps | epoch s (steps only) | epoch rows/s | epoch / bare step | Fit s (with init + val on %s rows) | LogProb rows/s (all rows) | VmHWM |\n|---|---|---|---|---|---|---|---|---|---|---|\n", 2**stepReps, "val")
	for _, fl := range files {
		var extra []string
		if *epochRows > 0 {
			extra = append(extra, "-epoch-rows", strconv.Itoa(*epochRows))
		}
		extra = append(extra, "-steps", strconv.Itoa(*stepReps))
		b, err := runChild("train", fl.path, extra...)
		if err != nil {
			return err
		}
		var r trainResult
		if err := json.Unmarshal(b, &r); err != nil {
			return err
		}
		lo, med := stats(r.StepMS)
		stepRate := 512 / med * 1e3
		epochRate := float64(r.Rows) / r.StepsSecs
		fmt.Fprintf(w, "| %s | %d | %.2f / %.2f | %.0f | %d | %.1f | %.0f | %.3f | %.1f (%d) | %.0f | %.0f MB |\n",
			filepath.Base(fl.path), r.Rows, lo, med, stepRate, r.EpochSteps, r.StepsSecs, epochRate, epochRate/stepRate,
			r.FitSecs, r.ValRows, float64(fl.rows)/r.LogProbSecs, float64(r.VmHWMKiB)*1024/1e6)
		w.Flush()
	}
	return nil
}
