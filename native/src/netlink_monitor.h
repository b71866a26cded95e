// The route netlink change listener (netlink_monitor.cc), for the addon's exports.
#pragma once

#include <napi.h>

Napi::Function DefineNetlinkMonitor(Napi::Env env);
