// trimMalloc (malloc_trim.cc), for the addon's exports.
#pragma once

#include <napi.h>

Napi::Function DefineTrimMalloc(Napi::Env env);
