// Node-style system errors for the addon's classes: code is the errno name,
// errno is negative (as in Node's own SystemErrors), syscall names the call
// that failed.
#pragma once

#include <napi.h>

#include <errno.h>
#include <string.h>

#include <string>

namespace metalgate {

inline Napi::Error SystemError(Napi::Env env, int err, const char* syscall,
                        const std::string& detail = std::string()) {
  const char* name = strerrorname_np(err);
  std::string code = name != nullptr ? name : "EUNKNOWN";
  std::string message = code + ": " + strerror(err) + ", " + syscall;
  if (!detail.empty()) message += " " + detail;
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  error.Set("errno", Napi::Number::New(env, -err));
  error.Set("syscall", Napi::String::New(env, syscall));
  return error;
}

// Throws for the errno of the call that just failed; errno is read before
// anything else can allocate (and so touch it).
[[noreturn]] inline void ThrowErrno(Napi::Env env, const char* syscall, const char* what = "", const std::string& name = "") {
  int err = errno;
  std::string detail = what;
  if (!name.empty()) detail += (detail.empty() ? "'" : " '") + name + "'";
  throw SystemError(env, err, syscall, detail);
}

}  // namespace metalgate
