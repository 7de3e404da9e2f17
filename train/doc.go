// Package train fits flows by maximum likelihood: Adam with a cosine
// schedule and warm-up, gradient-norm clipping, validation every epoch,
// early stopping with restore of the best weights, and detection of
// non-finite steps (reported with the step and the layer, skipped, and the
// learning rate lowered) so that training never yields a silent NaN model.
package train
