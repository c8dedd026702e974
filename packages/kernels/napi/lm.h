// Exports of napi/lm.cc (the whole-model LM kernels), added to the addon's exports by Init.
#pragma once

#include <napi.h>

void RegisterLm(Napi::Env env, Napi::Object exports);
