// The loopback interface of a new network namespace, which starts down.
#pragma once

namespace hull {

// Brings up "lo" in the calling thread's network namespace with an ioctl on a socket
// there: no netlink, no allocation. False with errno set when it cannot.
bool loopback_up();

}  // namespace hull
