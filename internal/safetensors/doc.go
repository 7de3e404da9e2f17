// Package safetensors reads and writes float32 tensors in the safetensors
// format (https://github.com/huggingface/safetensors): an 8-byte
// little-endian header length, a JSON header mapping each name to dtype,
// shape and byte offsets, then the raw little-endian data. The format holds
// only numbers, so reading a file cannot execute anything; Read validates
// every length, shape and offset before allocating.
package safetensors
