// Exports of napi/lm_model.cc (the native language model object), added to the addon's exports by Init.
#pragma once

#include <napi.h>

void RegisterLmModel(Napi::Env env, Napi::Object exports);
