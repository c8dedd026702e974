// Softmax cross-entropy over rows, fused: mean loss and its gradient with
// respect to the logits in one pass.
#pragma once

#include <cstdint>

namespace urgate {

// logits [N, V], targets [N] (each in [0, V), checked by the caller).
// d_logits = (softmax(logits) - onehot(targets)) / N. Returns the mean of
// -log softmax(logits)[target] (accumulated in double).
double SoftmaxCrossEntropy(const float* logits, const int32_t* targets, int N, int V, float* d_logits);

}  // namespace urgate
