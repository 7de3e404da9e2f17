// Package search implements the AutoNF architecture search (Wang et al.,
// "AutoNF: Automated Architecture Optimization of Normalizing Flows with
// Unconstrained Continuous Relaxation Admitting Optimal Discrete Solution",
// AAAI 2023).
//
// # Search space
//
// A [Supernet] has n slots; slot i offers m_i candidate layers (usually
// flow.Chain blocks such as [reverse → lu-linear → maf]). Candidate j of slot
// i owns its parameters θ_{i,j}, shared by every path through it. The
// architecture logits α_i (one row per slot) give the slot weights
// w_i = softmax(α_i). A path k = (j_1, …, j_n) picks one candidate per slot
// and is an ordinary flow with density p_k; its mixture weight is
// W_k = Π_i w_i^{j_i}, and the supernet's density is the mixture
// p_mix(x) = Σ_k W_k p_k(x). Optional fixed Prefix and Suffix layers run
// before and after the searched slots (block-wise search: earlier and later
// blocks frozen at their chosen candidates).
//
// # Losses
//
//	L^O = −mean_x log Σ_k W_k p_k(x)      (the mixture NLL, "original")
//	L^U = −mean_x Σ_k W_k log p_k(x)      (Jensen upper bound, "upper")
//
// L^U ≥ L^O, with equality at one-hot W. L^U is linear in W, so its minimum
// over the weights is attained at a vertex: the upper bound drives the
// relaxation to a discrete architecture (the paper's Prop. 1). The cost
// C_mix = Σ_i Σ_j w_i^j c_i^j (see [Supernet.AddCostGrad]) is linear in W
// too and enters, with weight λ, only the α objective. Because W is a
// product of per-slot softmaxes, the α objective is multilinear in the w_i:
// gradient descent on α reaches a vertex that no single-slot change
// improves, which is the brute-force best path when it is well separated but
// can be a local optimum among near-ties.
//
// An optional temperature τ ([Supernet.Temperature]) sharpens the weights,
// w_i = softmax(α_i/τ), without changing the argmax: annealing τ towards 0
// (as strategy.Run does by default) drives the relaxation to one-hot
// weights within a finite budget even when the α gradient is weak or noisy.
//
// # Estimators
//
// The exact estimator ([Supernet.Evaluate]) evaluates every path with a tree
// that shares prefixes: level i holds one node per partial path
// (j_1, …, j_i), so one batch costs m_1 + m_1·m_2 + … + Π m_i transform
// evaluations instead of n·Π m_i. It computes both losses and their exact
// gradients. Every node keeps its own flow.Op (with its workspace) and B×D output, allocated on
// first use and reused, so steady-state steps allocate nothing; memory grows
// with the number of nodes.
//
// The sample estimator ([Supernet.SampleLoss]) draws one path per data row
// and runs each candidate once, on the rows that chose it, so its cost is
// linear in Σ m_i: whole 8–16 slot flows can be searched without blocks. It
// estimates L^U and its gradients without bias (see SampleLoss for the
// score-function α gradient and its leave-one-out baseline). Its
// per-candidate batches vary in size from step to step; the layers'
// workspaces grow to the largest size seen, after which it allocates
// nothing either.
//
// [Searcher] alternates first-order DARTS steps: α on a validation batch,
// θ on a training batch.
package search
