// image/certs: the certs.d layout (host[:port] directories, *.crt CAs, .cert/.key pairs)
// and where hull looks for it, root and rootless.
#include <gtest/gtest.h>

#include <map>

#include "common/fs.hpp"
#include "image/certs.hpp"
#include "temp_dir.hpp"

namespace hull::image {
namespace {

using test::TempDir;

void touch(const std::string& path) {
  ASSERT_TRUE(fs::write_file(path, "x\n"));
}

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const char* n) -> std::optional<std::string> {
    auto it = vars.find(n);
    return it == vars.end() ? std::nullopt : std::optional(it->second);
  };
}

const std::vector<std::string> kSystemRoots = {"/etc/hull/certs.d", "/etc/containers/certs.d",
                                               "/etc/docker/certs.d"};

TEST(CertRoots, RootSearchesHullsThenPodmansThenDockers) {
  EXPECT_EQ(cert_roots(false, env_of({{"HOME", "/root"}, {"XDG_CONFIG_HOME", "/x"}})),
            kSystemRoots);
}

TEST(CertRoots, RootlessPutsTheUsersConfigFirst) {
  auto r = cert_roots(true, env_of({{"HOME", "/home/u"}, {"XDG_CONFIG_HOME", "/home/u/cfg"}}));
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0], "/home/u/cfg/hull/certs.d");
  EXPECT_EQ(std::vector(r.begin() + 1, r.end()), kSystemRoots);
  // A relative XDG_CONFIG_HOME is invalid (the XDG spec): ~/.config instead.
  r = cert_roots(true, env_of({{"HOME", "/home/u"}, {"XDG_CONFIG_HOME", "cfg"}}));
  EXPECT_EQ(r[0], "/home/u/.config/hull/certs.d");
  r = cert_roots(true, env_of({{"HOME", "/home/u"}}));
  EXPECT_EQ(r[0], "/home/u/.config/hull/certs.d");
  EXPECT_EQ(cert_roots(true, env_of({})), kSystemRoots);
}

TEST(CertDir, SortsCasAndPairsTheClientCertificate) {
  TempDir d("hull-certs");
  for (const char* f : {"ca.crt", "b.crt", "client.cert", "client.key", "README", "x.pem"})
    touch(d.path + "/" + f);
  auto f = read_cert_dir(d.path);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->dir, d.path);
  EXPECT_EQ(f->ca_files, (std::vector<std::string>{d.path + "/b.crt", d.path + "/ca.crt"}));
  EXPECT_EQ(f->cert, d.path + "/client.cert");
  EXPECT_EQ(f->key, d.path + "/client.key");
}

TEST(CertDir, EmptyDirectoryIsNoError) {
  TempDir d("hull-certs");
  auto f = read_cert_dir(d.path);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_TRUE(f->ca_files.empty());
  EXPECT_TRUE(f->cert.empty() && f->key.empty());
}

TEST(CertDir, CertWithoutKeyIsAClearError) {
  TempDir d("hull-certs");
  touch(d.path + "/ca.crt");
  touch(d.path + "/client.cert");
  touch(d.path + "/other.key");  // a key of another name does not pair
  auto f = read_cert_dir(d.path);
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message.find(d.path + "/client.cert"), std::string::npos)
      << f.error().message;
  EXPECT_NE(f.error().message.find("no key client.key"), std::string::npos) << f.error().message;
  EXPECT_NE(f.error().message.find(".crt"), std::string::npos) << f.error().message;
}

TEST(CertDir, KeyWithoutCertIsAClearError) {
  TempDir d("hull-certs");
  touch(d.path + "/client.key");
  touch(d.path + "/client.crt");  // a CA, not the client certificate
  auto f = read_cert_dir(d.path);
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message.find("key " + d.path +
                                   "/client.key has no client certificate "
                                   "client.cert"),
            std::string::npos)
      << f.error().message;
}

TEST(CertDir, FirstPairByNameWins) {
  TempDir d("hull-certs");
  for (const char* f : {"b.cert", "b.key", "a.cert", "a.key"}) touch(d.path + "/" + f);
  auto f = read_cert_dir(d.path);
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->cert, d.path + "/a.cert");
  EXPECT_EQ(f->key, d.path + "/a.key");
}

TEST(CertDir, MissingDirectoryNamesIt) {
  auto f = read_cert_dir("/nonexistent/hull-certs");
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code, ENOENT);
  EXPECT_NE(f.error().message.find("/nonexistent/hull-certs"), std::string::npos);
}

TEST(FindCerts, HostPortDirectoriesInTheFirstRootThatHasOne) {
  TempDir d("hull-certs");
  std::string a = d.path + "/a", b = d.path + "/b";
  for (auto dir : {a + "/127.0.0.1:5000", a + "/[::1]:5000", b + "/127.0.0.1:5000",
                   b + "/reg.example", b + "/myreg:443"})
    ASSERT_TRUE(fs::mkdir_p(dir));
  touch(a + "/127.0.0.1:5000/ca.crt");
  touch(b + "/127.0.0.1:5000/other.crt");
  touch(b + "/reg.example/ca.crt");
  touch(a + "/reg.example");  // a file, not a directory: skipped
  std::vector<std::string> roots = {a, b, d.path + "/missing"};

  auto f = find_certs("127.0.0.1:5000", "", roots);
  ASSERT_TRUE(f) << f.error().message;
  ASSERT_TRUE(f->has_value());
  EXPECT_EQ((*f)->dir, a + "/127.0.0.1:5000");
  // Not merged with the second root's directory, as podman.
  EXPECT_EQ((*f)->ca_files, std::vector<std::string>{a + "/127.0.0.1:5000/ca.crt"});

  f = find_certs("reg.example", "", roots);
  ASSERT_TRUE(f && f->has_value());
  EXPECT_EQ((*f)->dir, b + "/reg.example");
  f = find_certs("[::1]:5000", "", roots);
  ASSERT_TRUE(f && f->has_value());
  EXPECT_EQ((*f)->dir, a + "/[::1]:5000");
  EXPECT_TRUE((*f)->ca_files.empty());  // an empty directory still counts (https)

  // The port is part of the name: myreg:443 is not myreg, nor 127.0.0.1:5001.
  f = find_certs("myreg", "", roots);
  ASSERT_TRUE(f);
  EXPECT_FALSE(f->has_value());
  f = find_certs("127.0.0.1:5001", "", roots);
  ASSERT_TRUE(f);
  EXPECT_FALSE(f->has_value());
  // Nothing that could leave a root.
  for (const char* bad : {"..", ".", "", "a/b"}) {
    f = find_certs(bad, "", {d.path});
    ASSERT_TRUE(f);
    EXPECT_FALSE(f->has_value()) << bad;
  }
}

TEST(FindCerts, CertDirHoldsTheFilesItself) {
  TempDir d("hull-certs");
  touch(d.path + "/ca.crt");
  auto f = find_certs("127.0.0.1:5000", d.path, {"/nonexistent"});
  ASSERT_TRUE(f) << f.error().message;
  ASSERT_TRUE(f->has_value());
  EXPECT_EQ((*f)->ca_files, std::vector<std::string>{d.path + "/ca.crt"});
  // A --cert-dir that does not exist is an error, not "no certificates".
  f = find_certs("127.0.0.1:5000", d.path + "/nope", {});
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message.find(d.path + "/nope"), std::string::npos);
}

TEST(FindCerts, PairingErrorsComeThrough) {
  TempDir d("hull-certs");
  ASSERT_TRUE(fs::mkdir_p(d.path + "/reg:5000"));
  touch(d.path + "/reg:5000/client.cert");
  auto f = find_certs("reg:5000", "", {d.path});
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message.find("client.key"), std::string::npos);
}

}  // namespace
}  // namespace hull::image
