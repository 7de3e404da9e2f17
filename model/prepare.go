package model

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/autonf/autonf/data"
	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/tensor"
)

// DataConfig says where the data comes from and how to preprocess it: the
// one path from files to the float32 rows a flow trains on.
type DataConfig struct {
	Data, Val, Test string   // files (.csv/.npy) or "toy:NAME" for Data
	Columns         []string // columns to keep (names or 0-based indices)
	Header          data.HeaderMode
	ValFrac         float64 // held-out fractions when Val/Test are absent (0: 0.1)
	TestFrac        float64
	Shuffle         bool   // shuffle before holding out
	Seed            uint64 // shuffling and dequantisation noise
	Dequantize      string // auto (default), on, off
	Constant        string // drop (default) or refuse
	ToyRows         int    // rows generated for toy:NAME (default 20000)
}

// Prepared is the data ready for training, with the fitted preprocessing.
type Prepared struct {
	Train, Val, Test *tensor.Mat[float32] // standardised; Test may be nil
	Columns          []string             // the user's columns the model reads
	Standardizer     *data.Standardizer
	Dequantizer      *data.Dequantizer
	Constants        map[string]float64
	Warnings         []string
	Files            map[string]string
	Rows             map[string]int
	TestTable        *data.Table // raw test rows (user units), for evaluation
}

// LoadTable reads a data file or generates "toy:NAME" data.
func LoadTable(path string, opt data.LoadOptions, toyRows int, seed uint64) (*data.Table, error) {
	if name, ok := data.ParseToy(path); ok {
		if toyRows <= 0 {
			toyRows = 20000
		}
		t, err := data.Toy(name, toyRows, seed)
		if err != nil {
			return nil, err
		}
		if len(opt.Columns) > 0 {
			idx := make([]int, len(opt.Columns))
			for i, c := range opt.Columns {
				j, err := t.ColumnIndex(c)
				if err != nil {
					return nil, err
				}
				idx[i] = j
			}
			t = t.Select(idx)
		}
		return t, nil
	}
	return data.Load(path, opt)
}

// PrepareData loads, splits and preprocesses the data: standardisation and
// dequantisation are fitted on the training split only.
func PrepareData(cfg DataConfig) (*Prepared, error) {
	if cfg.Data == "" {
		return nil, fmt.Errorf("no training data: give --data FILE (.csv or .npy) or --data toy:NAME (%v)", data.ToyNames())
	}
	opt := data.LoadOptions{Columns: cfg.Columns, Header: cfg.Header}
	tr, err := LoadTable(cfg.Data, opt, cfg.ToyRows, cfg.Seed)
	if err != nil {
		return nil, err
	}
	var va, te *data.Table
	if cfg.Val != "" {
		if va, err = LoadTable(cfg.Val, opt, cfg.ToyRows/5, cfg.Seed+1); err != nil {
			return nil, err
		}
	}
	if cfg.Test != "" {
		if te, err = LoadTable(cfg.Test, opt, cfg.ToyRows/5, cfg.Seed+2); err != nil {
			return nil, err
		}
	}
	for _, t := range []*data.Table{tr, va, te} {
		if t != nil {
			if err := t.CheckFinite(); err != nil {
				return nil, err
			}
		}
	}
	tr, va, te, err = data.Split(tr, va, te, data.SplitOptions{ValFrac: cfg.ValFrac, TestFrac: cfg.TestFrac, Shuffle: cfg.Shuffle, Seed: int64(cfg.Seed)})
	if err != nil {
		return nil, err
	}
	p := &Prepared{Columns: tr.Columns, Files: map[string]string{"train": cfg.Data}, Rows: map[string]int{}, TestTable: te}
	if cfg.Val != "" {
		p.Files["val"] = cfg.Val
	}
	if cfg.Test != "" {
		p.Files["test"] = cfg.Test
	}
	deq, err := data.FitDequantizer(tr, cfg.Dequantize)
	if err != nil {
		return nil, err
	}
	p.Warnings = append(p.Warnings, deq.Warnings...)
	if len(deq.Columns) > 0 {
		p.Dequantizer = deq
		p.Warnings = append(p.Warnings, fmt.Sprintf("dequantizing %d discrete column(s) %v with uniform noise of one grid step; densities are those of the dequantized data", len(deq.Columns), deq.Names))
		rng := rand.New(rand.NewPCG(cfg.Seed, 0xde9))
		tr = deq.Apply(tr, rng)
		va = deq.Apply(va, rng)
	}
	std, warns, err := data.FitStandardizer(tr, cfg.Constant)
	if err != nil {
		return nil, err
	}
	p.Warnings = append(p.Warnings, warns...)
	p.Standardizer = std
	if len(std.Dropped) > 0 {
		p.Constants = map[string]float64{}
		for j, name := range tr.Columns {
			for _, d := range std.Dropped {
				if d == name {
					p.Constants[name] = tr.Row(0)[j]
				}
			}
		}
	}
	conv := func(t *data.Table) (*tensor.Mat[float32], error) {
		v, err := std.ApplyFloat32(t)
		if err != nil {
			return nil, err
		}
		return tensor.FromSlice(t.Rows, len(std.Keep), v), nil
	}
	if p.Train, err = conv(tr); err != nil {
		return nil, err
	}
	if p.Val, err = conv(va); err != nil {
		return nil, err
	}
	p.Rows["train"], p.Rows["val"] = tr.Rows, va.Rows
	if te != nil {
		p.Rows["test"] = te.Rows
	}
	return p, nil
}

// DataNLL converts a per-row NLL of the flow on p's standardised rows into
// the units of the user's file: −log p(x) = −log p_flow(y) − LogDet, with
// LogDet the standardisation's log-Jacobian.
func (p *Prepared) DataNLL(flowNLL float64) float64 { return flowNLL - p.Standardizer.LogDet() }

// Model wraps a flow trained on p with p's preprocessing.
func (p *Prepared) Model(f *flow.Flow[float32], seed uint64) *Model {
	return &Model{
		Flow: f, Columns: p.Columns, Standardizer: p.Standardizer, Dequantizer: p.Dequantizer, Constants: p.Constants,
		Meta: Meta{Created: time.Now().UTC(), Version: Version, Data: p.Files, Rows: p.Rows, Seed: seed},
	}
}
