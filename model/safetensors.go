package model

import (
	"io"

	"github.com/autonf/autonf/internal/safetensors"
)

// Tensor is one named float32 array for the safetensors file.
type Tensor = safetensors.Tensor

// maxHeader bounds the safetensors JSON header.
const maxHeader = safetensors.MaxHeader

// WriteSafetensors writes tensors in the safetensors format
// (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length, a JSON header mapping each name to dtype, shape and byte
// offsets, then the raw little-endian data. The format holds only numbers:
// loading it cannot execute anything.
func WriteSafetensors(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	return safetensors.Write(w, tensors, metadata)
}

// ReadSafetensors parses a safetensors file holding F32 tensors. It checks
// the header, dtypes, shapes against offsets, and that the offsets tile the
// data exactly.
func ReadSafetensors(b []byte) (map[string]Tensor, map[string]string, error) {
	return safetensors.Read(b)
}
