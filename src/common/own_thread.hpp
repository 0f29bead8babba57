// Runs a function on a short-lived thread of its own. A namespace a thread enters with
// unshare or setns (network, UTS, ...) is that thread's alone and ends with it, so the
// caller never has to setns back: in a user namespace it could not, as the host's
// namespaces belong to the initial user namespace (setns: EPERM).
#pragma once

#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <optional>
#include <type_traits>
#include <utility>

#include "common/error.hpp"

namespace hull {

// fn returns a Result<T>; so does on_own_thread (a failed pthread_create included).
template <class F>
std::invoke_result_t<F&> on_own_thread(F&& fn) {
  using R = std::invoke_result_t<F&>;
  struct Call {
    F* fn;
    std::optional<R> out;
    pid_t tid = 0;
  } call{&fn, std::nullopt};
  auto body = [](void* p) -> void* {
    auto* c = static_cast<Call*>(p);
    c->tid = ::gettid();
    c->out.emplace((*c->fn)());
    return nullptr;
  };
  pthread_t t;
  if (int err = ::pthread_create(&t, nullptr, body, &call); err != 0)
    return sys_fail("pthread_create", err);
  ::pthread_join(t, nullptr);
  // pthread_join returns once the thread has cleared its tid, before the kernel has taken
  // it out of the thread group: setns or unshare of a user namespace (the rootless
  // engine's start, the runtime joining a user namespace) want a single-threaded process
  // and would fail with EINVAL meanwhile. tgkill finds it until it is gone.
  while (::syscall(SYS_tgkill, ::getpid(), call.tid, 0) == 0) ::sched_yield();
  return std::move(*call.out);
}

}  // namespace hull
