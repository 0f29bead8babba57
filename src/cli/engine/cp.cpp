// hull cp [-a] [-L] [-q] CONTAINER:SRC DEST|-   and   hull cp [-a] [-L] [-q] SRC|- CONTAINER:DEST:
// files between a container (running or not) and the host, as docker cp.
#include <unistd.h>

#include <csignal>
#include <vector>

#include "cli/engine/run_flags.hpp"
#include "engine/container_fs.hpp"
#include "image/format.hpp"

namespace hull::cli {
namespace {

// docker's splitCpArg: "NAME:PATH" names a container unless the whole is an absolute
// path or the part before the colon starts with "." (./a:b is a local file).
struct CpArg {
  std::string container, path;
};
CpArg split_cp_arg(const std::string& arg) {
  if (arg.starts_with('/')) return {"", arg};
  size_t colon = arg.find(':');
  if (colon == std::string::npos || arg.starts_with('.')) return {"", arg};
  return {arg.substr(0, colon), arg.substr(colon + 1)};
}

// docker's resolveLocalPath: absolute and cleaned, a trailing "/" or "/." kept.
std::string shown_local_path(const std::string& p) {
  std::string abs = p;
  if (!p.starts_with('/')) {
    char cwd[4096];
    abs = std::string(::getcwd(cwd, sizeof cwd) ? cwd : ".") + "/" + p;
  }
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= abs.size()) {
    size_t end = abs.find('/', start);
    if (end == std::string::npos) end = abs.size();
    std::string c = abs.substr(start, end - start);
    if (c == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!c.empty() && c != ".") {
      parts.push_back(c);
    }
    start = end + 1;
  }
  std::string out;
  for (auto& c : parts) out += "/" + c;
  if (out.empty()) out = "/";
  if ((p == "." || p.ends_with("/.")) && out != "/")
    out += "/.";
  else if (p.ends_with('/') && out != "/")
    out += "/";
  return out;
}

// docker's copySummary: both sizes when the content's differs from the tar's.
std::string copy_summary(const engine::CopyReport& r, const std::string& dest) {
  if (r.content != r.transferred)
    return fmt::format("Successfully copied {} (transferred {}) to {}\n",
                       image::human_size(double(r.content)),
                       image::human_size(double(r.transferred)), dest);
  return fmt::format("Successfully copied {} to {}\n", image::human_size(double(r.content)), dest);
}

}  // namespace

HULL_ENGINE_VERB(cp, [](CLI::App& app, EngineGlobals& g) {
  struct Args {
    std::string src, dest;
    bool archive = false, follow = false, quiet = false;
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand(
      "cp",
      "copy files between a container and the host (CONTAINER:SRC DEST or SRC CONTAINER:DEST; "
      "- for a tar on stdin/stdout)");
  c->add_option("src", a->src, "CONTAINER:SRC_PATH, SRC_PATH or -")->required();
  c->add_option("dest", a->dest, "DEST_PATH, CONTAINER:DEST_PATH or -")->required();
  c->add_flag("-a,--archive", a->archive,
              "keep uid/gid (else the files are the container's root's)");
  c->add_flag("-L,--follow-link", a->follow, "follow a symlink that SRC_PATH names");
  auto* q = c->add_flag("-q,--quiet", a->quiet,
                        "print no \"Successfully copied\" line (the default when stdout is not "
                        "a terminal)");
  return [a, q, &g]() -> int {
    auto from = split_cp_arg(a->src), to = split_cp_arg(a->dest);
    if (!from.container.empty() && !to.container.empty())
      return verb_failure(Error{0, "copying between containers is not supported"});
    if (from.container.empty() && to.container.empty())
      return verb_failure(Error{0, "must specify at least one container source (CONTAINER:PATH)"});
    if ((!from.container.empty() && from.path.empty()) ||
        (!to.container.empty() && to.path.empty()))
      return verb_failure(Error{0, "filepath can not be empty"});
    // A reader of our tar that goes away (| head) is an error of the copy, not a signal.
    ::signal(SIGPIPE, SIG_IGN);
    auto e = open_engine(g);
    if (!e) return verb_failure(e.error());
    engine::CopyOptions o{a->archive, a->follow};
    auto r =
        from.container.empty()
            ? engine::copy_to_container(*e, from.path, to.container, to.path, o, STDIN_FILENO)
            : engine::copy_from_container(*e, from.container, from.path, to.path, o, STDOUT_FILENO);
    if (!r) return verb_failure(r.error());
    // docker's: on stderr, unless -q or stdout is not a terminal; never for a tar on stdout.
    const bool quiet = q->count() > 0 ? a->quiet : !::isatty(STDOUT_FILENO);
    if (!quiet && !(to.container.empty() && to.path == "-")) {
      std::string dest =
          to.container.empty() ? shown_local_path(to.path) : to.container + ":" + to.path;
      std::string line = copy_summary(*r, dest);
      (void)!::write(STDERR_FILENO, line.data(), line.size());
    }
    return 0;
  };
});

}  // namespace hull::cli
