// Exports of napi/model.cc (the model-level ops: whole LM step, scoring, masks, dense layer), added to the addon's exports by Init.
#pragma once

#include <napi.h>

void RegisterModelOps(Napi::Env env, Napi::Object exports);
