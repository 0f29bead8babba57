#include "image/store.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <set>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/sha256.hpp"
#include "common/sqlite_schema.hpp"
#include "common/sqlite_wal.hpp"
#include "common/strings.hpp"
#include "common/time.hpp"
#include "image/reference.hpp"
#include "image/sqlite.hpp"
#include "image/unpack.hpp"
#include "image/wrap.hpp"

namespace hull::image {
namespace {

constexpr const char* kPragmas = R"(
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
)";
constexpr sqlite::WalLimit kWalLimit{sqlite::kCommitFrames, 30000};
// The tables, created once (sqlite_schema.hpp): bump kSchemaVersion with every change.
constexpr int kSchemaVersion = 1;
constexpr const char* kTables = R"(
CREATE TABLE IF NOT EXISTS images(
  id TEXT PRIMARY KEY, manifest_digest TEXT, manifest_media_type TEXT,
  created INTEGER, size INTEGER, added INTEGER);
CREATE TABLE IF NOT EXISTS image_layers(
  image_id TEXT, idx INTEGER, blob_digest TEXT, media_type TEXT, diff_id TEXT,
  blob_size INTEGER, PRIMARY KEY(image_id, idx));
CREATE INDEX IF NOT EXISTS image_layers_diff ON image_layers(diff_id);
CREATE TABLE IF NOT EXISTS image_blobs(image_id TEXT, digest TEXT, PRIMARY KEY(image_id, digest));
CREATE INDEX IF NOT EXISTS image_blobs_digest ON image_blobs(digest);
CREATE TABLE IF NOT EXISTS tags(name TEXT PRIMARY KEY, image_id TEXT, added INTEGER);
CREATE TABLE IF NOT EXISTS repo_digests(name TEXT, image_id TEXT, PRIMARY KEY(name, image_id));
CREATE TABLE IF NOT EXISTS layers(diff_id TEXT PRIMARY KEY, size INTEGER, short TEXT);
CREATE TABLE IF NOT EXISTS holds(container_id TEXT PRIMARY KEY, image_id TEXT);
)";

std::string hex_of(std::string_view digest) {
  return std::string(digest.starts_with("sha256:") ? digest.substr(7) : digest);
}

std::string random_name(size_t n) {
  static constexpr char kAlpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out(n, 'A');
  unsigned char buf[64];
  if (::getrandom(buf, n, 0) != ssize_t(n)) {
    for (size_t i = 0; i < n; ++i) buf[i] = static_cast<unsigned char>(rand());
  }
  for (size_t i = 0; i < n; ++i) out[i] = kAlpha[buf[i] % 32];
  return out;
}

std::vector<std::string> strings_of(const Json& j) {
  std::vector<std::string> v;
  if (j.is_array())
    for (auto& e : j)
      if (e.is_string()) v.push_back(e.get<std::string>());
  return v;
}

// RFC 3339 "2024-01-02T03:04:05.123Z" -> unix seconds (0 when unparsable).
int64_t parse_time(const std::string& s) {
  std::tm tm{};
  if (!::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
  return int64_t(::timegm(&tm));
}

// "docker.io/library/busybox:latest" -> "busybox:latest", as docker prints RepoTags.
std::string familiar(const std::string& full) {
  auto r = parse_reference(full);
  if (!r) return full;
  std::string s = r->familiar_name();
  if (!r->tag.empty()) s += ":" + r->tag;
  if (!r->digest.empty()) s += "@" + r->digest;
  return s;
}

bool is_hex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

// A new store's index is built off to the side with syncs off, synced once and moved in
// place: switching a fresh database to WAL and creating the tables costs six fsyncs
// otherwise, which on a busy disk is most of a cold pull's local time. A crash before
// the rename leaves only a temp file; the name never shows a half-made database.
Status create_db(const std::string& root, const std::string& db) {
  std::string tmp = fmt::format("{}/tmp/images-{}.db", root, random_name(12));
  sqlite3* h = nullptr;
  int rc = sqlite3_open_v2(tmp.c_str(), &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  Status st;
  if (rc != SQLITE_OK) {
    st = failf("create image index {}: {}", tmp, h ? sqlite3_errmsg(h) : "out of memory");
  } else {
    st = sql::exec(h, "PRAGMA synchronous=OFF; PRAGMA journal_mode=WAL;");
    if (st) st = sqlite::ensure_schema(h, kSchemaVersion, kTables, "image index");
    if (st) st = sql::exec(h, "PRAGMA wal_checkpoint(TRUNCATE);");
    st = with_context(std::move(st), fmt::format("create {}", tmp));
  }
  // The last connection's close folds the WAL into the file and deletes it.
  if (h) sqlite3_close(h);
  auto cleanup = [&] {
    for (const char* sfx : {"", "-wal", "-shm", "-journal"}) ::unlink((tmp + sfx).c_str());
  };
  if (!st) {
    cleanup();
    return st;
  }
  UniqueFd fd(::open(tmp.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd || ::fdatasync(fd.get()) < 0) {
    auto e = sys_failf("sync {}", tmp);
    cleanup();
    return e;
  }
  // No replace: a concurrent first command may have created it meanwhile; theirs stays.
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, db.c_str(), RENAME_NOREPLACE) < 0) {
    int err = errno;
    cleanup();
    if (err != EEXIST) return sys_fail(fmt::format("rename {} to {}", tmp, db), err);
  }
  return {};
}

// Marks ROOT/tmp, where layers are unpacked, as a top of independent trees for ext4's
// Orlov allocator: each new layer directory (and the files in it) then goes to its own
// block group instead of the parent's. Parallel unpacks stop contending for one group,
// and new files stop landing among the inodes a recent rmi or rm freed, which ext4
// skips one by one (recently_deleted) on every allocation: 400 ms of CPU against 125 ms
// for a 300-file pull right after a delete, measured with perf. Other filesystems
// ignore it, so failures are too.
void mark_topdir(int fd) {
  int flags = 0;
  if (::ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0 || (flags & FS_TOPDIR_FL)) return;
  flags |= FS_TOPDIR_FL;
  (void)::ioctl(fd, FS_IOC_SETFLAGS, &flags);
}

Status flock_retry(int fd, int op) {
  while (::flock(fd, op) < 0)
    if (errno != EINTR) return sys_fail("flock");
  return {};
}

}  // namespace

Result<ImageConfig> parse_image_config(const Json& doc) {
  if (!doc.is_object()) return fail("image config: not a JSON object");
  ImageConfig c;
  c.os = json_string(doc, "os");
  c.architecture = json_string(doc, "architecture");
  auto it = doc.find("config");
  if (it == doc.end() || it->is_null()) return c;
  if (!it->is_object()) return fail("image config: \"config\" is not an object");
  const Json& cfg = *it;
  if (auto e = cfg.find("Entrypoint"); e != cfg.end()) c.entrypoint = strings_of(*e);
  if (auto e = cfg.find("Cmd"); e != cfg.end()) c.cmd = strings_of(*e);
  if (auto e = cfg.find("Env"); e != cfg.end()) c.env = strings_of(*e);
  c.working_dir = json_string(cfg, "WorkingDir");
  c.user = json_string(cfg, "User");
  c.stop_signal = json_string(cfg, "StopSignal");
  if (auto e = cfg.find("Labels"); e != cfg.end() && e->is_object())
    for (auto& [k, v] : e->items())
      if (v.is_string()) c.labels[k] = v.get<std::string>();
  if (auto e = cfg.find("ExposedPorts"); e != cfg.end() && e->is_object())
    for (auto& [k, v] : e->items()) c.exposed_ports.push_back(k);
  return c;
}

Result<Store> Store::open(const std::string& root) {
  Store s;
  s.root_ = root;
  for (const char* sub : {"", "/blobs/sha256", "/layers", "/l", "/tmp"})
    HULL_CHECK(fs::mkdir_p(root + sub, 0700));
  const std::string tmp = root + "/tmp";
  s.tmp_dir_.reset(::open(tmp.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!s.tmp_dir_) return sys_failf("open {}", tmp);
  HULL_CHECK(with_context(flock_retry(s.tmp_dir_.get(), LOCK_SH), tmp));
  mark_topdir(s.tmp_dir_.get());
  std::string db = root + "/images.db";
  if (::access(db.c_str(), F_OK) < 0 && errno == ENOENT) HULL_CHECK(create_db(root, db));
  // FULLMUTEX: pull's download threads record unpacked layers through this connection.
  if (sqlite3_open_v2(db.c_str(), &s.db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = s.db_ ? sqlite3_errmsg(s.db_) : "out of memory";
    return failf("open image index {}: {}", db, msg);
  }
  sqlite3_busy_timeout(s.db_, kWalLimit.busy_timeout_ms);
  // Closing would checkpoint the WAL with two fsyncs on every hull command: hull
  // __exited folds it after a container exit (trim_wal), keep_wal_short when it is long.
  sqlite3_db_config(s.db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  HULL_CHECK(with_context(sql::exec(s.db_, kPragmas), fmt::format("open {}", db)));
  sqlite::keep_wal_short(s.db_, &kWalLimit);
  HULL_CHECK(sqlite::ensure_schema(s.db_, kSchemaVersion, kTables, db));
  return s;
}

Store::Store(Store&& o) noexcept
    : root_(std::move(o.root_)),
      db_(std::exchange(o.db_, nullptr)),
      tmp_dir_(std::move(o.tmp_dir_)) {}
Store& Store::operator=(Store&& o) noexcept {
  if (this != &o) {
    if (db_) sqlite3_close_v2(db_);
    root_ = std::move(o.root_);
    db_ = std::exchange(o.db_, nullptr);
    tmp_dir_ = std::move(o.tmp_dir_);
  }
  return *this;
}
Store::~Store() {
  if (db_) sqlite3_close_v2(db_);
}

Result<UniqueFd> Store::lock() const {
  std::string path = root_ + "/images.lock";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return sys_failf("open {}", path);
  while (::flock(fd.get(), LOCK_EX) < 0)
    if (errno != EINTR) return sys_failf("flock {}", path);
  return fd;
}

Result<std::string> Store::resolve(std::string_view name_or_id) const {
  std::string_view s = name_or_id;
  if (s.empty()) return fail("no such image: empty name", ENOENT);
  auto by_id_prefix = [&](std::string_view hex) -> Result<std::string> {
    sql::Stmt st(db_, "SELECT id FROM images WHERE substr(id, 8, ?1) = ?2 LIMIT 2");
    st.bind(1, int64_t(hex.size())).bind(2, hex);
    std::vector<std::string> ids;
    while (st.step()) ids.push_back(st.text(0));
    HULL_CHECK(st.status());
    if (ids.size() > 1) return failf("image id prefix {:?} is ambiguous", name_or_id);
    if (ids.empty())
      return std::unexpected(Error{ENOENT, fmt::format("no such image: {}", name_or_id)});
    return ids[0];
  };
  if (s.starts_with("sha256:")) {
    std::string_view hex = s.substr(7);
    if (!is_hex(hex) || hex.size() > 64) return failf("invalid image id {:?}", s);
    return by_id_prefix(hex);
  }
  if (s.size() == 64 && is_hex(s)) return by_id_prefix(s);
  auto ref = parse_reference(s);
  if (ref) {
    if (!ref->digest.empty()) {
      sql::Stmt st(db_, "SELECT image_id FROM repo_digests WHERE name = ?1");
      st.bind(1, ref->name() + "@" + ref->digest);
      if (st.step()) return st.text(0);
      HULL_CHECK(st.status());
      sql::Stmt st2(db_, "SELECT id FROM images WHERE manifest_digest = ?1");
      st2.bind(1, ref->digest);
      if (st2.step()) return st2.text(0);
    } else {
      sql::Stmt st(db_, "SELECT image_id FROM tags WHERE name = ?1");
      st.bind(1, ref->str());
      if (st.step()) return st.text(0);
      HULL_CHECK(st.status());
    }
  }
  if (s.size() >= 4 && is_hex(s)) {
    auto id = by_id_prefix(s);
    if (id || id.error().code != ENOENT) return id;
  }
  if (!ref) return std::unexpected(ref.error());
  return std::unexpected(Error{ENOENT, fmt::format("no such image: {}", name_or_id)});
}

Result<Json> Store::config_json(const std::string& id) const {
  auto data = HULL_TRY(read_blob(id));
  return parse_json(data, fmt::format("image config {}", id));
}

Result<ImageConfig> Store::config(const std::string& id) const {
  auto doc = HULL_TRY(config_json(id));
  return with_context(parse_image_config(doc), fmt::format("image {}", id));
}

Result<std::vector<LayerRecord>> Store::layers(const std::string& id) const {
  sql::Stmt st(db_,
               "SELECT blob_digest, media_type, diff_id, blob_size FROM image_layers "
               "WHERE image_id = ?1 ORDER BY idx");
  st.bind(1, id);
  std::vector<LayerRecord> out;
  while (st.step()) out.push_back({st.text(0), st.text(1), st.text(2), st.int64(3)});
  HULL_CHECK(st.status());
  return out;
}

Result<std::vector<ImageSummary>> Store::list() const {
  std::vector<ImageSummary> out;
  {
    sql::Stmt st(db_, "SELECT id, created, size FROM images ORDER BY created DESC, added DESC");
    while (st.step()) out.push_back({st.text(0), {}, {}, st.int64(1), st.int64(2)});
    HULL_CHECK(st.status());
  }
  for (auto& img : out) {
    sql::Stmt t(db_, "SELECT name FROM tags WHERE image_id = ?1 ORDER BY added DESC, name");
    t.bind(1, img.id);
    while (t.step()) img.tags.push_back(t.text(0));
    HULL_CHECK(t.status());
    sql::Stmt d(db_, "SELECT name FROM repo_digests WHERE image_id = ?1 ORDER BY name");
    d.bind(1, img.id);
    while (d.step()) img.repo_digests.push_back(d.text(0));
    HULL_CHECK(d.status());
  }
  return out;
}

Result<Json> Store::inspect(const std::string& id) const {
  auto cfg = HULL_TRY(config_json(id));
  auto lays = HULL_TRY(layers(id));
  ImageSummary sum;
  bool found = false;
  for (auto& s : HULL_TRY(list()))
    if (s.id == id) sum = s, found = true;
  if (!found) return std::unexpected(Error{ENOENT, fmt::format("no such image: {}", id)});
  Json j;
  j["Id"] = id;
  Json tags = Json::array(), digests = Json::array();
  for (auto& t : sum.tags) tags.push_back(familiar(t));
  for (auto& d : sum.repo_digests) digests.push_back(familiar(d));
  j["RepoTags"] = tags;
  j["RepoDigests"] = digests;
  j["Parent"] = "";
  // The config is whatever the image came with: a member of the wrong type reads as absent.
  j["Comment"] = json_string(cfg, "comment");
  j["Created"] = json_string(cfg, "created", format_rfc3339(sum.created));
  j["DockerVersion"] = json_string(cfg, "docker_version");
  j["Author"] = json_string(cfg, "author");
  j["Config"] = json_object(cfg, "config");
  j["Architecture"] = json_string(cfg, "architecture");
  if (auto v = json_string(cfg, "variant"); !v.empty()) j["Variant"] = v;
  j["Os"] = json_string(cfg, "os");
  j["Size"] = sum.size;
  Json lower = Json::array();
  Json diff_ids = Json::array();
  for (auto& l : lays) {
    diff_ids.push_back(l.diff_id);
    lower.push_back(layer_dir(l.diff_id));
  }
  std::string lowerdirs;
  for (auto it = lays.rbegin(); it != lays.rend(); ++it)
    lowerdirs += (lowerdirs.empty() ? "" : ":") + layer_dir(it->diff_id);
  j["GraphDriver"] = {{"Name", "overlay"}, {"Data", {{"LowerDir", lowerdirs}}}};
  j["RootFS"] = {{"Type", "layers"}, {"Layers", diff_ids}};
  sql::Stmt st(db_, "SELECT manifest_digest, manifest_media_type FROM images WHERE id = ?1");
  st.bind(1, id);
  if (st.step()) {
    j["Metadata"] = {{"ManifestDigest", st.text(0)}, {"ManifestMediaType", st.text(1)}};
  }
  return j;
}

Status Store::hold(const std::string& image_id, const std::string& container_id) {
  sql::Stmt st(db_, "INSERT OR REPLACE INTO holds(container_id, image_id) VALUES(?1, ?2)");
  st.bind(1, container_id).bind(2, image_id);
  return st.run();
}

Status Store::release(const std::string& container_id) {
  sql::Stmt st(db_, "DELETE FROM holds WHERE container_id = ?1");
  st.bind(1, container_id);
  return st.run();
}

Status Store::tag(const std::string& id, const std::string& full_ref) {
  auto ref = HULL_TRY(parse_reference(full_ref));
  if (!ref.digest.empty()) return failf("cannot tag with a digest reference: {}", full_ref);
  sql::Stmt ex(db_, "SELECT 1 FROM images WHERE id = ?1");
  ex.bind(1, id);
  if (!ex.step()) return std::unexpected(Error{ENOENT, fmt::format("no such image: {}", id)});
  sql::Stmt st(db_, "INSERT OR REPLACE INTO tags(name, image_id, added) VALUES(?1, ?2, ?3)");
  st.bind(1, ref.str()).bind(2, id).bind(3, int64_t(::time(nullptr)));
  return st.run();
}

// ---- content ----

std::string Store::blob_path(std::string_view digest) const {
  return fmt::format("{}/blobs/sha256/{}", root_, hex_of(digest));
}

bool Store::has_blob(std::string_view digest) const {
  if (!valid_digest(digest)) return false;
  return ::access(blob_path(digest).c_str(), F_OK) == 0;
}

Result<std::pair<std::string, UniqueFd>> Store::temp_file() const {
  std::string path = fmt::format("{}/tmp/blob-{}", root_, random_name(16));
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) return sys_failf("create {}", path);
  return std::pair{path, std::move(fd)};
}

Status Store::commit_blob(const std::string& temp_path, std::string_view digest) {
  if (!valid_digest(digest)) return failf("invalid digest {:?}", digest);
  std::string dst = blob_path(digest);
  if (::rename(temp_path.c_str(), dst.c_str()) < 0) {
    int err = errno;
    ::unlink(temp_path.c_str());
    return sys_fail(fmt::format("rename {} to {}", temp_path, dst), err);
  }
  return {};
}

Result<std::string> Store::put_blob(std::string_view data) {
  std::string digest = "sha256:" + Sha256::hex(data);
  if (has_blob(digest)) return digest;
  auto [path, fd] = HULL_TRY(temp_file());
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::unlink(path.c_str());
      return sys_fail(fmt::format("write {}", path), err);
    }
    off += size_t(n);
  }
  HULL_CHECK(commit_blob(path, digest));
  return digest;
}

Result<std::string> Store::read_blob(std::string_view digest) const {
  if (!valid_digest(digest)) return failf("invalid digest {:?}", digest);
  return fs::read_file(blob_path(digest));
}

std::string Store::layer_dir(std::string_view diff_id) const {
  return fmt::format("{}/layers/{}/diff", root_, hex_of(diff_id));
}

bool Store::has_layer(std::string_view diff_id) const {
  sql::Stmt st(db_, "SELECT 1 FROM layers WHERE diff_id = ?1");
  st.bind(1, diff_id);
  return st.step();
}

StagedLayer::StagedLayer(StagedLayer&& o) noexcept
    : tmp_(std::exchange(o.tmp_, {})), diff_id_(std::move(o.diff_id_)), size_(o.size_) {}
StagedLayer& StagedLayer::operator=(StagedLayer&& o) noexcept {
  if (this != &o) {
    if (!tmp_.empty()) (void)fs::remove_all(tmp_);
    tmp_ = std::exchange(o.tmp_, {});
    diff_id_ = std::move(o.diff_id_);
    size_ = o.size_;
  }
  return *this;
}
StagedLayer::~StagedLayer() {
  if (!tmp_.empty()) (void)fs::remove_all(tmp_);
}

Result<StagedLayer> Store::stage_layer(const ReadFn& read, std::string_view expected_diff_id,
                                       std::string_view what) const {
  if (!expected_diff_id.empty() && !valid_digest(expected_diff_id))
    return failf("invalid diff id {:?}", expected_diff_id);
  // Unpack into ROOT/tmp and rename into ROOT/layers only when complete and verified.
  std::string tmp = fmt::format("{}/tmp/layer-{}", root_, random_name(16));
  if (::mkdir(tmp.c_str(), 0700) < 0) return sys_failf("mkdir {}", tmp);
  StagedLayer staged(tmp, "", 0);  // removes tmp on every early return
  std::string diff = tmp + "/diff";
  if (::mkdir(diff.c_str(), 0755) < 0) return sys_failf("mkdir {}", diff);
  auto dfd = HULL_TRY(fs::open_dir(diff));
  auto r = unpack_stream(read, dfd.get());
  if (!r)
    return std::unexpected(
        std::move(r).error().wrap(what.empty() ? "layer" : fmt::format("layer {}", what)));
  if (!expected_diff_id.empty() && r->diff_id != expected_diff_id)
    return failf("layer {}: diff id mismatch: config says {}, content is {}", what,
                 expected_diff_id, r->diff_id);
  staged.diff_id_ = r->diff_id;
  staged.size_ = r->size;
  return staged;
}

Result<std::string> Store::commit_layer(StagedLayer layer) {
  const std::string& tmp = layer.tmp_;
  std::string diff_id = layer.diff_id_;
  if (tmp.empty() || !valid_digest(diff_id)) return fail("commit_layer: no staged layer");
  std::string short_name = random_name(20);
  HULL_CHECK(fs::write_file(tmp + "/link", short_name, 0644));
  std::string dst = fmt::format("{}/layers/{}", root_, hex_of(diff_id));
  if (::rename(tmp.c_str(), dst.c_str()) < 0) {
    int err = errno;
    // Another pull unpacked the same layer first: use theirs (ours goes with `layer`).
    if ((err == EEXIST || err == ENOTEMPTY) && fs::exists(dst + "/diff")) {
      if (!has_layer(diff_id)) {
        auto link = fs::read_file(dst + "/link");
        sql::Stmt st(db_, "INSERT OR IGNORE INTO layers(diff_id, size, short) VALUES(?1,?2,?3)");
        st.bind(1, diff_id)
            .bind(2, layer.size_)
            .bind(3, link ? std::string(trim(*link)) : std::string());
        HULL_CHECK(st.run());
      }
      return diff_id;
    }
    return sys_fail(fmt::format("rename {} to {}", tmp, dst), err);
  }
  layer.tmp_.clear();  // moved into place: no longer ours to remove
  std::string link_path = fmt::format("{}/l/{}", root_, short_name);
  std::string target = fmt::format("../layers/{}/diff", hex_of(diff_id));
  if (::symlink(target.c_str(), link_path.c_str()) < 0) {
    int err = errno;
    (void)fs::remove_all(dst);
    return sys_fail(fmt::format("symlink {}", link_path), err);
  }
  sql::Stmt st(db_, "INSERT OR REPLACE INTO layers(diff_id, size, short) VALUES(?1, ?2, ?3)");
  st.bind(1, diff_id).bind(2, layer.size_).bind(3, short_name);
  HULL_CHECK(st.run());
  return diff_id;
}

Result<std::string> Store::unpack_layer(std::string_view blob_digest,
                                        std::string_view expected_diff_id) {
  if (!expected_diff_id.empty() && !valid_digest(expected_diff_id))
    return failf("invalid diff id {:?}", expected_diff_id);
  if (!expected_diff_id.empty() && has_layer(expected_diff_id))
    return std::string(expected_diff_id);
  std::string blob = blob_path(blob_digest);
  UniqueFd in(::open(blob.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) return sys_failf("open {}", blob);
  ReadFn read = [fd = in.get()](char* buf, size_t len) -> Result<size_t> {
    for (;;) {
      ssize_t n = ::read(fd, buf, len);
      if (n >= 0) return size_t(n);
      if (errno != EINTR) return sys_fail("read layer");
    }
  };
  auto staged = HULL_TRY(stage_layer(read, expected_diff_id, blob_digest));
  return commit_layer(std::move(staged));
}

Status Store::add_image(const NewImage& img) {
  if (!valid_digest(img.config_digest)) return failf("invalid image id {:?}", img.config_digest);
  if (!has_blob(img.config_digest)) return failf("image config {} not stored", img.config_digest);
  int64_t size = 0;
  for (auto& l : img.layers) {
    sql::Stmt st(db_, "SELECT size FROM layers WHERE diff_id = ?1");
    st.bind(1, l.diff_id);
    if (!st.step()) return failf("layer {} is not unpacked", l.diff_id);
    size += st.int64(0);
  }
  int64_t created = 0;
  if (auto cfg = config_json(img.config_digest)) created = parse_time(json_string(*cfg, "created"));
  int64_t now = ::time(nullptr);
  sql::Tx tx(db_);
  HULL_CHECK(tx.begun());
  {
    sql::Stmt st(db_,
                 "INSERT INTO images(id, manifest_digest, manifest_media_type, created, size, "
                 "added) VALUES(?1,?2,?3,?4,?5,?6) ON CONFLICT(id) DO UPDATE SET "
                 "manifest_digest = CASE WHEN excluded.manifest_digest != '' THEN "
                 "excluded.manifest_digest ELSE manifest_digest END");
    st.bind(1, img.config_digest).bind(2, img.manifest_digest).bind(3, img.manifest_media_type);
    st.bind(4, created).bind(5, size).bind(6, now);
    HULL_CHECK(st.run());
  }
  {
    sql::Stmt del(db_, "DELETE FROM image_layers WHERE image_id = ?1");
    del.bind(1, img.config_digest);
    HULL_CHECK(del.run());
  }
  int64_t idx = 0;
  for (auto& l : img.layers) {
    sql::Stmt st(db_,
                 "INSERT INTO image_layers(image_id, idx, blob_digest, media_type, diff_id, "
                 "blob_size) VALUES(?1,?2,?3,?4,?5,?6)");
    st.bind(1, img.config_digest).bind(2, idx++).bind(3, l.blob_digest).bind(4, l.media_type);
    st.bind(5, l.diff_id).bind(6, l.blob_size);
    HULL_CHECK(st.run());
  }
  std::vector<std::string> blobs{img.config_digest};
  if (!img.manifest_digest.empty()) blobs.push_back(img.manifest_digest);
  for (auto& l : img.layers)
    if (!l.blob_digest.empty()) blobs.push_back(l.blob_digest);
  if (!img.repo_digest.empty()) {
    auto at = img.repo_digest.find('@');
    if (at != std::string::npos) blobs.push_back(img.repo_digest.substr(at + 1));
    sql::Stmt st(db_, "INSERT OR IGNORE INTO repo_digests(name, image_id) VALUES(?1, ?2)");
    st.bind(1, img.repo_digest).bind(2, img.config_digest);
    HULL_CHECK(st.run());
  }
  for (auto& b : blobs) {
    if (!has_blob(b)) continue;
    sql::Stmt st(db_, "INSERT OR IGNORE INTO image_blobs(image_id, digest) VALUES(?1, ?2)");
    st.bind(1, img.config_digest).bind(2, b);
    HULL_CHECK(st.run());
  }
  for (auto& t : img.tags) {
    auto ref = HULL_TRY(parse_reference(t));
    sql::Stmt st(db_, "INSERT OR REPLACE INTO tags(name, image_id, added) VALUES(?1, ?2, ?3)");
    st.bind(1, ref.str()).bind(2, img.config_digest).bind(3, now);
    HULL_CHECK(st.run());
  }
  return tx.commit();
}

// Deletes one image's rows, then every blob and layer no other image references; returns
// the bytes that freed (unpacked layers and blob files).
static Result<int64_t> delete_image(Store& s, sqlite3* db, const std::string& id) {
  std::vector<std::string> blobs, diffs;
  {
    sql::Stmt st(db, "SELECT digest FROM image_blobs WHERE image_id = ?1");
    st.bind(1, id);
    while (st.step()) blobs.push_back(st.text(0));
    HULL_CHECK(st.status());
    sql::Stmt l(db, "SELECT DISTINCT diff_id FROM image_layers WHERE image_id = ?1");
    l.bind(1, id);
    while (l.step()) diffs.push_back(l.text(0));
    HULL_CHECK(l.status());
  }
  std::vector<std::pair<std::string, std::string>> dead_layers;  // diff id, short name
  std::vector<std::string> dead_blobs;
  int64_t reclaimed = 0;
  {
    sql::Tx tx(db);
    HULL_CHECK(tx.begun());
    for (const char* q :
         {"DELETE FROM images WHERE id = ?1", "DELETE FROM image_layers WHERE image_id = ?1",
          "DELETE FROM image_blobs WHERE image_id = ?1", "DELETE FROM tags WHERE image_id = ?1",
          "DELETE FROM repo_digests WHERE image_id = ?1"}) {
      sql::Stmt st(db, q);
      st.bind(1, id);
      HULL_CHECK(st.run());
    }
    for (auto& d : diffs) {
      sql::Stmt st(db, "SELECT 1 FROM image_layers WHERE diff_id = ?1 LIMIT 1");
      st.bind(1, d);
      if (st.step()) continue;
      sql::Stmt sh(db, "SELECT short, size FROM layers WHERE diff_id = ?1");
      sh.bind(1, d);
      std::string short_name;
      if (sh.step()) short_name = sh.text(0), reclaimed += sh.int64(1);
      sql::Stmt del(db, "DELETE FROM layers WHERE diff_id = ?1");
      del.bind(1, d);
      HULL_CHECK(del.run());
      dead_layers.emplace_back(d, short_name);
    }
    for (auto& b : blobs) {
      sql::Stmt st(db, "SELECT 1 FROM image_blobs WHERE digest = ?1 LIMIT 1");
      st.bind(1, b);
      if (!st.step()) dead_blobs.push_back(b);
    }
    HULL_CHECK(tx.commit());
  }
  for (auto& [d, short_name] : dead_layers) {
    if (!short_name.empty()) ::unlink(fmt::format("{}/l/{}", s.root(), short_name).c_str());
    HULL_CHECK(fs::remove_all(fmt::format("{}/layers/{}", s.root(), hex_of(d))));
  }
  for (auto& b : dead_blobs) {
    struct stat st {};
    if (::stat(s.blob_path(b).c_str(), &st) == 0) reclaimed += st.st_size;
    ::unlink(s.blob_path(b).c_str());
  }
  return reclaimed;
}

Status Store::collect_garbage(const std::vector<std::string>& blobs,
                              const std::vector<std::string>& diff_ids) {
  auto lk = HULL_TRY(lock());
  for (auto& d : diff_ids) {
    // ROOT/layers/<hex>: anything but a digest could name another directory (layers/ itself).
    if (!valid_digest(d)) continue;
    sql::Stmt st(db_, "SELECT 1 FROM image_layers WHERE diff_id = ?1 LIMIT 1");
    st.bind(1, d);
    if (st.step()) continue;
    sql::Stmt sh(db_, "SELECT short FROM layers WHERE diff_id = ?1");
    sh.bind(1, d);
    std::string short_name = sh.step() ? sh.text(0) : "";
    sql::Stmt del(db_, "DELETE FROM layers WHERE diff_id = ?1");
    del.bind(1, d);
    HULL_CHECK(del.run());
    if (!short_name.empty()) ::unlink(fmt::format("{}/l/{}", root_, short_name).c_str());
    HULL_CHECK(fs::remove_all(fmt::format("{}/layers/{}", root_, hex_of(d))));
  }
  for (auto& b : blobs) {
    sql::Stmt st(db_, "SELECT 1 FROM image_blobs WHERE digest = ?1 LIMIT 1");
    st.bind(1, b);
    if (!st.step()) ::unlink(blob_path(b).c_str());
  }
  return {};
}

Result<std::vector<std::string>> Store::remove(std::string_view name_or_id, bool force) {
  auto lk = HULL_TRY(lock());
  std::string id = HULL_TRY(resolve(name_or_id));
  std::vector<std::string> out;
  std::vector<std::string> tags, digests;
  {
    sql::Stmt st(db_, "SELECT name FROM tags WHERE image_id = ?1");
    st.bind(1, id);
    while (st.step()) tags.push_back(st.text(0));
    HULL_CHECK(st.status());
    sql::Stmt d(db_, "SELECT name FROM repo_digests WHERE image_id = ?1");
    d.bind(1, id);
    while (d.step()) digests.push_back(d.text(0));
    HULL_CHECK(d.status());
  }
  // A name (a tag, or a repo digest the image has) goes first and the image only with
  // its last name, as in docker's ImageDelete; a tag takes its repository's digests with
  // it when no other tag of that repository is left.
  std::string given;
  std::string_view s = name_or_id;
  if (!s.starts_with("sha256:") && !(is_hex(s) && id.substr(7).starts_with(s))) {
    if (auto ref = parse_reference(s); ref && ref->digest.empty()) {
      given = ref->str();
    } else if (ref && std::ranges::count(digests, ref->name() + "@" + ref->digest) > 0) {
      given = ref->name() + "@" + ref->digest;
    }
  }
  if (!given.empty()) {
    auto repo_of = [](const std::string& r) {
      auto parsed = parse_reference(r);
      return parsed ? parsed->name() : r;
    };
    std::vector<std::string> drop{given};
    if (given.find('@') == std::string::npos) {
      bool other_tag = false;
      for (auto& t : tags) other_tag |= t != given && repo_of(t) == repo_of(given);
      if (!other_tag)
        for (auto& d : digests)
          if (repo_of(d) == repo_of(given)) drop.push_back(d);
    }
    if (tags.size() + digests.size() > drop.size()) {
      for (auto& n : drop) {
        sql::Stmt st(db_, n.find('@') == std::string::npos
                              ? "DELETE FROM tags WHERE name = ?1 AND image_id = ?2"
                              : "DELETE FROM repo_digests WHERE name = ?1 AND image_id = ?2");
        st.bind(1, n).bind(2, id);
        HULL_CHECK(st.run());
        out.push_back("Untagged: " + familiar(n));
      }
      return out;
    }
  } else if (tags.size() > 1 && !force) {
    return failf(
        "conflict: unable to delete {} (must be forced) - image is referenced in multiple "
        "repositories",
        id.substr(7, 12));
  }
  {
    sql::Stmt st(db_, "SELECT container_id FROM holds WHERE image_id = ?1 LIMIT 1");
    st.bind(1, id);
    bool held = st.step();
    if (held && !force)
      return std::unexpected(
          Error{EBUSY, fmt::format("conflict: unable to remove image {} - image is being used by "
                                   "container {}",
                                   familiar(std::string(name_or_id)), st.text(0).substr(0, 12))});
    if (held) {
      // Forced on an image a container runs from: its layers are that container's mounted
      // lower dirs, so only the names go, as docker does; prune removes it once released.
      sql::Stmt del(db_, "DELETE FROM tags WHERE image_id = ?1");
      del.bind(1, id);
      HULL_CHECK(del.run());
      for (auto& t : tags) out.push_back("Untagged: " + familiar(t));
      return out;
    }
  }
  for (auto& t : tags) out.push_back("Untagged: " + familiar(t));
  for (auto& d : digests) out.push_back("Untagged: " + familiar(d));
  HULL_CHECK(delete_image(*this, db_, id));
  out.push_back("Deleted: " + id);
  return out;
}

Result<size_t> Store::remove_stale_temp() {
  // Exclusive only if no other process holds the directory shared. Linux converts a
  // lock by dropping it first, so a failed attempt leaves none: shared again either way.
  const bool alone = ::flock(tmp_dir_.get(), LOCK_EX | LOCK_NB) == 0;
  const int err = errno;
  Status st;
  size_t removed = 0;
  if (alone) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(root_ + "/tmp", ec)) {
      const std::string path = e.path().string();
      if (auto r = fs::remove_all(path); !r) {
        if (st) st = with_context(std::move(r), "remove " + path);
      } else {
        ++removed;
      }
    }
    if (ec && st) st = sys_fail(fmt::format("read {}/tmp", root_), ec.value());
  } else if (err != EWOULDBLOCK && err != EINTR) {
    st = sys_fail(fmt::format("flock {}/tmp", root_), err);
  }
  HULL_CHECK(flock_retry(tmp_dir_.get(), LOCK_SH));
  if (!st) return std::unexpected(st.error());
  return removed;
}

Result<Store::Pruned> Store::prune(bool all,
                                   const std::function<bool(const std::string& id)>& want) {
  std::vector<std::string> victims;
  {
    sql::Stmt st(db_, all ? "SELECT id FROM images WHERE id NOT IN (SELECT image_id FROM holds)"
                          : "SELECT id FROM images WHERE id NOT IN (SELECT image_id FROM tags) "
                            "AND id NOT IN (SELECT image_id FROM holds)");
    while (st.step()) victims.push_back(st.text(0));
    HULL_CHECK(st.status());
  }
  if (want) std::erase_if(victims, [&](const std::string& id) { return !want(id); });
  Pruned out;
  auto lk = HULL_TRY(lock());
  for (auto& id : victims) {
    sql::Stmt st(db_, "SELECT name FROM tags WHERE image_id = ?1");
    st.bind(1, id);
    while (st.step()) out.lines.push_back("untagged: " + familiar(st.text(0)));
    out.reclaimed += HULL_TRY(delete_image(*this, db_, id));
    out.lines.push_back("deleted: " + id);
  }
  // The images are gone by now: a temp entry that will not go is worth a warning, not
  // a failed prune.
  if (auto r = remove_stale_temp(); !r) log::warn("image prune: {}", r.error().message);
  return out;
}

}  // namespace hull::image
