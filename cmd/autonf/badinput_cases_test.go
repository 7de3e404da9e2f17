package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/autonf/autonf/internal/fsio"
	"github.com/autonf/autonf/model"
)

func init() { badCases = append(badCases, coreCases...) }

// args is shorthand for a fixed command line.
func args(a ...string) func(*fixture) []string { return func(*fixture) []string { return a } }

// trainOn trains on a data file written with content (tiny, fast).
func trainOn(name, content string, extra ...string) func(*fixture) []string {
	return func(fx *fixture) []string {
		return append([]string{"train", "--data", fx.File(name, content), "--arch", fx.Spec, "--epochs", "1", "--quiet", "--out", fx.Path("out-" + name)}, extra...)
	}
}

// trainFlags trains the fixture data with extra flags.
func trainWith(extra ...string) func(*fixture) []string {
	return func(fx *fixture) []string {
		fx.n++
		return append([]string{"train", "--data", fx.Good, "--arch", fx.Spec, "--epochs", "1", "--quiet", "--out", fx.Path(fmt.Sprintf("out-flags-%d", fx.n))}, extra...)
	}
}

// npy builds a .npy file: header dict, then payload.
func npy(dict string, payload []byte) string {
	total := 10 + len(dict) + 1
	dict += strings.Repeat(" ", (64-total%64)%64) + "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(dict)))
	b.WriteString(dict)
	b.Write(payload)
	return b.String()
}

func f64s(v ...float64) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, v)
	return b.Bytes()
}

// evalModel evaluates the good data under a model variant.
func evalModel(name string, manifest func(map[string]any), weights func(map[string]model.Tensor)) func(*fixture) []string {
	return func(fx *fixture) []string {
		return []string{"eval", "--model", fx.ModelVariant(name, manifest, weights), "--data", fx.Good}
	}
}

func std(m map[string]any) map[string]any { return m["standardizer"].(map[string]any) }
func layer0(m map[string]any) map[string]any {
	return m["arch"].(map[string]any)["layers"].([]any)[0].(map[string]any)
}

// longTrain is a run long enough to be signalled after its first checkpoint.
func longTrain(fx *fixture, out string) []string {
	return []string{"train", "--data", fx.Good, "--arch", fx.Spec, "--epochs", "100000", "--patience", "0", "--quiet", "--checkpoint-every", "0", "--out", out}
}

// signalRun starts a long train run as a child, sends sig after its first
// checkpoint, and returns its exit code and stderr.
func signalRun(sig syscall.Signal, name string) func(*testing.T, *fixture) (int, string) {
	return func(t *testing.T, fx *fixture) (int, string) {
		out := fx.Path(name)
		cmd, errb := child(t, longTrain(fx, out)...)
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		waitFor(t, cmd, exited, filepath.Join(out, checkpointDir, "state.json"))
		cmd.Process.Signal(sig)
		return exitCode(<-exited), errb.String()
	}
}

var coreCases = []badCase{
	// Data files.
	{Group: "data files", What: "file does not exist", Args: func(fx *fixture) []string {
		return []string{"train", "--data", fx.Path("nope.csv"), "--out", fx.Path("o")}
	}, Code: 1, Want: "no such file"},
	{Group: "data files", What: "unsupported extension", Args: func(fx *fixture) []string {
		return []string{"train", "--data", fx.File("x.parquet", "PAR1"), "--out", fx.Path("o")}
	}, Code: 1, Want: "unsupported file extension"},
	{Group: "data files", What: "empty CSV", Args: trainOn("empty.csv", ""), Code: 1, Want: "empty file"},
	{Group: "data files", What: "header only", Args: trainOn("header.csv", "a,b\n"), Code: 1, Want: "no data rows"},
	{Group: "data files", What: "a cell is not a number", Args: trainOn("nan-text.csv", "a,b\n1,2\n3,x\n"), Code: 1, Want: `line 3, column "b"`},
	{Group: "data files", What: "a cell is NaN", Args: trainOn("nan.csv", "a,b\n1,2\n3,NaN\n"), Code: 1, Want: "not finite"},
	{Group: "data files", What: "a cell is -Inf", Args: trainOn("inf.csv", "a,b\n1,-Inf\n3,4\n"), Code: 1, Want: "not finite"},
	{Group: "data files", What: "missing value marker", Args: trainOn("na.csv", "a,b\n1,2\nNA,4\n"), Code: 1, Want: "missing values"},
	{Group: "data files", What: "ragged row", Args: trainOn("ragged.csv", "a,b\n1,2\n3\n"), Code: 1, Want: "expected 2 fields"},
	{Group: "data files", What: "duplicate column names", Args: trainOn("dup.csv", "a,b,a\n1,2,3\n4,5,6\n"), Code: 1, Want: "must be unique"},
	{Group: "data files", What: "a text (label) column", Args: trainOn("label.csv", "a,label\n1,cat\n2,dog\n3,cat\n"), Code: 1, Want: "not numeric"},
	{Group: "data files", What: "malformed quoting", Args: trainOn("quote.csv", "a,b\n1,\"2\n3,4\n"), Code: 1, Want: "malformed CSV"},
	{Group: "data files", What: "every column constant", Args: trainOn("const.csv", strings.Repeat("a,b\n", 1)+strings.Repeat("1,2\n", 50)), Code: 1, Want: "all 2 columns are constant"},
	{Group: "data files", What: "a constant column with --constant refuse", Args: trainOn("const1.csv", "a,b\n"+strings.Repeat("1,5\n2,5\n3,5\n", 10), "--constant", "refuse"), Code: 1, Want: "column is constant"},
	{Group: "data files", What: "too few rows to split", Args: trainOn("tiny.csv", "a,b\n1,2\n3,4\n"), Code: 1, Want: "rows"},
	{Group: "data files", What: "/dev/zero behind a .csv name", Args: func(fx *fixture) []string {
		return []string{"train", "--data", fx.Link("zero.csv", "/dev/zero"), "--out", fx.Path("o")}
	}, Code: 1, Want: "longer than 64 MiB"},
	{Group: "data files", What: "npy: bad magic", Args: trainOn("magic.npy", "PK\x03\x04 not numpy"), Code: 1, Want: "bad magic"},
	{Group: "data files", What: "npy: data shorter than the shape", Args: trainOn("short.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (100, 2), }", f64s(1, 2, 3))), Code: 1, Want: "truncated"},
	{Group: "data files", What: "npy: complex dtype", Args: trainOn("complex.npy", npy("{'descr': '<c16', 'fortran_order': False, 'shape': (1, 1), }", make([]byte, 16))), Code: 1, Want: "unsupported dtype"},
	{Group: "data files", What: "npy: 3-D array", Args: trainOn("cube.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 1), }", f64s(1))), Code: 1, Want: "want 1-D"},
	{Group: "data files", What: "npy: shape of 2⁴² values", Args: trainOn("huge.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776, 4), }", nil)), Code: 1, Want: "too large"},
	{Group: "data files", What: "npy: a NaN value", Args: trainOn("nan.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 1), }", f64s(1, math.NaN()))), Code: 1, Want: "not finite"},
	{Group: "data files", What: "--columns names an unknown column", Args: trainWith("--columns", "zz"), Code: 1, Want: `unknown column "zz"`},
	{Group: "data files", What: "--columns selects a column twice", Args: trainWith("--columns", "x,0"), Code: 1, Want: "selected twice"},
	{Group: "data files", What: "--val file with other columns", Args: func(fx *fixture) []string {
		return []string{"train", "--data", fx.Good, "--val", fx.File("val3.csv", "x,y,z\n1,2,3\n4,5,6\n"), "--out", fx.Path("o")}
	}, Code: 1, Want: "column"},
	{Group: "data files", What: "eval data with other columns", Args: func(fx *fixture) []string {
		return []string{"eval", "--model", fx.Model, "--data", fx.File("three.csv", "p,q,r\n1,2,3\n4,5,6\n")}
	}, Code: 1, Want: "3 columns but the model was trained on 2"},

	// Flags.
	{Group: "flags", What: "no command", Args: args(), Code: 2, Want: "autonf: normalizing flows"},
	{Group: "flags", What: "unknown command", Args: args("fly"), Code: 2, Want: `unknown command "fly"`},
	{Group: "flags", What: "unknown flag", Args: args("eval", "--modle", "m"), Code: 2, Want: "flag provided but not defined"},
	{Group: "flags", What: "stray argument", Args: args("train", "data.csv"), Code: 2, Want: "unexpected argument"},
	{Group: "flags", What: "missing --data", Args: args("train", "--out", "m"), Code: 2, Want: "missing required flag --data"},
	{Group: "flags", What: "--lr NaN", Args: trainWith("--lr", "NaN"), Code: 1, Want: "--lr must be a finite number in (0, 10], got NaN"},
	{Group: "flags", What: "--lr Inf", Args: trainWith("--lr", "Inf"), Code: 1, Want: "got +Inf"},
	{Group: "flags", What: "--lr 1e9", Args: trainWith("--lr", "1e9"), Code: 1, Want: "got 1e+09"},
	{Group: "flags", What: "--lr -1", Args: trainWith("--lr", "-1"), Code: 1, Want: "got -1"},
	{Group: "flags", What: "--weight-decay NaN", Args: trainWith("--weight-decay", "NaN"), Code: 1, Want: "--weight-decay must be a finite number"},
	{Group: "flags", What: "--clip -Inf", Args: trainWith("--clip", "-Inf"), Code: 1, Want: "--clip must be a finite number ≥ 0"},
	{Group: "flags", What: "--epochs 0", Args: trainWith("--epochs", "0"), Code: 1, Want: "--epochs must be an integer from 1"},
	{Group: "flags", What: "--batch -5", Args: trainWith("--batch", "-5"), Code: 1, Want: "--batch must be an integer from 1"},
	{Group: "flags", What: "--max-time -1s", Args: trainWith("--max-time", "-1s"), Code: 1, Want: "--max-time must be a duration ≥ 0"},
	{Group: "flags", What: "--max-time 1ns: training stops before an epoch", Args: trainWith("--max-time", "1ns"), Code: 1, Want: "no model saved"},
	{Group: "flags", What: "--lr 10 on maf5: validation never finite", Args: func(fx *fixture) []string {
		return []string{"train", "--data", fx.Good, "--arch", "maf5", "--lr", "10", "--epochs", "3", "--quiet", "--out", fx.Path("diverge")}
	}, Code: 1, Want: "no model saved", Numbers: true},
	{Group: "flags", What: "toy data of 4096 columns × 10⁷ rows", Args: func(fx *fixture) []string {
		return []string{"train", "--data", "toy:gaussian-4096", "--toy-rows", "10000000", "--out", fx.Path("o")}
	}, Code: 1, Want: "more than 268435456 values"},
	{Group: "flags", What: "--val-split 1.5", Args: trainWith("--val-split", "1.5"), Code: 1, Want: "--val-split must be a finite number in (0, 1), got 1.5"},
	{Group: "flags", What: "--val-split NaN", Args: trainWith("--val-split", "NaN"), Code: 1, Want: "got NaN"},
	{Group: "flags", What: "--toy-rows 10¹²", Args: func(fx *fixture) []string {
		return []string{"train", "--data", "toy:moons", "--toy-rows", "1000000000000", "--out", fx.Path("o")}
	}, Code: 1, Want: "--toy-rows must be an integer from 10"},
	{Group: "flags", What: "--header maybe", Args: trainWith("--header", "maybe"), Code: 1, Want: "unknown header mode"},
	{Group: "flags", What: "--dequantize sometimes", Args: trainWith("--dequantize", "sometimes"), Code: 1, Want: "unknown dequantize mode"},
	{Group: "flags", What: "--resume with --force", Args: trainWith("--resume", "--force"), Code: 1, Want: "contradict"},
	{Group: "flags", What: "unknown toy data set", Args: func(fx *fixture) []string { return []string{"train", "--data", "toy:blob", "--out", fx.Path("o")} }, Code: 1, Want: "blob"},
	{Group: "flags", What: "sample -n 0", Args: func(fx *fixture) []string {
		return []string{"sample", "--model", fx.Model, "-n", "0", "--out", fx.Path("s0.csv")}
	}, Code: 1, Want: "-n must be an integer from 1"},
	{Group: "flags", What: "sample -n 2·10⁹", Args: func(fx *fixture) []string {
		return []string{"sample", "--model", fx.Model, "-n", "2000000000", "--out", fx.Path("s1.csv")}
	}, Code: 1, Want: "got 2000000000"},
	{Group: "flags", What: "plot -n -3", Args: func(fx *fixture) []string {
		return []string{"plot", "--model", fx.Model, "-n", "-3", "--out", fx.Path("p.png")}
	}, Code: 1, Want: "-n must be an integer from 1 to 1000000, got -3"},
	{Group: "flags", What: "arch --dim 0", Args: args("arch", "--show", "maf5", "--dim", "0"), Code: 1, Want: "--dim must be an integer from 1"},
	{Group: "flags", What: "arch --dim 2³²", Args: args("arch", "--show", "maf5", "--dim", "4294967296"), Code: 1, Want: "--dim must be an integer"},
	{Group: "flags", What: "unknown preset", Args: trainWith("--arch", "mafff"), Code: 1, Want: `preset "mafff" is unknown`},

	// Outputs.
	{Group: "outputs", What: "train --out in /proc", Args: func(fx *fixture) []string {
		return []string{"train", "--data", fx.Good, "--out", "/proc/x"}
	}, Code: 1, Want: "cannot create the directory"},
	{Group: "outputs", What: "train --out holds a model", Args: func(fx *fixture) []string {
		return []string{"train", "--data", fx.Good, "--out", fx.Model}
	}, Code: 1, Want: "use --force to replace it"},
	{Group: "outputs", What: "train --out is a file", Args: func(fx *fixture) []string {
		return []string{"train", "--data", fx.Good, "--out", fx.File("afile", "x")}
	}, Code: 1, Want: "exists and is not a directory"},
	{Group: "outputs", What: "train --out would overwrite the data (--data is OUT/model.json)", Args: func(fx *fixture) []string {
		d := fx.File("trap/model.json", "a,b\n")
		return []string{"train", "--data", d, "--out", fx.Path("trap"), "--force"}
	}, Code: 1, Want: "would overwrite the input"},
	{Group: "outputs", What: "density --out is its own --data", Args: func(fx *fixture) []string {
		d := fx.File("d.csv", "x,y\n1,2\n")
		return []string{"density", "--model", fx.Model, "--data", d, "--out", d, "--force"}
	}, Code: 1, Want: "same file as the input"},
	{Group: "outputs", What: "sample --out is a file of the model", Args: func(fx *fixture) []string {
		return []string{"sample", "--model", fx.Model, "--out", filepath.Join(fx.Model, "curve.csv"), "--force"}
	}, Code: 1, Want: "same file as the input"},
	{Group: "outputs", What: "sample --out exists", Args: func(fx *fixture) []string {
		return []string{"sample", "--model", fx.Model, "--out", fx.File("exists.csv", "keep me\n")}
	}, Code: 1, Want: "use --force to overwrite it"},
	{Group: "outputs", What: "sample --out symlink to the data", Args: func(fx *fixture) []string {
		return []string{"sample", "--model", fx.Model, "--out", fx.Link("alias.csv", filepath.Join(fx.Model, model.ManifestFile)), "--force"}
	}, Code: 1, Want: "same file as the input"},
	{Group: "outputs", What: "sample --out .txt", Args: func(fx *fixture) []string {
		return []string{"sample", "--model", fx.Model, "--out", fx.Path("s.txt")}
	}, Code: 1, Want: "must be a .csv or .npy file"},
	{Group: "outputs", What: "sample --out is a directory", Args: func(fx *fixture) []string {
		os.MkdirAll(fx.Path("dir.csv"), 0o755)
		return []string{"sample", "--model", fx.Model, "--out", fx.Path("dir.csv")}
	}, Code: 1, Want: "is a directory"},
	{Group: "outputs", What: "density --out in a missing directory", Args: func(fx *fixture) []string {
		return []string{"density", "--model", fx.Model, "--data", fx.Good, "--out", fx.Path("no/such/d.csv")}
	}, Code: 1, Want: "cannot create files in"},
	{Group: "outputs", What: "plot --out .jpg", Args: func(fx *fixture) []string {
		return []string{"plot", "--model", fx.Model, "--out", fx.Path("p.jpg")}
	}, Code: 1, Want: "must be a .png file"},

	// Model directories.
	{Group: "model directories", What: "no such model", Args: func(fx *fixture) []string {
		return []string{"eval", "--model", fx.Path("none"), "--data", fx.Good}
	}, Code: 1, Want: "a model is a directory written by autonf train"},
	{Group: "model directories", What: "model.json is not JSON", Args: func(fx *fixture) []string {
		d := fx.ModelVariant("m-notjson", nil, nil)
		os.WriteFile(filepath.Join(d, model.ManifestFile), []byte("{"), 0o644)
		return []string{"eval", "--model", d, "--data", fx.Good}
	}, Code: 1, Want: "not valid JSON"},
	{Group: "model directories", What: "model.json is /dev/zero", Args: func(fx *fixture) []string {
		d := fx.ModelVariant("m-zero", nil, nil)
		os.Remove(filepath.Join(d, model.ManifestFile))
		os.Symlink("/dev/zero", filepath.Join(d, model.ManifestFile))
		return []string{"eval", "--model", d, "--data", fx.Good}
	}, Code: 1, Want: "larger than 64 MiB"},
	{Group: "model directories", What: "unknown format tag", Args: evalModel("m-format", func(m map[string]any) { m["format"] = "autonf.model/v9" }, nil), Code: 1, Want: "not supported"},
	{Group: "model directories", What: "hidden width 10⁹", Args: evalModel("m-hidden", func(m map[string]any) { layer0(m)["hidden"] = []any{1e9} }, nil), Code: 1, Want: "hidden width 1000000000"},
	{Group: "model directories", What: "dim 2³²", Args: evalModel("m-dim", func(m map[string]any) { m["arch"].(map[string]any)["dim"] = float64(1 << 32) }, nil), Code: 1, Want: "above the limit"},
	{Group: "model directories", What: "standardiser: fewer stds than columns", Args: evalModel("m-stdlen", func(m map[string]any) { std(m)["std"] = []any{1.0} }, nil), Code: 1, Want: "1 stds"},
	{Group: "model directories", What: "standardiser: negative std", Args: evalModel("m-negstd", func(m map[string]any) { std(m)["std"] = []any{-1.0, 1.0} }, nil), Code: 1, Want: "must be finite and > 0"},
	{Group: "model directories", What: "standardiser: column index out of range", Args: evalModel("m-keep", func(m map[string]any) { std(m)["keep"] = []any{0.0, 9.0} }, nil), Code: 1, Want: "not an increasing list"},
	{Group: "model directories", What: "dequantiser lengths disagree", Args: evalModel("m-deq", func(m map[string]any) {
		m["dequantizer"] = map[string]any{"num_cols": 2.0, "columns": []any{0.0, 1.0}, "steps": []any{1.0}}
	}, nil), Code: 1, Want: "dequantizer has 2 columns but 1 steps"},
	{Group: "model directories", What: "columns repeated", Args: evalModel("m-cols", func(m map[string]any) { m["columns"] = []any{"x", "x"} }, nil), Code: 1, Want: "appears twice"},
	{Group: "model directories", What: "weights changed", Args: func(fx *fixture) []string {
		d := fx.ModelVariant("m-tamper", nil, nil)
		p := filepath.Join(d, model.WeightsFile)
		b, _ := os.ReadFile(p)
		b[len(b)-1] ^= 1
		os.WriteFile(p, b, 0o644)
		return []string{"eval", "--model", d, "--data", fx.Good}
	}, Code: 1, Want: "checksum mismatch"},
	{Group: "model directories", What: "a NaN weight with a valid checksum", Args: evalModel("m-nan", nil, func(ts map[string]model.Tensor) {
		for _, t := range ts {
			t.Data[0] = float32(math.NaN())
		}
	}), Code: 1, Want: "holds NaN"},
	{Group: "model directories", What: "a tensor missing (checksum valid)", Args: evalModel("m-missing", nil, func(ts map[string]model.Tensor) {
		for k := range ts {
			delete(ts, k)
			return
		}
	}), Code: 1, Want: "tensors"},
	{Group: "model directories", What: "weights file missing", Args: func(fx *fixture) []string {
		d := fx.ModelVariant("m-now", nil, nil)
		os.Remove(filepath.Join(d, model.WeightsFile))
		return []string{"sample", "--model", d, "--out", fx.Path("s-now.csv")}
	}, Code: 1, Want: "no such file"},
	{Group: "model directories", What: "weights file name escapes the directory", Args: evalModel("m-escape", func(m map[string]any) {
		m["weights"].(map[string]any)["file"] = "../good.csv"
	}, nil), Code: 1, Want: "invalid"},

	// Architecture specs.
	{Group: "architecture specs", What: "spec is not JSON", Args: func(fx *fixture) []string {
		return []string{"train", "--data", fx.Good, "--arch", fx.File("bad.json", "{"), "--out", fx.Path("o")}
	}, Code: 1, Want: "not a valid arch spec"},
	{Group: "architecture specs", What: "misspelt field", Args: func(fx *fixture) []string {
		return []string{"train", "--data", fx.Good, "--arch", fx.File("typo.json", `{"dim":2,"layers":[{"type":"maf","hiden":[8]}]}`), "--out", fx.Path("o")}
	}, Code: 1, Want: `unknown field "hiden"`},
	{Group: "architecture specs", What: "unknown layer type", Args: func(fx *fixture) []string {
		return []string{"train", "--data", fx.Good, "--arch", fx.File("type.json", `{"dim":2,"layers":[{"type":"wormhole"}]}`), "--out", fx.Path("o")}
	}, Code: 1, Want: `"wormhole" is unknown`},
	{Group: "architecture specs", What: "no layers", Args: func(fx *fixture) []string {
		return []string{"train", "--data", fx.Good, "--arch", fx.File("empty.json", `{"dim":2,"layers":[]}`), "--out", fx.Path("o")}
	}, Code: 1, Want: "no layers"},
	{Group: "architecture specs", What: "spec for another dimension", Args: func(fx *fixture) []string {
		return []string{"train", "--data", fx.Good, "--arch", fx.File("dim3.json", `{"dim":3,"layers":[{"type":"planar"}]}`), "--out", fx.Path("o")}
	}, Code: 1, Want: "3 dimensions but the data has 2"},
	{Group: "architecture specs", What: "hidden width 10⁹", Args: func(fx *fixture) []string {
		return []string{"train", "--data", fx.Good, "--arch", fx.File("wide.json", `{"dim":2,"layers":[{"type":"maf","hidden":[1000000000]}]}`), "--out", fx.Path("o")}
	}, Code: 1, Want: "hidden width 1000000000"},
	{Group: "architecture specs", What: "10⁵ layers", Args: func(fx *fixture) []string {
		return []string{"train", "--data", fx.Good, "--arch", fx.File("deep.json", `{"dim":2,"layers":[`+strings.Repeat(`{"type":"reverse"},`, 99999)+`{"type":"reverse"}]}`), "--out", fx.Path("o")}
	}, Code: 1, Want: "more than 4096 layers"},
	{Group: "architecture specs", What: "spec file is /dev/zero", Args: func(fx *fixture) []string {
		return []string{"train", "--data", fx.Good, "--arch", fx.Link("zero.json", "/dev/zero"), "--out", fx.Path("o")}
	}, Code: 1, Want: "larger than 16 MiB"},

	// Checkpoints.
	{Group: "checkpoints", What: "--resume without a checkpoint", Args: func(fx *fixture) []string {
		return []string{"train", "--data", fx.Good, "--arch", fx.Spec, "--out", fx.Path("fresh"), "--resume"}
	}, Code: 1, Want: "nothing to resume"},
	{Group: "checkpoints", What: "rerun without --resume over an interrupted run", Args: func(fx *fixture) []string {
		cli("train", "--data", fx.Good, "--arch", fx.Spec, "--max-time", "1ns", "--out", fx.Path("stopped"))
		return []string{"train", "--data", fx.Good, "--arch", fx.Spec, "--out", fx.Path("stopped")}
	}, Code: 1, Want: "continue it with --resume"},
	{Group: "checkpoints", What: "--resume with another --lr", Args: func(fx *fixture) []string {
		cli("train", "--data", fx.Good, "--arch", fx.Spec, "--max-time", "1ns", "--out", fx.Path("stopped-lr"))
		return []string{"train", "--data", fx.Good, "--arch", fx.Spec, "--out", fx.Path("stopped-lr"), "--resume", "--lr", "0.01"}
	}, Code: 1, Want: `--lr "0.001" in the checkpoint, "0.01" now`},
	{Group: "checkpoints", What: "--resume after the data file changed", Args: func(fx *fixture) []string {
		d := fx.File("changing.csv", strings.Replace(mustRead(fx.Good), "x,y\n", "x,y\n9,9\n", 1))
		cli("train", "--data", d, "--arch", fx.Spec, "--max-time", "1ns", "--out", fx.Path("stopped-data"))
		os.WriteFile(d, []byte(mustRead(fx.Good)), 0o644)
		return []string{"train", "--data", d, "--arch", fx.Spec, "--out", fx.Path("stopped-data"), "--resume"}
	}, Code: 1, Want: "the training data differs"},
	{Group: "checkpoints", What: "--resume with a corrupt state.json", Args: func(fx *fixture) []string {
		cli("train", "--data", fx.Good, "--arch", fx.Spec, "--max-time", "1ns", "--out", fx.Path("stopped-bad"))
		os.WriteFile(fx.Path("stopped-bad/checkpoint/state.json"), []byte(`{"format":"autonf.train-checkpoint/v1","tensors_file":"../../good.csv"}`), 0o644)
		return []string{"train", "--data", fx.Good, "--arch", fx.Spec, "--out", fx.Path("stopped-bad"), "--resume"}
	}, Code: 1, Want: "tensors file name"},
	{Group: "checkpoints", What: "--resume with the tensors file deleted", Args: func(fx *fixture) []string {
		cli("train", "--data", fx.Good, "--arch", fx.Spec, "--max-time", "1ns", "--out", fx.Path("stopped-gone"))
		ts, _ := filepath.Glob(fx.Path("stopped-gone/checkpoint/tensors-*"))
		for _, t := range ts {
			os.Remove(t)
		}
		return []string{"train", "--data", fx.Good, "--arch", fx.Spec, "--out", fx.Path("stopped-gone"), "--resume"}
	}, Code: 1, Want: "no such file"},
	{Group: "checkpoints", What: "--resume with another architecture", Args: func(fx *fixture) []string {
		cli("train", "--data", fx.Good, "--arch", fx.Spec, "--max-time", "1ns", "--out", fx.Path("stopped-arch"))
		return []string{"train", "--data", fx.Good, "--arch", "planar-2", "--out", fx.Path("stopped-arch"), "--resume"}
	}, Code: 1, Want: `--arch`},

	// Signals and concurrent runs.
	{Group: "signals and concurrent runs", What: "SIGTERM during train", Args: func(fx *fixture) []string { return longTrain(fx, fx.Path("term")) },
		Run: signalRun(syscall.SIGTERM, "term"), Code: exitSIGTERM, Want: "continues the run with --resume", Numbers: true},
	{Group: "signals and concurrent runs", What: "SIGINT (Ctrl-C) during train", Args: func(fx *fixture) []string { return longTrain(fx, fx.Path("int")) },
		Run: signalRun(syscall.SIGINT, "int"), Code: exitSIGINT, Want: "interrupted by SIGINT", Numbers: true},
	{Group: "signals and concurrent runs", What: "a second train into a directory another run holds", Args: func(fx *fixture) []string {
		return []string{"train", "--data", fx.Good, "--arch", fx.Spec, "--out", fx.Path("busy")}
	}, Run: func(t *testing.T, fx *fixture) (int, string) {
		os.MkdirAll(fx.Path("busy"), 0o755)
		l, err := fsio.LockDir(fx.Path("busy"))
		if err != nil {
			t.Fatal(err)
		}
		defer l.Unlock()
		code, _, errs := cli("train", "--data", fx.Good, "--arch", fx.Spec, "--out", fx.Path("busy"))
		return code, errs
	}, Code: 1, Want: "is in use"},
	{Group: "signals and concurrent runs", What: "a pre-made symlink at the old temporary name (the file it points to stays intact)", Args: func(fx *fixture) []string {
		return []string{"train", "--data", fx.Good, "--arch", fx.Spec, "--epochs", "1", "--quiet", "--out", fx.Path("trapdir")}
	}, Run: func(t *testing.T, fx *fixture) (int, string) {
		out := fx.Path("trapdir")
		os.MkdirAll(out, 0o755)
		victim := fx.File("victim.txt", "precious\n")
		os.Symlink(victim, filepath.Join(out, "weights.safetensors.tmp"))
		code, stdout, errs := cli("train", "--data", fx.Good, "--arch", fx.Spec, "--epochs", "1", "--quiet", "--out", out)
		if mustRead(victim) != "precious\n" {
			return 99, "autonf train: the symlinked file was overwritten"
		}
		return code, errs + stdout
	}, Code: 0, Want: "test log-likelihood", Numbers: true},

	// Outliers.
	{Group: "outliers", What: "eval data with a row ~100 training s.d. out", Numbers: true, Args: func(fx *fixture) []string {
		return []string{"eval", "--model", fx.Model, "--data", fx.File("outlier.csv", strings.Replace(mustRead(fx.Good), "x,y\n", "x,y\n100,0\n", 1))}
	}, Code: 0, Want: "training standard deviations"},
}

func mustRead(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		panic(err)
	}
	return string(b)
}
