#include "image/unpack.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/sha256.hpp"
#include "common/unique_fd.hpp"
#include "common/userns.hpp"
#include "image/tree_tar.hpp"

namespace hull::image {
namespace {

using ArchivePtr = std::unique_ptr<struct archive, int (*)(struct archive*)>;

constexpr size_t kChunk = 1 << 17;
constexpr size_t kMaxCachedDirs = 1024;  // open directory fds an unpack keeps
constexpr int64_t kHoleBlock = 4096;     // zero blocks hull cp leaves as holes

bool all_zero(const char* p, size_t n) {
  return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

// Produces the uncompressed tar stream, chunk by chunk: 0 at its end.
class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual Result<size_t> read(char* out, size_t len) = 0;
};

// The first bytes, sniffed for the compression, are handed out again before the rest.
struct Input {
  const ReadFn* read;
  std::string head;
  size_t head_off = 0;

  Result<size_t> next(char* buf, size_t len) {
    if (head_off < head.size()) {
      size_t n = std::min(len, head.size() - head_off);
      memcpy(buf, head.data() + head_off, n);
      head_off += n;
      return n;
    }
    return (*read)(buf, len);
  }
};

class PlainDecoder : public Decoder {
 public:
  explicit PlainDecoder(Input& in) : in_(in) {}
  Result<size_t> read(char* out, size_t len) override { return in_.next(out, len); }

 private:
  Input& in_;
};

// gzip through ISA-L's inflate. Concatenated members are read as one stream, as gzip(1)
// and Go's reader do; bytes after the last member that do not start another are ignored,
// as libarchive does (the blob digest still covers them).
class GzipDecoder : public Decoder {
 public:
  explicit GzipDecoder(Input& in) : in_(in), st_(std::make_unique<inflate_state>()) {
    isal_inflate_init(st_.get());
    st_->crc_flag = ISAL_GZIP;
  }

  Result<size_t> read(char* out, size_t len) override {
    for (;;) {
      if (st_->block_state == ISAL_BLOCK_FINISH) {
        if (st_->avail_in < 2 && !eof_) HULL_CHECK(refill());
        if (st_->avail_in < 2 || st_->next_in[0] != 0x1f || st_->next_in[1] != 0x8b) return 0;
        // Another member: inflate_reset keeps the input.
        isal_inflate_reset(st_.get());
        st_->crc_flag = ISAL_GZIP;
      }
      if (st_->avail_in == 0 && !eof_) HULL_CHECK(refill());
      st_->next_out = reinterpret_cast<uint8_t*>(out);
      st_->avail_out = uint32_t(std::min<size_t>(len, UINT32_MAX));
      int r = isal_inflate(st_.get());
      if (r < 0) return failf("gzip: {}", isal_error(r));
      size_t produced = size_t(len - st_->avail_out);
      if (produced > 0) return produced;
      if (st_->block_state != ISAL_BLOCK_FINISH && st_->avail_in == 0 && eof_)
        return fail("gzip: unexpected end of data");
    }
  }

 private:
  static const char* isal_error(int r) {
    switch (r) {
      case ISAL_INVALID_BLOCK:
        return "invalid deflate block";
      case ISAL_INVALID_SYMBOL:
        return "invalid deflate symbol";
      case ISAL_INVALID_LOOKBACK:
        return "invalid lookback distance";
      case ISAL_INVALID_WRAPPER:
        return "invalid gzip header";
      case ISAL_UNSUPPORTED_METHOD:
        return "unsupported compression method";
      case ISAL_INCORRECT_CHECKSUM:
        return "CRC mismatch";
      default:
        return "corrupt data";
    }
  }

  // Moves what is left of the input to the front and reads more behind it.
  Status refill() {
    size_t left = st_->avail_in;
    if (left > 0 && st_->next_in != reinterpret_cast<uint8_t*>(buf_.data()))
      memmove(buf_.data(), st_->next_in, left);
    size_t n = HULL_TRY(in_.next(buf_.data() + left, buf_.size() - left));
    if (n == 0) eof_ = true;
    st_->next_in = reinterpret_cast<uint8_t*>(buf_.data());
    st_->avail_in = uint32_t(left + n);
    return {};
  }

  Input& in_;
  std::unique_ptr<inflate_state> st_;  // ~50 KiB: not on the stack
  std::vector<char> buf_ = std::vector<char>(kChunk);
  bool eof_ = false;
};

// zstd (and anything else libarchive's filters know) through a libarchive "raw" reader.
class ArchiveDecoder : public Decoder {
 public:
  explicit ArchiveDecoder(Input& in) : in_(in), a_(archive_read_new(), archive_read_free) {}

  Status open() {
    if (!a_) return fail("archive_read_new: out of memory", ENOMEM);
    archive_read_support_filter_zstd(a_.get());
    archive_read_support_format_raw(a_.get());
    if (archive_read_open(a_.get(), this, nullptr, on_read, nullptr) != ARCHIVE_OK)
      return failf("open layer: {}", message());
    struct archive_entry* raw;
    int r = archive_read_next_header(a_.get(), &raw);
    if (r == ARCHIVE_EOF) return fail("layer is empty");
    if (r != ARCHIVE_OK) return failf("read layer: {}", message());
    return {};
  }

  Result<size_t> read(char* out, size_t len) override {
    la_ssize_t n = archive_read_data(a_.get(), out, len);
    if (n < 0) return failf("read layer: {}", message());
    return size_t(n);
  }

 private:
  std::string message() const {
    if (!error_.empty()) return error_;
    const char* m = archive_error_string(a_.get());
    return m ? m : "read error";
  }

  static la_ssize_t on_read(struct archive* a, void* data, const void** out) {
    auto* self = static_cast<ArchiveDecoder*>(data);
    auto n = self->in_.next(self->buf_.data(), self->buf_.size());
    if (!n) {
      self->error_ = n.error().message;
      archive_set_error(a, n.error().code ? n.error().code : EIO, "%s", self->error_.c_str());
      return -1;
    }
    *out = self->buf_.data();
    return la_ssize_t(*n);
  }

  Input& in_;
  ArchivePtr a_;
  std::vector<char> buf_ = std::vector<char>(kChunk);
  std::string error_;
};

// The decoded tar stream, passed from the decode thread to the tar reader in a few
// fixed buffers that go back and forth (nothing is copied). Decompressing and hashing
// (ISA-L, sha256) and writing the files (libarchive's parser, the kernel) then run on
// two cores: a layer's unpack is no longer one thread's work, which set the pace of the
// last layer of a pull.
class Pipe {
 public:
  struct Buf {
    std::vector<char> data = std::vector<char>(kChunk);
    size_t len = 0;
  };

  Pipe() {
    for (auto& b : bufs_) free_.push_back(&b);
  }

  // Producer: an empty buffer, or nullptr once the reader has stopped.
  Buf* take_free() {
    std::unique_lock lk(mu_);
    wait(lk, [&] { return !free_.empty() || stopped_; });
    if (stopped_) return nullptr;
    Buf* b = free_.back();
    free_.pop_back();
    return b;
  }
  void put(Buf* b) {
    std::unique_lock lk(mu_);
    full_.push_back(b);
    wake(lk);
  }
  // The end of the stream (error unset) or why it broke off.
  void close(std::optional<Error> error) {
    std::unique_lock lk(mu_);
    closed_ = true;
    error_ = std::move(error);
    wake(lk);
  }

  // Reader: the next full buffer, or nullptr at the end (error() tells whether it broke).
  Buf* take_full() {
    std::unique_lock lk(mu_);
    wait(lk, [&] { return !full_.empty() || closed_; });
    if (full_.empty()) return nullptr;
    Buf* b = full_.front();
    full_.pop_front();
    return b;
  }
  void give_back(Buf* b) {
    std::unique_lock lk(mu_);
    free_.push_back(b);
    wake(lk);
  }
  // The reader is done (finished or failed): the producer stops at its next buffer.
  void stop() {
    std::unique_lock lk(mu_);
    stopped_ = true;
    wake(lk);
  }
  const std::optional<Error>& error() const { return error_; }

 private:
  // Waits counted, so that a change wakes the other side (a futex call) only when it
  // sleeps: most buffers pass while both run.
  template <class Pred>
  void wait(std::unique_lock<std::mutex>& lk, Pred ready) {
    while (!ready()) {
      ++waiting_;
      cv_.wait(lk);
      --waiting_;
    }
  }
  // Unlocks first: a woken thread does not then block on the mutex at once.
  void wake(std::unique_lock<std::mutex>& lk) {
    bool sleeper = waiting_ > 0;
    lk.unlock();
    if (sleeper) cv_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::array<Buf, 4> bufs_;
  std::vector<Buf*> free_;
  std::deque<Buf*> full_;
  int waiting_ = 0;
  bool closed_ = false, stopped_ = false;
  std::optional<Error> error_;  // written before closed_, read after the end was seen
};

// Runs the decoder on a thread of its own, hashing what it produces (the diff id) and
// handing it to the tar reader through the pipe. Joined on destruction: the reader
// stops the pipe first, so a failed unpack does not wait for the rest of the stream.
class DecodeThread {
 public:
  explicit DecodeThread(Decoder& dec) : thread_([this, &dec] { run(dec); }) {}
  ~DecodeThread() {
    pipe.stop();
    thread_.join();
  }
  std::string diff_id() const { return "sha256:" + diff_id_; }

  Pipe pipe;

 private:
  void run(Decoder& dec) {
    Sha256 hash;
    for (;;) {
      Pipe::Buf* b = pipe.take_free();
      if (!b) return;
      auto n = dec.read(b->data.data(), b->data.size());
      if (!n) {
        pipe.give_back(b);
        pipe.close(n.error());
        return;
      }
      if (*n == 0) {
        pipe.give_back(b);
        diff_id_ = hash.hex_final();
        pipe.close(std::nullopt);
        return;
      }
      hash.update(b->data.data(), *n);
      b->len = *n;
      pipe.put(b);
    }
  }

  std::string diff_id_;  // set before the pipe closes
  std::thread thread_;
};

// Feeds the tar reader from the pipe. libarchive keeps a block until its next read, so
// each buffer goes back only then.
struct Chain {
  Pipe* pipe = nullptr;
  Pipe::Buf* held = nullptr;
  std::optional<Error> error;
  bool eof = false;
};

la_ssize_t chain_read(struct archive* inner, void* data, const void** out) {
  auto* c = static_cast<Chain*>(data);
  if (c->held) c->pipe->give_back(std::exchange(c->held, nullptr));
  if (c->eof) return 0;
  Pipe::Buf* b = c->pipe->take_full();
  if (!b) {
    c->eof = true;
    if (const auto& e = c->pipe->error()) {
      c->error = *e;
      archive_set_error(inner, e->code ? e->code : EIO, "%s", e->message.c_str());
      return -1;
    }
    return 0;
  }
  c->held = b;
  *out = b->data.data();
  return la_ssize_t(b->len);
}

bool is_root() {
  return ::geteuid() == 0;
}

// A failed chown as root is an error; in a user namespace EINVAL means the id is not
// mapped there (a rootless store without a wide enough /etc/subuid range).
Status chown_error(const std::string& path, uid_t uid, gid_t gid) {
  const int err = errno;
  if (!is_root()) return {};
  if (err == EINVAL && userns::running_in_user_ns())
    return failf(
        "layer file {:?} is owned by uid {} gid {}, which the user namespace does not map: "
        "potentially insufficient UIDs or GIDs available in user namespace (give the user "
        "a range in /etc/subuid and /etc/subgid)",
        path, uid, gid);
  return sys_fail(fmt::format("chown {}", path), err);
}

Status remove_at(int dirfd, const char* name) {
  if (::unlinkat(dirfd, name, 0) == 0 || errno == ENOENT) return {};
  if (errno != EISDIR) return sys_failf("unlink {}", name);
  UniqueFd d(::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!d) return sys_failf("open {}", name);
  DIR* dir = ::fdopendir(::dup(d.get()));
  if (!dir) return sys_failf("opendir {}", name);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(dir))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) names.emplace_back(e->d_name);
  ::closedir(dir);
  for (auto& n : names) HULL_CHECK(remove_at(d.get(), n.c_str()));
  if (::unlinkat(dirfd, name, AT_REMOVEDIR) < 0) return sys_failf("rmdir {}", name);
  return {};
}

// Splits an entry name into its components; refuses absolute names and "..".
Result<std::vector<std::string>> components(const char* raw, const char* what) {
  if (!raw) return failf("{} with no name", what);
  std::string_view p(raw);
  if (p.starts_with('/')) return failf("refusing absolute {} name {:?}", what, p);
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    std::string_view c = p.substr(start, end - start);
    if (c == "..") return failf("refusing {} name with \"..\": {:?}", what, p);
    if (!c.empty() && c != ".") out.emplace_back(c);
    start = end + 1;
  }
  return out;
}

std::string joined(const std::vector<std::string>& c, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += (i ? "/" : "") + c[i];
  return s;
}

class Extractor {
 public:
  Extractor(int root, const UnpackOptions& opts) : root_(root), opts_(opts) {}

  Status entry(struct archive* a, struct archive_entry* e) {
    auto comps = HULL_TRY(components(archive_entry_pathname(e), "entry"));
    if (comps.empty()) return {};  // "./" itself: the layer root keeps its own metadata
    std::string path = joined(comps, comps.size());
    const std::string& base = comps.back();
    int parent = HULL_TRY(open_parent(comps, true));

    if (opts_.layer && base.starts_with(".wh.")) {
      if (base == ".wh..wh..opq") {
        // A user namespace's overlay (userxattr) reads user.overlay.*, the only kind it may set.
        const char* opq =
            userns::running_in_user_ns() ? "user.overlay.opaque" : "trusted.overlay.opaque";
        if (::fsetxattr(parent, opq, "y", 1, 0) < 0 && is_root())
          return sys_failf("setxattr {} on {}", opq, joined(comps, comps.size() - 1));
        return {};
      }
      if (base.starts_with(".wh..wh.")) return {};  // aufs metadata (plnk, aufs): not content
      std::string victim = base.substr(4);
      if (victim.empty() || victim == "." || victim == "..")
        return failf("refusing whiteout {:?}", path);
      struct stat vst {};
      if (::fstatat(parent, victim.c_str(), &vst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(vst.st_mode))
        parent = HULL_TRY(forget_cache(parent));
      HULL_CHECK(remove_at(parent, victim.c_str()));
      if (::mknodat(parent, victim.c_str(), S_IFCHR | 0, ::makedev(0, 0)) < 0)
        return sys_failf("mknod whiteout {}", path);
      return {};
    }

    mode_t type = archive_entry_filetype(e);
    mode_t perm = archive_entry_perm(e) & 07777;
    uid_t uid = uid_t(archive_entry_uid(e));
    gid_t gid = gid_t(archive_entry_gid(e));
    if (opts_.owner) std::tie(uid, gid) = *opts_.owner;
    if (opts_.to_host) {
      perm &= ~mode_t(S_ISUID | S_ISGID);
      if (type == AE_IFCHR || type == AE_IFBLK) {
        log::warn("{:?}: device node left out (a container's devices are not made on the host)",
                  path);
        left_out_.insert(path);
        return {};
      }
    }

    const char* hardlink = archive_entry_hardlink(e);
    // Most names are new: create first, and only when the name is taken look at what is
    // there. A directory over a directory is kept (its metadata updated); anything else
    // replaces what was there.
    bool kept_dir = false;
    auto make_room = [&]() -> Status {
      struct stat st {};
      if (::fstatat(parent, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT) return {};
        return sys_failf("stat {}", path);
      }
      if (S_ISDIR(st.st_mode) && type == AE_IFDIR && !hardlink) {
        kept_dir = true;
        return {};
      }
      if (opts_.no_overwrite_dir_nondir) {
        if (S_ISDIR(st.st_mode))
          return failf("cannot overwrite the directory {:?} with a non-directory", path);
        if (type == AE_IFDIR && !hardlink)
          return failf("cannot overwrite the non-directory {:?} with a directory", path);
      }
      if (S_ISDIR(st.st_mode)) parent = HULL_TRY(forget_cache(parent));
      return remove_at(parent, base.c_str());
    };
    // Runs a creating syscall; on EEXIST clears the name and runs it once more.
    auto create = [&](auto&& make) -> Result<bool> {
      if (make() == 0) return true;
      if (errno != EEXIST) return false;
      HULL_CHECK(make_room());
      if (kept_dir) return true;
      return make() == 0;
    };

    if (hardlink) {
      auto src = HULL_TRY(components(hardlink, "hardlink target"));
      if (src.empty()) return failf("refusing hardlink {:?} to the layer root", path);
      // A link to a device left out goes too: its name may be a host file DEST already had.
      if (left_out_.contains(joined(src, src.size()))) {
        log::warn("{:?}: hard link to a device node left out", path);
        return {};
      }
      int sp = HULL_TRY(open_parent_uncached(src));
      UniqueFd holder(sp);
      struct stat sst {};
      if (::fstatat(sp, src.back().c_str(), &sst, AT_SYMLINK_NOFOLLOW) < 0) {
        // Each layer is unpacked on its own (docker's overlay2 does the same), so a link
        // can only name a file of its own layer.
        if (errno == ENOENT)
          return failf("hardlink {:?} to {:?}: no such file earlier in this layer", path, hardlink);
        return sys_failf("hardlink {} to {}", path, hardlink);
      }
      if (S_ISDIR(sst.st_mode)) return failf("refusing hardlink {:?} to a directory", path);
      bool ok = HULL_TRY(
          create([&] { return ::linkat(sp, src.back().c_str(), parent, base.c_str(), 0); }));
      if (!ok) return sys_failf("link {} to {}", path, hardlink);
      return {};
    }

    switch (type) {
      case AE_IFDIR: {
        bool ok = HULL_TRY(create([&] { return ::mkdirat(parent, base.c_str(), perm & 0777); }));
        if (!ok) return sys_failf("mkdir {}", path);
        UniqueFd fd(
            ::openat(parent, base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) return sys_failf("open {}", path);
        HULL_CHECK(metadata(fd.get(), e, path, uid, gid, perm));
        timespec ts[2];
        times(e, ts);
        dirs_.push_back({comps, {ts[0], ts[1]}});
        // Its children come next: keep the fd for them.
        if (dir_cache_.size() <= kMaxCachedDirs) dir_cache_.try_emplace(path, std::move(fd));
        return {};
      }
      case AE_IFREG: {
        // Created with its final permission bits where the umask allows (set-id bits
        // only after chown), so metadata() usually has nothing to change.
        int raw = -1;
        bool ok = HULL_TRY(create([&] {
          raw = ::openat(parent, base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                         perm & 0777);
          return raw < 0 ? -1 : 0;
        }));
        if (!ok) return sys_failf("create {}", path);
        UniqueFd fd(raw);
        const void* buf;
        size_t size;
        la_int64_t offset;
        int64_t written_end = 0, offset_end = 0;
        for (;;) {
          int r = archive_read_data_block(a, &buf, &size, &offset);
          if (r == ARCHIVE_EOF) break;
          if (r < ARCHIVE_WARN) return failf("read {}: {}", path, archive_error_string(a));
          const char* p = static_cast<const char*>(buf);
          while (size > 0) {
            // hull cp: a block of zeros (at a file offset multiple of kHoleBlock) is left
            // a hole, so that a huge sparse file of a hostile container does not fill the
            // disk it is copied to. The ftruncate below gives the file its full size.
            size_t len = size;
            if (!opts_.layer) {
              len = std::min(size, size_t(kHoleBlock - offset % kHoleBlock));
              if (all_zero(p, len)) {
                p += len, size -= len, offset += int64_t(len);
                continue;
              }
            }
            ssize_t n = ::pwrite(fd.get(), p, len, offset);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return sys_failf("write {}", path);
            p += n, size -= size_t(n), offset += n;
            written_end = std::max<int64_t>(written_end, offset);
          }
          offset_end = std::max<int64_t>(offset_end, offset);
        }
        if (archive_entry_size_is_set(e) || written_end < offset_end) {
          int64_t sz = archive_entry_size_is_set(e) ? archive_entry_size(e) : offset_end;
          // Only a trailing hole (a sparse file's, or zeros cp left out) leaves the
          // file short of its size.
          if (sz != written_end && ::ftruncate(fd.get(), sz) < 0)
            return sys_failf("truncate {}", path);
          // Saturated: sparse entries may claim any size (two of 2^62 bytes fit on tmpfs).
          if (sz > 0 && __builtin_add_overflow(size_, sz, &size_)) size_ = INT64_MAX;
        }
        HULL_CHECK(metadata(fd.get(), e, path, uid, gid, perm));
        timespec ts[2];
        times(e, ts);
        if (::futimens(fd.get(), ts) < 0) return sys_failf("utimens {}", path);
        return {};
      }
      case AE_IFLNK: {
        const char* target = archive_entry_symlink(e);
        if (!target) return failf("symlink {:?} has no target", path);
        // The target is stored as is: nothing here ever follows it, and inside the
        // container it resolves against the container's root.
        bool ok = HULL_TRY(create([&] { return ::symlinkat(target, parent, base.c_str()); }));
        if (!ok) return sys_failf("symlink {}", path);
        if (::fchownat(parent, base.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
          HULL_CHECK(chown_error(path, uid, gid));
        timespec ts[2];
        times(e, ts);
        ::utimensat(parent, base.c_str(), ts, AT_SYMLINK_NOFOLLOW);
        return {};
      }
      case AE_IFCHR:
      case AE_IFBLK:
      case AE_IFIFO: {
        dev_t dev = type == AE_IFIFO ? 0 : archive_entry_rdev(e);
        bool ok =
            HULL_TRY(create([&] { return ::mknodat(parent, base.c_str(), type | perm, dev); }));
        if (!ok) return sys_failf("mknod {}", path);
        UniqueFd fd(::openat(parent, base.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) return sys_failf("open {}", path);
        if (::fchownat(fd.get(), "", uid, gid, AT_EMPTY_PATH) < 0)
          HULL_CHECK(chown_error(path, uid, gid));
        std::string proc = fmt::format("/proc/self/fd/{}", fd.get());
        if (::chmod(proc.c_str(), perm) < 0) return sys_failf("chmod {}", path);
        timespec ts[2];
        times(e, ts);
        ::utimensat(parent, base.c_str(), ts, AT_SYMLINK_NOFOLLOW);
        return {};
      }
      case AE_IFSOCK:
        // Sockets are not content (docker skips them too), but the name still replaces
        // what a lower entry of this layer put there.
        return make_room();
      default:
        // libarchive gives a link entry with an empty target no type at all.
        if (type == 0) return failf("entry {:?}: no file type (a link without a target?)", path);
        return failf("entry {:?}: unsupported file type {:o}", path, unsigned(type));
    }
  }

  // Directory times last: writing their children changed them.
  // The parents come from the cache (nothing is removed any more), never created anew.
  Status finish() {
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
      int parent = HULL_TRY(open_prefix(it->comps, it->comps.size() - 1, false));
      ::utimensat(parent, it->comps.back().c_str(), it->ts.data(), AT_SYMLINK_NOFOLLOW);
    }
    dir_cache_.clear();
    return {};
  }

  int64_t size() const { return size_; }

 private:
  struct DirTime {
    std::vector<std::string> comps;
    std::array<timespec, 2> ts;
  };

  static void times(struct archive_entry* e, timespec ts[2]) {
    ts[1] = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
    ts[0] = archive_entry_atime_is_set(e)
                ? timespec{archive_entry_atime(e), archive_entry_atime_nsec(e)}
                : ts[1];
  }

  Status metadata(int fd, struct archive_entry* e, const std::string& path, uid_t uid, gid_t gid,
                  mode_t perm) {
    // Look first: a file root creates is root's already, and its mode is usually right;
    // an fstat is cheaper than a chown and a chmod that change nothing.
    struct stat st {};
    if (::fstat(fd, &st) < 0) return sys_failf("stat {}", path);
    bool chowned = false;
    if (st.st_uid != uid || st.st_gid != gid) {
      if (::fchown(fd, uid, gid) < 0) HULL_CHECK(chown_error(path, uid, gid));
      chowned = true;
    }
    // After chown: it clears set-id bits.
    if ((chowned || (st.st_mode & 07777) != perm) && ::fchmod(fd, perm) < 0)
      return sys_failf("chmod {}", path);
    archive_entry_xattr_reset(e);
    const char* name;
    const void* value;
    size_t size;
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
      if (!name) continue;
      std::string_view n(name);
      if (!opts_.layer) {
        // hull cp: only the namespaces copied_xattr() keeps, within its bounds.
        if (!copied_xattr(n, opts_.to_host) || n.size() > kMaxXattrName || size > kMaxXattrValue) {
          // A warning per name, for the first few names (a hostile tar may hold many).
          if (refused_xattrs_.size() < 16 && refused_xattrs_.insert(std::string(n)).second)
            log::warn("{:?}: extended attribute {:?} left out (only {} are copied{})", path,
                      n.substr(0, kMaxXattrName),
                      opts_.to_host ? "user.*" : "user.* and security.capability",
                      opts_.to_host ? " onto the host" : ", values of at most 64 KiB");
          continue;
        }
        if (::fsetxattr(fd, name, value, size, 0) < 0) {
          // docker's best effort: a filesystem without them (or that refuses them) is a
          // warning, once.
          if (errno != ENOTSUP && errno != EPERM && is_root())
            return sys_failf("setxattr {} on {}", n, path);
          if (std::exchange(xattr_unsupported_, true) == false)
            log::warn("{:?}: extended attribute {} not set: {}", path, n, strerror(errno));
        }
        continue;
      }
      // overlay's own attributes from a layer could redirect lookups: never take them.
      if (n.starts_with("trusted.overlay.") || n.starts_with("user.overlay.")) continue;
      if (::fsetxattr(fd, name, value, size, 0) < 0 && errno != ENOTSUP && is_root())
        return sys_failf("setxattr {} on {}", name, path);
    }
    return {};
  }

  // Opens the directory holding comps.back(), creating missing directories, never
  // following a symlink: a layer that writes through one is refused. Directories opened
  // for create are cached by path (layers need not be sorted); removing anything clears
  // the cache, so a cached fd never points into a deleted tree.
  Result<int> open_parent(const std::vector<std::string>& comps, bool create) {
    if (create) {
      if (dir_cache_.size() > kMaxCachedDirs) dir_cache_.clear();
      return open_prefix(comps, comps.size() - 1, true);
    }
    UniqueFd cur(::fcntl(root_, F_DUPFD_CLOEXEC, 0));
    if (!cur) return sys_fail("dup layer root");
    for (size_t i = 0; i + 1 < comps.size(); ++i) {
      int fd =
          ::openat(cur.get(), comps[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return refuse_or_fail(cur.get(), comps, i);
      cur.reset(fd);
    }
    return cur.release();
  }

  // The directory made of the first n components, from the cache or opened below the
  // nearest cached ancestor; missing ones are made when create is set.
  Result<int> open_prefix(const std::vector<std::string>& comps, size_t n, bool create) {
    if (n == 0) return root_;
    std::string key = joined(comps, n);
    if (auto it = dir_cache_.find(key); it != dir_cache_.end()) return it->second.get();
    int parent = HULL_TRY(open_prefix(comps, n - 1, create));
    const char* c = comps[n - 1].c_str();
    int fd = ::openat(parent, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
      if (::mkdirat(parent, c, 0755) < 0 && errno != EEXIST) return sys_failf("mkdir {}", key);
      fd = ::openat(parent, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) return refuse_or_fail(parent, comps, n - 1);
    if (opts_.refuse_kernel_fs && fs::on_kernel_fs(fd)) {
      ::close(fd);
      return failf("refusing to write {:?}: {:?} is on a kernel filesystem (proc, sysfs...)",
                   joined(comps, comps.size()), key);
    }
    return dir_cache_.emplace(key, UniqueFd(fd)).first->second.get();
  }

  std::unexpected<Error> refuse_or_fail(int dirfd, const std::vector<std::string>& comps,
                                        size_t i) {
    int err = errno;
    struct stat st {};
    if (::fstatat(dirfd, comps[i].c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
      return fail(fmt::format("refusing to write {:?} through the symlink {:?}",
                              joined(comps, comps.size()), joined(comps, i + 1)));
    return sys_fail(fmt::format("open {}", joined(comps, i + 1)), err);
  }

  // Empties the directory cache before a directory is removed; returns a private copy of
  // parent (which may be one of the cached fds) that stays valid for this entry.
  Result<int> forget_cache(int parent) {
    UniqueFd copy(::fcntl(parent, F_DUPFD_CLOEXEC, 0));
    if (!copy) return sys_fail("dup directory fd");
    dir_cache_.clear();
    keep_ = std::move(copy);
    return keep_.get();
  }

  // An owned fd the caller closes.
  Result<int> open_parent_uncached(const std::vector<std::string>& comps) {
    return open_parent(comps, false);
  }

  int root_;
  const UnpackOptions& opts_;
  std::unordered_map<std::string, UniqueFd> dir_cache_;
  UniqueFd keep_;
  std::vector<DirTime> dirs_;
  std::unordered_set<std::string> left_out_;        // device nodes not made (to_host)
  std::unordered_set<std::string> refused_xattrs_;  // warned about once each
  bool xattr_unsupported_ = false;
  int64_t size_ = 0;
};

}  // namespace

void preload_unpacker() {
  archive_read_free(archive_read_new());
}

std::string detect_compression(std::string_view head) {
  if (head.size() >= 2 && uint8_t(head[0]) == 0x1f && uint8_t(head[1]) == 0x8b) return "gzip";
  if (head.size() >= 4 && uint8_t(head[0]) == 0x28 && uint8_t(head[1]) == 0xb5 &&
      uint8_t(head[2]) == 0x2f && uint8_t(head[3]) == 0xfd)
    return "zstd";
  return "";
}

Result<UnpackResult> unpack_stream(const ReadFn& read, int target_dirfd,
                                   const UnpackOptions& opts) {
  Input in{&read, std::string(4, '\0')};
  size_t have = 0;
  while (have < in.head.size()) {
    size_t n = HULL_TRY(read(in.head.data() + have, in.head.size() - have));
    if (n == 0) break;
    have += n;
  }
  in.head.resize(have);
  if (have == 0) return fail("layer is empty");
  std::string comp = detect_compression(in.head);
  std::unique_ptr<Decoder> dec;
  if (comp == "gzip") {
    dec = std::make_unique<GzipDecoder>(in);
  } else if (comp == "zstd") {
    auto a = std::make_unique<ArchiveDecoder>(in);
    HULL_CHECK(a->open());
    dec = std::move(a);
  } else {
    dec = std::make_unique<PlainDecoder>(in);
  }

  // Declared before the reader that takes its buffers, so it outlives it; its
  // destructor stops and joins the decode thread on every return.
  DecodeThread decode(*dec);
  Chain chain;
  chain.pipe = &decode.pipe;
  ArchivePtr inner(archive_read_new(), archive_read_free);
  if (!inner) return fail("archive_read_new: out of memory", ENOMEM);
  archive_read_support_format_tar(inner.get());
  archive_read_support_filter_none(inner.get());
  auto tar_error = [&](const char* what) {
    if (chain.error) return std::unexpected(chain.error->wrap(what));
    const char* m = archive_error_string(inner.get());
    return fail(fmt::format("{}: {}", what, m ? m : "read error"));
  };
  if (archive_read_open(inner.get(), &chain, nullptr, chain_read, nullptr) != ARCHIVE_OK)
    return tar_error("read layer tar");
  if (opts.refuse_kernel_fs && fs::on_kernel_fs(target_dirfd))
    return fail("refusing to write into a directory on a kernel filesystem (proc, sysfs...)");
  Extractor x(target_dirfd, opts);
  bool empty = true;
  for (;;) {
    struct archive_entry* e;
    int r = archive_read_next_header(inner.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return tar_error("read layer tar");
    empty = false;
    // A failed read of the stream underneath (network, decompression) is the cause, not
    // the entry it cut short.
    if (auto st = x.entry(inner.get(), e); !st)
      return std::unexpected(chain.error ? chain.error->wrap("read layer") : st.error());
  }
  HULL_CHECK(x.finish());
  // The tar ends before the stream does (padding): the diff id covers every byte, as
  // docker's. Only so many: /dev/zero is an empty tar (its first block ends it) followed
  // by zeros without end, and `hull load -i /dev/zero` read them forever.
  const void* p;
  int64_t trailing = 0;
  for (;;) {
    la_ssize_t n = chain_read(inner.get(), &chain, &p);
    if (n <= 0) break;
    trailing += n;
    if (trailing > kMaxTrailingBytes) {
      if (empty)
        return failf(
            "empty archive: no entry before its end-of-archive marker, and more than {} "
            "MiB after it",
            kMaxTrailingBytes >> 20);
      return failf("more than {} MiB after the tar's end-of-archive marker",
                   kMaxTrailingBytes >> 20);
    }
  }
  if (chain.error) return std::unexpected(chain.error->wrap("read layer"));
  return UnpackResult{decode.diff_id(), x.size()};
}

Result<UnpackResult> unpack_tar(int fd, int target_dirfd, const UnpackOptions& opts) {
  ReadFn read = [fd](char* buf, size_t len) -> Result<size_t> {
    for (;;) {
      ssize_t n = ::read(fd, buf, len);
      if (n >= 0) return size_t(n);
      if (errno != EINTR) return sys_fail("read layer");
    }
  };
  return unpack_stream(read, target_dirfd, opts);
}

}  // namespace hull::image
