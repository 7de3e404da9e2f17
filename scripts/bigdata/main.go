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
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/autonf/autonf/data"
	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/model"
	"github.com/autonf/autonf/tensor"
	"github.com/autonf/autonf/train"
)

var (
	out       = flag.String("out", "/tmp/bigdata", "directory for the generated files")
	csvRows   = flag.Int("csv-rows", 2_000_000, "rows of the generated 8-column CSV")
	npyRows   = flag.Int("npy-rows", 1_000_000, "rows of the generated 63-column NPY")
	reps      = flag.Int("reps", 3, "load measurements per file (each in a fresh process)")
	epochRows = flag.Int("epoch-rows", 0, "train the epoch on the first N rows (0: all)")
	every     = flag.Int("every", 4, "time one bare step after every N-th training step")
	only      = flag.String("only", "", "load or train: run only that part")
	child     = flag.String("child", "", "internal: run one measurement (load or train) on -file")
	file      = flag.String("file", "", "internal: the file for -child")
	cpuprof   = flag.String("cpuprofile", "", "internal: write a CPU profile of the -child run (train: the epoch only)")
	baseline  = flag.String("baseline", "", "a bigdata binary built from an older commit: its loader is measured too, alternating with this one")
)

func main() {
	flag.Parse()
	var err error
	switch *child {
	case "load":
		err = childLoad(*file)
	case "train":
		err = childTrain(*file)
	case "prepare":
		err = childPrepare(*file)
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
	CPUSecs    float64 `json:"cpu_seconds"` // user + system time of the process
}

// trainResult is what a train child reports.
type trainResult struct {
	Rows        int       `json:"rows"`
	Cols        int       `json:"cols"`
	StepMS      []float64 `json:"step_ms"`       // training-loop step intervals (ms), OnStep to OnStep
	BareMS      []float64 `json:"bare_ms"`       // bare step times (ms), interleaved
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
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	r := loadResult{Seconds: dt.Seconds(), Rows: t.Rows, Cols: t.Cols, VmHWMKiB: vmHWM(),
		SysBytes: ms.Sys, TotalAlloc: ms.TotalAlloc, HeapLive: ms.HeapAlloc,
		CPUSecs: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()}
	runtime.KeepAlive(t)
	return json.NewEncoder(os.Stdout).Encode(r)
}

// childPrepare runs model.PrepareData (load, split 80/10/10, dequantise
// check, standardise, float32) as autonf fit does, and reports its time
// and the peak memory.
func childPrepare(path string) error {
	t0 := time.Now()
	p, err := model.PrepareData(model.DataConfig{Data: path, Shuffle: true, Seed: 1})
	if err != nil {
		return err
	}
	r := loadResult{Seconds: time.Since(t0).Seconds(), Rows: p.Train.Rows, Cols: p.Train.Cols, VmHWMKiB: vmHWM()}
	runtime.KeepAlive(p)
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

// bareStep is the loop body of flow_bench_test.go's benchTrainStep
// (ZeroGrad, NLLGrad, Adam) on a fixed 512-row batch.
type bareStep struct {
	f   *flow.Flow[float32]
	opt *train.Adam[float32]
	b   *tensor.Mat[float32]
}

func newBareStep(x *tensor.Mat[float32]) (*bareStep, error) {
	f, err := benchFlow(x.Cols)
	if err != nil {
		return nil, err
	}
	ps := f.Params()
	params := make([]*flow.Param[float32], len(ps))
	for i, p := range ps {
		params[i] = p.Param
	}
	s := &bareStep{f: f, opt: train.NewAdam(params), b: x.SliceRows(0, 512)}
	f.SetTraining(true)
	_, err = s.run() // untimed first step, as the benchmark's
	return s, err
}

// run does one step and returns its time in ms.
func (s *bareStep) run() (float64, error) {
	t0 := time.Now()
	s.f.ZeroGrad()
	if _, err := s.f.NLLGrad(s.b); err != nil {
		return 0, err
	}
	s.opt.Step(1e-4)
	return float64(time.Since(t0).Nanoseconds()) / 1e6, nil
}

// childTrain trains one epoch with train.Fit and, interleaved with it (one
// bare step after every -every-th training step, from inside OnStep, its
// time excluded from the epoch's), times the bare step of the same flow,
// so that both see the same machine load. Then it times LogProb over all
// rows.
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

	bare, err := newBareStep(x)
	if err != nil {
		return err
	}
	f, err := benchFlow(x.Cols)
	if err != nil {
		return err
	}
	var last time.Time
	var inBare time.Duration
	var bareErr error
	if *cpuprof != "" {
		pf, err := os.Create(*cpuprof)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(pf)
	}
	t0 := time.Now()
	_, err = train.Fit(context.Background(), f, tr, va, train.Config{Epochs: 1, Batch: 512, Seed: 1,
		OnStep: func(epoch, step, steps int, loss float64) {
			now := time.Now()
			if step > 0 {
				res.StepMS = append(res.StepMS, float64(now.Sub(last).Nanoseconds())/1e6)
			}
			res.EpochSteps = step + 1
			res.StepsSecs = (now.Sub(t0) - inBare).Seconds()
			if step%*every == 0 && bareErr == nil {
				var ms float64
				ms, bareErr = bare.run()
				res.BareMS = append(res.BareMS, ms)
			}
			last = time.Now()
			inBare += last.Sub(now)
		}})
	if err != nil {
		return err
	}
	if bareErr != nil {
		return bareErr
	}
	res.FitSecs = (time.Since(t0) - inBare).Seconds()
	pprof.StopCPUProfile()

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

func runChild(exe, kind, path string, extra ...string) ([]byte, error) {
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	args := append([]string{"-child", kind, "-file", path}, extra...)
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	return cmd.Output()
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
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
		fmt.Fprintf(w, "\n| file | size | rows × cols | load s (min / median of %d) | load rows/s (best) | MB/s (best) | rows per CPU-second (best) | peak RSS VmHWM (max) | matrix | VmHWM / matrix | MemStats.Sys | TotalAlloc |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n", *reps)
		impls := []struct{ label, exe string }{{"", ""}}
		if *baseline != "" {
			impls = []struct{ label, exe string }{{" (before)", *baseline}, {" (after)", ""}}
		}
		for _, fl := range files {
			secs := make([][]float64, len(impls))
			last := make([]loadResult, len(impls))
			bestCPU := make([]float64, len(impls))
			hwm := make([]int, len(impls))
			for r := 0; r < *reps; r++ {
				for i, im := range impls { // alternate the implementations
					b, err := runChild(im.exe, "load", fl.path)
					if err != nil {
						return err
					}
					if err := json.Unmarshal(b, &last[i]); err != nil {
						return err
					}
					secs[i] = append(secs[i], last[i].Seconds)
					if r == 0 || last[i].CPUSecs < bestCPU[i] {
						bestCPU[i] = last[i].CPUSecs
					}
					hwm[i] = max(hwm[i], last[i].VmHWMKiB)
				}
			}
			st, _ := os.Stat(fl.path)
			for i, im := range impls {
				lo, med := stats(secs[i])
				l := last[i]
				matrix := float64(l.Rows*l.Cols) * 8
				fmt.Fprintf(w, "| %s%s | %.0f MB | %d × %d | %.3f / %.3f | %.2f M | %.0f | %.2f M | %.0f MB | %.0f MB | %.2f | %.0f MB | %.0f MB |\n",
					filepath.Base(fl.path), im.label, float64(st.Size())/1e6, l.Rows, l.Cols, lo, med, float64(l.Rows)/lo/1e6,
					float64(st.Size())/lo/1e6, float64(l.Rows)/bestCPU[i]/1e6, float64(hwm[i])*1024/1e6, matrix/1e6, float64(hwm[i])*1024/matrix,
					float64(l.SysBytes)/1e6, float64(l.TotalAlloc)/1e6)
			}
		}
		fmt.Fprintf(w, "\n| file | model.PrepareData s (load, split, standardise, float32) | train rows | peak RSS VmHWM | VmHWM / matrix |\n|---|---|---|---|---|\n")
		for _, fl := range files {
			for _, im := range impls {
				b, err := runChild(im.exe, "prepare", fl.path)
				if err != nil {
					return err
				}
				var r loadResult
				if err := json.Unmarshal(b, &r); err != nil {
					return err
				}
				matrix := float64(fl.rows*fl.dim) * 8
				fmt.Fprintf(w, "| %s%s | %.2f | %d | %.0f MB | %.2f |\n", filepath.Base(fl.path), im.label, r.Seconds, r.Rows,
					float64(r.VmHWMKiB)*1024/1e6, float64(r.VmHWMKiB)*1024/matrix)
			}
		}
		w.Flush()
	}
	if *only == "load" {
		return nil
	}
	var gb []float64
	for r := 0; r < *reps; r++ {
		gb = append(gb, goBenchStep())
	}
	glo, gmed := stats(gb)
	fmt.Fprintf(w, "\n`go test ./flow -run '^$' -bench 'TrainStep5/maf/D=8$' -benchtime 100x` (%d runs): %.2f / %.2f ms/step (min / median) = %.0f / %.0f rows/s\n",
		*reps, glo, gmed, 512/glo*1e3, 512/gmed*1e3)
	fmt.Fprintf(w, "\n| file | epoch rows | train-loop step ms (min / median / mean) | bare step ms (min / median / mean, interleaved) | loop / bare (medians; means) | epoch s (steps only) | epoch rows/s | bare step rows/s (512 / mean) | epoch ÷ bare rows/s | Fit s (+ init, val on %d rows) | LogProb rows/s (all rows) | VmHWM |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n", min(10_000, *npyRows/100))
	for _, fl := range files {
		var extra []string
		if *epochRows > 0 {
			extra = append(extra, "-epoch-rows", strconv.Itoa(*epochRows))
		}
		extra = append(extra, "-every", strconv.Itoa(*every))
		b, err := runChild("", "train", fl.path, extra...)
		if err != nil {
			return err
		}
		var r trainResult
		if err := json.Unmarshal(b, &r); err != nil {
			return err
		}
		llo, lmed := stats(r.StepMS)
		blo, bmed := stats(r.BareMS)
		bareRate := 512 / mean(r.BareMS) * 1e3
		epochRate := float64(r.Rows) / r.StepsSecs
		fmt.Fprintf(w, "| %s | %d | %.2f / %.2f / %.2f | %.2f / %.2f / %.2f (%d) | %.3f; %.3f | %.1f | %.0f | %.0f | %.3f | %.1f | %.0f | %.0f MB |\n",
			filepath.Base(fl.path), r.Rows, llo, lmed, mean(r.StepMS), blo, bmed, mean(r.BareMS), len(r.BareMS), lmed/bmed, mean(r.StepMS)/mean(r.BareMS), r.StepsSecs, epochRate,
			bareRate, epochRate/bareRate, r.FitSecs, float64(fl.rows)/r.LogProbSecs, float64(r.VmHWMKiB)*1024/1e6)
		w.Flush()
	}
	return nil
}
