// The addon's exports: one class or function per file, each defined for the
// environment (main thread or worker thread) that loads the addon.

#include <napi.h>

#include "idle_park.h"
#include "malloc_trim.h"
#include "netlink_monitor.h"
#include "packet_socket.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("PacketSocket", DefinePacketSocket(env));
  exports.Set("IdlePark", DefineIdlePark(env));
  exports.Set("NetlinkMonitor", DefineNetlinkMonitor(env));
  exports.Set("trimMalloc", DefineTrimMalloc(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(metalgate_native, Init)
