// Signal names and numbers for `kill`, `run`'s forwarding and the engine's --stop-signal.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace hull {

struct SignalName {
  std::string_view name;  // without "SIG": "KILL"
  int value;
};

// The classic signals of this architecture (SIGHUP..SIGSYS, with aliases IOT, CLD, POLL).
std::span<const SignalName> signal_table();

// runc's spelling rules and Docker's real-time forms: "KILL", "SIGKILL", "kill", "9",
// "RTMIN", "RTMIN+3", "SIGRTMAX-2". Names are case-insensitive (runc upper-cases them).
// Numbers 0 (existence check, as kill(2)) to SIGRTMAX. nullopt when unknown.
std::optional<int> parse_signal(std::string_view text);

// "SIGKILL", "SIGRTMIN+3"; empty for a number that is not a signal.
std::string signal_name(int value);

}  // namespace hull
