package pipeline

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/autonf/autonf/internal/fsio"
	"github.com/autonf/autonf/report"
)

// WriteReport writes report.md, summary.json (the Result as JSON), the
// weight trajectories of every run (weights.png in its directory) and,
// for a λ sweep, pareto.png into dir.
func (r *Result) WriteReport(dir string) error {
	var b strings.Builder
	o := r.Options
	fmt.Fprintf(&b, "# AutoNF search report\n\n")
	fmt.Fprintf(&b, "Data: %s (%d training, %d validation, %d test rows; %d columns). Space: %d slots × {%s} = %d architectures.\n\n",
		fileList(r.Prep.Files), r.Prep.Rows["train"], r.Prep.Rows["val"], r.Prep.Rows["test"], r.Space.Dim, r.Space.Layers, strings.Join(r.Space.Names(), ", "), r.Space.NumArchs())
	fmt.Fprintf(&b, "Search: strategy %s, %s, estimator %s, loss %s, at most %d steps per block, batch %d, seed %d; costs: %s emphasis, %s.\n\n",
		o.Search.Strategy, blockText(o), o.Search.Estimator, o.Search.Loss, o.Search.Steps, o.Search.Batch, o.Search.Seed, o.Emphasis, o.Cost)
	fmt.Fprintf(&b, "**Units**: every NLL and log-likelihood below is per row, in nats, in the units of the data file (the standardisation's log-Jacobian, %.4f nats, is included). Architectures are chosen on validation NLL; test figures are reported beside and never used to choose.\n\n", r.LogDet)

	switch {
	case r.Pareto != nil:
		r.paretoSection(&b)
	case r.Seeds != nil:
		r.seedsSection(&b)
	case len(r.Runs) == 1:
		r.runSection(&b, r.Runs[0], dir)
	}
	if len(r.Yard) > 0 {
		r.yardSection(&b)
	}
	fmt.Fprintf(&b, "\n## Costs\n\n%s\nTotal wall time: %.1f s.\n", r.Costs.Markdown(), r.Seconds)

	for _, run := range r.Runs {
		d := run.Dir
		if d == "" {
			d = dir
		}
		if err := r.weightsPNG(filepath.Join(d, "weights.png"), run); err != nil {
			logf(r.log, "warning: weights plot: %v\n", err)
		}
	}
	if r.Pareto != nil {
		if err := r.paretoPNG(filepath.Join(dir, "pareto.png")); err != nil {
			logf(r.log, "warning: pareto plot: %v\n", err)
		} else {
			b.WriteString("\n![Pareto front](pareto.png)\n")
		}
	}
	if err := fsio.WriteFile(filepath.Join(dir, "report.md"), []byte(b.String())); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r.Summary(), "", "  ")
	if err != nil {
		return fmt.Errorf("summary.json: %w", err)
	}
	return fsio.WriteFile(filepath.Join(dir, "summary.json"), js)
}

func fileList(files map[string]string) string {
	var parts []string
	for _, k := range []string{"train", "val", "test"} {
		if f, ok := files[k]; ok {
			parts = append(parts, fmt.Sprintf("%s `%s`", k, f))
		}
	}
	return strings.Join(parts, ", ")
}

func blockText(o Options) string {
	if o.Search.Block >= o.Layers {
		return "all slots searched jointly"
	}
	return fmt.Sprintf("blocks of %d slots", o.Search.Block)
}

func (r *Result) runSection(b *strings.Builder, run *SearchRun, dir string) {
	fmt.Fprintf(b, "## Found architecture\n\n`%s`\n\nSpec: [arch.json](arch.json). %s cost (sum over slots, affine coupling = 1): **%.3g**", run.ArchName, r.Costs.Emphasis, run.Cost)
	if run.AllCosts != nil {
		fmt.Fprintf(b, "; under every emphasis (%s): train %.3g, forward %.3g, inverse %.3g", r.Costs.Source, run.AllCosts["train"], run.AllCosts["forward"], run.AllCosts["inverse"])
	}
	b.WriteString(".\n\n")
	if run.Saturated {
		b.WriteString("Every slot ended **saturated** (max weight ≥ 0.99): the argmax is the architecture the relaxation converged to.\n\n")
	} else {
		b.WriteString("**Not saturated**: some slot ended with max weight < 0.99, so the derived architecture is the argmax of a mixture (DARTS-style binarisation), not a converged one-hot choice.\n\n")
	}
	fmt.Fprintf(b, "Binarisation gap on the validation set with the supernet's shared parameters: L^U at the final weights %.4f, NLL of the argmax path %.4f, gap (L^U − argmax) %+.4f nats.\n\n", run.RelaxedNLL, run.ArgmaxNLL, run.Gap)
	if run.Model != nil {
		fmt.Fprintf(b, "Retrained from %s (%d epochs, %.1f s): validation NLL %.4f", map[bool]string{true: "the supernet's parameters (warm start)", false: "scratch"}[r.Options.WarmStart], run.RetrainEpochs, run.RetrainSeconds, run.ValNLL)
		if run.Test != nil {
			fmt.Fprintf(b, "; **test log-likelihood %.4f ± %.4f** (±2 s.e., n = %d; median %.4f, 5 %%-trimmed mean %.4f)", run.Test.Mean, run.Test.TwoSE, run.Test.N, run.Test.Median, run.Test.TrimmedMean)
		}
		b.WriteString(".\n\n")
		if run.Test != nil && run.Test.Warning() != "" {
			fmt.Fprintf(b, "**Warning:** %s\n\n", run.Test.Warning())
		}
		if run.RetrainSeconds > 0 {
			fmt.Fprintf(b, "Search cost: %.1f s, %.1f× one training of the result.\n\n", run.SearchSeconds, run.SearchSeconds/run.RetrainSeconds)
		}
	} else {
		fmt.Fprintf(b, "Search: %.1f s (not retrained).\n\n", run.SearchSeconds)
	}
	fmt.Fprintf(b, "## Final weights per slot\n\n| slot | %s | max | argmax |\n|---|%s---|---|\n", strings.Join(r.Space.Names(), " | "), strings.Repeat("---|", len(r.Space.Candidates)))
	for i, w := range run.Weights {
		cells := make([]string, len(w))
		for j, v := range w {
			cells[j] = fmt.Sprintf("%.3f", v)
		}
		fmt.Fprintf(b, "| %d | %s | %.3f | %s |\n", i+1, strings.Join(cells, " | "), slices.Max(w), r.Space.Candidates[run.Arch[i]].Name)
	}
	fmt.Fprintf(b, "\n## Phases\n\n| round | block | slots | steps | saturated | gap | stop | seconds |\n|---|---|---|---|---|---|---|---|\n")
	for _, p := range run.Phases {
		stop := p.StopReason
		if p.Reverted {
			stop += "; revisit's choice reverted (it did not lower the validation objective)"
		}
		fmt.Fprintf(b, "| %d | %d | %v | %d | %v | %s | %s | %.1f |\n", p.Round, p.Block+1, plus1(p.Slots), p.Steps, p.Saturated, fmtNaN(p.Gap), stop, p.Seconds)
	}
	fmt.Fprintf(b, "\nStop: %s.\n\n![weights per slot over steps](%s)\n", run.StopReason, relWeights(run.Dir, dir))
}

func relWeights(runDir, dir string) string {
	if runDir == "" || runDir == dir {
		return "weights.png"
	}
	rel, err := filepath.Rel(dir, filepath.Join(runDir, "weights.png"))
	if err != nil {
		return filepath.Join(runDir, "weights.png")
	}
	return rel
}

func testCell(run *SearchRun) string {
	if run.Test == nil {
		return "—"
	}
	return fmt.Sprintf("%.4f ± %.4f", run.Test.Mean, run.Test.TwoSE)
}

func (r *Result) seedsSection(b *strings.Builder) {
	s := r.Seeds
	fmt.Fprintf(b, "## %d seeds\n\n", s.K)
	if !math.IsNaN(s.TestMean) {
		fmt.Fprintf(b, "Test log-likelihood of the retrained picks: **%.4f ± %.4f** (mean ± s.d. over %d seeds); validation NLL %.4f ± %.4f. %d of %d runs ended saturated. Mean search time %.1f s.\n\n", s.TestMean, s.TestSD, s.K, s.ValMean, s.ValSD, s.Saturated, s.K, s.SearchSeconds)
	} else {
		fmt.Fprintf(b, "Validation NLL of the retrained picks: %.4f ± %.4f (mean ± s.d. over %d seeds; no test set). %d of %d runs ended saturated.\n\n", s.ValMean, s.ValSD, s.K, s.Saturated, s.K)
	}
	b.WriteString("| architecture | picked |\n|---|---|\n")
	for _, p := range s.Picks {
		fmt.Fprintf(b, "| %s | %d of %d |\n", p.Arch, p.Count, s.K)
	}
	b.WriteString("\n| seed | architecture | saturated | gap | val NLL | test log-lik | search s | retrain s |\n|---|---|---|---|---|---|---|---|\n")
	for _, run := range r.Runs {
		fmt.Fprintf(b, "| %d | %s | %v | %s | %.4f | %s | %.1f | %.1f |\n", run.Seed, run.ArchName, run.Saturated, fmtNaN(run.Gap), run.ValNLL, testCell(run), run.SearchSeconds, run.RetrainSeconds)
	}
}

func fmtNaN(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf("%+.4f", v)
}

func (r *Result) paretoSection(b *strings.Builder) {
	p := r.Pareto
	fmt.Fprintf(b, "## λ sweep (front chosen on validation NLL)\n\n| λ | architecture | cost | saturated | val NLL | test log-lik | on front | best val |\n|---|---|---|---|---|---|---|---|\n")
	for i, run := range r.Runs {
		fmt.Fprintf(b, "| %.3g | %s | %.3g | %v | %.4f | %s | %v | %v |\n", run.Lambda, run.ArchName, run.Cost, run.Saturated, run.ValNLL, testCell(run), slices.Contains(p.Front, i), i == p.Best)
	}
}

func (r *Result) yardSection(b *strings.Builder) {
	fmt.Fprintf(b, "\n## Yardsticks\n\nEach trained from scratch under the retraining budget of the search's result (≤ %d epochs, patience %d, batch %d, seed %d), sorted by validation NLL. "+
		"*exhaustive* and *random* are architectures of the space; *matched* is %d × one candidate at the searched sizes (hidden %v, %d bins); *preset* is a hand-crafted flow at **its own sizes** (not matched), priced as a whole on the same cost scale.\n\n"+
		"| kind | flow | layers | cost | val NLL | test log-lik | dominated by (val NLL, cost) | seconds |\n|---|---|---|---|---|---|---|---|\n",
		r.Options.Retrain.Epochs, r.Options.Retrain.Patience, r.Options.Search.Batch, r.Options.Search.Seed, r.Space.Layers, r.Options.Hidden, r.Options.Bins)
	for _, y := range r.Yard {
		if y.Err != "" {
			fmt.Fprintf(b, "| %s | %s | %d | — | failed: %s | — | — | — |\n", y.Kind, y.Name, y.Layers, y.Err)
			continue
		}
		test := "—"
		if y.Test != nil {
			test = fmt.Sprintf("%.4f ± %.4f", y.Test.Mean, y.Test.TwoSE)
		}
		dom := "—"
		if len(y.DominatedBy) > 0 {
			dom = strings.Join(y.DominatedBy, ", ")
		}
		fmt.Fprintf(b, "| %s | %s | %d | %.3g | %.4f | %s | %s | %.1f |\n", y.Kind, y.Name, y.Layers, y.Cost, y.ValNLL, test, dom, y.Seconds)
	}
}

func plus1(v []int) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = x + 1
	}
	return out
}

// weightsPNG plots every slot's candidate weights over the search steps of
// run (steps numbered across phases).
func (r *Result) weightsPNG(path string, run *SearchRun) error {
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
	for _, p := range run.Search.Phases {
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

func (r *Result) paretoPNG(path string) error {
	var pts, front, refs []report.Point
	for _, run := range r.Runs {
		pts = append(pts, report.Point{Label: fmt.Sprintf("λ=%.3g", run.Lambda), Cost: run.Cost, NLL: run.ValNLL})
	}
	for _, i := range r.Pareto.Front {
		front = append(front, pts[i])
	}
	for _, y := range r.Yard {
		if y.Err == "" && (y.Kind == "preset" || y.Kind == "matched") && !math.IsNaN(y.Cost) {
			refs = append(refs, report.Point{Label: y.Name, Cost: y.Cost, NLL: y.ValNLL})
		}
	}
	return report.ParetoFront(path, "AutoNF λ sweep: validation NLL (data units) vs cost",
		fmt.Sprintf("%s cost (%s, affine coupling = 1 per layer)", r.Costs.Emphasis, r.Costs.Source), pts, front, refs)
}

// Summary is the run as plain data (what summary.json and the CLI's --json
// line hold): every NLL per row in data units; non-finite numbers as null.
func (r *Result) Summary() map[string]any {
	runs := make([]map[string]any, len(r.Runs))
	for i, run := range r.Runs {
		m := map[string]any{
			"seed": run.Seed, "lambda": run.Lambda, "arch": run.ArchName, "arch_index": run.Arch,
			"final_weights": run.Weights, "max_weight": run.MaxWeight, "saturated": run.Saturated,
			"relaxed_val_nll": num(run.RelaxedNLL), "argmax_val_nll": num(run.ArgmaxNLL), "binarization_gap": num(run.Gap),
			"stop_reason": run.StopReason, "warnings": run.Warnings, "cost": num(run.Cost), "all_costs": run.AllCosts,
			"search_seconds": run.SearchSeconds, "retrain_seconds": run.RetrainSeconds,
			"val_nll": num(run.ValNLL), "test_nll": nil, "test_loglik_mean": nil, "test_loglik_2se": nil,
		}
		if run.Test != nil {
			m["test_nll"], m["test_loglik_mean"], m["test_loglik_2se"], m["test_n"] = num(-run.Test.Mean), num(run.Test.Mean), num(run.Test.TwoSE), run.Test.N
			m["test_loglik_median"], m["test_loglik_trimmed_mean"], m["test_outlier_rows"] = num(run.Test.Median), num(run.Test.TrimmedMean), run.Test.Outliers
		}
		var phases []map[string]any
		for _, p := range run.Phases {
			phases = append(phases, map[string]any{"round": p.Round, "block": p.Block + 1, "slots": plus1(p.Slots), "steps": p.Steps, "stop_reason": p.StopReason, "seconds": p.Seconds, "choice": p.Choice,
				"final_weights": p.Weights, "saturated": p.Saturated, "temperature": p.Temperature, "binarization_gap": num(p.Gap), "reverted": p.Reverted})
		}
		m["phases"] = phases
		runs[i] = m
	}
	out := map[string]any{"units": Units, "standardization_logdet": r.LogDet, "space": map[string]any{"layers": r.Space.Layers, "candidates": r.Space.Names(), "dim": r.Space.Dim},
		"costs": r.Costs, "runs": runs, "seconds": r.Seconds, "data": r.Data}
	if len(r.Runs) == 1 {
		for k, v := range runs[0] {
			out[k] = v
		}
	}
	if r.Seeds != nil {
		s := *r.Seeds
		out["seeds"] = map[string]any{"k": s.K, "test_loglik_mean": num(s.TestMean), "test_loglik_sd": num(s.TestSD), "val_nll_mean": num(s.ValMean), "val_nll_sd": num(s.ValSD), "picks": s.Picks, "saturated_runs": s.Saturated}
	}
	if r.Pareto != nil {
		out["pareto"] = map[string]any{"lambdas": r.Pareto.Lambdas, "front": r.Pareto.Front, "best": r.Pareto.Best, "chosen_on": "validation NLL"}
	}
	if len(r.Yard) > 0 {
		var ys []map[string]any
		for _, y := range r.Yard {
			m := map[string]any{"kind": y.Kind, "name": y.Name, "layers": y.Layers, "cost": num(y.Cost), "val_nll": num(y.ValNLL), "seconds": y.Seconds, "dominated_by": y.DominatedBy}
			if y.Test != nil {
				m["test_nll"], m["test_loglik_mean"], m["test_loglik_2se"] = num(-y.Test.Mean), num(y.Test.Mean), num(y.Test.TwoSE)
			}
			if y.Err != "" {
				m["error"] = y.Err
			}
			ys = append(ys, m)
		}
		out["yardsticks"] = ys
	}
	return out
}

// num maps non-finite values to nil (JSON null).
func num(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}
