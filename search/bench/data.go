package bench

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/autonf/autonf/data"
	"github.com/autonf/autonf/model"
)

// DatasetNames lists the real datasets the bench knows (files under the
// data directory, see its README).
func DatasetNames() []string {
	return []string{"miniboone", "shuttle", "satellite", "flights", "digits"}
}

// datasetFiles returns the files of dataset d relative to the data
// directory: MINIBOONE's val and test splits, or one CSV.
func datasetFiles(d string) []string {
	if d == "miniboone" {
		return []string{"miniboone/val.npy", "miniboone/test.npy"}
	}
	return []string{d + ".csv"}
}

// prepareDataset subsamples dataset d into train/val/test tables of at
// most sc.TrainRows/ValRows/TestRows rows (shuffled with sc.DataSeed) and
// prepares them with model.PrepareData (dequantisation of integer columns
// and standardisation, both fitted on the training rows). MINIBOONE's
// val.npy gives the training and validation rows (ValRows for validation,
// the rest, at most TrainRows, for training) and its test.npy the test
// rows. The subsamples are written to tmp, where PrepareData reads them.
func prepareDataset(d, dataDir, tmp string, sc Scale) (*model.Prepared, DatasetInfo, error) {
	files := datasetFiles(d)
	info := DatasetInfo{Name: d}
	load := func(f string) (*data.Table, error) {
		p := filepath.Join(dataDir, f)
		info.Files = append(info.Files, f)
		t, err := data.Load(p, data.LoadOptions{})
		if err != nil {
			return nil, fmt.Errorf("bench: dataset %s: %w", d, err)
		}
		return t, nil
	}
	rng := rand.New(rand.NewPCG(sc.DataSeed, 0xda7a))
	var tr, va, te *data.Table
	if len(files) == 2 {
		a, err := load(files[0])
		if err != nil {
			return nil, info, err
		}
		b, err := load(files[1])
		if err != nil {
			return nil, info, err
		}
		pa := rng.Perm(a.Rows)
		if a.Rows < sc.ValRows+50 {
			return nil, info, fmt.Errorf("bench: dataset %s has %d rows, too few for %d validation rows", d, a.Rows, sc.ValRows)
		}
		va = a.Subset(pa[:sc.ValRows])
		tr = a.Subset(pa[sc.ValRows:min(a.Rows, sc.ValRows+sc.TrainRows)])
		pb := rng.Perm(b.Rows)
		te = b.Subset(pb[:min(b.Rows, sc.TestRows)])
	} else {
		a, err := load(files[0])
		if err != nil {
			return nil, info, err
		}
		need := sc.TrainRows + sc.ValRows + sc.TestRows
		if a.Rows < need {
			return nil, info, fmt.Errorf("bench: dataset %s has %d rows, fewer than the %d the scale asks for", d, a.Rows, need)
		}
		pa := rng.Perm(a.Rows)
		tr = a.Subset(pa[:sc.TrainRows])
		va = a.Subset(pa[sc.TrainRows : sc.TrainRows+sc.ValRows])
		te = a.Subset(pa[sc.TrainRows+sc.ValRows : need])
	}
	dir := filepath.Join(tmp, d)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, info, err
	}
	paths := map[string]string{}
	for name, t := range map[string]*data.Table{"train": tr, "val": va, "test": te} {
		paths[name] = filepath.Join(dir, name+".csv")
		if err := data.SaveTable(paths[name], t); err != nil {
			return nil, info, fmt.Errorf("bench: dataset %s: %w", d, err)
		}
	}
	p, err := model.PrepareData(model.DataConfig{Data: paths["train"], Val: paths["val"], Test: paths["test"], Seed: sc.DataSeed})
	if err != nil {
		return nil, info, fmt.Errorf("bench: dataset %s: %w", d, err)
	}
	info.Dim = p.Train.Cols
	info.Rows = map[string]int{"train": p.Train.Rows, "val": p.Val.Rows, "test": p.TestTable.Rows}
	info.LogDet = p.Standardizer.LogDet()
	if p.Dequantizer != nil {
		info.Dequant = len(p.Dequantizer.Columns)
	}
	info.Warnings = p.Warnings
	return p, info, nil
}
