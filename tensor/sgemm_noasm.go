//go:build !amd64 || noasm

package tensor

// archKernels: no assembly kernels on this architecture (or with the noasm
// build tag); the portable generic kernel is used.
func archKernels() []*sgemmKernel { return nil }
