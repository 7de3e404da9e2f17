package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// ToyPrefix marks a toy data set where a file name is expected ("toy:moons").
const ToyPrefix = "toy:"

// MaxToyDim is the largest D accepted by "gaussian-D" and "synthetic-D".
const MaxToyDim = 4096

// ToyNames returns the names Toy accepts; in "gaussian-D" and "synthetic-D"
// the D stands for the dimension, e.g. "synthetic-8".
func ToyNames() []string {
	return []string{"moons", "circles", "8gaussians", "checkerboard", "2spirals", "pinwheel", "gaussian-D", "synthetic-D"}
}

// ParseToy reports whether spec names a toy data set ("toy:NAME") and
// returns NAME.
func ParseToy(spec string) (name string, ok bool) {
	if strings.HasPrefix(spec, ToyPrefix) {
		return strings.TrimPrefix(spec, ToyPrefix), true
	}
	return "", false
}

// Toy generates n samples of a named toy data set with a PCG generator
// seeded by seed: the same (name, n, seed) gives the same table. Rows are in
// random order, so any prefix is a sample too. The 2-D sets follow the
// FFJORD definitions (lib/toy_data.py), with their scales:
//
//   - moons: sklearn make_moons(noise=0.1), then ×2 and shifted by
//     (-1, -0.2); roughly [-3, 3]×[-2, 2].
//   - circles: make_circles(factor=0.5, noise=0.08) ×3: radii 3 and 1.5.
//   - 8gaussians: 8 Gaussians (std 0.5) centred on a circle of radius 4,
//     all divided by 1.414: radius ≈ 2.83, std ≈ 0.354.
//   - checkerboard: uniform on alternate squares of a 4×4 board covering
//     [-4, 4]².
//   - 2spirals: two interleaved spirals (1.5 turns), /3, plus N(0, 0.1²)
//     noise; roughly [-4, 4]².
//   - pinwheel: 5 arms, radial std 0.3, tangential std 0.1, rate 0.25, ×2.
//
// The D-dimensional sets (D from the name, 1..MaxToyDim) have an exact
// log-density, see ToyLogDensity:
//
//   - gaussian-D: a zero-mean Gaussian with unit variances and AR(1)
//     correlations Cov(x_i, x_j) = 0.5^|i-j| (x_1 ~ N(0,1),
//     x_i = 0.5·x_{i-1} + N(0, 0.75)).
//   - synthetic-D: a mixture of 3 correlated Gaussians (weights 0.5, 0.3,
//     0.2; means and Cholesky factors drawn from a generator seeded by D
//     only, so the density depends on D, not on seed) pushed elementwise
//     through the sinh-arcsinh map y = sinh((asinh(z) + 0.3) / 0.8), which
//     skews the data and gives it mildly heavier tails.
func Toy(name string, n int, seed uint64) (*Table, error) {
	if n < 1 {
		return nil, fmt.Errorf("data: toy %q: need n >= 1 samples, got %d", name, n)
	}
	cols := 2
	if _, D, err := parseToyDim(name); err == nil {
		cols = D
	}
	if n > DefaultMaxValues/cols {
		return nil, fmt.Errorf("data: toy %q: %d rows × %d columns is more than %d values", name, n, cols, DefaultMaxValues)
	}
	rng := rand.New(rand.NewPCG(seed, 0x746f79)) // "toy"
	var x []float64
	switch name {
	case "moons":
		x = toyMoons(rng, n)
	case "circles":
		x = toyCircles(rng, n)
	case "8gaussians":
		x = toy8Gaussians(rng, n)
	case "checkerboard":
		x = toyCheckerboard(rng, n)
	case "2spirals":
		x = toy2Spirals(rng, n)
	case "pinwheel":
		x = toyPinwheel(rng, n)
	default:
		kind, D, err := parseToyDim(name)
		if err != nil {
			return nil, err
		}
		cols = D
		if kind == "gaussian" {
			x = toyGaussian(rng, n, D)
		} else {
			x = newSynthetic(D).sample(rng, n)
		}
	}
	if cols == 2 {
		shuffleRows(rng, x, n, 2)
	}
	return &Table{Columns: DefaultColumnNames(cols), Rows: n, Cols: cols, Data: x, Source: ToyPrefix + name}, nil
}

func unknownToy(name string) error {
	return fmt.Errorf("data: unknown toy data set %q; available: %s (e.g. gaussian-4, synthetic-8)", name, strings.Join(ToyNames(), ", "))
}

func parseToyDim(name string) (kind string, D int, err error) {
	for _, k := range []string{"gaussian", "synthetic"} {
		if rest, ok := strings.CutPrefix(name, k+"-"); ok {
			D, err := strconv.Atoi(rest)
			if err != nil || D < 1 || D > MaxToyDim {
				return "", 0, fmt.Errorf("data: toy %q: dimension %q must be an integer in 1..%d", name, rest, MaxToyDim)
			}
			return k, D, nil
		}
	}
	return "", 0, unknownToy(name)
}

func shuffleRows(rng *rand.Rand, x []float64, n, d int) {
	rng.Shuffle(n, func(i, j int) {
		for k := 0; k < d; k++ {
			x[i*d+k], x[j*d+k] = x[j*d+k], x[i*d+k]
		}
	})
}

// linspace returns n points from a to b; endpoint includes b.
func linspace(a, b float64, n int, endpoint bool) []float64 {
	out := make([]float64, n)
	div := float64(n)
	if endpoint {
		div = float64(n - 1)
	}
	for i := range out {
		if div > 0 {
			out[i] = a + (b-a)*float64(i)/div
		} else {
			out[i] = a
		}
	}
	return out
}

func toyMoons(rng *rand.Rand, n int) []float64 {
	nOut := n / 2
	nIn := n - nOut
	x := make([]float64, 0, 2*n)
	for _, t := range linspace(0, math.Pi, nOut, true) {
		x = append(x, math.Cos(t), math.Sin(t))
	}
	for _, t := range linspace(0, math.Pi, nIn, true) {
		x = append(x, 1-math.Cos(t), 1-math.Sin(t)-0.5)
	}
	for i := 0; i < n; i++ {
		x[2*i] = (x[2*i]+0.1*rng.NormFloat64())*2 - 1
		x[2*i+1] = (x[2*i+1]+0.1*rng.NormFloat64())*2 - 0.2
	}
	return x
}

func toyCircles(rng *rand.Rand, n int) []float64 {
	nOut := n / 2
	nIn := n - nOut
	x := make([]float64, 0, 2*n)
	for _, t := range linspace(0, 2*math.Pi, nOut, false) {
		x = append(x, math.Cos(t), math.Sin(t))
	}
	for _, t := range linspace(0, 2*math.Pi, nIn, false) {
		x = append(x, 0.5*math.Cos(t), 0.5*math.Sin(t))
	}
	for i := range x {
		x[i] = (x[i] + 0.08*rng.NormFloat64()) * 3
	}
	return x
}

func toy8Gaussians(rng *rand.Rand, n int) []float64 {
	s := 1 / math.Sqrt2
	centers := [8][2]float64{{1, 0}, {-1, 0}, {0, 1}, {0, -1}, {s, s}, {s, -s}, {-s, s}, {-s, -s}}
	x := make([]float64, 2*n)
	for i := 0; i < n; i++ {
		c := centers[rng.IntN(8)]
		x[2*i] = (rng.NormFloat64()*0.5 + 4*c[0]) / 1.414
		x[2*i+1] = (rng.NormFloat64()*0.5 + 4*c[1]) / 1.414
	}
	return x
}

func toyCheckerboard(rng *rand.Rand, n int) []float64 {
	x := make([]float64, 2*n)
	for i := 0; i < n; i++ {
		x1 := rng.Float64()*4 - 2
		x2 := rng.Float64() - float64(rng.IntN(2))*2
		m := math.Mod(math.Floor(x1), 2)
		if m < 0 { // Python's floor(x1) % 2 is never negative
			m += 2
		}
		x2 += m
		x[2*i], x[2*i+1] = 2*x1, 2*x2
	}
	return x
}

func toy2Spirals(rng *rand.Rand, n int) []float64 {
	x := make([]float64, 2*n)
	for i := 0; i < n; i++ {
		t := math.Sqrt(rng.Float64()) * 540 * (2 * math.Pi) / 360
		dx := -math.Cos(t)*t + rng.Float64()*0.5
		dy := math.Sin(t)*t + rng.Float64()*0.5
		if i%2 == 1 {
			dx, dy = -dx, -dy
		}
		x[2*i] = dx/3 + 0.1*rng.NormFloat64()
		x[2*i+1] = dy/3 + 0.1*rng.NormFloat64()
	}
	return x
}

func toyPinwheel(rng *rand.Rand, n int) []float64 {
	const (
		radialStd     = 0.3
		tangentialStd = 0.1
		numClasses    = 5
		rate          = 0.25
	)
	x := make([]float64, 2*n)
	for i := 0; i < n; i++ {
		f0 := rng.NormFloat64()*radialStd + 1
		f1 := rng.NormFloat64() * tangentialStd
		a := 2*math.Pi*float64(i%numClasses)/numClasses + rate*math.Exp(f0)
		c, s := math.Cos(a), math.Sin(a)
		x[2*i] = 2 * (f0*c + f1*s)
		x[2*i+1] = 2 * (-f0*s + f1*c)
	}
	return x
}

const gaussRho = 0.5

func toyGaussian(rng *rand.Rand, n, D int) []float64 {
	x := make([]float64, n*D)
	sd := math.Sqrt(1 - gaussRho*gaussRho)
	for i := 0; i < n; i++ {
		row := x[i*D : (i+1)*D]
		row[0] = rng.NormFloat64()
		for j := 1; j < D; j++ {
			row[j] = gaussRho*row[j-1] + sd*rng.NormFloat64()
		}
	}
	return x
}

// synthetic holds the parameters of synthetic-D.
type synthetic struct {
	D       int
	logW    []float64   // log mixture weights
	mean    [][]float64 // K × D
	chol    [][]float64 // K × (D×D lower triangular, row-major)
	logDetL []float64   // Σ log diag(L_k)
}

const (
	synthEps   = 0.3 // sinh-arcsinh skew
	synthDelta = 0.8 // sinh-arcsinh tail weight (< 1: heavier tails)
)

func newSynthetic(D int) *synthetic {
	r := rand.New(rand.NewPCG(uint64(D), 0x73796e7468)) // "synth"
	w := []float64{0.5, 0.3, 0.2}
	s := &synthetic{D: D}
	for k := range w {
		s.logW = append(s.logW, math.Log(w[k]))
		m := make([]float64, D)
		for j := range m {
			m[j] = 1.5 * r.NormFloat64()
		}
		L := make([]float64, D*D)
		ld := 0.0
		for i := 0; i < D; i++ {
			L[i*D+i] = 0.4 + 0.6*r.Float64()
			ld += math.Log(L[i*D+i])
			if i > 0 {
				sd := 0.6 / math.Sqrt(float64(i))
				for j := 0; j < i; j++ {
					L[i*D+j] = sd * r.NormFloat64()
				}
			}
		}
		s.mean = append(s.mean, m)
		s.chol = append(s.chol, L)
		s.logDetL = append(s.logDetL, ld)
	}
	return s
}

func (s *synthetic) sample(rng *rand.Rand, n int) []float64 {
	D := s.D
	x := make([]float64, n*D)
	e := make([]float64, D)
	for i := 0; i < n; i++ {
		u := rng.Float64()
		k := 0
		for acc := math.Exp(s.logW[0]); k < len(s.logW)-1 && u >= acc; {
			k++
			acc += math.Exp(s.logW[k])
		}
		for j := range e {
			e[j] = rng.NormFloat64()
		}
		L, m := s.chol[k], s.mean[k]
		row := x[i*D : (i+1)*D]
		for a := 0; a < D; a++ {
			z := m[a]
			for b := 0; b <= a; b++ {
				z += L[a*D+b] * e[b]
			}
			row[a] = math.Sinh((math.Asinh(z) + synthEps) / synthDelta)
		}
	}
	return x
}

func (s *synthetic) logDensity(y []float64) float64 {
	D := s.D
	z := make([]float64, D)
	logJac := 0.0
	for j, v := range y {
		a := synthDelta*math.Asinh(v) - synthEps
		z[j] = math.Sinh(a)
		// dz/dy = cosh(δ asinh y − ε) · δ / sqrt(1 + y²)
		logJac += math.Log(math.Cosh(a)*synthDelta) - 0.5*math.Log1p(v*v)
	}
	lp := make([]float64, len(s.logW))
	e := make([]float64, D)
	for k := range s.logW {
		L, m := s.chol[k], s.mean[k]
		q := 0.0
		for a := 0; a < D; a++ { // forward substitution L e = z − m
			r := z[a] - m[a]
			for b := 0; b < a; b++ {
				r -= L[a*D+b] * e[b]
			}
			e[a] = r / L[a*D+a]
			q += e[a] * e[a]
		}
		lp[k] = s.logW[k] - 0.5*q - s.logDetL[k] - 0.5*float64(D)*math.Log(2*math.Pi)
	}
	mx := math.Inf(-1)
	for _, v := range lp {
		mx = math.Max(mx, v)
	}
	sum := 0.0
	for _, v := range lp {
		sum += math.Exp(v - mx)
	}
	return mx + math.Log(sum) + logJac
}

// ToyLogDensity returns the exact log-density of the toy set name
// ("gaussian-D" or "synthetic-D") at each row of t, whose column count must
// be D. It is the reference a flow trained on that set should approach: the
// mean over fresh samples estimates the negative entropy. Other toy names
// are an error.
func ToyLogDensity(name string, t *Table) ([]float64, error) {
	kind, D, err := parseToyDim(name)
	if err != nil {
		return nil, fmt.Errorf("data: ToyLogDensity: %w (exact densities exist for gaussian-D and synthetic-D only)", err)
	}
	if t.Cols != D {
		return nil, &Error{Kind: ErrShape, Source: t.Source, Row: -1, Index: -1,
			Detail: fmt.Sprintf("has %d columns but %s has %d", t.Cols, name, D)}
	}
	out := make([]float64, t.Rows)
	if kind == "gaussian" {
		v := 1 - gaussRho*gaussRho
		c := -0.5 * math.Log(2*math.Pi)
		for i := range out {
			row := t.Row(i)
			lp := c - 0.5*row[0]*row[0]
			for j := 1; j < D; j++ {
				d := row[j] - gaussRho*row[j-1]
				lp += c - 0.5*math.Log(v) - 0.5*d*d/v
			}
			out[i] = lp
		}
		return out, nil
	}
	s := newSynthetic(D)
	for i := range out {
		out[i] = s.logDensity(t.Row(i))
	}
	return out, nil
}
