#include "image/import.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <ctime>
#include <optional>

#include "common/sha256.hpp"
#include "common/signals.hpp"
#include "common/strings.hpp"
#include "common/time.hpp"
#include "image/pull.hpp"
#include "image/reference.hpp"
#include "image/unpack.hpp"

namespace hull::image {
namespace {

// filepath.Clean of an absolute path: no ".", "..", or repeated slashes.
std::string clean_abs_path(std::string_view p) {
  std::vector<std::string_view> parts;
  for (auto c : split(p, '/')) {
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(c);
  }
  std::string out;
  for (auto c : parts) {
    out += '/';
    out += c;
  }
  return out.empty() ? "/" : out;
}

// USER name|uid[:group|gid]. runc refuses ids above 2^31-1, so `start` would too.
Status check_user(std::string_view line, std::string_view arg) {
  auto parts = split(arg, ':');
  if (parts.size() > 2)
    return failf("--change {:?}: USER {:?}: want name|uid[:group|gid]", line, arg);
  for (auto p : parts) {
    if (p.empty()) return failf("--change {:?}: USER {:?}: want name|uid[:group|gid]", line, arg);
    for (char c : p)
      if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
        return failf("--change {:?}: USER {:?}: space or control character", line, arg);
    if (p.find_first_not_of("0123456789") == std::string_view::npos) {
      auto id = parse_int<uint32_t>(p);
      if (!id || *id > 2147483647)
        return failf("--change {:?}: USER {:?}: id {} is out of range 0-2147483647", line, arg, p);
    }
  }
  return {};
}

// EXPOSE port[-port][/tcp|/udp|/sctp] words, as "port/proto" keys; ranges expand as
// docker's do.
Result<std::vector<std::string>> exposed_ports(std::string_view line, std::string_view arg) {
  std::vector<std::string> out;
  for (auto word : split(arg, ' ')) {
    word = trim(word);
    if (word.empty()) continue;
    std::string_view ports = word;
    std::string proto = "tcp";
    if (size_t slash = word.find('/'); slash != std::string_view::npos) {
      ports = word.substr(0, slash);
      proto = std::string(word.substr(slash + 1));
      for (auto& c : proto) c = char(tolower(static_cast<unsigned char>(c)));
      if (proto != "tcp" && proto != "udp" && proto != "sctp")
        return failf("--change {:?}: EXPOSE {:?}: protocol {:?} is not tcp, udp or sctp", line,
                     word, proto);
    }
    auto port = [](std::string_view p) -> std::optional<unsigned> {
      if (p.empty() || p.find_first_not_of("0123456789") != std::string_view::npos)
        return std::nullopt;
      auto v = parse_int<unsigned>(p);
      if (!v || *v < 1 || *v > 65535) return std::nullopt;
      return v;
    };
    size_t dash = ports.find('-');
    auto lo = port(ports.substr(0, dash));
    auto hi = dash == std::string_view::npos ? lo : port(ports.substr(dash + 1));
    if (!lo || !hi || *hi < *lo)
      return failf("--change {:?}: EXPOSE {:?}: want a port 1-65535 (or a range low-high)", line,
                   word);
    for (unsigned p = *lo; p <= *hi; ++p) out.push_back(fmt::format("{}/{}", p, proto));
  }
  if (out.empty()) return failf("--change {:?}: EXPOSE: no port", line);
  return out;
}

// One Dockerfile instruction applied to the image's "config" object.
Status apply_change(Json& config, std::string_view line) {
  line = trim(line);
  auto sp = line.find_first_of(" \t=");
  if (sp == std::string_view::npos) return failf("--change {:?}: no argument", line);
  std::string full(line);
  std::string op(line.substr(0, sp));
  for (auto& c : op) c = char(toupper(c));
  std::string_view arg = trim(line.substr(sp + 1));
  // JSON array form, else the shell form docker wraps in /bin/sh -c.
  auto words = [&]() -> Result<Json> {
    if (arg.starts_with('[')) {
      auto j = HULL_TRY(parse_json(arg, fmt::format("--change {:?}", full)));
      if (!j.is_array()) return failf("--change {:?}: {} is not a JSON array", full, op);
      for (auto& e : j)
        if (!e.is_string())
          return failf("--change {:?}: {} is not a JSON array of strings", full, op);
      return j;
    }
    return Json::array({"/bin/sh", "-c", std::string(arg)});
  };
  auto key_values = [&](const char* field, bool env) -> Status {
    // KEY=VALUE pairs (or the legacy "KEY VALUE").
    std::vector<std::pair<std::string, std::string>> kv;
    if (arg.find('=') == std::string_view::npos) {
      auto s = arg.find(' ');
      if (s == std::string_view::npos) return failf("--change {:?}: {} wants KEY=VALUE", full, op);
      kv.emplace_back(std::string(arg.substr(0, s)), std::string(trim(arg.substr(s + 1))));
    } else {
      for (auto part : split(arg, ' ')) {
        if (part.empty()) continue;
        auto eq = part.find('=');
        if (eq == std::string_view::npos)
          return failf("--change {:?}: {} wants KEY=VALUE", full, op);
        std::string v(part.substr(eq + 1));
        if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
        kv.emplace_back(std::string(part.substr(0, eq)), v);
      }
    }
    for (auto& [k, v] : kv) {
      if (k.empty()) return failf("--change {:?}: {} names can not be blank", full, op);
      if (env) {
        if (!config.contains("Env")) config["Env"] = Json::array();
        config["Env"].push_back(k + "=" + v);
      } else {
        config[field][k] = v;
      }
    }
    return {};
  };
  if (op == "CMD")
    config["Cmd"] = HULL_TRY(words());
  else if (op == "ENTRYPOINT")
    config["Entrypoint"] = HULL_TRY(words());
  else if (op == "ENV")
    HULL_CHECK(key_values("Env", true));
  else if (op == "LABEL")
    HULL_CHECK(key_values("Labels", false));
  else if (op == "WORKDIR") {
    // docker joins a relative WORKDIR to the previous one (or "/").
    std::string dir(arg);
    if (!dir.starts_with('/')) {
      auto prev = config.find("WorkingDir");
      std::string base = prev != config.end() && prev->is_string() ? prev->get<std::string>() : "";
      dir = base + "/" + dir;
    }
    config["WorkingDir"] = clean_abs_path(dir);
  } else if (op == "USER") {
    HULL_CHECK(check_user(full, arg));
    config["User"] = std::string(arg);
  } else if (op == "STOPSIGNAL") {
    // parse_signal allows 0 (kill's existence check), which stops nothing.
    auto sig = parse_signal(arg);
    if (!sig || *sig == 0)
      return failf("--change {:?}: STOPSIGNAL {:?} is not a signal name or number 1-{}", full, arg,
                   SIGRTMAX);
    config["StopSignal"] = std::string(arg);
  } else if (op == "EXPOSE") {
    for (auto& key : HULL_TRY(exposed_ports(full, arg)))
      config["ExposedPorts"][key] = Json::object();
  } else {
    return failf("--change {:?}: unsupported instruction {}", line, op);
  }
  return {};
}

}  // namespace

Result<std::string> import_rootfs(Store& store, const std::string& path, std::string_view ref_str,
                                  const std::vector<std::string>& changes,
                                  std::string_view message) {
  std::optional<Reference> ref;
  if (!ref_str.empty()) ref = HULL_TRY(parse_reference(ref_str));
  Json config = Json::object();
  for (auto& c : changes) HULL_CHECK(apply_change(config, c));
  if (ref && !ref->digest.empty()) return failf("import: cannot tag with a digest: {}", ref_str);
  UniqueFd owned;
  int in = STDIN_FILENO;
  if (path != "-") {
    owned.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!owned) return sys_failf("open {}", path);
    in = owned.get();
  }
  // The stream is unpacked as it is read and copied into a blob alongside, hashed as it
  // goes (the tarball may be a pipe). The unpack ends with the tar (and a bounded
  // padding): /dev/zero, an empty tar followed by zeros without end, is refused at once
  // instead of being copied until the disk is full.
  auto [tmp, fd] = HULL_TRY(store.temp_file());
  Sha256 h;
  std::string head;
  int64_t total = 0;
  ReadFn read = [&, &fd = fd](char* buf, size_t len) -> Result<size_t> {
    ssize_t n;
    do n = ::read(in, buf, len);
    while (n < 0 && errno == EINTR);
    if (n < 0) return sys_failf("read {}", path);
    if (head.size() < 8) head.append(buf, std::min<size_t>(size_t(n), 8 - head.size()));
    h.update(buf, size_t(n));
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(fd.get(), buf + off, size_t(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return sys_failf("write {}", tmp);
      off += w;
    }
    total += n;
    return size_t(n);
  };
  auto fail_import = [&](Error e) {
    ::unlink(tmp.c_str());
    return std::unexpected(std::move(e).wrap(fmt::format("import {}", path)));
  };
  auto staged = store.stage_layer(read, "", "");
  if (!staged && total == 0) return fail_import(Error{0, "empty input"});
  if (!staged) return fail_import(std::move(staged).error());
  std::string comp = detect_compression(head);
  // A compressed stream may end before the file does: the blob is all of it (docker's),
  // with no more after the end than a tar may have.
  std::vector<char> buf(1 << 17);
  for (int64_t after = 0;;) {
    auto n = read(buf.data(), buf.size());
    if (!n) return fail_import(std::move(n).error());
    if (*n == 0) break;
    if ((after += int64_t(*n)) > kMaxTrailingBytes)
      return fail_import(Error{0, fmt::format("more than {} MiB after the end of the {} stream",
                                              kMaxTrailingBytes >> 20, comp)});
  }
  std::string blob = "sha256:" + h.hex_final();
  std::string media = comp == "gzip"   ? "application/vnd.oci.image.layer.v1.tar+gzip"
                      : comp == "zstd" ? "application/vnd.oci.image.layer.v1.tar+zstd"
                                       : "application/vnd.oci.image.layer.v1.tar";
  const bool had_blob = store.has_blob(blob);
  if (had_blob)
    ::unlink(tmp.c_str());
  else
    HULL_CHECK(store.commit_blob(tmp, blob));
  auto diff_id = store.commit_layer(std::move(*staged));
  if (!diff_id) {
    if (!had_blob) ::unlink(store.blob_path(blob).c_str());
    return std::unexpected(std::move(diff_id).error().wrap(fmt::format("import {}", path)));
  }
  std::string plat = host_platform();
  std::string os = plat.substr(0, plat.find('/'));
  std::string rest = plat.substr(plat.find('/') + 1);
  std::string arch = rest.substr(0, rest.find('/'));
  std::string created = rfc3339_now();
  std::string comment =
      message.empty() ? fmt::format("Imported from {}", path) : std::string(message);
  Json cfg = {
      {"architecture", arch},
      {"os", os},
      {"created", created},
      {"comment", comment},
      {"config", config},
      {"rootfs", {{"type", "layers"}, {"diff_ids", Json::array({*diff_id})}}},
      {"history", Json::array({{{"created", created}, {"comment", comment}}})},
  };
  std::string cfg_text = cfg.dump();
  std::string cfg_digest = HULL_TRY(store.put_blob(cfg_text));
  Json manifest = {
      {"schemaVersion", 2},
      {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
      {"config",
       {{"mediaType", "application/vnd.oci.image.config.v1+json"},
        {"digest", cfg_digest},
        {"size", cfg_text.size()}}},
      {"layers", Json::array({{{"mediaType", media}, {"digest", blob}, {"size", total}}})},
  };
  std::string man_digest = HULL_TRY(store.put_blob(manifest.dump()));
  NewImage img;
  img.config_digest = cfg_digest;
  img.manifest_digest = man_digest;
  img.manifest_media_type = "application/vnd.oci.image.manifest.v1+json";
  img.layers.push_back({blob, media, *diff_id, total});
  if (ref) img.tags.push_back(ref->str());
  auto lk = HULL_TRY(store.lock());
  HULL_CHECK(store.add_image(img));
  return cfg_digest;
}

}  // namespace hull::image
