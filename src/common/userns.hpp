// Whether this process runs in a user namespace other than the initial one: a rootless
// engine is uid 0 there, so geteuid() alone cannot tell rootless from root.
#pragma once

#include <string_view>

namespace hull::userns {

// True when /proc/self/uid_map is not the initial namespace's "0 0 4294967295" (runc's
// userns.RunningInUserNS). Read once and cached; a program that knows the answer already
// (hull's engine, which joined its user namespace itself) sets it with assume() and so
// never reads the file.
bool running_in_user_ns();
void assume(bool in_user_ns);

// The rule on a uid_map's text, for tests: every line but the full identity mapping
// means a non-initial namespace; an empty or unreadable map means the initial one.
bool uid_map_is_user_ns(std::string_view uid_map);

}  // namespace hull::userns
