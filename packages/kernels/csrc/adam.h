// Adam (Kingma & Ba) over several parameter buffers at once, with
// global-norm gradient clipping, updating parameters and moments in place.
#pragma once

#include <cstddef>

namespace urgate {

struct AdamOptions {
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  float clip_norm = 0;  // <= 0: no clipping
  int step = 1;         // 1-based step for the bias corrections
};

struct ParamBuffer {
  float* param;
  const float* grad;
  float* m;
  float* v;
  size_t size;
};

// Gradients are scaled by min(1, clip_norm / ||g||) with ||g|| the norm over
// all buffers together. Returns ||g|| before clipping.
double AdamStep(const ParamBuffer* buffers, size_t count, const AdamOptions& opt);

}  // namespace urgate
