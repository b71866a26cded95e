// The idle-connection park class (idle_park.cc), for the addon's exports.
#pragma once

#include <napi.h>

Napi::Function DefineIdlePark(Napi::Env env);
