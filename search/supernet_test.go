package search

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/autonf/autonf/flow"
	"github.com/autonf/autonf/tensor"
	"github.com/autonf/autonf/train"
)

type M = tensor.Mat[float64]

var (
	specPlanar = flow.LayerSpec{Type: "planar"}
	specRadial = flow.LayerSpec{Type: "radial"}
	specLU     = flow.LayerSpec{Type: "lu-linear"}
	specAC     = flow.LayerSpec{Type: "affine-coupling", Hidden: []int{8}}
	specMAF    = flow.LayerSpec{Type: "maf", Hidden: []int{8}}
	specBlock  = flow.LayerSpec{Type: "chain", Layers: flow.CandidateBlock("maf", []int{8}, 0)}
)

// space is one test search space.
type space struct {
	name   string
	dim, n int
	cands  []flow.LayerSpec
	pre    []flow.LayerSpec
	suf    []flow.LayerSpec
}

var spaces = []space{
	{name: "planar-radial/n2", dim: 2, n: 2, cands: []flow.LayerSpec{specPlanar, specRadial}},
	{name: "planar-radial-lu/n3", dim: 3, n: 3, cands: []flow.LayerSpec{specPlanar, specRadial, specLU}},
	{name: "four/n2", dim: 3, n: 2, cands: []flow.LayerSpec{specPlanar, specAC, specMAF, specLU}},
	{name: "ac-maf/n3", dim: 2, n: 3, cands: []flow.LayerSpec{specAC, specMAF}},
	{name: "blocks+prefix+suffix/n2", dim: 3, n: 2, cands: []flow.LayerSpec{specBlock, specPlanar, specRadial},
		pre: []flow.LayerSpec{specLU}, suf: []flow.LayerSpec{specPlanar, specLU}},
}

func randMat(rng *rand.Rand, rows, cols int, scale float64) *M {
	m := tensor.New[float64](rows, cols)
	for i := range m.Data {
		m.Data[i] = scale * rng.NormFloat64()
	}
	return m
}

func buildLayers[T flow.Float](t testing.TB, dim int, specs []flow.LayerSpec, rng *rand.Rand) []flow.Layer[T] {
	t.Helper()
	var ls []flow.Layer[T]
	for _, sp := range specs {
		l, err := flow.NewLayer[T](dim, sp, rng)
		if err != nil {
			t.Fatalf("build %s: %v", sp.Type, err)
		}
		ls = append(ls, l)
	}
	return ls
}

func buildNet[T flow.Float](t testing.TB, sp space, seed uint64) *Supernet[T] {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 99))
	slots := make([][]flow.Layer[T], sp.n)
	for i := range slots {
		slots[i] = buildLayers[T](t, sp.dim, sp.cands, rng)
	}
	net, err := New(sp.dim, buildLayers[T](t, sp.dim, sp.pre, rng), slots, buildLayers[T](t, sp.dim, sp.suf, rng))
	if err != nil {
		t.Fatal(err)
	}
	return net
}

func randomAlpha[T flow.Float](net *Supernet[T], rng *rand.Rand, scale float64) {
	for _, a := range net.Alpha {
		for j := range a {
			a[j] = scale * rng.NormFloat64()
		}
	}
}

// bruteForce evaluates every path as an ordinary flow built from the same
// layer objects and returns log p_k(x_r) and both losses.
func bruteForce(t *testing.T, net *Supernet[float64], x *M) (lp [][]float64, lu, lo float64) {
	t.Helper()
	w := net.Weights()
	B := x.Rows
	K := net.NumPaths()
	lp = make([][]float64, K)
	logW := make([]float64, K)
	for k := 0; k < K; k++ {
		arch := net.PathArch(k)
		f := flow.New(net.Dim, net.Layers(arch)...)
		lp[k] = make([]float64, B)
		if err := f.LogProb(x, lp[k]); err != nil {
			t.Fatal(err)
		}
		for i, j := range arch {
			logW[k] += math.Log(w[i][j])
		}
	}
	for r := 0; r < B; r++ {
		mix := 0.0
		for k := 0; k < K; k++ {
			W := math.Exp(logW[k])
			lu -= W * lp[k][r]
			mix += W * math.Exp(lp[k][r])
		}
		lo -= math.Log(mix)
	}
	return lp, lu / float64(B), lo / float64(B)
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*(1+math.Abs(b)) }

func TestExactMatchesBruteForce(t *testing.T) {
	for _, sp := range spaces {
		t.Run(sp.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			net := buildNet[float64](t, sp, 1)
			x := randMat(rng, 7, sp.dim, 1)
			for trial := 0; trial < 3; trial++ {
				randomAlpha(net, rng, 1)
				ref, rlu, rlo := bruteForce(t, net, x)
				got, err := net.PathLogProbs(x)
				if err != nil {
					t.Fatal(err)
				}
				for k := range ref {
					for r := range ref[k] {
						if !near(got[k][r], ref[k][r], 1e-9) {
							t.Fatalf("path %v row %d: tree log p %.12g, flow %.12g", net.PathArch(k), r, got[k][r], ref[k][r])
						}
					}
				}
				l, err := net.Evaluate(x, Upper, false, false)
				if err != nil {
					t.Fatal(err)
				}
				if !near(l.Upper, rlu, 1e-9) || !near(l.Original, rlo, 1e-9) {
					t.Fatalf("L^U %.12g (brute force %.12g), L^O %.12g (brute force %.12g)", l.Upper, rlu, l.Original, rlo)
				}
				if l.Upper < l.Original-1e-12 {
					t.Errorf("L^U %.12g < L^O %.12g", l.Upper, l.Original)
				}
			}
		})
	}
}

func TestUpperEqualsOriginalAtOneHot(t *testing.T) {
	for _, sp := range spaces[:3] {
		t.Run(sp.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(5, 6))
			net := buildNet[float64](t, sp, 2)
			x := randMat(rng, 7, sp.dim, 1)
			for trial := 0; trial < 4; trial++ {
				arch := net.PathArch(rng.IntN(net.NumPaths()))
				net.SetOneHot(arch)
				l, err := net.Evaluate(x, Upper, false, false)
				if err != nil {
					t.Fatal(err)
				}
				lp := make([]float64, x.Rows)
				if err := flow.New(sp.dim, net.Layers(arch)...).LogProb(x, lp); err != nil {
					t.Fatal(err)
				}
				nll := 0.0
				for _, v := range lp {
					nll -= v / float64(len(lp))
				}
				if !near(l.Upper, l.Original, 1e-12) || !near(l.Upper, nll, 1e-12) {
					t.Errorf("arch %v: L^U %.15g, L^O %.15g, path NLL %.15g", arch, l.Upper, l.Original, nll)
				}
				// Large but finite margins: equal to high precision too.
				for i, a := range net.Alpha {
					for j := range a {
						a[j] = 0
						if j == arch[i] {
							a[j] = 60
						}
					}
				}
				l, _ = net.Evaluate(x, Upper, false, false)
				if !near(l.Upper, l.Original, 1e-9) {
					t.Errorf("arch %v, margin 60: L^U %.15g, L^O %.15g", arch, l.Upper, l.Original)
				}
			}
		})
	}
}

// fdCheck compares Evaluate's θ and α gradients of kind with central
// finite differences.
func fdCheck(t *testing.T, net *Supernet[float64], x *M, kind LossKind, rng *rand.Rand) {
	t.Helper()
	f := func() float64 {
		l, err := net.Loss(x, kind, false, false)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	net.ZeroGrad()
	if _, err := net.Loss(x, kind, true, true); err != nil {
		t.Fatal(err)
	}
	const eps = 1e-6
	fd := func(v *float64) float64 {
		old := *v
		*v = old + eps
		p := f()
		*v = old - eps
		m := f()
		*v = old
		return (p - m) / (2 * eps)
	}
	const tol = 2e-6
	for i, a := range net.Alpha {
		for j := range a {
			num := fd(&a[j])
			if !near(net.AlphaGrad[i][j], num, tol) {
				t.Errorf("%v: dL/dα[%d][%d] = %.10g, finite difference %.10g", kind, i, j, net.AlphaGrad[i][j], num)
			}
		}
	}
	checked := 0
	for pi, p := range net.Params() {
		n := 0
		for _, e := range rng.Perm(len(p.Value)) {
			if n == 4 {
				break
			}
			if p.Value[e] == 0 && p.Grad[e] == 0 {
				continue // a masked MADE weight (held at zero by the layer)
			}
			n++
			num := fd(&p.Value[e])
			if !near(p.Grad[e], num, tol) {
				t.Errorf("%v: dL/d(param %d %s)[%d] = %.10g, finite difference %.10g", kind, pi, p.Name, e, p.Grad[e], num)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no parameter checked")
	}
}

func TestGradientsFiniteDifference(t *testing.T) {
	for _, sp := range spaces {
		for _, kind := range []LossKind{Upper, Original} {
			for _, temp := range []float64{0, 0.3} { // 0: τ = 1
				t.Run(fmt.Sprintf("%s/%v/τ=%g", sp.name, kind, temp), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(7, 8))
					net := buildNet[float64](t, sp, 3)
					randomAlpha(net, rng, 1)
					net.Temperature = temp
					x := randMat(rng, 7, sp.dim, 1)
					fdCheck(t, net, x, kind, rng)
				})
			}
		}
	}
}

func TestCostGradient(t *testing.T) {
	net := buildNet[float64](t, spaces[1], 1)
	rng := rand.New(rand.NewPCG(1, 2))
	randomAlpha(net, rng, 1)
	c := Costs{{1, 2, 3}, {0.5, 0, 4}, {2, 2, 1}}
	for _, temp := range []float64{0, 0.4} {
		net.Temperature = temp
		net.ZeroGrad()
		net.AddCostGrad(c, 1.5)
		for i, a := range net.Alpha {
			for j := range a {
				old := a[j]
				a[j] = old + 1e-6
				p := net.CostValue(c)
				a[j] = old - 1e-6
				m := net.CostValue(c)
				a[j] = old
				if num := 1.5 * (p - m) / 2e-6; !near(net.AlphaGrad[i][j], num, 1e-7) {
					t.Errorf("τ=%g: dλC/dα[%d][%d] = %g, finite difference %g", temp, i, j, net.AlphaGrad[i][j], num)
				}
			}
		}
	}
	net.Temperature = 0
	// C_mix at one-hot weights is the path cost.
	net.SetOneHot([]int{2, 0, 1})
	if v, want := net.CostValue(c), PathCost(c, []int{2, 0, 1}); !near(v, want, 1e-12) {
		t.Errorf("one-hot C_mix %g, want %g", v, want)
	}
}

// pathObjective is mean NLL of each path plus λ·cost, by brute force.
func pathObjective(t *testing.T, net *Supernet[float64], x *M, c Costs, lambda float64) []float64 {
	lp, _, _ := bruteForce(t, net, x)
	obj := make([]float64, len(lp))
	for k := range lp {
		for _, v := range lp[k] {
			obj[k] -= v / float64(len(lp[k]))
		}
		if c != nil {
			obj[k] += lambda * PathCost(c, net.PathArch(k))
		}
	}
	return obj
}

// optimiseAlpha minimises L^U + λC over α alone (θ frozen) with Adam.
func optimiseAlpha(t *testing.T, net *Supernet[float64], x *M, c Costs, lambda float64, est Estimator, steps int, lr float64) {
	t.Helper()
	opt := train.NewAdam([]*flow.Param[float64]{net.AlphaParam()})
	for s := 0; s < steps; s++ {
		clear(net.AlphaParam().Grad)
		var err error
		if est == Exact {
			_, err = net.Evaluate(x, Upper, false, true)
		} else {
			_, err = net.SampleLoss(x, false, true)
		}
		if err != nil {
			t.Fatal(err)
		}
		if c != nil {
			net.AddCostGrad(c, lambda)
		}
		opt.Step(lr)
	}
}

func TestAlphaConvergesToBestVertex(t *testing.T) {
	uniqueCases := 0
	defer func() {
		if uniqueCases < 4 {
			t.Errorf("only %d cases had a unique local-optimal vertex: the test would not check global convergence", uniqueCases)
		}
	}()
	for _, sp := range spaces[:4] {
		t.Run(sp.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, 12))
			net := buildNet[float64](t, sp, 4)
			x := randMat(rng, 7, sp.dim, 1.2)
			obj0 := pathObjective(t, net, x, nil, 0)
			best0 := argmin(obj0)
			// Costs: the λ=0 winner's candidates cost 1, the others
			// distinct values in [0.2, 0.6), and λ is large enough for the
			// cost to dominate the NLL spread.
			arch0 := net.PathArch(best0)
			m := len(sp.cands)
			c := make(Costs, sp.n)
			for i := range c {
				c[i] = make([]float64, m)
				for j := range c[i] {
					c[i][j] = 0.2 + 0.4*float64((i+j)%m)/float64(m)
				}
				c[i][arch0[i]] = 1
			}
			spread := slices.Max(obj0) - slices.Min(obj0)
			lamBig := 10*float64(m)*spread + 1
			objL := pathObjective(t, net, x, c, lamBig)
			bestL := argmin(objL)
			if bestL == best0 {
				t.Fatalf("test setup: λ=%g does not change the best path", lamBig)
			}
			for _, tc := range []struct {
				lambda float64
				want   int
				obj    []float64
			}{{0, best0, obj0}, {lamBig, bestL, objL}} {
				for i := range net.Alpha {
					clear(net.Alpha[i])
				}
				optimiseAlpha(t, net, x, c, tc.lambda, Exact, 2000, 0.05)
				got := net.Argmax()
				// Near-ties (another vertex within 1e-2 of the best) converge
				// too slowly to tell apart; there it suffices to end within
				// the tie.
				margin := math.Inf(1)
				for k, v := range tc.obj {
					if k != tc.want {
						margin = min(margin, v-tc.obj[tc.want])
					}
				}
				if margin < 1e-2 {
					if d := tc.obj[net.PathIndex(got)] - tc.obj[tc.want]; d > 1e-2 {
						t.Errorf("λ=%g: near-tie case ended at %v, %.3g above the best", tc.lambda, got, d)
					}
					t.Logf("λ=%g: best path ahead by only %.2g: convergence to it not checked", tc.lambda, margin)
					continue
				}
				for i, w := range net.Weights() {
					if slices.Max(w) < 0.99 {
						t.Errorf("λ=%g: slot %d weights %v are not one-hot", tc.lambda, i, w)
					}
				}
				// The objective is multilinear in the slot weights, so its
				// minimum is a vertex (Prop. 1), but gradient descent on α
				// may stop at a vertex that no single-slot change improves.
				// It must reach such a local-optimal vertex, and the global
				// best whenever that is the only one.
				local := localOptima(net, tc.obj)
				if !slices.Contains(local, net.PathIndex(got)) {
					t.Errorf("λ=%g: α converged to %v, which is not a local-optimal vertex (those: %v; objectives %v)", tc.lambda, got, local, tc.obj)
				}
				if len(local) == 1 {
					uniqueCases++
					if !slices.Equal(got, net.PathArch(tc.want)) {
						t.Errorf("λ=%g: α converged to %v, the brute-force best path is %v (objectives %v)", tc.lambda, got, net.PathArch(tc.want), tc.obj)
					}
				}
			}
		})
	}
}

func argmin(v []float64) int {
	b := 0
	for i, x := range v {
		if x < v[b] {
			b = i
		}
	}
	return b
}

// TestSampleOneHot: at one-hot weights the sampled loss and θ gradient are
// those of the single path, and the α gradient vanishes like the exact one.
func TestSampleOneHot(t *testing.T) {
	sp := spaces[4]
	net := buildNet[float64](t, sp, 5)
	rng := rand.New(rand.NewPCG(1, 1))
	x := randMat(rng, 7, sp.dim, 1)
	net.SetOneHot([]int{0, 2})
	ps := net.Params()
	net.ZeroGrad()
	le, err := net.Loss(x, Upper, true, true)
	if err != nil {
		t.Fatal(err)
	}
	ge := snapshot(ps)
	ae := slices.Clone(net.AlphaParam().Grad)
	net.ZeroGrad()
	ls, err := net.SampleLoss(x, true, true)
	if err != nil {
		t.Fatal(err)
	}
	if !near(ls, le, 1e-12) {
		t.Errorf("sampled loss %.15g, exact %.15g", ls, le)
	}
	gs := snapshot(ps)
	for i := range ge {
		if !near(gs[i], ge[i], 1e-10) {
			t.Fatalf("θ grad %d: sampled %.12g, exact %.12g", i, gs[i], ge[i])
		}
	}
	for i, v := range net.AlphaParam().Grad {
		if math.Abs(v) > 1e-12 || math.Abs(ae[i]) > 1e-12 {
			t.Errorf("α grad %d at one-hot: sampled %g, exact %g", i, v, ae[i])
		}
	}
}

func snapshot(ps []*flow.Param[float64]) []float64 {
	var out []float64
	for _, p := range ps {
		out = append(out, p.Grad...)
	}
	return out
}

// TestSampleEstimatorUnbiased: averaged over many seeds, the sampled α and
// θ gradients approach the exact L^U gradients (within 5 standard errors,
// and within 15% in norm).
func TestSampleEstimatorUnbiased(t *testing.T) {
	for _, c := range []struct {
		sp     space
		paired bool
		temp   float64 // softmax temperature (0: 1)
	}{{spaces[0], false, 0}, {spaces[4], false, 0}, {spaces[0], true, 0}, {spaces[4], true, 0}, {spaces[0], true, 0.5}} {
		sp := c.sp
		t.Run(fmt.Sprintf("%s/paired=%v/τ=%g", sp.name, c.paired, c.temp), func(t *testing.T) {
			net := buildNet[float64](t, sp, 6)
			rng := rand.New(rand.NewPCG(2, 3))
			randomAlpha(net, rng, 0.7)
			net.Temperature = c.temp
			x := randMat(rng, 7, sp.dim, 1)
			ps := net.Params()
			net.ZeroGrad()
			lex, err := net.Loss(x, Upper, true, true)
			if err != nil {
				t.Fatal(err)
			}
			exact := append(slices.Clone(net.AlphaParam().Grad), snapshot(ps)...)
			na := len(net.AlphaParam().Grad)
			xs := x
			if c.paired { // every row twice: each row's twin is its baseline
				xs = tensor.New[float64](2*x.Rows, x.Cols)
				copy(xs.Data, x.Data)
				copy(xs.Data[len(x.Data):], x.Data)
				net.PairedBaseline = true
				defer func() { net.PairedBaseline = false }()
			}
			const seeds = 6000
			sum := make([]float64, len(exact))
			sum2 := make([]float64, len(exact))
			lsum := 0.0
			for s := uint64(0); s < seeds; s++ {
				net.Seed(s + 1)
				net.ZeroGrad()
				l, err := net.SampleLoss(xs, true, true)
				if err != nil {
					t.Fatal(err)
				}
				lsum += l
				g := append(slices.Clone(net.AlphaParam().Grad), snapshot(ps)...)
				for i, v := range g {
					sum[i] += v
					sum2[i] += v * v
				}
			}
			if m := lsum / seeds; math.Abs(m-lex) > 0.05*(1+math.Abs(lex)) {
				t.Errorf("mean sampled loss %g, exact L^U %g", m, lex)
			}
			for _, part := range []struct {
				name   string
				lo, hi int
			}{{"α", 0, na}, {"θ", na, len(exact)}} {
				var dn, en float64
				for i := part.lo; i < part.hi; i++ {
					mean := sum[i] / seeds
					se := math.Sqrt(math.Max(sum2[i]/seeds-mean*mean, 0) / seeds)
					if math.Abs(mean-exact[i]) > 5*se+1e-9 {
						t.Errorf("%s grad %d: sampled mean %.6g ± %.2g, exact %.6g", part.name, i-part.lo, mean, se, exact[i])
					}
					dn += (mean - exact[i]) * (mean - exact[i])
					en += exact[i] * exact[i]
				}
				if math.Sqrt(dn) > 0.15*math.Sqrt(en) {
					t.Errorf("%s grad: |mean − exact| = %.3g, |exact| = %.3g", part.name, math.Sqrt(dn), math.Sqrt(en))
				}
			}
		})
	}
}

func TestSampleAndExactPickSameArchitecture(t *testing.T) {
	for _, sp := range []space{spaces[0], spaces[3]} {
		t.Run(sp.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(21, 22))
			x := randMat(rng, 64, sp.dim, 1.2)
			netE := buildNet[float64](t, sp, 8)
			netS := buildNet[float64](t, sp, 8) // identical weights
			best := netE.PathArch(argmin(pathObjective(t, netE, x, nil, 0)))
			optimiseAlpha(t, netE, x, nil, 0, Exact, 600, 0.05)
			netS.Seed(5)
			optimiseAlpha(t, netS, x, nil, 0, Sampled, 1200, 0.05)
			if !slices.Equal(netE.Argmax(), best) {
				t.Errorf("exact estimator picked %v, brute-force best %v", netE.Argmax(), best)
			}
			if !slices.Equal(netS.Argmax(), netE.Argmax()) {
				t.Errorf("sample estimator picked %v (weights %v), exact %v", netS.Argmax(), netS.Weights(), netE.Argmax())
			}
			for i, w := range netS.Weights() {
				if slices.Max(w) < 0.95 {
					t.Errorf("sample estimator: slot %d weights %v", i, w)
				}
			}
		})
	}
}

func TestSampleMatchesDerivedFlow(t *testing.T) {
	sp := spaces[4]
	net := buildNet[float64](t, sp, 9)
	arch := []int{1, 2}
	net.SetOneHot(arch)
	x, paths, err := net.Sample(50, rand.New(rand.NewPCG(4, 4)))
	if err != nil {
		t.Fatal(err)
	}
	zr := rand.New(rand.NewPCG(4, 4))
	z := tensor.New[float64](50, sp.dim)
	for i := range z.Data {
		z.Data[i] = zr.NormFloat64()
	}
	ref := flow.New(sp.dim, net.Layers(arch)...).Inverse(z)
	for i, v := range x.Data {
		if !near(v, ref.Data[i], 1e-9) {
			t.Fatalf("sample[%d] %g, derived flow %g", i, v, ref.Data[i])
		}
	}
	for _, p := range paths {
		if !slices.Equal(p, arch) {
			t.Fatalf("path %v at one-hot weights %v", p, arch)
		}
	}
	// Mixture: path frequencies follow W.
	randomAlpha(net, rand.New(rand.NewPCG(1, 9)), 1)
	const n = 20000
	_, paths, err = net.Sample(n, rand.New(rand.NewPCG(5, 5)))
	if err != nil {
		t.Fatal(err)
	}
	cnt := make([]float64, net.NumPaths())
	for _, p := range paths {
		cnt[net.PathIndex(p)]++
	}
	w := net.Weights()
	for k := range cnt {
		W := 1.0
		for i, j := range net.PathArch(k) {
			W *= w[i][j]
		}
		if se := math.Sqrt(W * (1 - W) / n); math.Abs(cnt[k]/n-W) > 5*se {
			t.Errorf("path %v: frequency %.4f, W %.4f", net.PathArch(k), cnt[k]/n, W)
		}
	}
}

func TestNonFiniteError(t *testing.T) {
	sp := spaces[1]
	net := buildNet[float64](t, sp, 10)
	x := randMat(rand.New(rand.NewPCG(1, 2)), 7, sp.dim, 1)
	net.Slots[1][2].Params()[0].Value[0] = math.NaN() // slot 1, lu-linear
	_, err := net.Evaluate(x, Original, true, true)
	var nf *NonFiniteError
	if !errors.As(err, &nf) || !errors.Is(err, flow.ErrNonFinite) {
		t.Fatalf("got %v, want a *NonFiniteError", err)
	}
	if nf.Stage != "slot" || nf.Slot != 1 || nf.Candidate != 2 || nf.Type != "lu-linear" {
		t.Errorf("got %+v (%v), want slot 1 candidate 2 (lu-linear)", nf, err)
	}
	net.SetOneHot([]int{0, 2, 0})
	_, err = net.SampleLoss(x, true, true)
	if !errors.As(err, &nf) || nf.Slot != 1 || nf.Candidate != 2 {
		t.Errorf("sampled: got %v, want slot 1 candidate 2", err)
	}
	if _, err := net.Evaluate(tensor.New[float64](3, sp.dim+1), Upper, false, false); err == nil {
		t.Error("wrong column count accepted")
	}
}

func TestDerive(t *testing.T) {
	sp := spaces[4]
	net := buildNet[float64](t, sp, 11)
	net.Alpha[0][1], net.Alpha[1][0] = 2, 3
	if got := net.Argmax(); !slices.Equal(got, []int{1, 0}) {
		t.Fatalf("argmax %v", got)
	}
	spec := net.DeriveSpec()
	if len(spec.Layers) != 1+2+2 || spec.Layers[1].Type != "planar" || spec.Layers[2].Type != "chain" {
		t.Errorf("derived spec layers %+v", spec.Layers)
	}
	if _, err := flow.Build[float32](spec, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Errorf("derived spec does not build: %v", err)
	}
	if got := len(net.DerivedFlow().Layers); got != 5 {
		t.Errorf("derived flow has %d layers", got)
	}
}

func TestZeroAllocsSteadyState(t *testing.T) {
	sp := space{dim: 3, n: 2, cands: []flow.LayerSpec{specPlanar, specRadial, specLU, specAC},
		pre: []flow.LayerSpec{specLU}, suf: []flow.LayerSpec{specPlanar}}
	net := buildNet[float32](t, sp, 12)
	x := tensor.Convert[float32](randMat(rand.New(rand.NewPCG(1, 2)), 16, sp.dim, 1))
	for _, tc := range []struct {
		name string
		f    func() error
	}{
		{"exact/upper", func() error { _, err := net.Evaluate(x, Upper, true, true); return err }},
		{"exact/original", func() error { _, err := net.Evaluate(x, Original, true, true); return err }},
		{"sample", func() error { _, err := net.SampleLoss(x, true, true); return err }},
	} {
		// The sample estimator's per-candidate batches vary in size; layer
		// workspaces grow to the largest seen, then stop allocating.
		for i := 0; i < 200; i++ {
			if err := tc.f(); err != nil {
				t.Fatal(err)
			}
		}
		if a := testing.AllocsPerRun(20, func() { _ = tc.f() }); a != 0 {
			t.Errorf("%s: %v allocations per step", tc.name, a)
		}
	}
}

func TestSearcherStep(t *testing.T) {
	sp := spaces[0]
	net := buildNet[float64](t, sp, 13)
	rng := rand.New(rand.NewPCG(1, 2))
	tr, va := randMat(rng, 32, 2, 1), randMat(rng, 32, 2, 1)
	s, err := NewSearcher(net, Config{Lambda: 0.1, Costs: Broadcast([]float64{1, 2}, 2), Kind: Original})
	if err != nil {
		t.Fatal(err)
	}
	before := net.Params()[0].Value[0]
	for i := 0; i < 3; i++ {
		if _, err := s.Step(tr, va); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.History) != 3 || s.History[2].Step != 3 || math.IsNaN(s.History[0].ValOriginal) {
		t.Errorf("history %+v", s.History)
	}
	if net.Params()[0].Value[0] == before || net.Alpha[0][0] == 0 {
		t.Error("θ or α did not move")
	}
	ss, err := NewSearcher(net, Config{Estimator: Sampled, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := ss.Step(tr, va)
	if err != nil || !math.IsNaN(rec.ValOriginal) || math.IsNaN(rec.ValUpper) {
		t.Errorf("sampled step: %+v, %v", rec, err)
	}
	if _, err := NewSearcher(net, Config{Kind: Original, Estimator: Sampled}); err == nil {
		t.Error("sample estimator with L^O accepted")
	}
	if _, err := NewSearcher(net, Config{Costs: Costs{{1, 2}}}); err == nil {
		t.Error("costs of the wrong shape accepted")
	}
}

func TestParse(t *testing.T) {
	for _, s := range []string{"upper", "original"} {
		if k, err := ParseLossKind(s); err != nil || k.String() != s {
			t.Errorf("ParseLossKind(%q) = %v, %v", s, k, err)
		}
	}
	for _, s := range []string{"exact", "sample"} {
		if e, err := ParseEstimator(s); err != nil || e.String() != s {
			t.Errorf("ParseEstimator(%q) = %v, %v", s, e, err)
		}
	}
	if _, err := ParseEstimator("x"); err == nil {
		t.Error("bad estimator accepted")
	}
}

func TestInitFromData(t *testing.T) {
	sp := space{dim: 2, n: 2, cands: []flow.LayerSpec{{Type: "actnorm"}, specPlanar}, pre: []flow.LayerSpec{{Type: "actnorm"}}}
	net := buildNet[float64](t, sp, 14)
	x := randMat(rand.New(rand.NewPCG(1, 2)), 64, 2, 3)
	for i := range x.Data {
		x.Data[i] += 5
	}
	if err := net.InitFromData(x); err != nil {
		t.Fatal(err)
	}
	// After the prefix ActNorm the data are standardised.
	z, _ := flow.New(2, net.Prefix...).Transform(x)
	for d := 0; d < 2; d++ {
		mean := 0.0
		for r := 0; r < z.Rows; r++ {
			mean += z.At(r, d) / float64(z.Rows)
		}
		if math.Abs(mean) > 1e-9 {
			t.Errorf("column %d mean %g after the initialised prefix", d, mean)
		}
	}
	if _, err := net.Evaluate(x, Upper, true, true); err != nil {
		t.Fatal(err)
	}
}

// localOptima lists the paths whose objective no change of a single slot's
// candidate lowers.
func localOptima(net *Supernet[float64], obj []float64) []int {
	var out []int
	for k := range obj {
		arch := net.PathArch(k)
		ok := true
		for i := range arch {
			for j := range net.Slots[i] {
				if j == arch[i] {
					continue
				}
				alt := slices.Clone(arch)
				alt[i] = j
				if obj[net.PathIndex(alt)] < obj[k] {
					ok = false
				}
			}
		}
		if ok {
			out = append(out, k)
		}
	}
	return out
}
