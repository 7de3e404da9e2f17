//go:build amd64 && !noasm

package tensor

import "golang.org/x/sys/cpu"

var hasVecAsm = cpu.X86.HasAVX2

//go:noescape
func reluAVX2(v *float32, n int)

//go:noescape
func reluGradAVX2(yp, gp *float32, n int)
