package bench

import (
	"context"
	"fmt"
	"slices"

	"github.com/autonf/autonf/model"
	"github.com/autonf/autonf/search"
	"github.com/autonf/autonf/search/strategy"
)

// toyName is the dataset name of the toy study in the units' keys.
const toyName = "toy"

// prepareToy generates the toy data (60/20/20 train/val/test) and the
// space ToyLayers × {planar, radial}.
func prepareToy(sc Scale) (*model.Prepared, *strategy.Space, error) {
	p, err := model.PrepareData(model.DataConfig{Data: sc.ToyData, ToyRows: sc.ToyRows, ValFrac: 0.2, TestFrac: 0.2, Shuffle: true, Seed: sc.DataSeed})
	if err != nil {
		return nil, nil, fmt.Errorf("bench: toy data: %w", err)
	}
	sp, err := strategy.NewSpace(p.Train.Cols, sc.ToyLayers, []string{"planar", "radial"}, nil, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("bench: toy space: %w", err)
	}
	return p, sp, nil
}

// toy runs the paper's toy study: every architecture of the toy space
// trained from scratch (its ground truth), then for each loss (M1: the
// original L^O, M2: the upper bound L^U), with the paper's softmax (τ = 1)
// and with the search's default temperature annealing, and each seed an
// exact whole-space search whose argmax is retrained from scratch and
// tested.
func (r *runner) toy(ctx context.Context) error {
	p, sp, err := prepareToy(r.sc)
	if err != nil {
		return err
	}
	r.setInfo(DatasetInfo{Name: toyName, Files: []string{r.sc.ToyData}, Dim: p.Train.Cols,
		Rows:   map[string]int{"train": p.Train.Rows, "val": p.Val.Rows, "test": p.TestTable.Rows},
		LogDet: p.Standardizer.LogDet(), Candidates: sp.Names(), Layers: sp.Layers})
	for seed := uint64(0); seed < uint64(r.sc.TrainSeeds); seed++ {
		for _, a := range sp.AllArchs() {
			if ctx.Err() != nil {
				return nil
			}
			if err := r.trainUnit(ctx, toyName, p, sp, a, seed, &r.res.ToyTruth); err != nil {
				return err
			}
		}
	}
	for _, anneal := range []bool{false, true} {
		for _, loss := range []string{"original", "upper"} {
			for seed := uint64(0); seed < uint64(r.sc.ToySeeds); seed++ {
				if ctx.Err() != nil {
					return nil
				}
				key := fmt.Sprintf("toy/%s/%s/seed%d", loss, annealName(anneal), seed)
				if r.res.Done(key) {
					continue
				}
				lk := search.Upper
				if loss == "original" {
					lk = search.Original
				}
				o := strategy.Options{Strategy: "grow", Block: sp.Layers, Loss: lk, Batch: r.sc.Batch, Steps: r.sc.SearchSteps, Seed: seed + 2000}
				if !anneal {
					o.TempEnd = 1 // τ = 1 throughout: the paper's softmax(α)
				}
				t := ToyRun{Key: key, Loss: loss, Anneal: anneal, Seed: seed}
				res, err := strategy.Run(ctx, sp, p.Train, p.Val, o)
				if ctx.Err() != nil {
					return nil
				}
				if err == nil {
					t.Arch, t.Name, t.Weights = slices.Clone(res.Arch), shortName(sp, res.Arch), res.Weights
					t.SearchSeconds, t.StopReason, t.Conv = res.Seconds, res.StopReason, convergenceOf(res, p)
					for _, ph := range res.Phases {
						t.Steps += ph.Steps
					}
					var te testNLL
					t.ValNLL, te, _, _, _, err = r.fit(ctx, p, sp, res.Arch, seed)
					t.TestNLL = te.nll
					if ctx.Err() != nil {
						return nil
					}
				}
				if err != nil {
					t.Error = err.Error()
				}
				r.res.Toy = append(r.res.Toy, t)
				r.res.done[key] = true
				r.doneN++
				if t.Error != "" {
					r.logf("toy %s %s seed %d: FAILED (%s)", loss, annealName(anneal), seed, t.Error)
				} else {
					r.logf("toy %s %s seed %d: %s, saturated %v, retrained test NLL %.3f (search %.1fs, %s)", loss, annealName(anneal), seed, t.Name, t.Conv.Saturated, t.TestNLL, t.SearchSeconds, t.StopReason)
				}
				if err := r.res.save(); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func annealName(anneal bool) string {
	if anneal {
		return "annealed"
	}
	return "tau1"
}
