// Package data loads, splits, preprocesses and generates the tabular data
// that autonf's normalizing flows are trained on.
//
// Everything here is float64 and row-major; the training code converts to
// float32 later (see [Table.Float32]).
//
// # Files
//
// [Load] reads CSV (.csv, .txt: comma separated; .tsv: tab separated) and
// NumPy .npy files (float32/float64 and integer dtypes, either byte order, 1-D
// or 2-D, C or Fortran order). Problems with a file's contents are reported
// as *[Error] values whose message names the file, the line (CSV, 1-based
// line number in the file) or row (npy, 0-based), and the column (name and
// 0-based index), e.g.
//
//	digits.csv line 17, column "p3" (index 3): "abc" is not a number
//
// errors.Is(err, ErrNotNumber) etc. select the kind of problem.
//
// # Splits
//
// [Split] makes train/validation/test tables. Held-out splits come from the
// end of the (optionally shuffled) training rows in the order
// train | test | val: the last ValFrac of the rows are val and the TestFrac
// before them are test.
//
// # Preprocessing
//
// [Dequantizer] adds uniform noise to discrete (integer or grid-valued)
// columns, and [Standardizer] drops constant columns and standardises the
// rest. Both are fitted on the training split only, applied to all splits,
// and serialise to JSON so that they can be stored inside a model file. The
// intended order is: dequantize, then standardise.
//
// # Toy data
//
// [Toy] generates the usual 2-D benchmark densities (moons, circles,
// 8gaussians, checkerboard, 2spirals, pinwheel) plus D-dimensional
// "gaussian-D" and "synthetic-D" sets whose exact log-density is available
// from [ToyLogDensity].
package data
