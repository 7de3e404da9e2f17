package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/autonf/autonf/model"
	"github.com/autonf/autonf/report"
	"github.com/autonf/autonf/search/strategy"
)

// Checkpoints: RUN_DIR/checkpoint/state.json (position: phase and step;
// choices, logits, the α optimiser's state, the stopping rule's counters)
// and a params-<id>.safetensors file (every candidate's parameters and the
// θ optimiser's moments) that state.json names. They are written every
// --checkpoint-every steps, after each finished phase and on interrupt;
// --resume restarts at the step where the search stopped.
//
// Both files are written to temporary names and renamed; the tensors go to
// a new file first and the rename of state.json commits the checkpoint, so
// a kill at any moment leaves a consistent pair (the previous or the new
// one). Tensor files no longer named are removed after the commit.
type checkpointFile struct {
	*strategy.State
	ParamsFile string `json:"params_file"`
}

func saveCheckpoint(dir string, st *strategy.State) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tensors := st.Tensors()
	var ts []model.Tensor
	for _, name := range slices.Sorted(maps.Keys(tensors)) {
		v := tensors[name]
		ts = append(ts, model.Tensor{Name: name, Shape: []int{len(v)}, Data: v})
	}
	name := fmt.Sprintf("params-%d.safetensors", time.Now().UnixNano())
	if err := writeAtomic(filepath.Join(dir, name), func(f *os.File) error { return model.WriteSafetensors(f, ts, nil) }); err != nil {
		return err
	}
	b, err := json.MarshalIndent(checkpointFile{State: st, ParamsFile: name}, "", "  ")
	if err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(dir, "state.json"), func(f *os.File) error { _, err := f.Write(b); return err }); err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(dir, "params*.safetensors"))
	for _, o := range old {
		if filepath.Base(o) != name {
			os.Remove(o)
		}
	}
	return nil
}

// writeAtomic writes path through path.tmp and a rename.
func writeAtomic(path string, write func(*os.File) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func loadCheckpoint(dir string) (*strategy.State, error) {
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return nil, fmt.Errorf("no checkpoint to resume: %w", err)
	}
	cf := checkpointFile{State: &strategy.State{}}
	if err := json.Unmarshal(b, &cf); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	if cf.ParamsFile == "" {
		cf.ParamsFile = "params.safetensors" // written before params_file existed
	}
	pb, err := os.ReadFile(filepath.Join(dir, filepath.Base(cf.ParamsFile)))
	if err != nil {
		return nil, err
	}
	ts, _, err := model.ReadSafetensors(pb)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	tensors := map[string][]float32{}
	for name, t := range ts {
		tensors[name] = t.Data
	}
	if err := cf.State.SetTensors(tensors); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	return cf.State, nil
}

// writeReport writes report.md and the weight-trajectory picture.
func (r *runReport) writeReport(dir string, run *searchRun, yard []yardRow) error {
	res := run.res
	var b strings.Builder
	f := r.Flags
	fmt.Fprintf(&b, "# AutoNF search report\n\n")
	fmt.Fprintf(&b, "Data: `%s` (%d training, %d validation rows, %d columns). Space: %d slots × {%s}; strategy %s, block %d, estimator %s, loss %s, λ = %g, %d steps per block at most.\n\n",
		f.data, r.Prep.Train.Rows, r.Prep.Val.Rows, r.Space.Dim, r.Space.Layers, strings.Join(r.Space.Names(), ", "), f.strategy, f.block, f.estimator, f.loss, run.lambda, f.steps)
	fmt.Fprintf(&b, "## Found architecture\n\n`%s`\n\nSpec: [arch.json](arch.json). %s cost (sum over slots, affine coupling = 1): **%.3g**.\n\n", r.Space.ArchString(res.Arch), r.Costs.Emphasis, run.cost)
	if run.allCosts != nil {
		fmt.Fprintf(&b, "Costs of the result under every emphasis (%s): train %.3g, forward %.3g, inverse %.3g.\n\n", r.Costs.Source, run.allCosts["train"], run.allCosts["forward"], run.allCosts["inverse"])
	}
	if run.eval != nil {
		fmt.Fprintf(&b, "Retrained from %s: **test log-likelihood %.4f ± %.4f nats** (±2 s.e., n = %d); best validation NLL %.4f.\n\n",
			map[bool]string{true: "the supernet's parameters (warm start)", false: "scratch"}[f.warm], run.eval.Mean, run.eval.TwoSE, run.eval.N, run.valNLL)
	}
	fmt.Fprintf(&b, "Wall time: search %.1f s, retraining %.1f s.\n\n", res.Seconds, run.retrainSeconds)
	fmt.Fprintf(&b, "## Final weights per slot\n\n| slot | %s | argmax |\n|---|%s---|\n", strings.Join(r.Space.Names(), " | "), strings.Repeat("---|", len(r.Space.Candidates)))
	for i, w := range res.Weights {
		cells := make([]string, len(w))
		for j, v := range w {
			cells[j] = fmt.Sprintf("%.3f", v)
		}
		fmt.Fprintf(&b, "| %d | %s | %s |\n", i+1, strings.Join(cells, " | "), r.Space.Candidates[res.Arch[i]].Name)
	}
	fmt.Fprintf(&b, "\n## Phases\n\n| round | block | slots | steps | stop | seconds |\n|---|---|---|---|---|---|\n")
	for _, p := range res.Phases {
		fmt.Fprintf(&b, "| %d | %d | %v | %d | %s | %.1f |\n", p.Round, p.Block+1, plus1(p.Slots), p.Steps, p.StopReason, p.Seconds)
	}
	fmt.Fprintf(&b, "\nStop: %s.\n\n## Costs\n\n%s\n", res.StopReason, r.Costs.Markdown())
	if err := r.weightsPNG(filepath.Join(dir, "weights.png"), res); err != nil {
		fmt.Fprintln(r.Stderr, "warning: weights plot:", err)
	} else {
		b.WriteString("\n## Weight trajectories\n\n![weights per slot over steps](weights.png)\n")
	}
	if len(yard) > 0 {
		fmt.Fprintf(&b, "\n## Yardsticks (each architecture trained from scratch, same retraining budget)\n\n| kind | architecture | val NLL | test log-lik | cost | seconds |\n|---|---|---|---|---|---|\n")
		for _, y := range yard {
			test := "—"
			if y.Test != nil {
				test = fmt.Sprintf("%.4f ± %.4f", y.Test.Mean, y.Test.TwoSE)
			}
			fmt.Fprintf(&b, "| %s | %s | %.4f | %s | %.3g | %.1f |\n", y.Kind, y.Arch, y.ValNLL, test, y.Cost, y.Secs)
		}
	}
	return os.WriteFile(filepath.Join(dir, "report.md"), []byte(b.String()), 0o644)
}

func plus1(v []int) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = x + 1
	}
	return out
}

// weightsPNG plots every slot's candidate weights over the search steps
// (steps numbered across phases).
func (r *runReport) weightsPNG(path string, res *strategy.Result) error {
	n, m := r.Space.Layers, len(r.Space.Candidates)
	var steps []float64
	w := make([][][]float64, n)
	for i := range w {
		w[i] = make([][]float64, m)
	}
	cur := make([][]float64, n)
	for i := range cur {
		cur[i] = make([]float64, m)
		for j := range cur[i] {
			cur[i][j] = 1 / float64(m)
		}
	}
	t := 0
	for _, p := range res.Phases {
		for _, rec := range p.History {
			for k, i := range p.Slots {
				copy(cur[i], rec.Weights[k])
			}
			t++
			steps = append(steps, float64(t))
			for i := range cur {
				for j := range cur[i] {
					w[i][j] = append(w[i][j], cur[i][j])
				}
			}
		}
	}
	if len(steps) < 2 {
		return fmt.Errorf("fewer than 2 steps")
	}
	return report.WeightTrajectories(path, "AutoNF: candidate weights per slot", steps, w, r.Space.Names())
}
