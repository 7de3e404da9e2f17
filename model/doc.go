// Package model stores a trained flow with everything needed to use it on
// the user's data: the architecture spec, the weights, the column names,
// the standardisation (and dequantisation) fitted on the training split,
// and training metadata.
//
// On disk a model is a directory:
//
//	model.json           format tag, spec, columns, preprocessing, metadata,
//	                     and the SHA-256 of the weights file
//	weights.safetensors  float32 tensors named as Flow.Params names them
//
// Both files are plain data (JSON and safetensors): loading a model cannot
// execute anything. The checksum is verified at load.
package model
