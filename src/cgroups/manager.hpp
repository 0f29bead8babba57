// One interface over cgroup v1, v2 and a disabled backend (rootless without delegation),
// picked at run time from /proc/self/mountinfo. The runtime creates the container's
// cgroup before the user program runs, joins the init process to it, and removes it on
// delete. A Manager serialises where it lives (to_json) into state.json so later verbs
// (kill, pause, update, ps, events, delete) can reopen it with load().
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/json.hpp"
#include "common/unique_fd.hpp"
#include "oci/spec.hpp"

namespace hull::cgroups {

enum class Kind { v1, v2, disabled };

struct Stats {
  // Field names follow runc's `events --stats` JSON; absent data stays zero.
  Json to_json() const;
  struct {
    uint64_t usage_total = 0, usage_user = 0, usage_kernel = 0;  // ns
    uint64_t throttled_periods = 0, throttled_time = 0, periods = 0;
    // ns, v1 cpuacct.usage_percpu, usage_percpu_sys, usage_percpu_user
    std::vector<uint64_t> percpu, percpu_kernel, percpu_user;
  } cpu;
  struct {
    std::vector<uint64_t> cpus, mems;  // effective, as lists of numbers
    // v1 cpuset flags by runc's names ("cpu_exclusive", ...), in runc's order
    std::vector<std::pair<std::string, int64_t>> flags;
  } cpuset;
  struct MemoryEntry {
    uint64_t limit = 0, usage = 0, max = 0, failcnt = 0;
  };
  struct {
    MemoryEntry usage, swap, kernel, kernel_tcp;  // swap is memory + swap, as v1 counts it
    uint64_t cache = 0, oom_events = 0;
    std::vector<std::pair<std::string, uint64_t>> raw;  // memory.stat, in its order
  } memory;
  struct {
    uint64_t current = 0, limit = 0;
  } pids;
  struct Blkio {
    uint64_t major = 0, minor = 0;
    std::string op;
    uint64_t value = 0;
  };
  std::vector<Blkio> blkio;
  struct Hugetlb {
    std::string page_size;
    uint64_t usage = 0, max = 0, failcnt = 0;
  };
  std::vector<Hugetlb> hugetlb;
};

struct Options {
  std::string id;            // container id, for the default path
  std::string cgroups_path;  // linux.cgroupsPath, may be empty, relative or absolute
  bool rootless = false;
  // linux.devices: each is allowed in the device cgroup as runc does, after the
  // resources.devices rules and before the default set (null, zero, tty, ptmx, ...).
  std::vector<oci::Device> devices;
};

// Where the host mounts its cgroup hierarchies and where the caller sits in each, read
// from /proc/self/mountinfo and /proc/self/cgroup. Tests build one over a temp dir.
struct Hierarchy {
  std::vector<std::string> controllers;  // "memory", "cpu", "name=systemd", ...
  std::string mount;                     // "/sys/fs/cgroup/memory"
  std::string own = "/";                 // the caller's cgroup in it, "/" or "/a/b"
};

struct Layout {
  std::vector<Hierarchy> v1;                     // empty on a pure v2 host
  std::string unified;                           // the cgroup2 mount ("" when none)
  std::string unified_own;                       // the caller's cgroup2 path
  std::vector<std::string> unified_controllers;  // the root's cgroup.controllers
  // A fake tree (unit tests): control files are created on write, and each write is
  // appended as one line, so a test reads back every value written in order.
  bool fake = false;

  // v1 when any v1 hierarchy has a real controller (hybrid included), else v2.
  Kind kind() const;
  bool hybrid() const { return kind() == Kind::v1 && !unified.empty(); }
  const Hierarchy* find_v1(std::string_view controller) const;
};

// Parses the two files; errors name what is missing.
Result<Layout> parse_layout(std::string_view mountinfo, std::string_view proc_self_cgroup);
// This host's layout, read once per process.
Result<Layout> host_layout();

// Where the container's cgroup goes, relative to the hierarchy's root: an absolute
// cgroupsPath as given, a relative one (or the id when empty) nested under the caller's
// own cgroup in that hierarchy, as runc does. ".." components are refused.
Result<std::string> plan_path(const std::string& own, const std::string& cgroups_path,
                              const std::string& id);

// A sub-cgroup path of exec --cgroup made relative and clean ("" for the cgroup itself):
// "/a//b/" -> "a/b". ".." is refused, so it can never leave the container's cgroup.
Result<std::string> sub_cgroup_path(std::string_view sub);

class Manager {
 public:
  virtual ~Manager() = default;
  virtual Kind kind() const = 0;

  // Where a new cgroup is noted before its directories are made (the runtime's state dir),
  // as to_json() would say it once they are.
  using Note = std::function<Status(const Json&)>;
  // Makes the cgroup directories (and parents) and applies resources if given. On error,
  // removes whatever it made. Parents that must be made are given to note first, so that
  // a process killed meanwhile leaves none that destroy() of the noted state misses (the
  // container's own directories are destroy()'s anyway).
  virtual Status create(const oci::Resources* resources, const Note& note = {}) = 0;
  // An O_PATH/O_DIRECTORY fd for clone3(CLONE_INTO_CGROUP), or an invalid fd where the
  // kernel or the layout cannot do that (v1, hybrid): then the caller uses add_pid().
  virtual UniqueFd clone_into_fd() const = 0;
  virtual Status add_pid(pid_t pid) = 0;

  // v1 without a cgroup.procs write from the parent: that write takes the
  // cgroup_threadgroup_rwsem for writing, which waits for an RCU grace period (3 ms idle,
  // 15-20 ms on a loaded machine). Instead the new, single-threaded process writes "0"
  // to each `tasks` file itself: the kernel moves the calling thread without that lock.
  // clone_into names the hybrid cgroup2 directory for clone3(CLONE_INTO_CGROUP). Empty
  // where it does not apply (v2 uses clone_into_fd; disabled).
  struct SelfJoin {
    std::vector<std::string> tasks;
    std::string clone_into;
  };
  virtual SelfJoin self_join() const { return {}; }
  // What the parent still writes after a self-join: the cgroup2 directory's cgroup.procs
  // unless clone3 placed the process there.
  virtual Status add_pid_after_self_join(pid_t pid, bool cloned_into) {
    (void)pid;
    (void)cloned_into;
    return {};
  }
  // Live update (`update`), same semantics as create's resources.
  virtual Status apply(const oci::Resources& resources) = 0;
  virtual Status freeze(bool frozen) = 0;
  virtual Result<bool> frozen() const = 0;
  virtual Result<std::vector<pid_t>> pids() const = 0;
  // Signals every process: cgroup.kill for SIGKILL on v2 where present, else freeze,
  // signal each pid, thaw, so that no process escapes by forking.
  virtual Status kill_all(int signal) = 0;
  virtual Result<Stats> stats() const = 0;
  // Whether the memory controller reports an OOM kill since creation.
  virtual Result<uint64_t> oom_kill_count() const = 0;
  // Removes every directory it made; waits briefly for dying processes. Idempotent.
  virtual Status destroy() = 0;

  // runc's `exec --cgroup`: a manager of existing sub-cgroups of this one, to place a new
  // process in (it makes, applies and removes nothing). paths maps a v1 controller, or ""
  // for every hierarchy, to a path relative to the container's cgroup (checked by
  // sub_cgroup_path). Errors when a directory is missing or a controller unknown.
  using SubPaths = std::map<std::string, std::string>;
  virtual Result<std::unique_ptr<Manager>> sub_cgroup(const SubPaths& paths) const {
    (void)paths;
    return fail("the container has no cgroup to run in a sub-cgroup of", ENOTSUP);
  }

  // runc's exec fallback on cgroup v2 (exec_joins_init_cgroup): a manager of the cgroup
  // the container's init is in now (from /proc/<init>/cgroup), when that is a sub-cgroup
  // of the container's; it makes, applies and removes nothing. An error elsewhere (v1,
  // disabled, an init in the container's cgroup itself or outside it).
  virtual Result<std::unique_ptr<Manager>> init_cgroup(pid_t init) const {
    (void)init;
    return fail("only cgroup v2 has the init's cgroup to fall back to", ENOTSUP);
  }

  // Where the cgroup lives, for state.json; load() reverses it. Complete before create()
  // too, but for the parents create() makes (given to its note).
  virtual Json to_json() const = 0;

  // The path of the container's cgroup relative to the hierarchy root, e.g.
  // "/hull/abc" (what /proc/PID/cgroup shows inside).
  virtual std::string path() const = 0;

 protected:
  // For create(): to_json() with the directories about to be made added to "created",
  // given to note (if any) before make_dirs makes them.
  Status note_planned(const Note& note, const std::vector<std::string>& planned) const {
    if (!note) return {};
    Json j = to_json();
    for (const auto& p : planned) j["created"].push_back(p);
    return note(j);
  }
};

// runc's exec on cgroup v2 (libcontainer's setnsProcess.start): when the container's
// cgroup refuses a new process by the kernel's v2 rules, EBUSY (it has sub-cgroups with
// domain controllers enabled: "no internal processes", as when a systemd in the container
// moved its init into a sub-cgroup) or EOPNOTSUPP (a threaded or invalid domain), the
// process joins the init's cgroup instead (Manager::init_cgroup). Never on v1, for other
// errors (EPERM, ENOENT), or for an explicit exec --cgroup.
bool exec_joins_init_cgroup(Kind kind, int err, bool explicit_sub_cgroup);
// The cgroup2 path (the "0::" line) of a /proc/PID/cgroup text.
Result<std::string> unified_path(std::string_view proc_pid_cgroup);
// The init's cgroup2 path relative to the container's cgroup path (a sub-cgroup path for
// sub_cgroup): an error when it is the container's cgroup itself (nothing to fall back
// to) or outside it (an init moved out must not take exec'd processes out with it).
Result<std::string> init_sub_path(std::string_view container, std::string_view init);

// Detects the host's layout (v1, v2, hybrid) and makes the manager for a new container.
Result<std::unique_ptr<Manager>> make_manager(const Options& options);
// The same over a given layout (tests point it at a fake tree).
Result<std::unique_ptr<Manager>> make_manager(const Options& options, const Layout& layout);
// Reopens a manager saved with Manager::to_json().
Result<std::unique_ptr<Manager>> load_manager(const Json& saved);

// Conversions of v1-style values for cgroup v2, as runc does them.
// cpu.shares [2, 262144] -> cpu.weight [1, 10000]; 0 stays 0 (unset).
uint64_t shares_to_weight(uint64_t shares);
// blkio.weight [10, 1000] -> io.weight [1, 10000]; 0 stays 0 (unset).
uint64_t blkio_weight_to_io_weight(uint64_t weight);
// OCI memory.swap is memory+swap; v2 memory.swap.max is swap alone: swap - limit,
// -1 for "max", nullopt to leave unset. Errors when swap < limit or limit is missing.
Result<std::optional<int64_t>> swap_to_v2(std::optional<int64_t> swap,
                                          std::optional<int64_t> limit);

}  // namespace hull::cgroups
