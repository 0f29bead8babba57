// image/: reference parsing, docker's number formats, base64, layer unpack (whiteouts and
// hostile entries), and the store's reference counting, all without a registry.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>

#include "common/fs.hpp"
#include "common/sha256.hpp"
#include "image/auth.hpp"
#include "image/format.hpp"
#include "image/import.hpp"
#include "image/pull.hpp"
#include "image/reference.hpp"
#include "image/rootfs.hpp"
#include "image/store.hpp"
#include "image/unpack.hpp"
#include "tar_builder.hpp"

namespace hull::image {
namespace {

TEST(Reference, DockerDefaults) {
  auto r = parse_reference("busybox");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->str(), "docker.io/library/busybox:latest");
  EXPECT_EQ(r->familiar_name(), "busybox");
  r = parse_reference("ns/img:1.2");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->str(), "docker.io/ns/img:1.2");
  EXPECT_EQ(r->familiar_name(), "ns/img");
}

TEST(Reference, RegistryPortDigest) {
  std::string d = "sha256:" + std::string(64, 'a');
  auto r = parse_reference("127.0.0.1:5000/ns/img@" + d);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->registry, "127.0.0.1:5000");
  EXPECT_EQ(r->repository, "ns/img");
  EXPECT_EQ(r->tag, "");
  EXPECT_EQ(r->digest, d);
  EXPECT_EQ(r->reference(), d);
  r = parse_reference("localhost/x:y");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->registry, "localhost");
  r = parse_reference("img", "registry.example:5000");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->str(), "registry.example:5000/img:latest");
}

TEST(Reference, Rejects) {
  for (const char* bad :
       {"", "UPPER", "a//b", "a:", "a@sha256:12", "-a", "a..b", "a:b:c/d", "host:99999/x",
        // An empty first component: front() of an empty string_view (a libstdc++
        // assertion with _GLIBCXX_ASSERTIONS, the sanitizer build's flags).
        "/busybox", "//x"}) {
    EXPECT_FALSE(parse_reference(bad)) << bad;
  }
  auto r = parse_reference("Busybox");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("lowercase"), std::string::npos);
}

// distribution/reference's grammar, found wanting by fuzzing `hull tag`.
TEST(Reference, DockerGrammarAccepts) {
  for (const char* good :
       {"a", "a-b", "a--b", "a__b", "a.b/c_d", "host-1.example.com/x", "Host.Example:5000/x",
        "[::1]:5000/x", "[fe80::1]/x", "localhost:1/x", "x:A_b.c-D", "abcdef0123/x",
        "reg.io/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}) {
    auto r = parse_reference(good);
    EXPECT_TRUE(r) << good << ": " << r.error().message;
  }
  std::string tag128 = "a:" + std::string(128, 't');
  EXPECT_TRUE(parse_reference(tag128));
  // 255 characters in all, "docker.io/library/" included, as docker counts.
  std::string longest = std::string(255 - 18, 'n');
  EXPECT_TRUE(parse_reference(longest)) << parse_reference(longest).error().message;
  EXPECT_FALSE(parse_reference(longest + "n"));
}

TEST(Reference, DockerGrammarRejectsWithReason) {
  std::string hex(64, '0');
  struct Case {
    std::string ref, want;
  };
  for (const Case& c : std::vector<Case>{
           {"sha256:" + hex, "digest algorithm"},
           {"sha256", "digest algorithm"},
           {"library/sha256:1", "digest algorithm"},
           {"docker.io/sha256", "digest algorithm"},
           {hex, "64-byte hexadecimal"},
           {hex + ":1", "64-byte hexadecimal"},
           {"library/" + hex, "64-byte hexadecimal"},
           {"docker.io/" + hex, "64-byte hexadecimal"},
           {"../a", "bad registry \"..\""},
           {"./a", "bad registry \".\""},
           {".a/b", "bad registry"},
           {"a./b", "bad registry"},
           {"-a.io/b", "bad registry"},
           {"a-.io/b", "bad registry"},
           {"a_b.io/c", "bad registry"},
           {"[]:1/a", "not an IPv6 address"},
           {"[:]/a", "not an IPv6 address"},
           {"[zz::1]/a", "not an IPv6 address"},
           {"[::1]:0/a", "port"},
           {"[::1]x/a", "IPv6"},
           {"[::1/a", "IPv6"},
           {"host:/a", "port"},
           {"host:+1/a", "port"},
           {"a:-tag", "bad tag"},
           {"a:.tag", "bad tag"},
           {"a:" + std::string(129, 't'), "bad tag"},
           {"a/_b", "bad repository component"},
           {"a/b.", "bad repository component"},
           {"a/b___c", "bad repository component"},
           {std::string("a\nb"), "bad repository component"},
           {std::string("a\0b", 3), "bad repository component"},
       }) {
    auto r = parse_reference(c.ref);
    ASSERT_FALSE(r) << c.ref << " parsed as " << r->str();
    EXPECT_NE(r.error().message.find(c.want), std::string::npos)
        << c.ref << ": " << r.error().message;
  }
  // The error names the reference the user gave.
  auto r = parse_reference("../a");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("\"../a\""), std::string::npos) << r.error().message;
}

TEST(Reference, Loopback) {
  EXPECT_TRUE(is_loopback_registry("127.0.0.1:5000"));
  EXPECT_TRUE(is_loopback_registry("127.1.2.3"));
  EXPECT_TRUE(is_loopback_registry("localhost:5000"));
  EXPECT_TRUE(is_loopback_registry("[::1]:5000"));
  EXPECT_FALSE(is_loopback_registry("docker.io"));
  EXPECT_FALSE(is_loopback_registry("10.0.0.1:5000"));
}

TEST(Platform, ParsedAsDockerDoes) {
  auto p = parse_platform("Linux/AArch64/V8");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->os, "linux");
  EXPECT_EQ(p->arch, "arm64");
  EXPECT_EQ(p->variant, "v8");
  p = parse_platform("linux/x86_64");
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->arch, "amd64");
  EXPECT_TRUE(p->variant.empty());
  for (const char* bad : {"", "windows", "linux/", "/amd64", "linux//v7", "linux/amd64/", "a/b/c/d",
                          "linux/am d64", "linux/arm\n64", "linux/amd64:1"}) {
    auto r = parse_platform(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("invalid platform"), std::string::npos) << bad;
  }
  EXPECT_TRUE(parse_platform(host_platform()));
}

TEST(Format, DockerUnits) {
  EXPECT_EQ(human_size(4260000), "4.26MB");
  EXPECT_EQ(human_size(999), "999B");
  EXPECT_EQ(human_size(77800000), "77.8MB");
  EXPECT_EQ(human_duration(90), "About a minute");
  EXPECT_EQ(human_duration(3 * 86400), "3 days");
  EXPECT_EQ(human_duration(15 * 86400), "2 weeks");
}

TEST(Auth, Base64RoundTrip) {
  for (std::string s : {"", "a", "ab", "abc", "user:p@ss:w0rd"}) {
    auto d = base64_decode(base64_encode(s));
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(base64_encode("user:pass"), "dXNlcjpwYXNz");
}

// A temp dir removed at the end of each test.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/hull-image-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { (void)fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

using Entry = test::TarEntry;

// Writes a tar (gzip when asked) with the entries to path.
void write_tar(const std::string& path, const std::vector<Entry>& entries, bool gzip = false) {
  ASSERT_TRUE(fs::write_file(path, test::make_tar(entries, gzip)));
}

Result<UnpackResult> unpack_file(const std::string& tar, const std::string& dir) {
  UniqueFd in(::open(tar.c_str(), O_RDONLY | O_CLOEXEC));
  UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  return unpack_tar(in.get(), d.get());
}

std::string sha_file(const std::string& path) {
  auto data = fs::read_file(path);
  return "sha256:" + Sha256::hex(*data);
}

// A username or password of another type than string made Json::value throw, and hull
// end in std::terminate.
TEST(Auth, NonStringUsernameIsAnError) {
  TempDir t;
  std::string file = t.path() + "/config.json";
  ASSERT_TRUE(fs::write_file(file, R"({"auths":{"h:1":{"username":5,"password":"p"}}})"));
  auto c = find_credentials("h:1", file);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("not strings"), std::string::npos) << c.error().message;
  ASSERT_TRUE(fs::write_file(file, R"({"auths":{"h:1":{"username":"u","password":null}}})"));
  EXPECT_FALSE(find_credentials("h:1", file));
  ASSERT_TRUE(fs::write_file(file, R"({"auths":{"h:1":{"username":"u","password":"p"}}})"));
  auto ok = find_credentials("h:1", file);
  ASSERT_TRUE(ok && *ok) << (ok ? "none" : ok.error().message);
  EXPECT_EQ((*ok)->username, "u");
  EXPECT_EQ((*ok)->password, "p");
}

TEST(Unpack, FilesLinksAndDiffId) {
  TempDir t;
  std::string tar = t.path() + "/l.tar", out = t.path() + "/out";
  ::mkdir(out.c_str(), 0755);
  write_tar(tar, {{"./etc/", AE_IFDIR, ""},
                  {"./etc/hello", AE_IFREG, "hi\n"},
                  {"./etc/link", AE_IFLNK, "/etc/hello"},
                  {"./etc/hard", 0, "./etc/hello"}});
  auto r = unpack_file(tar, out);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->diff_id, sha_file(tar));
  EXPECT_EQ(*fs::read_file(out + "/etc/hello"), "hi\n");
  char buf[64] = {0};
  ASSERT_GT(::readlink((out + "/etc/link").c_str(), buf, sizeof buf), 0);
  EXPECT_STREQ(buf, "/etc/hello");
  struct stat a {
  }, b{};
  ::stat((out + "/etc/hello").c_str(), &a);
  ::stat((out + "/etc/hard").c_str(), &b);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_mtim.tv_sec, 1000);
}

TEST(Unpack, GzipDiffIdIsOfTheTar) {
  TempDir t;
  std::string plain = t.path() + "/l.tar", gz = t.path() + "/l.tgz", out = t.path() + "/out";
  ::mkdir(out.c_str(), 0755);
  write_tar(plain, {{"f", AE_IFREG, "x"}});
  write_tar(gz, {{"f", AE_IFREG, "x"}}, true);
  auto r = unpack_file(gz, out);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->diff_id, sha_file(plain));
}

TEST(Unpack, WhiteoutsBecomeOverlayWhiteouts) {
  if (::geteuid() != 0) GTEST_SKIP() << "whiteouts need CAP_MKNOD and trusted xattrs";
  TempDir t;
  std::string tar = t.path() + "/l.tar", out = t.path() + "/out";
  ::mkdir(out.c_str(), 0755);
  write_tar(tar, {{"dir/", AE_IFDIR, ""},
                  {"dir/.wh..wh..opq", AE_IFREG, ""},
                  {"dir/keep", AE_IFREG, "k"},
                  {".wh.gone", AE_IFREG, ""}});
  auto r = unpack_file(tar, out);
  ASSERT_TRUE(r) << r.error().message;
  struct stat st {};
  ASSERT_EQ(::lstat((out + "/gone").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, ::makedev(0, 0));
  EXPECT_NE(::access((out + "/.wh.gone").c_str(), F_OK), 0);
  char v[4] = {0};
  EXPECT_EQ(::getxattr((out + "/dir").c_str(), "trusted.overlay.opaque", v, sizeof v), 1);
  EXPECT_EQ(v[0], 'y');
  EXPECT_NE(::access((out + "/dir/.wh..wh..opq").c_str(), F_OK), 0);
}

class Hostile : public ::testing::TestWithParam<std::vector<Entry>> {};

TEST_P(Hostile, RefusedWithNothingOutside) {
  TempDir t;
  std::string tar = t.path() + "/l.tar", out = t.path() + "/out", outside = t.path() + "/outside";
  ::mkdir(out.c_str(), 0755);
  ::mkdir(outside.c_str(), 0755);
  write_tar(tar, GetParam());
  auto r = unpack_file(tar, out);
  EXPECT_FALSE(r);
  EXPECT_TRUE(std::filesystem::is_empty(outside));
  EXPECT_FALSE(fs::exists(t.path() + "/evil"));
}

INSTANTIATE_TEST_SUITE_P(Layers, Hostile,
                         ::testing::Values(std::vector<Entry>{{"../evil", AE_IFREG, "x"}},
                                           std::vector<Entry>{{"a/../../evil", AE_IFREG, "x"}},
                                           std::vector<Entry>{{"/abs", AE_IFREG, "x"}},
                                           std::vector<Entry>{{"esc", AE_IFLNK, "../outside"},
                                                              {"esc/evil", AE_IFREG, "x"}},
                                           std::vector<Entry>{{"esc", AE_IFLNK, "/tmp"},
                                                              {"esc/evil", AE_IFREG, "x"}},
                                           std::vector<Entry>{{"h", 0, "../evil"}},
                                           std::vector<Entry>{{"h", 0, "/etc/passwd"}}));

TEST(Store, ImportSharesLayersAndRefcounts) {
  TempDir t;
  std::string root = t.path() + "/root";
  auto store = Store::open(root);
  ASSERT_TRUE(store) << store.error().message;
  std::string tar = t.path() + "/rootfs.tar";
  write_tar(tar, {{"bin/", AE_IFDIR, ""}, {"bin/sh", AE_IFREG, "#!"}});
  auto a = import_rootfs(*store, tar, "one:latest");
  ASSERT_TRUE(a) << a.error().message;
  auto b = import_rootfs(*store, tar, "two:latest");
  ASSERT_TRUE(b) << b.error().message;
  auto la = store->layers(*a), lb = store->layers(*b);
  ASSERT_EQ(la->size(), 1u);
  EXPECT_EQ((*la)[0].diff_id, (*lb)[0].diff_id);
  std::string dir = store->layer_dir((*la)[0].diff_id);
  EXPECT_EQ(*fs::read_file(dir + "/bin/sh"), "#!");
  EXPECT_EQ(*store->resolve("one"), *a);
  EXPECT_EQ(*store->resolve(a->substr(7, 12)), *a);
  EXPECT_FALSE(store->resolve("three"));
  EXPECT_EQ(store->resolve("three").error().code, ENOENT);
  // Held images are not removed without force.
  ASSERT_TRUE(store->hold(*a, "c1"));
  EXPECT_FALSE(store->remove("one", false));
  // Forced while held: untagged only, the layers stay for the running container.
  ASSERT_TRUE(store->tag(*a, "docker.io/library/one:latest"));
  auto forced = store->remove(*a, true);
  ASSERT_TRUE(forced) << forced.error().message;
  EXPECT_TRUE(store->resolve(*a));
  EXPECT_FALSE(store->resolve("one"));
  ASSERT_TRUE(store->tag(*a, "docker.io/library/one:latest"));
  ASSERT_TRUE(store->release("c1"));
  ASSERT_TRUE(store->remove("one", false));
  EXPECT_TRUE(fs::exists(dir));  // still used by "two"
  ASSERT_TRUE(store->remove("two", false));
  EXPECT_FALSE(fs::exists(dir));
  auto list = store->list();
  EXPECT_TRUE(list->empty());
}

TEST(Store, TagAndConfig) {
  TempDir t;
  auto store = Store::open(t.path() + "/root");
  std::string tar = t.path() + "/rootfs.tar";
  write_tar(tar, {{"f", AE_IFREG, "x"}});
  auto id = import_rootfs(*store, tar, "x");
  ASSERT_TRUE(id);
  ASSERT_TRUE(store->tag(*id, "docker.io/library/y:2"));
  EXPECT_EQ(*store->resolve("y:2"), *id);
  auto cfg = store->config(*id);
  ASSERT_TRUE(cfg);
  EXPECT_EQ(cfg->os, "linux");
  auto j = store->inspect(*id);
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["RepoTags"].size(), 2u);
  // rmi by one name only untags while another name remains.
  auto lines = store->remove("y:2", false);
  ASSERT_TRUE(lines);
  EXPECT_EQ((*lines)[0], "Untagged: y:2");
  EXPECT_TRUE(store->resolve("x"));
}

// Each open store holds ROOT/tmp shared; one that fails to take it exclusive (another is
// open) must still hold it afterwards, or the other could clear its temp files.
TEST(Store, StaleTempGoesOnlyWhenNoOtherStoreIsOpen) {
  TempDir t;
  const std::string root = t.path() + "/root";
  auto a = Store::open(root);
  auto b = Store::open(root);
  ASSERT_TRUE(a && b);
  auto [tmp, fd] = *a->temp_file();               // a's download in progress
  EXPECT_EQ(a->remove_stale_temp().value(), 0u);  // b is open
  EXPECT_EQ(b->remove_stale_temp().value(), 0u);  // a is still open
  EXPECT_EQ(::access(tmp.c_str(), F_OK), 0);
  *a = std::move(*b);  // the first store closes: its file is stale now
  EXPECT_EQ(a->remove_stale_temp().value(), 1u);
  EXPECT_NE(::access(tmp.c_str(), F_OK), 0);
}

TEST(Store, TagRefusesNamesThatShadowImageIds) {
  TempDir t;
  auto store = Store::open(t.path() + "/root");
  ASSERT_TRUE(store) << store.error().message;
  std::string tar_a = t.path() + "/a.tar", tar_b = t.path() + "/b.tar";
  write_tar(tar_a, {{"f", AE_IFREG, "a"}});
  write_tar(tar_b, {{"f", AE_IFREG, "b"}});
  auto a = import_rootfs(*store, tar_a, "a:1");
  auto b = import_rootfs(*store, tar_b, "b:1");
  ASSERT_TRUE(a && b);
  // Naming B after A's id would make `rmi <hex>` remove A.
  EXPECT_FALSE(store->tag(*b, a->substr(7)));
  EXPECT_FALSE(store->tag(*b, *a));
  EXPECT_FALSE(import_rootfs(*store, tar_b, a->substr(7)));
  EXPECT_EQ(*store->resolve(a->substr(7)), *a);
  EXPECT_EQ((*store->inspect(*b))["RepoTags"].size(), 1u);
}

// A docker-archive whose config lists an empty diff id: the load used to unpack the layer
// unverified, fail to record it, and collect "ROOT/layers/" (every image's layers) as the
// layer it had added.
TEST(Load, InvalidDiffIdRefusedAndOtherLayersKept) {
  TempDir t;
  auto store = Store::open(t.path() + "/root");
  ASSERT_TRUE(store) << store.error().message;
  std::string rootfs = t.path() + "/rootfs.tar";
  write_tar(rootfs, {{"bin/", AE_IFDIR, ""}, {"bin/sh", AE_IFREG, "#!"}});
  auto kept = import_rootfs(*store, rootfs, "kept:1");
  ASSERT_TRUE(kept) << kept.error().message;
  std::string kept_dir = store->layer_dir((*store->layers(*kept))[0].diff_id);
  std::string layer = t.path() + "/layer.tar";
  write_tar(layer, {{"f", AE_IFREG, "evil"}});
  for (const char* diff : {R"("")", "5", R"("sha256:..")"}) {
    std::string archive = t.path() + "/load.tar";
    write_tar(archive,
              {{"layer.tar", AE_IFREG, *fs::read_file(layer)},
               {"config.json", AE_IFREG,
                fmt::format(R"({{"rootfs":{{"type":"layers","diff_ids":[{}]}}}})", diff)},
               {"manifest.json", AE_IFREG,
                R"([{"Config":"config.json","RepoTags":["evil:1"],"Layers":["layer.tar"]}])"}});
    auto r = load_archive(*store, archive);
    ASSERT_FALSE(r) << diff;
    EXPECT_NE(r.error().message.find("invalid diff id"), std::string::npos) << r.error().message;
    auto sh = fs::read_file(kept_dir + "/bin/sh");
    ASSERT_TRUE(sh) << diff << ": the other image's layer was removed";
    EXPECT_EQ(*sh, "#!");
    EXPECT_FALSE(store->resolve("evil:1"));
  }
}

TEST(Import, ChangesValidatedAtImport) {
  TempDir t;
  auto store = Store::open(t.path() + "/root");
  ASSERT_TRUE(store) << store.error().message;
  std::string tar = t.path() + "/rootfs.tar";
  write_tar(tar, {{"f", AE_IFREG, "x"}});
  struct Case {
    std::string change, want;
  };
  for (const Case& c : std::vector<Case>{
           {"STOPSIGNAL SIGFOO", "STOPSIGNAL \"SIGFOO\""},
           {"STOPSIGNAL 9999", "STOPSIGNAL \"9999\""},
           {"STOPSIGNAL -1", "STOPSIGNAL \"-1\""},
           {"STOPSIGNAL 0", "STOPSIGNAL \"0\""},
           {"EXPOSE 99999999", "EXPOSE \"99999999\""},
           {"EXPOSE -1", "EXPOSE \"-1\""},
           {"EXPOSE 0", "EXPOSE \"0\""},
           {"EXPOSE 80/bogus", "protocol \"bogus\""},
           {"EXPOSE 90-80", "EXPOSE \"90-80\""},
           {"USER 99999999999999999999", "USER \"99999999999999999999\""},
           {"USER a:b:c", "USER \"a:b:c\""},
           {"USER :g", "USER \":g\""},
           {"ENV =x", "blank"},
           {"ENTRYPOINT [1e99999]", "ENTRYPOINT [1e99999]"},
           {"CMD [1]", "not a JSON array of strings"},
           {"CMD [\"a\"", "malformed JSON"},
       }) {
    auto r = import_rootfs(*store, tar, "x:1", {c.change});
    ASSERT_FALSE(r) << c.change;
    EXPECT_NE(r.error().message.find(c.want), std::string::npos)
        << c.change << ": " << r.error().message;
  }
  EXPECT_TRUE(store->list()->empty());
  EXPECT_FALSE(store->resolve("x:1"));

  auto id = import_rootfs(
      *store, tar, "x:1",
      {"WORKDIR relative/dir", "WORKDIR ../up/./x", "STOPSIGNAL SIGRTMIN+3", "STOPSIGNAL 64",
       "EXPOSE 80 53/UDP 132/sctp 8000-8002/tcp", "USER 1000:1000", "user nobody"});
  ASSERT_TRUE(id) << id.error().message;
  auto j = store->config_json(*id);
  ASSERT_TRUE(j);
  auto& cfg = (*j)["config"];
  EXPECT_EQ(cfg["WorkingDir"], "/relative/up/x");
  EXPECT_EQ(cfg["StopSignal"], "64");
  EXPECT_EQ(cfg["User"], "nobody");
  for (const char* p : {"80/tcp", "53/udp", "132/sctp", "8000/tcp", "8001/tcp", "8002/tcp"})
    EXPECT_TRUE(cfg["ExposedPorts"].contains(p)) << p << " in " << cfg.dump();
  EXPECT_EQ(cfg["ExposedPorts"].size(), 6u);
}

TEST(Unpack, UnsortedEntriesAndReplacedDirectory) {
  TempDir t;
  std::string tar = t.path() + "/l.tar", out = t.path() + "/out";
  ::mkdir(out.c_str(), 0755);
  write_tar(tar, {{"a/x/1", AE_IFREG, "1"},
                  {"b/y/2", AE_IFREG, "2"},
                  {"a/x/3", AE_IFREG, "3"},
                  {"a/x", AE_IFREG, "now a file"},
                  {"a/z/4", AE_IFREG, "4"}});
  auto r = unpack_file(tar, out);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*fs::read_file(out + "/a/x"), "now a file");
  EXPECT_EQ(*fs::read_file(out + "/b/y/2"), "2");
  EXPECT_EQ(*fs::read_file(out + "/a/z/4"), "4");
}

// 150 layers: far past the one-page limit of mount(2)'s option string with full paths.
// Run with lowerdir+ (Linux >= 6.8) and with the short-link mount(2) fallback.
class Rootfs : public ::testing::TestWithParam<bool> {};

TEST_P(Rootfs, ManyLayersMount) {
  if (GetParam())
    ::setenv("HULL_OVERLAY_LEGACY", "1", 1);
  else
    ::unsetenv("HULL_OVERLAY_LEGACY");
  if (::geteuid() != 0) GTEST_SKIP() << "mounting overlay needs root";
  TempDir t;
  auto store = Store::open(t.path() + "/root");
  ASSERT_TRUE(store);
  NewImage img;
  Json diff_ids = Json::array();
  for (int i = 0; i < 150; ++i) {
    std::string tar = t.path() + "/l.tar";
    write_tar(tar, {{fmt::format("f{}", i), AE_IFREG, "x"}, {"top", AE_IFREG, std::to_string(i)}});
    auto blob = store->put_blob(*fs::read_file(tar));
    ASSERT_TRUE(blob);
    auto diff = store->unpack_layer(*blob, "");
    ASSERT_TRUE(diff) << diff.error().message;
    img.layers.push_back({*blob, "application/vnd.oci.image.layer.v1.tar", *diff, 0});
    diff_ids.push_back(*diff);
  }
  Json cfg = {{"os", "linux"}, {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
  auto id = store->put_blob(cfg.dump());
  ASSERT_TRUE(id);
  img.config_digest = *id;
  img.tags = {"many:layers"};
  ASSERT_TRUE(store->add_image(img));
  std::string c = t.path() + "/c";
  auto m = mount_rootfs(*store, *id, c);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_TRUE(fs::exists(m->merged + "/f0"));
  EXPECT_TRUE(fs::exists(m->merged + "/f149"));
  EXPECT_EQ(*fs::read_file(m->merged + "/top"), "149");
  ASSERT_TRUE(fs::write_file(m->merged + "/new", "w"));
  EXPECT_TRUE(fs::exists(m->upper + "/new"));
  ASSERT_TRUE(unmount_rootfs(c));
  EXPECT_FALSE(fs::exists(m->merged + "/f0"));
  ::unsetenv("HULL_OVERLAY_LEGACY");
}

// cp and export of a stopped container read its root through a detached read-only overlay.
// With an image of no layers the upper dir was the only lower and was taken as the root
// itself, so its whiteouts showed as "c 0 0" devices instead of hiding nothing.
TEST(RootfsDetached, ReadOnlyOfAnImageWithoutLayersHonoursWhiteouts) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting overlay needs root";
  TempDir t;
  auto store = Store::open(t.path() + "/root");
  ASSERT_TRUE(store);
  Json cfg = {{"os", "linux"}, {"rootfs", {{"type", "layers"}, {"diff_ids", Json::array()}}}};
  auto id = store->put_blob(cfg.dump());
  ASSERT_TRUE(id);
  NewImage img;
  img.config_digest = *id;
  img.tags = {"scratch:test"};
  ASSERT_TRUE(store->add_image(img));
  std::string c = t.path() + "/c";
  ASSERT_TRUE(fs::mkdir_p(c + "/upper", 0755));
  ASSERT_TRUE(fs::write_file(c + "/upper/kept", "k"));
  ASSERT_EQ(::mknod((c + "/upper/gone").c_str(), S_IFCHR | 0600, ::makedev(0, 0)), 0);
  auto root = mount_rootfs_detached(*store, *id, c, false);
  ASSERT_TRUE(root) << root.error().message;
  EXPECT_EQ(::faccessat(root->get(), "kept", F_OK, 0), 0);
  EXPECT_LT(::faccessat(root->get(), "gone", F_OK, 0), 0);
  // Without an upper dir either (never started): an empty root, still an overlay.
  ASSERT_EQ(::system(fmt::format("rm -rf {}/upper", c).c_str()), 0);
  auto bare = mount_rootfs_detached(*store, *id, c, false);
  ASSERT_TRUE(bare) << bare.error().message;
  EXPECT_LT(::faccessat(bare->get(), "kept", F_OK, 0), 0);
}

INSTANTIATE_TEST_SUITE_P(Overlay, Rootfs, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Legacy" : "LowerdirPlus"; });

TEST(ImageConfig, Parses) {
  auto j = Json::parse(R"({"os":"linux","architecture":"amd64","config":{"Entrypoint":["/e"],
    "Cmd":["sh"],"Env":["A=1"],"WorkingDir":"/w","User":"1:2","StopSignal":"SIGINT",
    "Labels":{"k":"v"},"ExposedPorts":{"80/tcp":{}}}})");
  auto c = parse_image_config(j);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->entrypoint, std::vector<std::string>{"/e"});
  EXPECT_EQ(c->cmd, std::vector<std::string>{"sh"});
  EXPECT_EQ(c->working_dir, "/w");
  EXPECT_EQ(c->labels["k"], "v");
  EXPECT_EQ(c->exposed_ports, std::vector<std::string>{"80/tcp"});
}

}  // namespace
}  // namespace hull::image
