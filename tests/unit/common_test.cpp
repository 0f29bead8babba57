#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include <gtest/gtest.h>

#include "common/copy_tree.hpp"
#include "common/detach_keys.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json.hpp"
#include "common/log.hpp"
#include "common/own_thread.hpp"
#include "common/sha256.hpp"
#include "common/strings.hpp"
#include "common/time.hpp"
#include "temp_dir.hpp"

namespace hull {
namespace {

Result<int> half(int x) {
  if (x % 2) return failf("half of {}: odd", x);
  return x / 2;
}

Result<int> quarter(int x) {
  int h = HULL_TRY(half(x));
  return HULL_TRY(half(h));
}

// on_own_thread: the function runs on another thread and its result comes back.
TEST(OwnThread, RunsElsewhereAndReturnsTheResult) {
  const pid_t me = gettid();
  auto tid = on_own_thread([]() -> Result<pid_t> { return gettid(); });
  ASSERT_TRUE(tid);
  EXPECT_NE(*tid, me);
  auto r = on_own_thread([]() -> Status { return fail("on the thread", EPERM); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EPERM);
  EXPECT_EQ(r.error().message, "on the thread");
}

// When it returns the thread has left the thread group, so the caller may make or join a
// user namespace at once (both want a single-threaded process: EINVAL otherwise), as the
// runtime may after the engine's network set-up. Each round in a child of its own.
TEST(OwnThread, AUserNamespaceMayBeMadeRightAfter) {
  int einval = 0;
  for (int i = 0; i < 300; ++i) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto r = on_own_thread([]() -> Status { return {}; });
      if (!r) _exit(3);
      _exit(unshare(CLONE_NEWUSER) == 0 ? 0 : errno == EINVAL ? 1 : 2);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 2) GTEST_SKIP() << "no user namespaces here";
    ASSERT_NE(WEXITSTATUS(status), 3);
    einval += WEXITSTATUS(status) == 1;
  }
  EXPECT_EQ(einval, 0) << "unshare(CLONE_NEWUSER) failed with EINVAL: the thread was still there";
}

TEST(Error, TryPropagatesAndWraps) {
  EXPECT_EQ(*quarter(8), 2);
  auto r = quarter(6);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "half of 3: odd");
  EXPECT_EQ(r.error().wrap("create").message, "create: half of 3: odd");
}

TEST(Error, SysFailUsesLowerCaseErrnoText) {
  auto e = sys_fail("open /x", ENOENT).error();
  EXPECT_EQ(e.code, ENOENT);
  EXPECT_EQ(e.message, "open /x: no such file or directory");
  EXPECT_EQ(errno_string(EACCES), "permission denied");
}

TEST(Strings, SplitTrimParse) {
  auto parts = split("a:b::c", ':');
  ASSERT_EQ(parts.size(), 4u);
  EXPECT_EQ(parts[2], "");
  EXPECT_EQ(trim("  x \n"), "x");
  EXPECT_EQ(parse_int<int>("42"), 42);
  EXPECT_FALSE(parse_int<int>("4x"));
  EXPECT_FALSE(parse_int<int>(""));
}

TEST(Strings, EscapeControlsLeavesTextAndUtf8AndEscapesTheRest) {
  EXPECT_EQ(escape_controls("plain text\nline two\ttab"), "plain text\nline two\ttab");
  EXPECT_EQ(escape_controls("caf\xc3\xa9 \xe2\x9c\x93"), "caf\xc3\xa9 \xe2\x9c\x93");
  EXPECT_EQ(escape_controls("a\x1b[2Jb"), "a\\x1b[2Jb");
  EXPECT_EQ(escape_controls(std::string_view("x\0y\r\x7f", 5)), "x\\x00y\\x0d\\x7f");
  // C1 CSI as UTF-8 (U+009B) goes; U+00A0 (no-break space) stays.
  EXPECT_EQ(escape_controls("\xc2\x9b"
                            "31m \xc2\xa0"),
            "\\xc2\\x9b"
            "31m \xc2\xa0");
  EXPECT_EQ(escape_controls("end\xc2"), "end\xc2");
}

TEST(Log, TextLinesCarryNoTerminalEscapes) {
  test::TempDir dir;
  const std::string path = dir.path + "/log";
  log::configure(path, log::Format::text, false);
  log::warn("image {} refused", "evil\x1b]0;owned\x07");
  log::configure("", log::Format::text, false);
  std::string text = fs::read_file(path).value();
  EXPECT_NE(text.find("image evil\\x1b]0;owned\\x07 refused"), std::string::npos) << text;
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
}

TEST(Fs, CopyTreeKeepsMetadataAndFollowsNothing) {
  test::TempDir t;
  const std::string src = t.path + "/src", dst = t.path + "/dst", out = t.path + "/outside";
  ASSERT_EQ(::mkdir(src.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(dst.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(out.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((src + "/d").c_str(), 0750), 0);
  ASSERT_TRUE(fs::write_file(src + "/d/f", "data"));
  ASSERT_EQ(::chown((src + "/d/f").c_str(), 12, 34), 0);
  ASSERT_EQ(::chmod((src + "/d/f").c_str(), 04710), 0);  // after the chown, which clears it
  const timespec old[2] = {{1000, 0}, {2000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (src + "/d/f").c_str(), old, 0), 0);
  // Links out of the tree, as an image may have them: copied, never written through.
  ASSERT_EQ(::symlink(out.c_str(), (src + "/escape").c_str()), 0);
  ASSERT_EQ(::symlink("/etc/passwd", (src + "/d/passwd").c_str()), 0);
  ASSERT_EQ(::mkfifo((src + "/fifo").c_str(), 0600), 0);
  ASSERT_EQ(::chmod((src + "/fifo").c_str(), 0620), 0);
  UniqueFd from(::open(src.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  UniqueFd to(::open(dst.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(fs::copy_tree(from.get(), to.get(), "src"));
  struct stat st {};
  ASSERT_EQ(::stat((dst + "/d/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04710u);
  EXPECT_EQ(st.st_uid, 12u);
  EXPECT_EQ(st.st_gid, 34u);
  EXPECT_EQ(st.st_mtim.tv_sec, 2000);
  EXPECT_EQ(*fs::read_file(dst + "/d/f"), "data");
  ASSERT_EQ(::stat((dst + "/d").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  char target[256] = {};
  ASSERT_GT(::readlink((dst + "/escape").c_str(), target, sizeof target - 1), 0);
  EXPECT_EQ(std::string(target), out);
  ASSERT_EQ(::lstat((dst + "/fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0620u);
  EXPECT_TRUE(std::filesystem::is_empty(out));
  // A destination that already has the name is an error, not an overwrite through it.
  UniqueFd again(::open(dst.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  EXPECT_FALSE(fs::copy_tree(from.get(), again.get(), "src"));
  EXPECT_TRUE(std::filesystem::is_empty(out));
}

TEST(Fs, CopyTreeKeepsHardlinksAndXattrs) {
  test::TempDir t;
  const std::string src = t.path + "/src", dst = t.path + "/dst";
  ASSERT_EQ(::mkdir(src.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(dst.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((src + "/d").c_str(), 0755), 0);
  ASSERT_TRUE(fs::write_file(src + "/a", "linked"));
  ASSERT_EQ(::link((src + "/a").c_str(), (src + "/d/b").c_str()), 0);
  ASSERT_EQ(::link((src + "/a").c_str(), (t.path + "/outside").c_str()), 0);  // not copied
  ASSERT_EQ(::chown((src + "/a").c_str(), 12, 34), 0);
  // ping's file capability (cap_net_raw+ep, VFS_CAP_REVISION_2), a user xattr, and one on
  // a directory.
  const uint32_t caps[5] = {0x02000001, 1u << 13, 0, 0, 0};
  ASSERT_EQ(::setxattr((src + "/a").c_str(), "security.capability", caps, sizeof caps, 0), 0);
  ASSERT_EQ(::setxattr((src + "/a").c_str(), "user.origin", "image", 5, 0), 0);
  ASSERT_EQ(::setxattr((src + "/d").c_str(), "user.dir", "yes", 3, 0), 0);
  UniqueFd from(::open(src.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  UniqueFd to(::open(dst.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(fs::copy_tree(from.get(), to.get(), "src"));

  struct stat a {
  }, b{};
  ASSERT_EQ(::stat((dst + "/a").c_str(), &a), 0);
  ASSERT_EQ(::stat((dst + "/d/b").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);  // one file, two names
  EXPECT_EQ(a.st_nlink, 2u);
  EXPECT_EQ(a.st_uid, 12u);
  char value[64] = {};
  ASSERT_EQ(::getxattr((dst + "/a").c_str(), "security.capability", value, sizeof value),
            ssize_t(sizeof caps));  // kept through the chown
  EXPECT_EQ(std::memcmp(value, caps, sizeof caps), 0);
  ASSERT_EQ(::getxattr((dst + "/d/b").c_str(), "user.origin", value, sizeof value), 5);
  EXPECT_EQ(std::string(value, 5), "image");
  ASSERT_EQ(::getxattr((dst + "/d").c_str(), "user.dir", value, sizeof value), 3);
  EXPECT_EQ(std::string(value, 3), "yes");
}

TEST(Fs, ReadFileRefusesEndlessInput) {
  auto r = fs::read_file("/dev/zero");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("read /dev/zero: more than 64 MiB"), std::string::npos)
      << r.error().message;
  EXPECT_TRUE(fs::read_file("/proc/self/status"));
}

TEST(Fs, OutputFileAppearsOnlyAtCommit) {
  test::TempDir dir;
  const std::string path = dir.path + "/out.tar";
  {
    auto o = fs::OutputFile::create(path);
    ASSERT_TRUE(o) << o.error().message;
    ASSERT_EQ(::write(o->fd(), "x", 1), 1);
    EXPECT_FALSE(fs::exists(path));  // not committed: nothing at the name, temp removed
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path));
  auto o = fs::OutputFile::create(path);
  ASSERT_TRUE(o);
  ASSERT_EQ(::write(o->fd(), "new", 3), 3);
  ASSERT_TRUE(o->commit());
  EXPECT_EQ(fs::read_file(path).value(), "new");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path), {}), 1);
  EXPECT_FALSE(fs::OutputFile::create(dir.path));  // a directory
  EXPECT_FALSE(fs::OutputFile::create(dir.path + "/no/such/dir/x"));
}

TEST(Sha256, KnownVector) {
  EXPECT_EQ(Sha256::hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Json, ParseErrorNamesSource) {
  auto r = parse_json("{\"a\":", "config.json");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("config.json: malformed JSON"), std::string::npos);
}

TEST(Fs, AtomicWriteAndRemoveAll) {
  char tmpl[] = "/tmp/hull-fs-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  ASSERT_TRUE(fs::mkdir_p(dir + "/a/b/c"));
  auto dfd = fs::open_dir(dir + "/a");
  ASSERT_TRUE(dfd);
  ASSERT_TRUE(fs::write_atomic_at(dfd->get(), "state.json", "{}"));
  EXPECT_EQ(*fs::read_file(dir + "/a/state.json"), "{}");
  EXPECT_FALSE(fs::exists(dir + "/a/state.json.tmp"));
  ASSERT_TRUE(fs::remove_all(dir));
  EXPECT_FALSE(fs::exists(dir));
}

// format_rfc3339 computes the calendar itself (gmtime_r would load the time zone): it
// must agree with gmtime_r + strftime, leap days and centuries included.
TEST(Time, Rfc3339AgreesWithGmtime) {
  std::vector<int64_t> secs = {0,           1,          59,           86399,      86400,
                               951782400,   951868799,  951868800,    4107542400, 4107628800,
                               1798761599,  1798761600, 253402300799, -1,         -86400,
                               -2208988800, 1700000000, 2147483647,   2147483648};
  for (int64_t t = -400LL * 86400 * 365; t < 500LL * 86400 * 366; t += 86400 * 97 + 3671)
    secs.push_back(t);
  for (int64_t t : secs) {
    time_t tt = static_cast<time_t>(t);
    tm v{};
    ASSERT_NE(::gmtime_r(&tt, &v), nullptr) << t;
    char buf[64];
    ::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &v);
    EXPECT_EQ(format_rfc3339(t), buf) << t;
  }
}

TEST(Time, Rfc3339Nanoseconds) {
  EXPECT_EQ(format_rfc3339(1764697569, 5), "2025-12-02T17:46:09.000000005Z");
  EXPECT_EQ(format_rfc3339(1764697569, 999999999), "2025-12-02T17:46:09.999999999Z");
  EXPECT_EQ(format_rfc3339(1764697569), "2025-12-02T17:46:09Z");
  std::string now = rfc3339_now();
  ASSERT_EQ(now.size(), 30u) << now;
  EXPECT_EQ(now[10], 'T');
  EXPECT_EQ(now[19], '.');
  EXPECT_EQ(now.back(), 'Z');
}

// parse_json: every parser exception is an error naming the source, and nesting past
// kMaxJsonDepth is refused (deeper documents crashed hull when printed or copied).
TEST(Json, ParseJsonRefusesOverflowAndDeepNesting) {
  auto big = parse_json(R"({"a": 1e99999})", "big.json");
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("big.json"), std::string::npos) << big.error().message;
  auto nest = [](size_t n) { return std::string(n, '[') + std::string(n, ']'); };
  EXPECT_TRUE(parse_json(nest(kMaxJsonDepth), "ok"));
  auto deep = parse_json(nest(kMaxJsonDepth + 1), "deep.json");
  ASSERT_FALSE(deep);
  EXPECT_NE(deep.error().message.find("nested deeper than 512"), std::string::npos);
  // Brackets inside strings, escaped quotes included, are not nesting.
  std::string text = "[\"" + std::string(2000, '[') + "\\\"{{\"]";
  auto in_string = parse_json(text, "s");
  ASSERT_TRUE(in_string) << in_string.error().message;
  EXPECT_EQ((*in_string)[0].get<std::string>().size(), 2003u);
}

TEST(Json, MembersOfTheWrongTypeReadAsAbsent) {
  auto j = *parse_json(R"({"s": "x", "n": 1, "o": {"k": 2}, "a": [1], "z": null})", "t");
  EXPECT_EQ(json_string(j, "s"), "x");
  EXPECT_EQ(json_string(j, "n", "d"), "d");
  EXPECT_EQ(json_string(j, "z"), "");
  EXPECT_EQ(json_string(j, "missing", "d"), "d");
  EXPECT_EQ(json_string(Json(5), "s", "d"), "d");
  EXPECT_EQ(json_object(j, "o").value("k", 0), 2);
  EXPECT_TRUE(json_object(j, "a").empty());
  EXPECT_EQ(json_array(j, "a").size(), 1u);
  EXPECT_TRUE(json_array(j, "o").is_array());
  EXPECT_TRUE(json_array(j, "o").empty());
}

}  // namespace
}  // namespace hull

TEST(DetachKeys, ParsesDockersGrammar) {
  using hull::detach_keys::parse;
  EXPECT_EQ(*parse(""), std::string("\x10\x11"));  // docker's default, ctrl-p,ctrl-q
  EXPECT_EQ(*parse("ctrl-a,x"), std::string("\x01x"));
  EXPECT_EQ(*parse("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_"),
            std::string("\x00\x1b\x1c\x1d\x1e\x1f", 6));
  for (const char* bad : {"ctrl-", "ctrl-1", "ctrl-A", "ab", "a,,b", "ctrl-p,", ","})
    EXPECT_FALSE(parse(bad)) << bad;
}

TEST(DetachKeys, MatcherHoldsBackAPrefixUntilBroken) {
  hull::detach_keys::Matcher m(std::string("\x10\x11"));
  std::string out;
  EXPECT_FALSE(m.feed("ab\x10", out));
  EXPECT_EQ(out, "ab");
  EXPECT_FALSE(m.feed("c", out));  // broken: the held ctrl-p goes on, as typed
  EXPECT_EQ(out,
            "ab\x10"
            "c");
  out.clear();
  EXPECT_FALSE(m.feed("\x10\x10", out));
  EXPECT_EQ(out, "\x10");
  EXPECT_TRUE(m.feed("\x11rest", out));  // split over two reads
  EXPECT_EQ(out, "\x10");
  hull::detach_keys::Matcher none{std::string()};
  out.clear();
  EXPECT_FALSE(none.feed("\x10\x11", out));
  EXPECT_EQ(out, "\x10\x11");
}
