//go:build !amd64 || noasm

package tensor

const hasExpAsm = false

func softmaxSoftplusAVX2(pq, d, slope, src *float32, n int, off, lo float32) {
	panic("unreachable")
}

func softplusScaleAVX2(raw, e, loge, sig *float32, n int, m float32) {
	panic("unreachable")
}
