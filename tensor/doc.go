// Package tensor holds autonf's dense matrices, GEMM kernels and small
// numeric helpers. Everything is generic over float32 (training) and
// float64 (gradient checks); the float32 GEMM dispatches to SIMD kernels.
package tensor
