// image/ layer unpack from a stream: ISA-L gzip (multi-member, corrupt, truncated, odd read
// sizes), zstd, plain; create-first entry handling (names replaced within a layer, modes
// and owners); staged layers that leave nothing behind.
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "common/fs.hpp"
#include "common/sha256.hpp"
#include "image/store.hpp"
#include "image/tree_tar.hpp"
#include "image/unpack.hpp"
#include "tar_builder.hpp"

namespace hull::image {
namespace {

class Tmp {
 public:
  Tmp() {
    char tmpl[] = "/tmp/hull-unpack-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~Tmp() { (void)fs::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string dir(const std::string& name) const {
    std::string p = path_ + "/" + name;
    ::mkdir(p.c_str(), 0755);
    return p;
  }

 private:
  std::string path_;
};

// perm 0644 unless given, directories too (what these tests were written against).
struct File : test::TarEntry {
  File(std::string n, mode_t t = AE_IFREG, std::string d = "", mode_t p = 0644)
      : test::TarEntry{std::move(n), t, std::move(d), p} {}
};

std::string make_tar(const std::vector<File>& files) {
  return test::make_tar(std::vector<test::TarEntry>(files.begin(), files.end()));
}

// bytes compressed as one gzip member or one zstd frame.
std::string compress(const std::string& bytes, bool zstd = false) {
  std::vector<char> buf(bytes.size() + (1 << 16));
  size_t used = 0;
  struct archive* a = archive_write_new();
  if (zstd)
    archive_write_add_filter_zstd(a);
  else
    archive_write_add_filter_gzip(a);
  archive_write_set_format_raw(a);
  archive_write_set_bytes_in_last_block(a, 1);
  archive_write_open_memory(a, buf.data(), buf.size(), &used);
  struct archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, "x");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_size(e, la_int64_t(bytes.size()));
  archive_write_header(a, e);
  archive_write_data(a, bytes.data(), bytes.size());
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
  return std::string(buf.data(), used);
}

// Hands out data in pieces of at most `piece` bytes, as a network would.
ReadFn reader_of(const std::string& data, size_t piece) {
  return [&data, piece, off = size_t(0)](char* buf, size_t len) mutable -> Result<size_t> {
    size_t n = std::min({len, piece, data.size() - off});
    memcpy(buf, data.data() + off, n);
    off += n;
    return n;
  };
}

Result<UnpackResult> unpack(const std::string& data, const std::string& dir,
                            size_t piece = 1 << 20) {
  UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  return unpack_stream(reader_of(data, piece), d.get());
}

std::string big_text(size_t n) {
  std::string s;
  uint32_t x = 12345;
  while (s.size() < n) {
    x = x * 1103515245 + 12345;
    s += char('a' + (x >> 16) % 26);
    if ((x >> 8) % 61 == 0) s += '\n';
  }
  return s;
}

// Incompressible bytes: a long stream once gzipped.
std::string noise(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& c : s) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    c = char(x >> 24);
  }
  return s;
}

std::vector<File> sample() {
  return {{"etc/", AE_IFDIR, ""},
          {"etc/a", AE_IFREG, big_text(300000)},
          {"etc/b", AE_IFREG, "bee\n"},
          {"bin/", AE_IFDIR, ""},
          {"bin/sh", AE_IFREG, big_text(70000), 0755}};
}

TEST(UnpackStream, GzipInOddPiecesIsTheTar) {
  std::string tar = make_tar(sample());
  std::string gz = compress(tar);
  for (size_t piece : {size_t(1), size_t(7), size_t(4096), size_t(1) << 20}) {
    Tmp t;
    auto out = t.dir("out");
    auto r = unpack(gz, out, piece);
    ASSERT_TRUE(r) << piece << ": " << r.error().message;
    EXPECT_EQ(r->diff_id, "sha256:" + Sha256::hex(tar));
    EXPECT_EQ(*fs::read_file(out + "/etc/a"), big_text(300000));
    EXPECT_EQ(*fs::read_file(out + "/etc/b"), "bee\n");
    struct stat st {};
    ASSERT_EQ(::stat((out + "/bin/sh").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0755u);
    EXPECT_EQ(st.st_mtim.tv_sec, 1000);
    ASSERT_EQ(::stat((out + "/etc").c_str(), &st), 0);
    EXPECT_EQ(st.st_mtim.tv_sec, 1000);  // set after its children were written
  }
}

TEST(UnpackStream, GzipMembersAreOneStream) {
  std::string tar = make_tar(sample());
  size_t half = tar.size() / 2 + 123;
  std::string gz = compress(tar.substr(0, half)) + compress(tar.substr(half));
  Tmp t;
  auto out = t.dir("out");
  auto r = unpack(gz, out, 1000);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->diff_id, "sha256:" + Sha256::hex(tar));
  EXPECT_EQ(*fs::read_file(out + "/bin/sh"), big_text(70000));
}

TEST(UnpackStream, GzipTrailingZerosIgnored) {
  std::string tar = make_tar(sample());
  Tmp t;
  auto r = unpack(compress(tar) + std::string(512, '\0'), t.dir("out"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->diff_id, "sha256:" + Sha256::hex(tar));
}

// What follows the tar's end is read for the diff id, up to kMaxTrailingBytes (give or
// take the buffer libarchive held): a stream of zeros (/dev/zero) was read for ever.
TEST(UnpackStream, PaddingAfterTheTarIsBounded) {
  std::string tar = make_tar(sample());
  std::string padded = tar + std::string(1 << 20, '\0');
  Tmp t;
  auto r = unpack(padded, t.dir("padded"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->diff_id, "sha256:" + Sha256::hex(padded));

  size_t read = 0;
  ReadFn zeros = [&](char* buf, size_t len) -> Result<size_t> {
    size_t n = std::min(len, size_t(65536));
    memset(buf, 0, n);
    read += n;
    return n;
  };
  UniqueFd d(::open(t.dir("zeros").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  auto z = unpack_stream(zeros, d.get());
  ASSERT_FALSE(z);
  EXPECT_NE(z.error().message.find("empty archive"), std::string::npos) << z.error().message;
  EXPECT_LT(read, size_t(kMaxTrailingBytes) + (4 << 20));

  std::string endless = tar + std::string(size_t(kMaxTrailingBytes) + (1 << 20), '\0');
  auto e = unpack(endless, t.dir("endless"));
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("after the tar's end-of-archive marker"), std::string::npos)
      << e.error().message;
}

TEST(UnpackStream, CorruptGzipFails) {
  std::string gz = compress(make_tar(sample()));
  std::string bad = gz;
  bad[bad.size() / 2] = char(bad[bad.size() / 2] ^ 0x55);
  Tmp t;
  auto r = unpack(bad, t.dir("out"));
  // Bad deflate data, a CRC mismatch, or the garbage tar it inflates to: refused.
  ASSERT_FALSE(r);
}

TEST(UnpackStream, TruncatedGzipFails) {
  std::string gz = compress(make_tar(sample()));
  Tmp t;
  auto r = unpack(gz.substr(0, gz.size() * 2 / 3), t.dir("out"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("gzip"), std::string::npos) << r.error().message;
}

TEST(UnpackStream, ZstdAndPlain) {
  std::string tar = make_tar(sample());
  for (auto& data : {compress(tar, true), tar}) {
    Tmp t;
    auto out = t.dir("out");
    auto r = unpack(data, out, 5000);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->diff_id, "sha256:" + Sha256::hex(tar));
    EXPECT_EQ(*fs::read_file(out + "/etc/b"), "bee\n");
  }
}

TEST(UnpackStream, ReadErrorsPassThrough) {
  Tmp t;
  UniqueFd d(::open(t.dir("out").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  std::string gz = compress(make_tar(sample()));
  size_t off = 0;
  ReadFn flaky = [&](char* buf, size_t len) -> Result<size_t> {
    if (off > 10000) return fail("connection reset", ECONNRESET);
    size_t n = std::min(len, size_t(4096));
    memcpy(buf, gz.data() + off, n);
    off += n;
    return n;
  };
  auto r = unpack_stream(flaky, d.get());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ECONNRESET);
  EXPECT_NE(r.error().message.find("connection reset"), std::string::npos) << r.error().message;
}

// The decode thread (inflate + diff id) runs ahead of the tar writer through a few
// buffers: a layer refused at its first entry stops it at once, without reading the
// rest of a long stream, and nothing is written.
TEST(UnpackStream, RefusedEarlyStopsTheDecoder) {
  std::vector<File> files = {{"../escape", AE_IFREG, "x"}};
  // 3 MB (make_tar's buffer holds 4).
  for (int i = 0; i < 15; ++i)
    files.push_back({fmt::format("f{}", i), AE_IFREG, noise(200000, uint32_t(i))});
  std::string gz = compress(make_tar(files));
  for (bool zstd : {false, true}) {
    std::string data = zstd ? compress(make_tar(files), true) : gz;
    size_t read = 0;
    ReadFn counted = [&, inner = reader_of(data, 16384)](char* buf, size_t len) mutable {
      auto n = inner(buf, len);
      if (n) read += *n;
      return n;
    };
    Tmp t;
    auto out = t.dir("out");
    UniqueFd d(::open(out.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    auto r = unpack_stream(counted, d.get());
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("refusing"), std::string::npos) << r.error().message;
    EXPECT_LT(read, data.size() / 2) << "the decoder went on reading";
    EXPECT_GT(data.size(), size_t(2900000));
    EXPECT_TRUE(std::filesystem::is_empty(out));
    EXPECT_FALSE(std::filesystem::exists(t.path() + "/escape"));
  }
}

// Decoded bytes cross threads in buffers handed back and forth: many small entries
// and entries larger than a buffer come out whole, with the same diff id.
TEST(UnpackStream, ManyEntriesThroughTheDecodePipe) {
  std::vector<File> files = {{"d/", AE_IFDIR, ""}};
  for (int i = 0; i < 500; ++i)
    files.push_back(
        {"d/s" + std::to_string(i), AE_IFREG, std::string(size_t(i % 7) * 100, 'a' + i % 26)});
  files.push_back({"d/big", AE_IFREG, big_text(3 << 20)});
  std::string tar = make_tar(files);
  for (size_t piece : {size_t(100), size_t(1) << 20}) {
    Tmp t;
    auto out = t.dir("out");
    auto r = unpack(compress(tar), out, piece);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->diff_id, "sha256:" + Sha256::hex(tar));
    EXPECT_EQ(*fs::read_file(out + "/d/big"), big_text(3 << 20));
    EXPECT_EQ(*fs::read_file(out + "/d/s499"), std::string(size_t(499 % 7) * 100, 'a' + 499 % 26));
  }
}

TEST(UnpackStream, NamesReplacedWithinALayer) {
  // A file becomes a directory, a directory a file, a symlink a file; a directory
  // declared twice keeps its content and takes the second declaration's mode.
  std::string tar = make_tar({{"x", AE_IFREG, "file"},
                              {"x/", AE_IFDIR, ""},
                              {"x/in", AE_IFREG, "in"},
                              {"d/", AE_IFDIR, ""},
                              {"d/c", AE_IFREG, "c"},
                              {"d", AE_IFREG, "now a file"},
                              {"l", AE_IFLNK, "/etc/passwd"},
                              {"l", AE_IFREG, "plain"},
                              {"k/", AE_IFDIR, ""},
                              {"k/keep", AE_IFREG, "kept"},
                              {"k/", AE_IFDIR, "", 0700},
                              {"f", AE_IFREG, "one"},
                              {"f", AE_IFREG, "two", 0600}});
  Tmp t;
  auto out = t.dir("out");
  auto r = unpack(tar, out);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*fs::read_file(out + "/x/in"), "in");
  EXPECT_EQ(*fs::read_file(out + "/d"), "now a file");
  struct stat st {};
  ASSERT_EQ(::lstat((out + "/l").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(*fs::read_file(out + "/k/keep"), "kept");
  ASSERT_EQ(::stat((out + "/k").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(*fs::read_file(out + "/f"), "two");
  ASSERT_EQ(::stat((out + "/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST(UnpackStream, ModesBeyondTheUmask) {
  mode_t old = ::umask(022);
  std::string tar = make_tar({{"w", AE_IFREG, "w", 0666},
                              {"s", AE_IFREG, "s", 04755},
                              {"dir/", AE_IFDIR, "", 01777},
                              {"dir/f", AE_IFREG, "f", 0640}});
  Tmp t;
  auto out = t.dir("out");
  auto r = unpack(tar, out);
  ::umask(old);
  ASSERT_TRUE(r) << r.error().message;
  struct stat st {};
  ASSERT_EQ(::stat((out + "/w").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0666u);
  ASSERT_EQ(::stat((out + "/s").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04755u);
  ASSERT_EQ(::stat((out + "/dir").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01777u);
  ASSERT_EQ(::stat((out + "/dir/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
}

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  for (auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename());
  return out;
}

TEST(StagedLayer, CommittedOrGone) {
  Tmp t;
  auto store = Store::open(t.path() + "/root");
  ASSERT_TRUE(store) << store.error().message;
  std::string tar = make_tar(sample());
  std::string gz = compress(tar);
  std::string diff = "sha256:" + Sha256::hex(tar);

  // A wrong diff id: refused, nothing in ROOT/tmp.
  auto bad = store->stage_layer(reader_of(gz, 1 << 16), "sha256:" + std::string(64, 'a'), "l1");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("diff id mismatch"), std::string::npos);
  EXPECT_TRUE(entries(t.path() + "/root/tmp").empty());

  // Staged, then dropped: gone.
  {
    auto s = store->stage_layer(reader_of(gz, 1 << 16), diff, "l1");
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(entries(t.path() + "/root/tmp").size(), 1u);
  }
  EXPECT_TRUE(entries(t.path() + "/root/tmp").empty());
  EXPECT_FALSE(store->has_layer(diff));

  // Staged and committed: in ROOT/layers, recorded, ROOT/tmp empty.
  auto s = store->stage_layer(reader_of(gz, 1 << 16), diff, "l1");
  ASSERT_TRUE(s) << s.error().message;
  auto c = store->commit_layer(std::move(*s));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(*c, diff);
  EXPECT_TRUE(store->has_layer(diff));
  EXPECT_EQ(*fs::read_file(store->layer_dir(diff) + "/etc/b"), "bee\n");
  EXPECT_TRUE(entries(t.path() + "/root/tmp").empty());

  // The same layer staged again (a concurrent pull): commit uses the one in place.
  auto again = store->stage_layer(reader_of(gz, 1 << 16), diff, "l1");
  ASSERT_TRUE(again);
  auto c2 = store->commit_layer(std::move(*again));
  ASSERT_TRUE(c2) << c2.error().message;
  EXPECT_TRUE(entries(t.path() + "/root/tmp").empty());
}

}  // namespace
}  // namespace hull::image

namespace hull::image {
namespace {

// Sparse entries may claim any size while carrying one byte each; the layer's size is
// their sum, saturated: two of 2^62 bytes overflowed int64 into a negative size. On tmpfs
// (/dev/shm), whose files may be that large, as on xfs.
TEST(Unpack, SparseSizesSaturate) {
  if (::access("/dev/shm", W_OK) != 0) GTEST_SKIP() << "no writable /dev/shm";
  std::vector<char> buf(1 << 16);
  size_t used = 0;
  struct archive* a = archive_write_new();
  archive_write_set_format_pax(a);
  archive_write_open_memory(a, buf.data(), buf.size(), &used);
  for (const char* name : {"big1", "big2"}) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, la_int64_t{1} << 62);
    archive_entry_sparse_add_entry(e, 0, 1);
    ASSERT_EQ(archive_write_header(a, e), ARCHIVE_OK) << archive_error_string(a);
    ASSERT_EQ(archive_write_data(a, "x", 1), 1);
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  char tmpl[] = "/dev/shm/hull-unpack-sparse-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::string tar(buf.data(), used);
  size_t off = 0;
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  auto r = unpack_stream(
      [&](char* out, size_t len) -> Result<size_t> {
        size_t n = std::min(len, tar.size() - off);
        std::memcpy(out, tar.data() + off, n);
        off += n;
        return n;
      },
      dfd);
  ::close(dfd);
  (void)fs::remove_all(dir);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->size, INT64_MAX);
}

// hull cp's plain mode: ".wh." names are files, every entry gets the owner asked for,
// and onto the host set-id bits go and device nodes are left out.
TEST(UnpackPlain, WhiteoutNamesOwnersSetIdAndDevices) {
  Tmp t;
  std::string dir = t.dir("out");
  std::string tar = test::make_tar({{"d", AE_IFDIR, "", 0755},
                                    {"d/.wh.victim", AE_IFREG, "plain\n", 0644},
                                    {"d/.wh..wh..opq", AE_IFREG, "also\n", 0644},
                                    {"suid", AE_IFREG, "x", 06755},
                                    {"dev", AE_IFCHR, "", 0666}});
  UnpackOptions o;
  o.layer = false;
  o.owner = std::pair{::geteuid(), ::getegid()};
  o.to_host = true;
  UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  auto r = unpack_stream(reader_of(tar, 1 << 20), d.get(), o);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*fs::read_file(dir + "/d/.wh.victim"), "plain\n");
  EXPECT_EQ(*fs::read_file(dir + "/d/.wh..wh..opq"), "also\n");
  struct stat st {};
  ASSERT_EQ(::stat((dir + "/suid").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  EXPECT_EQ(st.st_uid, ::geteuid());
  EXPECT_NE(::lstat((dir + "/dev").c_str(), &st), 0);
}

// hull cp never replaces a directory (and its content) with a file, nor a file or a
// symlink with a directory: docker's NoOverwriteDirNonDir.
TEST(UnpackPlain, NoOverwriteDirNonDir) {
  Tmp t;
  std::string dir = t.dir("out");
  ASSERT_TRUE(fs::mkdir_p(dir + "/keep"));
  ASSERT_TRUE(fs::write_file(dir + "/keep/precious", "p"));
  ASSERT_EQ(::symlink("/", (dir + "/link").c_str()), 0);
  UnpackOptions o;
  o.layer = false;
  o.no_overwrite_dir_nondir = true;
  UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  std::string file_over_dir = test::make_tar({{"keep", AE_IFREG, "x", 0644}});
  auto r = unpack_stream(reader_of(file_over_dir, 1 << 20), d.get(), o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("cannot overwrite the directory"), std::string::npos);
  EXPECT_EQ(*fs::read_file(dir + "/keep/precious"), "p");
  std::string dir_over_link = test::make_tar({{"link", AE_IFDIR, "", 0755}});
  r = unpack_stream(reader_of(dir_over_link, 1 << 20), d.get(), o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("cannot overwrite the non-directory"), std::string::npos);
  EXPECT_EQ(std::filesystem::read_symlink(dir + "/link"), "/");
}

// The extended attributes hull cp and export carry: user.* (not overlay's) and file
// capabilities, the latter not onto the host; nothing of trusted.* or the rest of
// security.*.
TEST(CopiedXattr, UserAndFileCapabilitiesOnly) {
  EXPECT_TRUE(copied_xattr("user.colour", false));
  EXPECT_TRUE(copied_xattr("user.colour", true));
  EXPECT_TRUE(copied_xattr("security.capability", false));
  EXPECT_FALSE(copied_xattr("security.capability", true));
  for (const char* n :
       {"user.overlay.opaque", "trusted.overlay.opaque", "trusted.overlay.redirect", "trusted.x",
        "security.selinux", "security.ima", "system.posix_acl_access", "user", "users.x", ""}) {
    EXPECT_FALSE(copied_xattr(n, false)) << n;
    EXPECT_FALSE(copied_xattr(n, true)) << n;
  }
}

// hull cp's plain mode sets the kept attributes of a (hostile) tar and no others, and no
// value beyond kMaxXattrValue.
TEST(UnpackPlain, OnlyKeptXattrsAreSet) {
  Tmp t;
  std::string dir = t.dir("out");
  std::vector<char> buf(1 << 20);
  size_t used = 0;
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_open_memory(a, buf.data(), buf.size(), &used);
  struct archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, "f");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, 0);
  std::string big(kMaxXattrValue + 1, 'b');
  archive_entry_xattr_add_entry(e, "user.ok", "1", 1);
  archive_entry_xattr_add_entry(e, "user.big", big.data(), big.size());
  archive_entry_xattr_add_entry(e, "trusted.overlay.opaque", "y", 1);
  archive_entry_xattr_add_entry(e, "user.overlay.opaque", "y", 1);
  archive_write_header(a, e);
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
  std::string tar(buf.data(), used);
  UnpackOptions o;
  o.layer = false;
  UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  auto r = unpack_stream(reader_of(tar, 1 << 20), d.get(), o);
  ASSERT_TRUE(r) << r.error().message;
  char names[4096];
  ssize_t n = ::listxattr((dir + "/f").c_str(), names, sizeof names);
  if (n < 0 && errno == ENOTSUP) GTEST_SKIP() << "no user xattrs on /tmp";
  ASSERT_GE(n, 0);
  EXPECT_EQ(std::string(names, size_t(n)), std::string("user.ok", 8));
}

// TreeTar writes what unpack_tar reads back: files, directories, symlinks (not followed),
// hardlinks, FIFOs; "." is a directory's content without itself.
TEST(TreeTar, RoundTripThroughUnpack) {
  Tmp t;
  std::string src = t.dir("src"), out = t.dir("out");
  ASSERT_TRUE(fs::mkdir_p(src + "/a/b"));
  ASSERT_TRUE(fs::write_file(src + "/a/b/f", "data\n", 0640));
  ASSERT_EQ(::link((src + "/a/b/f").c_str(), (src + "/a/hard").c_str()), 0);
  ASSERT_EQ(::symlink("/", (src + "/a/root").c_str()), 0);
  ASSERT_EQ(::symlink("../../..", (src + "/a/up").c_str()), 0);
  ASSERT_EQ(::mkfifo((src + "/a/fifo").c_str(), 0600), 0);
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  UniqueFd rd(p[0]), wr(p[1]);
  UniqueFd obj(::open(src.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  std::string tar;
  {
    auto tt = TreeTar::open(wr.get());
    ASSERT_TRUE(tt);
    // The whole tar is small enough for the pipe's buffer.
    ASSERT_TRUE(tt->add(obj.get(), "."));
    ASSERT_TRUE(tt->close());
  }
  wr.reset();
  UnpackOptions o;
  o.layer = false;
  UniqueFd d(::open(out.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  auto r = unpack_tar(rd.get(), d.get(), o);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*fs::read_file(out + "/a/b/f"), "data\n");
  struct stat f {
  }, h{}, fifo{};
  ASSERT_EQ(::stat((out + "/a/b/f").c_str(), &f), 0);
  ASSERT_EQ(::stat((out + "/a/hard").c_str(), &h), 0);
  EXPECT_EQ(f.st_ino, h.st_ino);
  EXPECT_EQ(f.st_mode & 0777, 0640u);
  EXPECT_EQ(std::filesystem::read_symlink(out + "/a/root"), "/");
  EXPECT_EQ(std::filesystem::read_symlink(out + "/a/up"), "../../..");
  ASSERT_EQ(::lstat((out + "/a/fifo").c_str(), &fifo), 0);
  EXPECT_TRUE(S_ISFIFO(fifo.st_mode));
}

}  // namespace
}  // namespace hull::image
