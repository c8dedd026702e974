// The adaptive softmax's arguments, shared by its own bindings
// (napi/adaptive_softmax.cc) and the whole-LM ones (napi/model.cc).
#pragma once

#include <napi.h>

#include <string>

#include "../csrc/adaptive_softmax.h"

namespace urgate_napi {

// {cutoffs: number[], tailDiv: number} at `name`: fills shape.cutoffs and tail_hidden (from
// shape.input); the caller sets vocab, input and tied first and validates after.
void ParseAdaptiveSettings(const Napi::Value& v, const std::string& name, urgate::AdaptiveSoftmaxShape* shape);

// {shortlist (untied only), clusters, headB, proj[], out[]}, each of its exact size.
urgate::AdaptiveSoftmaxParams ParseAdaptiveParams(const urgate::AdaptiveSoftmaxShape& s, const Napi::Value& v,
                                                  const std::string& name);

// New gradient arrays of the same shapes, set on `into` under the same keys (no shortlist when tied).
urgate::AdaptiveSoftmaxGrads NewAdaptiveGrads(Napi::Env env, const urgate::AdaptiveSoftmaxShape& s,
                                              Napi::Object into);

void RegisterAdaptiveSoftmax(Napi::Env env, Napi::Object exports);

}  // namespace urgate_napi
