// Idle client connections parked in the kernel. A connected TCP descriptor
// handed here costs an epoll registration (kernel memory) and one small
// table entry, where a Node socket costs about 3 KB of libuv handle, stream
// state and V8 objects before the first byte. The first readiness (bytes,
// or the peer's close) takes the descriptor out of the park: with bytes
// waiting it goes back to JS, which wraps it in a new socket; a connection
// the peer ended or reset while parked is closed here. A descriptor whose
// deadline passes is closed (a FIN to the client, as an idle timeout would).
//
// It is not a socket layer: nothing is read or written here, and what a
// parked connection means (which listener it came from) is only a tag.

#include "idle_park.h"

#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <algorithm>
#include <vector>

#include "system_error.h"

namespace {

using metalgate::ThrowErrno;

// Descriptors handed back per readiness event; the epoll descriptor is
// polled level-triggered, so the rest follow on the next loop iteration.
constexpr int kMaxWakesPerEvent = 256;
// How often deadlines are checked: a parked connection outlives its
// deadline by at most this much (idle timeouts are tens of seconds).
constexpr uint64_t kSweepMs = 1000;

// One slot per descriptor number (descriptors are small and dense): no
// allocation per parked connection, so a burst of them leaves no small
// long-lived blocks between the freed sockets' memory.
struct Parked {
  uint64_t deadline;  // uv_now() milliseconds; 0: the slot is free
  uint32_t tag;
};

class IdlePark : public Napi::ObjectWrap<IdlePark> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "IdlePark",
                       {
                           InstanceMethod<&IdlePark::Park>("park"),
                           InstanceMethod<&IdlePark::CloseTag>("closeTag"),
                           InstanceMethod<&IdlePark::CountOf>("countOf"),
                           InstanceMethod<&IdlePark::Close>("close"),
                       });
  }

  // new IdlePark(onReady(fd, tag))
  explicit IdlePark(const Napi::CallbackInfo& info) : Napi::ObjectWrap<IdlePark>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) throw Napi::TypeError::New(env, "IdlePark(onReady)");
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      throw Napi::Error::New(env, "no libuv loop for this environment");
    }
    loop_ = loop;
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) ThrowErrno(env, "epoll_create1");
    poll_ = new uv_poll_t;
    int rc = uv_poll_init(loop, poll_, epfd_);
    if (rc != 0) {
      delete poll_;
      poll_ = nullptr;
      close(epfd_);
      epfd_ = -1;
      throw Napi::Error::New(env, std::string("uv_poll_init: ") + uv_strerror(rc));
    }
    poll_->data = this;
    uv_poll_start(poll_, UV_READABLE, OnReady);
    // Parked connections do not keep the process alive: their listener does.
    uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    timer_ = new uv_timer_t;
    uv_timer_init(loop, timer_);
    timer_->data = this;
    uv_unref(reinterpret_cast<uv_handle_t*>(timer_));

    on_ready_ = Napi::Persistent(info[0].As<Napi::Function>());
    async_context_ = std::make_unique<Napi::AsyncContext>(env, "MetalgateIdlePark", info.This().As<Napi::Object>());
    Ref();
    if (napi_add_async_cleanup_hook(env, OnEnvTeardown, this, &teardown_hook_) != napi_ok) teardown_hook_ = nullptr;
  }

  ~IdlePark() override {
    RemoveTeardownHook();
    Shut();
  }

 private:
  // park(fd, tag, timeoutMs, quietOnly): takes a duplicate of the connected
  // descriptor `fd` (the caller closes its own, which sends nothing while
  // this one is open) and returns it; with quietOnly, -1 when bytes are
  // waiting already (nothing parked: serve them). Throws when it cannot
  // (EMFILE, or the descriptor is gone).
  Napi::Value Park(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (epfd_ < 0) throw Napi::Error::New(env, "the park is closed");
    if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsBoolean()) {
      throw Napi::TypeError::New(env, "park(fd, tag, timeoutMs, quietOnly)");
    }
    int fd = info[0].As<Napi::Number>().Int32Value();
    uint32_t tag = info[1].As<Napi::Number>().Uint32Value();
    double timeout = info[2].As<Napi::Number>().DoubleValue();
    if (fd < 0 || !(timeout >= 0)) throw Napi::TypeError::New(env, "park: fd and timeoutMs must not be negative");
    if (info[3].As<Napi::Boolean>().Value()) {
      int waiting = 0;
      if (ioctl(fd, FIONREAD, &waiting) < 0) ThrowErrno(env, "ioctl", "(FIONREAD)");
      if (waiting > 0) return Napi::Number::New(env, -1);
    }
    int held = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (held < 0) ThrowErrno(env, "fcntl", "(F_DUPFD_CLOEXEC)");
    struct epoll_event ev;
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = held;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, held, &ev) < 0) {
      int err = errno;
      close(held);
      errno = err;
      ThrowErrno(env, "epoll_ctl", "(EPOLL_CTL_ADD)");
    }
    if (static_cast<size_t>(held) >= slots_.size()) slots_.resize(static_cast<size_t>(held) + 1 + slots_.size() / 2);
    // uv_now() is at least 1 once the loop has run; a deadline of 0 would mean free.
    slots_[held] = Parked{std::max<uint64_t>(1, uv_now(loop_) + static_cast<uint64_t>(timeout)), tag};
    if (++count_ == 1) uv_timer_start(timer_, OnSweep, kSweepMs, kSweepMs);
    return Napi::Number::New(env, held);
  }

  // closeTag(tag): closes every connection parked under `tag` (its listener
  // stopped); returns how many.
  Napi::Value CloseTag(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "closeTag(tag)");
    uint32_t tag = info[0].As<Napi::Number>().Uint32Value();
    uint32_t closed = 0;
    for (size_t fd = 0; fd < slots_.size() && count_ > 0; fd++) {
      if (slots_[fd].deadline != 0 && slots_[fd].tag == tag) {
        Drop(static_cast<int>(fd));
        close(static_cast<int>(fd));
        closed++;
      }
    }
    return Napi::Number::New(env, closed);
  }

  // countOf(tag) (or every tag without one): connections parked now.
  Napi::Value CountOf(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) return Napi::Number::New(env, static_cast<double>(count_));
    uint32_t tag = info[0].As<Napi::Number>().Uint32Value();
    uint32_t n = 0;
    for (const Parked& slot : slots_) n += slot.deadline != 0 && slot.tag == tag ? 1 : 0;
    return Napi::Number::New(env, n);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (epfd_ >= 0) {
      RemoveTeardownHook();
      Shut();
      on_ready_.Reset();
      Unref();
    }
    return info.Env().Undefined();
  }

  // Out of the park (the caller closes or hands on the descriptor).
  void Drop(int fd) {
    struct epoll_event unused;
    epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, &unused);
    slots_[fd].deadline = 0;
    if (--count_ == 0 && timer_ != nullptr) uv_timer_stop(timer_);
  }

  void CloseAllParked() {
    for (size_t fd = 0; fd < slots_.size(); fd++) {
      if (slots_[fd].deadline != 0) close(static_cast<int>(fd));
    }
    slots_.clear();
    slots_.shrink_to_fit();
    count_ = 0;
  }

  // Closes every parked descriptor, the handles (uv_close frees them) and
  // the epoll set; `done` (environment teardown) is released once libuv has
  // closed the handles.
  void Shut(napi_async_cleanup_hook_handle done = nullptr) {
    CloseAllParked();
    CloseHandles(done);
    if (epfd_ >= 0) close(epfd_);
    epfd_ = -1;
  }

  // Both handles closed; `done` (environment teardown) is released once the
  // last one's close callback has run.
  void CloseHandles(napi_async_cleanup_hook_handle done) {
    struct Closing {
      int left;
      napi_async_cleanup_hook_handle done;
    };
    auto* closing = new Closing{0, done};
    auto closed = [](uv_handle_t* handle) {
      auto* c = static_cast<Closing*>(handle->data);
      if (handle->type == UV_POLL) delete reinterpret_cast<uv_poll_t*>(handle);
      else delete reinterpret_cast<uv_timer_t*>(handle);
      if (--c->left == 0) {
        if (c->done != nullptr) napi_remove_async_cleanup_hook(c->done);
        delete c;
      }
    };
    // uv_close stops a poll or timer handle first.
    auto close_one = [&](uv_handle_t* handle) {
      handle->data = closing;
      closing->left++;
      uv_close(handle, closed);
    };
    if (poll_ != nullptr) close_one(reinterpret_cast<uv_handle_t*>(poll_));
    if (timer_ != nullptr) close_one(reinterpret_cast<uv_handle_t*>(timer_));
    poll_ = nullptr;
    timer_ = nullptr;
    if (closing->left == 0) {
      if (done != nullptr) napi_remove_async_cleanup_hook(done);
      delete closing;
    }
  }

  void RemoveTeardownHook() {
    if (teardown_hook_ == nullptr) return;
    napi_remove_async_cleanup_hook(teardown_hook_);
    teardown_hook_ = nullptr;
  }

  // Environment teardown (worker exit) with the park open: no JS any more.
  static void OnEnvTeardown(napi_async_cleanup_hook_handle hook, void* data) {
    auto* self = static_cast<IdlePark*>(data);
    self->teardown_hook_ = nullptr;
    self->Shut(hook);
  }

  static void OnSweep(uv_timer_t* timer) {
    auto* self = static_cast<IdlePark*>(timer->data);
    uint64_t now = uv_now(self->loop_);
    for (size_t fd = 0; fd < self->slots_.size() && self->count_ > 0; fd++) {
      uint64_t deadline = self->slots_[fd].deadline;
      if (deadline != 0 && deadline <= now) {
        self->Drop(static_cast<int>(fd));
        close(static_cast<int>(fd));
      }
    }
  }

  static void OnReady(uv_poll_t* handle, int status, int /*events*/) {
    auto* self = static_cast<IdlePark*>(handle->data);
    if (self == nullptr || self->poll_ != handle || status < 0) return;
    struct epoll_event events[kMaxWakesPerEvent];
    int n;
    do {
      n = epoll_wait(self->epfd_, events, kMaxWakesPerEvent, 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return;
    // Out of the park first, then to JS: a callback may park again.
    std::vector<std::pair<int, uint32_t>> ready;
    ready.reserve(n);
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd;
      if (fd < 0 || static_cast<size_t>(fd) >= self->slots_.size() || self->slots_[fd].deadline == 0) continue;
      uint32_t tag = self->slots_[fd].tag;
      self->Drop(fd);
      if (Ended(fd, events[i].events)) {
        close(fd);
        continue;
      }
      ready.emplace_back(fd, tag);
    }
    if (!ready.empty()) self->Hand(ready);
  }

  // The peer reset or closed the connection and sent nothing first: there
  // is nothing to serve.
  static bool Ended(int fd, uint32_t events) {
    if ((events & (EPOLLERR | EPOLLHUP)) != 0) return true;
    if ((events & EPOLLRDHUP) == 0) return false;
    int waiting = 0;
    return ioctl(fd, FIONREAD, &waiting) < 0 || waiting == 0;
  }

  void Hand(const std::vector<std::pair<int, uint32_t>>& ready) {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    [[maybe_unused]] Napi::Object keep_alive = Value();
    for (const auto& [fd, tag] : ready) {
      if (on_ready_.IsEmpty()) {
        close(fd);
        continue;
      }
      Napi::HandleScope inner(env);
      try {
        on_ready_.MakeCallback(Value(), {Napi::Number::New(env, fd), Napi::Number::New(env, tag)}, *async_context_);
      } catch (const Napi::Error& error) {
        napi_fatal_exception(env, error.Value());
      }
    }
  }

  uv_loop_t* loop_ = nullptr;
  int epfd_ = -1;
  uv_poll_t* poll_ = nullptr;
  uv_timer_t* timer_ = nullptr;
  std::vector<Parked> slots_;
  size_t count_ = 0;
  napi_async_cleanup_hook_handle teardown_hook_ = nullptr;
  Napi::FunctionReference on_ready_;
  std::unique_ptr<Napi::AsyncContext> async_context_;
};

}  // namespace

Napi::Function DefineIdlePark(Napi::Env env) { return IdlePark::Define(env); }
