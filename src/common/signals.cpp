#include "common/signals.hpp"

#include <signal.h>

#include <array>

#include <fmt/format.h>

#include "common/strings.hpp"

namespace hull {
namespace {

// Aliases come after the canonical name so that signal_name() finds the canonical one.
constexpr std::array<SignalName, 34> kSignals{{
    {"HUP", SIGHUP},       {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT},   {"IOT", SIGIOT},   {"BUS", SIGBUS},
    {"FPE", SIGFPE},       {"KILL", SIGKILL},   {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},     {"PIPE", SIGPIPE},   {"ALRM", SIGALRM}, {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CLD", SIGCHLD},  {"CONT", SIGCONT},
    {"STOP", SIGSTOP},     {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},
    {"URG", SIGURG},       {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM},
    {"PROF", SIGPROF},     {"WINCH", SIGWINCH}, {"IO", SIGIO},     {"POLL", SIGPOLL},
    {"PWR", SIGPWR},       {"SYS", SIGSYS},
}};

constexpr char upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (upper(a[i]) != upper(b[i])) return false;
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// "RTMIN", "RTMIN+n", "RTMAX", "RTMAX-n" (SIG already removed). SIGRTMIN is glibc's (34: it
// keeps 32 and 33 for itself), which is what a program in the container sees.
std::optional<int> parse_realtime(std::string_view s) {
  int base, sign;
  if (istarts_with(s, "RTMIN")) {
    base = SIGRTMIN;
    sign = 1;
  } else if (istarts_with(s, "RTMAX")) {
    base = SIGRTMAX;
    sign = -1;
  } else {
    return std::nullopt;
  }
  s.remove_prefix(5);
  if (s.empty()) return base;
  if (s.front() != (sign > 0 ? '+' : '-')) return std::nullopt;
  auto n = parse_int<int>(s.substr(1));
  if (!n) return std::nullopt;
  int v = base + sign * *n;
  if (v < SIGRTMIN || v > SIGRTMAX) return std::nullopt;
  return v;
}

}  // namespace

std::span<const SignalName> signal_table() {
  return kSignals;
}

std::optional<int> parse_signal(std::string_view text) {
  if (auto n = parse_int<int>(text)) {
    if (*n < 0 || *n > SIGRTMAX) return std::nullopt;
    return n;
  }
  if (istarts_with(text, "SIG")) text.remove_prefix(3);
  for (const auto& s : kSignals)
    if (iequals(s.name, text)) return s.value;
  return parse_realtime(text);
}

std::string signal_name(int value) {
  for (const auto& s : kSignals)
    if (s.value == value) return fmt::format("SIG{}", s.name);
  if (value >= SIGRTMIN && value <= SIGRTMAX) {
    if (value == SIGRTMIN) return "SIGRTMIN";
    return fmt::format("SIGRTMIN+{}", value - SIGRTMIN);
  }
  return {};
}

}  // namespace hull
