// Adam's settings from a JavaScript options object {lr, beta1?, beta2?, eps?, clipNorm?}: the one
// reading of them for both updates, per tensor (addon.cc) and over the LM object's arena.
#pragma once

#include <napi.h>

#include "../csrc/adam.h"
#include "args.h"

namespace urgate_napi {

inline urgate::AdamOptions ReadAdamOptions(const Napi::Object& o) {
  urgate::AdamOptions opt;
  opt.lr = static_cast<float>(Number(o, "lr", opt.lr));
  opt.beta1 = static_cast<float>(Number(o, "beta1", opt.beta1));
  opt.beta2 = static_cast<float>(Number(o, "beta2", opt.beta2));
  opt.eps = static_cast<float>(Number(o, "eps", opt.eps));
  opt.clip_norm = static_cast<float>(Number(o, "clipNorm", 0));
  return opt;
}

}  // namespace urgate_napi
