// Pointwise math of the gate mechanisms for one row (one batch element) of
// pre-activations. Shared by the LSTM and GRU kernels, which handle the blocks
// specific to their core (u, o, s) themselves.
//
// Storage convention: after ActivateGates a sigmoid block holds sigma(a), a
// cumax block holds softmax(a) (the probabilities p; cumax = cumsum(p) is
// recomputed where needed, which keeps p exact for the backward pass).
#pragma once

#include "layout.h"

namespace urgate {

// Floats of scratch a row needs.
int GateScratchSize(const Layout& layout, int hidden);

// Applies sigmoid / softmax in place to the f, i, r, mf, mi blocks present.
void ActivateGates(Core core, GateFamily family, const Layout& l, int hidden, float* row);

// Effective forget F and input I ([hidden] each) from an activated row.
void EffectiveGates(Core core, GateFamily family, const Layout& l, int hidden, int downsize, const float* row,
                    float* F, float* I, float* scratch);

// Given dL/dF and dL/dI, overwrites the f, i, r, mf, mi blocks of the activated
// row with dL/d(pre-activation). dF and dI are consumed (used as scratch).
void GatesBackward(Core core, GateFamily family, const Layout& l, int hidden, int downsize, float* row,
                   float* dF, float* dI, float* scratch);

}  // namespace urgate
