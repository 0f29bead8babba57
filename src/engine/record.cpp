// SQLite container records. WAL with synchronous=NORMAL: a commit costs no fsync, and a
// crash loses at most the last transactions, never consistency (the runtime's own state
// files are what kill and delete trust).
#include "engine/record.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/random.h>
#include <time.h>

#include <array>
#include <cctype>

#include "common/fs.hpp"
#include "common/sqlite_schema.hpp"
#include "common/sqlite_wal.hpp"
#include "common/strings.hpp"
#include "common/time.hpp"

namespace hull::engine {
namespace {

constexpr std::array kStatusNames{"created", "running", "paused", "restarting", "exited", "dead"};

// A prepared statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK) s_ = nullptr;
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return s_ != nullptr; }
  Stmt& bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  int step() { return sqlite3_step(s_); }
  std::string text(int col) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, col))) : "";
  }
  std::string error() const { return sqlite3_errmsg(db_); }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
};

Result<Container> row_to_container(const Stmt& st) {
  auto cj = HULL_TRY(parse_json(st.text(0), "container record"));
  auto sj = HULL_TRY(parse_json(st.text(1), "container state"));
  Container c;
  c.config = HULL_TRY(ContainerConfig::from_json(cj));
  c.state = HULL_TRY(ContainerState::from_json(sj));
  return c;
}

template <class T>
void get_to(const Json& j, const char* key, T& out) {
  if (auto it = j.find(key); it != j.end() && !it->is_null()) it->get_to(out);
}

Json ports_to_json(const std::vector<PortMapping>& ports) {
  Json out = Json::array();
  for (const auto& p : ports) {
    out.push_back({{"host_ip", p.host_ip},
                   {"host_port", p.host_port},
                   {"container_port", p.container_port},
                   {"proto", p.proto}});
    if (p.host_port_last) out.back()["host_port_last"] = p.host_port_last;
  }
  return out;
}

void ports_from_json(const Json& j, const char* key, std::vector<PortMapping>& out) {
  if (auto it = j.find(key); it != j.end() && it->is_array())
    for (const auto& p : *it)
      out.push_back({p.value("host_ip", ""), p.value<uint16_t>("host_port", 0),
                     p.value<uint16_t>("container_port", 0), p.value("proto", "tcp"),
                     p.value<uint16_t>("host_port_last", 0)});
}

}  // namespace

std::string_view status_name(ContainerStatus s) {
  return kStatusNames[static_cast<size_t>(s)];
}

std::optional<ContainerStatus> status_from_name(std::string_view s) {
  for (size_t i = 0; i < kStatusNames.size(); ++i)
    if (s == kStatusNames[i]) return static_cast<ContainerStatus>(i);
  return std::nullopt;
}

Result<RestartPolicy> parse_restart_policy(std::string_view text) {
  RestartPolicy p;
  std::string_view kind = text, count;
  if (auto colon = text.find(':'); colon != std::string_view::npos) {
    kind = text.substr(0, colon);
    count = text.substr(colon + 1);
  }
  if (kind == "no" || kind.empty())
    p.kind = RestartPolicy::Kind::no;
  else if (kind == "on-failure")
    p.kind = RestartPolicy::Kind::on_failure;
  else if (kind == "always")
    p.kind = RestartPolicy::Kind::always;
  else if (kind == "unless-stopped")
    p.kind = RestartPolicy::Kind::unless_stopped;
  else
    return failf("invalid restart policy \"{}\": use no, on-failure[:N], always or unless-stopped",
                 text);
  if (!count.empty()) {
    if (p.kind != RestartPolicy::Kind::on_failure)
      return failf("invalid restart policy \"{}\": maximum retry count is only for on-failure",
                   text);
    auto n = parse_int<int>(count);
    if (!n || *n < 0) return failf("invalid restart policy \"{}\": bad retry count", text);
    p.max_retries = *n;
  }
  return p;
}

std::string restart_policy_name(const RestartPolicy& p) {
  switch (p.kind) {
    case RestartPolicy::Kind::no:
      return "no";
    case RestartPolicy::Kind::on_failure:
      return p.max_retries ? fmt::format("on-failure:{}", p.max_retries) : "on-failure";
    case RestartPolicy::Kind::always:
      return "always";
    case RestartPolicy::Kind::unless_stopped:
      return "unless-stopped";
  }
  return "no";
}

Json ContainerConfig::to_json() const {
  Json ports_j = ports_to_json(ports);
  Json mounts_j = Json::array();
  for (const auto& m : mounts)
    mounts_j.push_back({{"type", m.type},
                        {"name", m.name},
                        {"source", m.source},
                        {"destination", m.destination},
                        {"rw", m.rw},
                        {"copy", m.copy},
                        {"anonymous", m.anonymous}});
  return Json{{"id", id},
              {"name", name},
              {"image", image},
              {"image_id", image_id},
              {"rootfs_dir", rootfs_dir},
              {"entrypoint", entrypoint},
              {"cmd", cmd},
              {"created", created},
              {"tty", tty},
              {"interactive", interactive},
              {"auto_remove", auto_remove},
              {"restart", restart_policy_name(restart)},
              {"stop_signal", stop_signal},
              {"stop_timeout", stop_timeout},
              {"labels", labels},
              {"env", env},
              {"hostname", hostname},
              {"network", network},
              {"network_aliases", network_aliases},
              {"ports", ports_j},
              {"extra_hosts", extra_hosts},
              {"ip", ip},
              {"mac_address", mac_address},
              {"domainname", domainname},
              {"pid_mode", pid_mode},
              {"ipc_mode", ipc_mode},
              {"uts_mode", uts_mode},
              {"shm_size", shm_size},
              {"mounts", mounts_j},
              {"log_max_size", log_max_size},
              {"log_max_file", log_max_file},
              {"user", user},
              {"group_add", group_add},
              {"workdir", workdir},
              {"init", init},
              {"cpu_cfs", cpu_cfs}};
}

Result<ContainerConfig> ContainerConfig::from_json(const Json& j) {
  ContainerConfig c;
  try {
    get_to(j, "id", c.id);
    get_to(j, "name", c.name);
    get_to(j, "image", c.image);
    get_to(j, "image_id", c.image_id);
    get_to(j, "rootfs_dir", c.rootfs_dir);
    get_to(j, "entrypoint", c.entrypoint);
    get_to(j, "cmd", c.cmd);
    get_to(j, "created", c.created);
    get_to(j, "tty", c.tty);
    get_to(j, "interactive", c.interactive);
    get_to(j, "auto_remove", c.auto_remove);
    std::string restart;
    get_to(j, "restart", restart);
    c.restart = HULL_TRY(parse_restart_policy(restart));
    get_to(j, "stop_signal", c.stop_signal);
    get_to(j, "stop_timeout", c.stop_timeout);
    get_to(j, "labels", c.labels);
    get_to(j, "env", c.env);
    get_to(j, "hostname", c.hostname);
    get_to(j, "network", c.network);
    get_to(j, "network_aliases", c.network_aliases);
    ports_from_json(j, "ports", c.ports);
    get_to(j, "extra_hosts", c.extra_hosts);
    get_to(j, "ip", c.ip);
    get_to(j, "mac_address", c.mac_address);
    get_to(j, "domainname", c.domainname);
    get_to(j, "pid_mode", c.pid_mode);
    get_to(j, "ipc_mode", c.ipc_mode);
    get_to(j, "uts_mode", c.uts_mode);
    get_to(j, "shm_size", c.shm_size);
    if (auto it = j.find("mounts"); it != j.end())
      for (const auto& m : *it)
        c.mounts.push_back({m.value("type", ""), m.value("name", ""), m.value("source", ""),
                            m.value("destination", ""), m.value("rw", true), m.value("copy", true),
                            m.value("anonymous", false)});
    get_to(j, "log_max_size", c.log_max_size);
    get_to(j, "log_max_file", c.log_max_file);
    get_to(j, "user", c.user);
    get_to(j, "group_add", c.group_add);
    get_to(j, "workdir", c.workdir);
    get_to(j, "init", c.init);
    get_to(j, "cpu_cfs", c.cpu_cfs);
  } catch (const Json::exception& e) {
    return failf("container record: {}", e.what());
  }
  return c;
}

Json ContainerState::to_json() const {
  return Json{{"status", status_name(status)},
              {"pid", pid},
              {"monitor_pid", monitor_pid},
              {"monitor_start", monitor_start},
              {"exit_code", exit_code},
              {"started_at", started_at},
              {"finished_at", finished_at},
              {"restart_count", restart_count},
              {"manual_stop", manual_stop},
              {"oom_killed", oom_killed},
              {"error", error},
              {"ip", ip},
              {"ports", ports_to_json(ports)}};
}

Result<ContainerState> ContainerState::from_json(const Json& j) {
  ContainerState s;
  try {
    std::string st;
    get_to(j, "status", st);
    auto parsed = status_from_name(st);
    if (!parsed) return failf("container state: unknown status \"{}\"", st);
    s.status = *parsed;
    get_to(j, "pid", s.pid);
    get_to(j, "monitor_pid", s.monitor_pid);
    get_to(j, "monitor_start", s.monitor_start);
    get_to(j, "exit_code", s.exit_code);
    get_to(j, "started_at", s.started_at);
    get_to(j, "finished_at", s.finished_at);
    get_to(j, "restart_count", s.restart_count);
    get_to(j, "manual_stop", s.manual_stop);
    get_to(j, "oom_killed", s.oom_killed);
    get_to(j, "error", s.error);
    get_to(j, "ip", s.ip);
    ports_from_json(j, "ports", s.ports);
  } catch (const Json::exception& e) {
    return failf("container state: {}", e.what());
  }
  return s;
}

Result<Db> Db::open(const std::string& root) {
  HULL_CHECK(fs::mkdir_p(root, 0700));
  Db d;
  d.root_ = root;
  std::string path = root + "/containers.db";
  if (sqlite3_open_v2(path.c_str(), &d.db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK)
    return failf("open {}: {}", path, d.db_ ? sqlite3_errmsg(d.db_) : "out of memory");
  // Many CLIs and monitors write at once (20 parallel runs): wait rather than fail.
  static constexpr sqlite::WalLimit kWalLimit{sqlite::kCommitFrames, 10000};
  sqlite3_busy_timeout(d.db_, kWalLimit.busy_timeout_ms);
  // Every CLI and monitor closes its connection within milliseconds: a checkpoint (two
  // fdatasyncs) at each close would cost more than the container start. hull __exited
  // folds the WAL after a container exit (trim_wal), and keep_wal_short when it grows
  // longer than that (each first opener re-reads all of it).
  sqlite3_db_config(d.db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  if (sqlite::enable_wal(d.db_, kWalLimit.busy_timeout_ms) != SQLITE_OK)
    return failf("{}: journal_mode=WAL: {}", path, sqlite3_errmsg(d.db_));
  HULL_CHECK(d.exec("PRAGMA synchronous=NORMAL;"));
  sqlite::keep_wal_short(d.db_, &kWalLimit);
  // Version 2: exits_at, so that each removal's pruning of old exits reads only those
  // (without it, every `run --rm` scanned the whole hour of exits). Version 3: volumes'
  // labels and anonymous flag (`hull volume`); an older file's anonymous volumes are
  // those named as new_container_id names them.
  HULL_CHECK(sqlite::ensure_schema(
      d.db_, 3,
      "CREATE TABLE IF NOT EXISTS containers(id TEXT PRIMARY KEY, name TEXT UNIQUE "
      "NOT NULL, config TEXT NOT NULL, state TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS volumes(name TEXT PRIMARY KEY, created INTEGER);"
      "ALTER TABLE volumes ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';"
      "ALTER TABLE volumes ADD COLUMN anonymous INTEGER NOT NULL DEFAULT 0;"
      "UPDATE volumes SET anonymous = 1 WHERE length(name) = 64 AND "
      "name NOT GLOB '*[^0-9a-f]*';"
      "CREATE TABLE IF NOT EXISTS exits(id TEXT PRIMARY KEY, exit_code INTEGER NOT "
      "NULL, at INTEGER NOT NULL);"
      "CREATE INDEX IF NOT EXISTS exits_at ON exits(at);",
      path));
  return d;
}

Db::Db(Db&& o) noexcept : db_(std::exchange(o.db_, nullptr)), root_(std::move(o.root_)) {}
Db& Db::operator=(Db&& o) noexcept {
  if (this != &o) {
    sqlite3_close(db_);
    db_ = std::exchange(o.db_, nullptr);
    root_ = std::move(o.root_);
  }
  return *this;
}
Db::~Db() {
  sqlite3_close(db_);
}

Status Db::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    return failf("{}/containers.db: {}", root_, msg);
  }
  return {};
}

Status Db::insert(const Container& c) {
  Stmt st(db_, "INSERT INTO containers(id, name, config, state) VALUES(?,?,?,?)");
  if (!st.ok()) return failf("containers.db: {}", st.error());
  st.bind(1, c.config.id).bind(2, c.config.name).bind(3, c.config.to_json().dump());
  st.bind(4, c.state.to_json().dump());
  int rc = st.step();
  if (rc == SQLITE_CONSTRAINT)
    return failf("the container name \"/{}\" is already in use", c.config.name);
  if (rc != SQLITE_DONE) return failf("containers.db: insert {}: {}", c.config.id, st.error());
  return {};
}

Result<Container> Db::find(std::string_view ref) {
  if (ref.empty()) return fail("container name or id must not be empty");
  {
    Stmt st(db_, "SELECT config, state FROM containers WHERE id = ?1 OR name = ?1");
    st.bind(1, ref);
    int rc = st.step();
    if (rc == SQLITE_ROW) return row_to_container(st);
    // A failed read (busy past the timeout, I/O) is not "no such container": callers such
    // as hull __exited treat that as removed and record nothing.
    if (rc != SQLITE_DONE)
      return fail(fmt::format("containers.db: find {}: {}", ref, st.error()), EIO);
  }
  bool hex = ref.find_first_not_of("0123456789abcdef") == std::string_view::npos;
  if (hex) {
    Stmt st(db_, "SELECT config, state FROM containers WHERE substr(id, 1, ?2) = ?1 LIMIT 2");
    st.bind(1, ref).bind(2, static_cast<int64_t>(ref.size()));
    int rc = st.step();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
      return fail(fmt::format("containers.db: find {}: {}", ref, st.error()), EIO);
    if (rc == SQLITE_ROW) {
      auto c = row_to_container(st);
      if (st.step() == SQLITE_ROW)
        return failf("multiple containers found with prefix \"{}\": give more of the id", ref);
      return c;
    }
  }
  return fail(fmt::format("no such container: {}", ref), ENOENT);
}

Result<ContainerState> Db::find_state(const std::string& id) {
  Stmt st(db_, "SELECT state FROM containers WHERE id = ?");
  st.bind(1, id);
  int rc = st.step();
  if (rc == SQLITE_DONE) return fail(fmt::format("no such container: {}", id), ENOENT);
  if (rc != SQLITE_ROW)
    return fail(fmt::format("containers.db: state of {}: {}", id, st.error()), EIO);
  return ContainerState::from_json(HULL_TRY(parse_json(st.text(0), "container state")));
}

Result<std::vector<Container>> Db::list() {
  Stmt st(db_, "SELECT config, state FROM containers");
  std::vector<Container> out;
  for (;;) {
    int rc = st.step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return failf("containers.db: list: {}", st.error());
    out.push_back(HULL_TRY(row_to_container(st)));
  }
  return out;
}

// One JSON column of a container's row: state or config.
Status Db::update_json(const char* sql, const Json& j, const std::string& id) {
  Stmt st(db_, sql);
  st.bind(1, j.dump()).bind(2, id);
  if (st.step() != SQLITE_DONE) return failf("containers.db: update {}: {}", id, st.error());
  if (sqlite3_changes(db_) == 0) return fail(fmt::format("no such container: {}", id), ENOENT);
  return {};
}

Status Db::save_state(const std::string& id, const ContainerState& s) {
  return update_json("UPDATE containers SET state = ? WHERE id = ?", s.to_json(), id);
}

Result<ContainerState> Db::change_state(const std::string& id,
                                        const std::function<bool(ContainerState&)>& change) {
  HULL_CHECK(exec("BEGIN IMMEDIATE"));
  auto body = [&]() -> Result<ContainerState> {
    auto s = HULL_TRY(find_state(id));
    if (change(s)) HULL_CHECK(save_state(id, s));
    return s;
  };
  auto r = body();
  if (!r) {
    (void)exec("ROLLBACK");
    return r;
  }
  HULL_CHECK(exec("COMMIT"));
  return r;
}

Status Db::rename(const std::string& id, const std::string& new_name) {
  HULL_CHECK(validate_name(new_name));
  auto c = HULL_TRY(find(id));
  c.config.name = new_name;
  Stmt st(db_, "UPDATE containers SET name = ?, config = ? WHERE id = ?");
  st.bind(1, new_name).bind(2, c.config.to_json().dump()).bind(3, id);
  int rc = st.step();
  if (rc == SQLITE_CONSTRAINT)
    return failf("the container name \"/{}\" is already in use", new_name);
  if (rc != SQLITE_DONE) return failf("containers.db: rename {}: {}", id, st.error());
  return {};
}

Status Db::save_config(const std::string& id, const ContainerConfig& c) {
  return update_json("UPDATE containers SET config = ? WHERE id = ?", c.to_json(), id);
}

Status Db::remove(const std::string& id) {
  Stmt st(db_, "DELETE FROM containers WHERE id = ?");
  st.bind(1, id);
  if (st.step() != SQLITE_DONE) return failf("containers.db: delete {}: {}", id, st.error());
  return {};
}

Status Db::remove_with_exit(const std::string& id, int exit_code) {
  HULL_CHECK(exec("BEGIN IMMEDIATE"));
  auto body = [&]() -> Status {
    // An hour is long enough for any waiter that saw the container before it went.
    Stmt old(db_, "DELETE FROM exits WHERE at < ?");
    old.bind(1, now_ns() - int64_t{3600} * 1'000'000'000);
    if (old.step() != SQLITE_DONE) return failf("containers.db: exits: {}", old.error());
    Stmt ins(db_, "INSERT OR REPLACE INTO exits(id, exit_code, at) VALUES(?, ?, ?)");
    ins.bind(1, id).bind(2, int64_t{exit_code}).bind(3, now_ns());
    if (ins.step() != SQLITE_DONE) return failf("containers.db: exit of {}: {}", id, ins.error());
    return remove(id);
  };
  if (auto r = body(); !r) {
    (void)exec("ROLLBACK");
    return r;
  }
  return exec("COMMIT");
}

std::optional<int> Db::removed_exit(const std::string& id) {
  Stmt st(db_, "SELECT exit_code FROM exits WHERE id = ?");
  st.bind(1, id);
  if (st.step() != SQLITE_ROW) return std::nullopt;
  return parse_int<int>(st.text(0));
}

Status Db::add_volume(const std::string& name, const std::string& labels_json, bool anonymous) {
  Stmt st(db_,
          "INSERT OR IGNORE INTO volumes(name, created, labels, anonymous) VALUES(?, ?, ?, ?)");
  st.bind(1, name).bind(2, now_ns()).bind(3, labels_json).bind(4, int64_t{anonymous});
  if (st.step() != SQLITE_DONE) return failf("containers.db: volume {}: {}", name, st.error());
  return {};
}

namespace {

Db::VolumeRow volume_row(const Stmt& st) {
  Db::VolumeRow r;
  r.name = st.text(0);
  r.created = parse_int<int64_t>(st.text(1)).value_or(0);
  r.labels_json = st.text(2);
  r.anonymous = st.text(3) == "1";
  return r;
}

}  // namespace

Result<std::optional<Db::VolumeRow>> Db::volume(const std::string& name) {
  Stmt st(db_, "SELECT name, created, labels, anonymous FROM volumes WHERE name = ?");
  st.bind(1, name);
  int rc = st.step();
  if (rc == SQLITE_ROW) return volume_row(st);
  if (rc != SQLITE_DONE) return failf("containers.db: volume {}: {}", name, st.error());
  return std::nullopt;
}

Result<std::vector<Db::VolumeRow>> Db::volumes() {
  Stmt st(db_, "SELECT name, created, labels, anonymous FROM volumes ORDER BY name");
  std::vector<VolumeRow> out;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW) out.push_back(volume_row(st));
  if (rc != SQLITE_DONE) return failf("containers.db: volumes: {}", st.error());
  return out;
}

Status Db::remove_volume(const std::string& name) {
  Stmt st(db_, "DELETE FROM volumes WHERE name = ?");
  st.bind(1, name);
  if (st.step() != SQLITE_DONE) return failf("containers.db: volume {}: {}", name, st.error());
  return {};
}

std::string new_container_id() {
  unsigned char b[32];
  for (size_t got = 0; got < sizeof b;) {
    ssize_t n = ::getrandom(b + got, sizeof b - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  std::string out;
  out.reserve(64);
  for (unsigned char c : b) out += fmt::format("{:02x}", c);
  return out;
}

Status validate_name(std::string_view name) {
  auto ok_first = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  auto ok = [&](char c) { return ok_first(c) || c == '_' || c == '.' || c == '-'; };
  bool valid = name.size() >= 2 && name.size() <= 253 && ok_first(name[0]);
  for (char c : name) valid = valid && ok(c);
  if (!valid)
    return failf("invalid container name \"{}\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name);
  return {};
}

std::string random_name() {
  static constexpr const char* kLeft[] = {
      "agile", "brave", "calm",  "eager", "fancy", "gentle", "happy", "jolly", "keen", "lucid",
      "merry", "nifty", "proud", "quiet", "sharp", "tender", "vivid", "witty", "zen",  "bold"};
  static constexpr const char* kRight[] = {
      "babbage",  "curie",   "dijkstra", "euler",   "fermat",  "galois",   "hopper", "knuth",
      "lovelace", "noether", "pascal",   "ritchie", "shannon", "thompson", "turing", "wirth"};
  uint32_t r[3];
  if (::getrandom(r, sizeof r, 0) != sizeof r)
    r[0] = r[1] = r[2] = static_cast<uint32_t>(::time(nullptr));
  return fmt::format("{}_{}_{}", kLeft[r[0] % std::size(kLeft)], kRight[r[1] % std::size(kRight)],
                     r[2] % 1000);
}

int64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::string rfc3339(int64_t ns) {
  if (ns == 0) return "0001-01-01T00:00:00Z";
  return format_rfc3339(ns / 1000000000, static_cast<long>(ns % 1000000000));
}

}  // namespace hull::engine
