// AF_PACKET socket for the speaker: one interface, one ethertype, optional
// classic BPF filter, frames delivered to JS from a libuv poll handle.
// Everything protocol-specific (frame layout, filters) lives in TypeScript.

#include "packet_socket.h"

#include <napi.h>
#include <uv.h>

#include "system_error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

namespace {

using metalgate::SystemError;
using metalgate::ThrowErrno;

// Frames taken per readiness event before yielding to the loop; the poll is
// level-triggered, so anything left is picked up on the next iteration.
constexpr int kMaxFramesPerWakeup = 256;
constexpr size_t kReceiveBufferSize = 65536;

class PacketSocket : public Napi::ObjectWrap<PacketSocket> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "PacketSocket",
        {
            InstanceMethod<&PacketSocket::Send>("send"),
            InstanceMethod<&PacketSocket::SetFilter>("setFilter"),
            InstanceMethod<&PacketSocket::AddMulticast>("addMulticast"),
            InstanceMethod<&PacketSocket::DropMulticast>("dropMulticast"),
            InstanceMethod<&PacketSocket::Close>("close"),
        });
  }

  // new PacketSocket(ifname, ethertype, filter | null, onFrame, onError)
  explicit PacketSocket(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<PacketSocket>(info), buffer_(kReceiveBufferSize) {
    Napi::Env env = info.Env();
    if (info.Length() < 5 || !info[0].IsString() || !info[1].IsNumber() ||
        !info[3].IsFunction() || !info[4].IsFunction()) {
      throw Napi::TypeError::New(
          env, "PacketSocket(ifname, ethertype, filter, onFrame, onError)");
    }
    std::string ifname = info[0].As<Napi::String>().Utf8Value();
    if (ifname.empty() || ifname.size() >= IFNAMSIZ) {
      throw Napi::TypeError::New(env, "interface name must be 1-15 bytes");
    }
    uint32_t ethertype = info[1].As<Napi::Number>().Uint32Value();
    if (ethertype == 0 || ethertype > 0xffff) {
      throw Napi::TypeError::New(env, "ethertype must be in 1..0xffff");
    }

    try {
      Open(env, ifname, static_cast<uint16_t>(ethertype), info[2]);
    } catch (...) {
      StopPoll();
      CloseFd();
      throw;
    }

    Napi::Object self = info.This().As<Napi::Object>();
    on_frame_ = Napi::Persistent(info[3].As<Napi::Function>());
    on_error_ = Napi::Persistent(info[4].As<Napi::Function>());
    async_context_ = std::make_unique<Napi::AsyncContext>(env, "MetalgatePacketSocket", self);
    self.DefineProperties({
        Napi::PropertyDescriptor::Value("ifindex", Napi::Number::New(env, ifindex_), napi_enumerable),
        Napi::PropertyDescriptor::Value("hwType", Napi::Number::New(env, hw_type_), napi_enumerable),
        Napi::PropertyDescriptor::Value("mac", Napi::Buffer<uint8_t>::Copy(env, mac_, sizeof mac_), napi_enumerable),
    });
    // An open socket stays alive (and keeps delivering) even when JS drops it.
    Ref();
    // A worker that ends with the socket open must still close the poll
    // handle before its loop goes away.
    if (napi_add_async_cleanup_hook(env, OnEnvTeardown, this, &teardown_hook_) != napi_ok) {
      teardown_hook_ = nullptr;
    }
  }

  ~PacketSocket() override {
    RemoveTeardownHook();
    StopPoll();
    CloseFd();
  }

 private:
  // Socket, interface lookups, filter, bind and poll; the caller cleans up
  // if any step throws.
  void Open(Napi::Env env, const std::string& ifname, uint16_t ethertype, const Napi::Value& filter) {
    // Protocol 0: the socket receives nothing until bind, so no frame gets
    // in before the filter is attached.
    fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) ThrowErrno(env, "socket", "(AF_PACKET)");

    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, ifname.data(), ifname.size());
    if (ioctl(fd_, SIOCGIFINDEX, &ifr) < 0) ThrowErrno(env, "ioctl", "SIOCGIFINDEX", ifname);
    ifindex_ = ifr.ifr_ifindex;
    if (ioctl(fd_, SIOCGIFHWADDR, &ifr) < 0) ThrowErrno(env, "ioctl", "SIOCGIFHWADDR", ifname);
    hw_type_ = ifr.ifr_hwaddr.sa_family;
    memcpy(mac_, ifr.ifr_hwaddr.sa_data, sizeof mac_);

    if (!filter.IsNull() && !filter.IsUndefined()) AttachFilter(env, filter);

    struct sockaddr_ll addr;
    memset(&addr, 0, sizeof addr);
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ethertype);
    addr.sll_ifindex = ifindex_;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) ThrowErrno(env, "bind", "", ifname);

    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      throw Napi::Error::New(env, "no libuv loop for this environment");
    }
    poll_ = new uv_poll_t;
    int rc = uv_poll_init(loop, poll_, fd_);
    if (rc != 0) {
      delete poll_;  // never initialised, so not closable
      poll_ = nullptr;
      throw Napi::Error::New(env, std::string("uv_poll_init: ") + uv_strerror(rc));
    }
    poll_->data = this;
    rc = uv_poll_start(poll_, UV_READABLE, OnReadable);
    if (rc != 0) throw Napi::Error::New(env, std::string("uv_poll_start: ") + uv_strerror(rc));
  }

  void AttachFilter(Napi::Env env, const Napi::Value& value) {
    if (!value.IsBuffer()) throw Napi::TypeError::New(env, "filter must be a Buffer of struct sock_filter");
    auto program = value.As<Napi::Buffer<uint8_t>>();
    size_t count = program.Length() / sizeof(struct sock_filter);
    if (count == 0 || count > BPF_MAXINSNS || program.Length() % sizeof(struct sock_filter) != 0) {
      throw Napi::TypeError::New(env, "filter must hold 1-4096 instructions of 8 bytes");
    }
    // The kernel copies the program, so pointing into the Buffer is enough.
    struct sock_fprog fprog;
    fprog.len = static_cast<unsigned short>(count);
    fprog.filter = reinterpret_cast<struct sock_filter*>(program.Data());
    if (setsockopt(fd_, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog) < 0) {
      ThrowErrno(env, "setsockopt", "(SO_ATTACH_FILTER)");
    }
  }

  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireOpen(env);
    if (info.Length() < 1 || !info[0].IsBuffer()) throw Napi::TypeError::New(env, "send(frame: Buffer)");
    auto frame = info[0].As<Napi::Buffer<uint8_t>>();
    ssize_t sent;
    do {
      sent = send(fd_, frame.Data(), frame.Length(), 0);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) ThrowErrno(env, "send");
    return Napi::Number::New(env, static_cast<double>(sent));
  }

  Napi::Value SetFilter(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireOpen(env);
    if (info.Length() < 1 || info[0].IsNull() || info[0].IsUndefined()) {
      int unused = 0;
      if (setsockopt(fd_, SOL_SOCKET, SO_DETACH_FILTER, &unused, sizeof unused) < 0 && errno != ENOENT) {
        ThrowErrno(env, "setsockopt", "(SO_DETACH_FILTER)");
      }
    } else {
      AttachFilter(env, info[0]);
    }
    return env.Undefined();
  }

  // Link-layer multicast membership (e.g. 33:33:ff:xx:xx:xx for a solicited-
  // node group) so the NIC passes those frames up; dropped on close.
  Napi::Value AddMulticast(const Napi::CallbackInfo& info) { return Membership(info, PACKET_ADD_MEMBERSHIP); }
  Napi::Value DropMulticast(const Napi::CallbackInfo& info) { return Membership(info, PACKET_DROP_MEMBERSHIP); }

  Napi::Value Membership(const Napi::CallbackInfo& info, int option) {
    Napi::Env env = info.Env();
    RequireOpen(env);
    if (info.Length() < 1 || !info[0].IsBuffer() || info[0].As<Napi::Buffer<uint8_t>>().Length() != 6) {
      throw Napi::TypeError::New(env, "multicast address must be a 6-byte Buffer");
    }
    struct packet_mreq mreq;
    memset(&mreq, 0, sizeof mreq);
    mreq.mr_ifindex = ifindex_;
    mreq.mr_type = PACKET_MR_MULTICAST;
    mreq.mr_alen = 6;
    memcpy(mreq.mr_address, info[0].As<Napi::Buffer<uint8_t>>().Data(), 6);
    if (setsockopt(fd_, SOL_PACKET, option, &mreq, sizeof mreq) < 0) {
      ThrowErrno(env, "setsockopt", option == PACKET_ADD_MEMBERSHIP ? "(PACKET_ADD_MEMBERSHIP)" : "(PACKET_DROP_MEMBERSHIP)");
    }
    return env.Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (fd_ >= 0) {
      RemoveTeardownHook();
      StopPoll();
      CloseFd();
      on_frame_.Reset();
      on_error_.Reset();
      Unref();
    }
    return info.Env().Undefined();
  }

  void RequireOpen(Napi::Env env) {
    if (fd_ < 0) throw SystemError(env, EBADF, "packet socket", "(closed)");
  }

  void StopPoll() {
    if (poll_ == nullptr) return;
    uv_poll_stop(poll_);
    uv_close(reinterpret_cast<uv_handle_t*>(poll_),
             [](uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); });
    poll_ = nullptr;
  }

  void RemoveTeardownHook() {
    if (teardown_hook_ == nullptr) return;
    napi_remove_async_cleanup_hook(teardown_hook_);
    teardown_hook_ = nullptr;
  }

  // Environment teardown (worker exit) with the socket still open: no JS any
  // more; stop and close the handle, and let teardown finish once libuv has.
  static void OnEnvTeardown(napi_async_cleanup_hook_handle hook, void* data) {
    auto* self = static_cast<PacketSocket*>(data);
    self->teardown_hook_ = nullptr;
    uv_poll_t* poll = self->poll_;
    self->poll_ = nullptr;
    if (poll != nullptr) {
      uv_poll_stop(poll);
      poll->data = hook;
      uv_close(reinterpret_cast<uv_handle_t*>(poll), [](uv_handle_t* handle) {
        auto done = static_cast<napi_async_cleanup_hook_handle>(handle->data);
        delete reinterpret_cast<uv_poll_t*>(handle);
        napi_remove_async_cleanup_hook(done);
      });
    } else {
      napi_remove_async_cleanup_hook(hook);
    }
    self->CloseFd();
  }

  void CloseFd() {
    if (fd_ < 0) return;
    close(fd_);
    fd_ = -1;
  }

  static void OnReadable(uv_poll_t* handle, int status, int /*events*/) {
    auto* self = static_cast<PacketSocket*>(handle->data);
    if (self == nullptr || self->poll_ != handle) return;
    if (status < 0) {
      // The poll cannot continue; report once and stop. The socket stays
      // open until close(), so the owner decides whether to reopen.
      Napi::Env env = self->Env();
      Napi::HandleScope scope(env);
      Napi::Error error = Napi::Error::New(env, std::string("uv_poll: ") + uv_strerror(status));
      error.Set("code", Napi::String::New(env, uv_err_name(status)));
      self->StopPoll();
      self->Invoke(self->on_error_, {error.Value()});
      return;
    }
    self->Drain();
  }

  void Drain() {
    Napi::Env env = Env();
    Napi::HandleScope outer(env);
    [[maybe_unused]] Napi::Object keep_alive = Value();  // the JS callback may drop the last reference
    for (int i = 0; i < kMaxFramesPerWakeup && fd_ >= 0; i++) {
      struct sockaddr_ll from;
      socklen_t from_len = sizeof from;
      ssize_t n = recvfrom(fd_, buffer_.data(), buffer_.size(), MSG_TRUNC,
                           reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        // ENETDOWN and friends: the kernel clears the socket error on read,
        // so report it and keep polling.
        int err = errno;
        Napi::HandleScope scope(env);
        Invoke(on_error_, {SystemError(env, err, "recvfrom").Value()});
        return;
      }
      // A socket bound to a parent device also sees frames that arrived
      // through its VLAN sub-interfaces (reported with their ifindex): skip.
      if (from.sll_ifindex != ifindex_) continue;
      if (static_cast<size_t>(n) > buffer_.size()) continue;  // truncated; never ARP/NDP
      Napi::HandleScope scope(env);
      Napi::Buffer<uint8_t> frame = Napi::Buffer<uint8_t>::Copy(env, buffer_.data(), static_cast<size_t>(n));
      Invoke(on_frame_, {frame, Napi::Number::New(env, from.sll_pkttype)});
    }
  }

  // Calls back into JS with async context; a throwing listener becomes an
  // uncaught exception, as it would for any other event source.
  void Invoke(Napi::FunctionReference& callback, const std::initializer_list<napi_value>& args) {
    if (callback.IsEmpty()) return;
    Napi::Env env = Env();
    try {
      callback.MakeCallback(Value(), args, *async_context_);
    } catch (const Napi::Error& error) {
      napi_fatal_exception(env, error.Value());
    }
  }

  int fd_ = -1;
  int ifindex_ = 0;
  uint16_t hw_type_ = 0;
  uint8_t mac_[6] = {0, 0, 0, 0, 0, 0};
  uv_poll_t* poll_ = nullptr;
  napi_async_cleanup_hook_handle teardown_hook_ = nullptr;
  std::vector<uint8_t> buffer_;
  Napi::FunctionReference on_frame_;
  Napi::FunctionReference on_error_;
  std::unique_ptr<Napi::AsyncContext> async_context_;
};

}  // namespace

Napi::Function DefinePacketSocket(Napi::Env env) { return PacketSocket::Define(env); }
