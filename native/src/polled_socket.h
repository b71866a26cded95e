// The lifecycle shared by the addon's socket classes (PacketSocket,
// NetlinkMonitor): one non-blocking descriptor that a libuv poll handle
// watches for readability, callbacks into JS with async context, and a
// teardown hook so that a worker ending with the socket open still closes
// the handle before its loop goes away. What a wakeup reads, and what it
// hands to JS, is the derived class's (T::OnReadable).
//
// Not a socket factory: the derived class opens fd_ and configures it, then
// calls StartPoll and Opened.
#pragma once

#include <napi.h>
#include <uv.h>

#include <stdio.h>
#include <unistd.h>

#include <initializer_list>
#include <memory>
#include <string>

namespace metalgate {

template <typename T>
class PolledSocket : public Napi::ObjectWrap<T> {
 public:
  explicit PolledSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<T>(info) {}

  ~PolledSocket() override {
    RemoveTeardownHook();
    StopPoll();
    CloseFd();
  }

 protected:
  // Starts polling fd_: T::OnReadable(status) at each wakeup (status < 0:
  // the poll failed and has stopped).
  void StartPoll(Napi::Env env) {
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
    rc = uv_poll_start(poll_, UV_READABLE, OnPoll);
    if (rc != 0) throw Napi::Error::New(env, std::string("uv_poll_start: ") + uv_strerror(rc));
  }

  // The constructor succeeded: an open socket stays alive (and keeps
  // delivering) even when JS drops it, until close().
  void Opened(Napi::Env env, Napi::Object self, const char* resource_name) {
    async_context_ = std::make_unique<Napi::AsyncContext>(env, resource_name, self);
    this->Ref();
    if (napi_add_async_cleanup_hook(env, OnEnvTeardown, this, &teardown_hook_) != napi_ok) {
      teardown_hook_ = nullptr;
    }
  }

  // close(): idempotent; true when it closed an open socket (the derived
  // class then drops its callbacks).
  bool CloseOnce() {
    if (fd_ < 0) return false;
    RemoveTeardownHook();
    StopPoll();
    CloseFd();
    this->Unref();
    return true;
  }

  // Undoes a constructor that threw half-way.
  void Abandon() {
    StopPoll();
    CloseFd();
  }

  void StopPoll() {
    if (poll_ == nullptr) return;
    uv_poll_stop(poll_);
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); });
    poll_ = nullptr;
  }

  // The poll failed (status < 0) and cannot continue: stops it and tells
  // `on_error` once. The socket stays open until close(), so its owner
  // decides whether to reopen.
  void ReportPollFailure(Napi::FunctionReference& on_error, int status) {
    StopPoll();
    Napi::Env env = this->Env();
    Napi::HandleScope scope(env);
    Napi::Error error = Napi::Error::New(env, std::string("uv_poll: ") + uv_strerror(status));
    error.Set("code", Napi::String::New(env, uv_err_name(status)));
    Invoke(on_error, {error.Value()});
  }

  // Calls back into JS with async context; a throwing listener becomes an
  // uncaught exception, as it would for any other event source. Nothing
  // here may throw past the caller: it runs in a libuv callback, where a
  // C++ exception ends the process.
  void Invoke(Napi::FunctionReference& callback, const std::initializer_list<napi_value>& args) {
    if (callback.IsEmpty()) return;
    Napi::Env env = this->Env();
    try {
      callback.MakeCallback(this->Value(), args, *async_context_);
    } catch (const Napi::Error& error) {
      napi_fatal_exception(env, error.Value());
    }
  }

  int fd_ = -1;

 private:
  static void OnPoll(uv_poll_t* handle, int status, int /*events*/) {
    auto* self = static_cast<PolledSocket*>(handle->data);
    if (self == nullptr || self->poll_ != handle) return;
    try {
      static_cast<T*>(self)->OnReadable(status);
    } catch (const Napi::Error& error) {
      // A Node-API call failed outside any JS frame (the environment is
      // going away): nothing up this stack takes a C++ exception, and one
      // that left this libuv callback would abort the process.
      fprintf(stderr, "metalgate native: poll callback failed: %s\n", error.what());
    }
  }

  void CloseFd() {
    if (fd_ < 0) return;
    close(fd_);
    fd_ = -1;
  }

  void RemoveTeardownHook() {
    if (teardown_hook_ == nullptr) return;
    napi_remove_async_cleanup_hook(teardown_hook_);
    teardown_hook_ = nullptr;
  }

  // Environment teardown (worker exit) with the socket still open: no JS any
  // more; stop and close the handle, and let teardown finish once libuv has.
  static void OnEnvTeardown(napi_async_cleanup_hook_handle hook, void* data) {
    auto* self = static_cast<PolledSocket*>(data);
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

  uv_poll_t* poll_ = nullptr;
  napi_async_cleanup_hook_handle teardown_hook_ = nullptr;
  std::unique_ptr<Napi::AsyncContext> async_context_;
};

}  // namespace metalgate
