//go:build amd64 && !noasm

package tensor

import "golang.org/x/sys/cpu"

var hasExpAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func softmaxSoftplusAVX2(pq, d, slope, src *float32, n int, off, lo float32)

//go:noescape
func softplusScaleAVX2(raw, e, loge, sig *float32, n int, m float32)
