// The AF_PACKET socket class (packet_socket.cc), for the addon's exports.
#pragma once

#include <napi.h>

Napi::Function DefinePacketSocket(Napi::Env env);
