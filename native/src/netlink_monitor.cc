// A route netlink socket that listens to multicast groups (links,
// addresses) and tells JS that something changed: how many datagrams
// arrived since the last wakeup, not what they say. The speaker re-reads
// links and addresses when told (src/netlink/link-watch.ts).
//
// Why not the `netlink` package's socket, which the speaker uses for its
// requests: a burst of changes larger than the socket's receive buffer
// (a node taking over a few hundred IPs adds as many addresses, each one a
// notification) makes the kernel flag the socket with ENOBUFS; the
// package's poll callback then throws a C++ exception that nothing
// catches, and the process aborts. This socket sets NETLINK_NO_ENOBUFS: the
// kernel drops what does not fit and flags nothing. A drop is harmless to a
// listener that only re-reads: the kernel drops a message only while the
// buffer is full, so messages it queued before are still to be read, and
// the re-read they cause comes after the change whose message was dropped.

#include "netlink_monitor.h"

#include <napi.h>

#include "polled_socket.h"
#include "system_error.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

#include <string>

namespace {

using metalgate::PolledSocket;
using metalgate::ThrowErrno;

// Datagrams taken per wakeup before yielding to the loop (the poll is
// level-triggered: the rest is read on the next iteration).
constexpr int kMaxDatagramsPerWakeup = 1024;

class NetlinkMonitor : public PolledSocket<NetlinkMonitor> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NetlinkMonitor", {InstanceMethod<&NetlinkMonitor::Close>("close")});
  }

  // new NetlinkMonitor(groups: number[] (RTNLGRP_*), onChange(datagrams), onError(err))
  explicit NetlinkMonitor(const Napi::CallbackInfo& info) : PolledSocket<NetlinkMonitor>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsArray() || !info[1].IsFunction() || !info[2].IsFunction()) {
      throw Napi::TypeError::New(env, "NetlinkMonitor(groups, onChange, onError)");
    }
    Napi::Array groups = info[0].As<Napi::Array>();
    try {
      Open(env, groups);
    } catch (...) {
      Abandon();
      throw;
    }
    on_change_ = Napi::Persistent(info[1].As<Napi::Function>());
    on_error_ = Napi::Persistent(info[2].As<Napi::Function>());
    Opened(env, info.This().As<Napi::Object>(), "MetalgateNetlinkMonitor");
  }

 private:
  friend class PolledSocket<NetlinkMonitor>;

  void Open(Napi::Env env, const Napi::Array& groups) {
    fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd_ < 0) ThrowErrno(env, "socket", "(AF_NETLINK)");
    int on = 1;
    if (setsockopt(fd_, SOL_NETLINK, NETLINK_NO_ENOBUFS, &on, sizeof on) < 0) {
      ThrowErrno(env, "setsockopt", "(NETLINK_NO_ENOBUFS)");
    }
    struct sockaddr_nl addr;
    memset(&addr, 0, sizeof addr);
    addr.nl_family = AF_NETLINK;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) ThrowErrno(env, "bind", "(AF_NETLINK)");
    for (uint32_t i = 0; i < groups.Length(); i++) {
      Napi::Value value = groups[i];
      if (!value.IsNumber()) throw Napi::TypeError::New(env, "groups must be RTNLGRP_* numbers");
      int group = value.As<Napi::Number>().Int32Value();
      if (group <= 0 || group > __RTNLGRP_MAX) throw Napi::TypeError::New(env, "groups must be RTNLGRP_* numbers");
      if (setsockopt(fd_, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) {
        ThrowErrno(env, "setsockopt", "(NETLINK_ADD_MEMBERSHIP)", std::to_string(group));
      }
    }
    StartPoll(env);
  }

  void OnReadable(int status) {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    [[maybe_unused]] Napi::Object keep_alive = Value();  // a callback may close and drop the last reference
    if (status < 0) return ReportPollFailure(on_error_, status);  // the owner reopens
    int datagrams = 0;
    char discard[1];
    while (datagrams < kMaxDatagramsPerWakeup && fd_ >= 0) {
      // What the datagram says does not matter, only that it came: MSG_TRUNC
      // takes it whole off the queue into a one-byte buffer.
      ssize_t n = recv(fd_, discard, sizeof discard, MSG_TRUNC | MSG_DONTWAIT);
      if (n >= 0) {
        datagrams++;
        continue;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        int err = errno;
        if (datagrams > 0) Invoke(on_change_, {Napi::Number::New(env, datagrams)});
        Invoke(on_error_, {metalgate::SystemError(env, err, "recv").Value()});
        return;
      }
      break;
    }
    if (datagrams > 0) Invoke(on_change_, {Napi::Number::New(env, datagrams)});
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (CloseOnce()) {
      on_change_.Reset();
      on_error_.Reset();
    }
    return info.Env().Undefined();
  }

  Napi::FunctionReference on_change_;
  Napi::FunctionReference on_error_;
};

}  // namespace

Napi::Function DefineNetlinkMonitor(Napi::Env env) { return NetlinkMonitor::Define(env); }
