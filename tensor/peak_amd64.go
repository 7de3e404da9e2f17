//go:build amd64 && !noasm

package tensor

import "golang.org/x/sys/cpu"

//go:noescape
func fmaPeakAVX512(n int)

// fmaPeak runs n iterations of 24 independent 16-lane FMAs (768 FLOP
// each) and reports whether the CPU could (AVX-512F): the measured FMA
// ceiling of BenchmarkFMAPeak.
func fmaPeak(n int) bool {
	if !cpu.X86.HasAVX512F {
		return false
	}
	fmaPeakAVX512(n)
	return true
}
