// AF_PACKET socket for the speaker: one interface, one ethertype, optional
// classic BPF filter, frames delivered to JS from a libuv poll handle
// (polled_socket.h). Everything protocol-specific (frame layout, filters)
// lives in TypeScript.

#include "packet_socket.h"

#include <napi.h>
#include <uv.h>

#include "polled_socket.h"
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

using metalgate::PolledSocket;
using metalgate::SystemError;
using metalgate::ThrowErrno;

// Frames taken per readiness event before yielding to the loop; the poll is
// level-triggered, so anything left is picked up on the next iteration.
constexpr int kMaxFramesPerWakeup = 256;
constexpr size_t kReceiveBufferSize = 65536;

class PacketSocket : public PolledSocket<PacketSocket> {
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
      : PolledSocket<PacketSocket>(info), buffer_(kReceiveBufferSize) {
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
      Abandon();
      throw;
    }

    Napi::Object self = info.This().As<Napi::Object>();
    on_frame_ = Napi::Persistent(info[3].As<Napi::Function>());
    on_error_ = Napi::Persistent(info[4].As<Napi::Function>());
    self.DefineProperties({
        Napi::PropertyDescriptor::Value("ifindex", Napi::Number::New(env, ifindex_), napi_enumerable),
        Napi::PropertyDescriptor::Value("hwType", Napi::Number::New(env, hw_type_), napi_enumerable),
        Napi::PropertyDescriptor::Value("mac", Napi::Buffer<uint8_t>::Copy(env, mac_, sizeof mac_), napi_enumerable),
    });
    Opened(env, self, "MetalgatePacketSocket");
  }

 private:
  friend class PolledSocket<PacketSocket>;

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

    StartPoll(env);
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
    if (CloseOnce()) {
      on_frame_.Reset();
      on_error_.Reset();
    }
    return info.Env().Undefined();
  }

  void RequireOpen(Napi::Env env) {
    if (fd_ < 0) throw SystemError(env, EBADF, "packet socket", "(closed)");
  }

  void OnReadable(int status) {
    if (status < 0) return ReportPollFailure(on_error_, status);
    Drain();
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

  int ifindex_ = 0;
  uint16_t hw_type_ = 0;
  uint8_t mac_[6] = {0, 0, 0, 0, 0, 0};
  std::vector<uint8_t> buffer_;
  Napi::FunctionReference on_frame_;
  Napi::FunctionReference on_error_;
};

}  // namespace

Napi::Function DefinePacketSocket(Napi::Env env) { return PacketSocket::Define(env); }
