// hull pull [-q] [--platform os/arch] NAME[:TAG|@DIGEST]: docker's progress, one line per
// layer (redrawn in place on a terminal, printed once per state change otherwise).
#include <unistd.h>

#include <iostream>
#include <map>

#include "cli/engine/registry_flags.hpp"
#include "cli/engine/verb.hpp"
#include "image/format.hpp"
#include "image/pull.hpp"
#include "image/reference.hpp"

namespace hull::cli {
namespace {

class ProgressView {
 public:
  explicit ProgressView(bool tty) : tty_(tty) {}

  void on(const image::Progress& p) {
    using Phase = image::Progress::Phase;
    if (p.digest.empty()) {
      std::cout << p.message << "\n" << std::flush;
      return;
    }
    if (p.phase == Phase::downloading || p.phase == Phase::extracting) changed_ = true;
    std::string id = image::short_id(p.digest);
    auto [it, fresh] = index_.try_emplace(id, lines_.size());
    if (fresh) lines_.push_back({id, ""});
    std::string text = p.message;
    if (p.phase == Phase::downloading && p.total > 0) {
      int width = 50, done = int(double(p.current) / double(p.total) * width);
      text =
          fmt::format("Downloading [{}>{}] {}/{}", std::string(size_t(std::max(0, done - 1)), '='),
                      std::string(size_t(std::max(0, width - done)), ' '),
                      image::human_size(double(p.current)), image::human_size(double(p.total)));
    }
    auto& line = lines_[it->second];
    if (!tty_) {
      // Plain output: one line per state, not per chunk.
      if (line.second != p.message) std::cout << id << ": " << p.message << "\n" << std::flush;
      line.second = p.message;
      return;
    }
    line.second = text;
    if (drawn_) std::cout << "\x1b[" << drawn_ << "A";
    for (auto& [lid, ltext] : lines_) std::cout << "\x1b[2K" << lid << ": " << ltext << "\n";
    drawn_ = lines_.size();
    std::cout << std::flush;
  }
  bool changed() const { return changed_; }

 private:
  bool tty_;
  std::vector<std::pair<std::string, std::string>> lines_;
  std::map<std::string, size_t> index_;
  size_t drawn_ = 0;
  bool changed_ = false;
};

}  // namespace

std::function<int()> pull_verb(CLI::App& app, EngineGlobals& g) {
  struct Opts {
    std::string ref, platform, auth_file;
    bool quiet = false, all_tags = false;
    RegistryFlags registry;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("pull", "download an image from a registry");
  sub->add_option("image", o->ref, "NAME[:TAG|@DIGEST]")->required();
  sub->add_flag("-a,--all-tags", o->all_tags, "download every tagged image of the repository");
  sub->add_option("--platform", o->platform, "os/arch[/variant] (default: this host's)");
  sub->add_flag("-q,--quiet", o->quiet, "print only the image name");
  o->registry.add(sub);
  sub->add_option("--authfile", o->auth_file, "docker config.json with credentials");
  return [o, sub, &g] {
    auto ref = image::parse_reference(o->ref);
    if (!ref) return verb_failure(ref.error());
    bool tagged = o->ref.find(':', o->ref.rfind('/') + 1) != std::string::npos;
    if (o->all_tags && (tagged || !ref->digest.empty()))
      return verb_failure(
          Error{0, fmt::format("tag can't be used with --all-tags/-a: {:?}", o->ref)});
    // Given, even empty, it must be a platform: checked before the store opens and before
    // any request.
    if (sub->count("--platform") > 0)
      if (auto p = image::parse_platform(o->platform); !p) return verb_failure(p.error());
    image::PullOptions po;
    po.platform = o->platform;
    po.quiet = o->quiet;
    po.access = o->registry.get();
    po.auth_file = o->auth_file;
    std::vector<std::string> refs{o->ref};
    if (o->all_tags) {
      auto tags = image::list_tags(*ref, po);
      if (!tags) return verb_failure(tags.error());
      if (tags->empty())
        return verb_failure(Error{0, fmt::format("repository {} has no tags", ref->name())});
      refs.clear();
      for (auto& t : *tags) refs.push_back(ref->name() + ":" + t);
    }
    if (!o->quiet && !o->all_tags && ref->digest.empty() && !tagged)
      std::cout << "Using default tag: latest\n";
    // The store opens (a new one creates and syncs its index) and libarchive loads on
    // another thread while the pull loads libcurl and asks for the manifest.
    image::StoreOpener store(g.root);
    bool changed = false;
    for (auto& r : refs) {
      auto view = std::make_shared<ProgressView>(::isatty(STDOUT_FILENO));
      if (!o->quiet) po.progress = [view](const image::Progress& p) { view->on(p); };
      auto id = image::pull([&] { return store.get(); }, r, po);
      // A store that cannot open is the error to report, whatever the network said.
      if (auto s = store.get(); !s) return verb_failure(s.error());
      if (!id) return verb_failure(id.error());
      changed |= view->changed();
    }
    // With -a docker names the repository alone.
    std::string shown =
        o->all_tags
            ? ref->familiar_name()
            : ref->familiar_name() + (ref->digest.empty() ? ":" + ref->tag : "@" + ref->digest);
    if (!o->quiet)
      std::cout << (changed ? "Status: Downloaded newer image for "
                            : "Status: Image is up to date for ")
                << shown << "\n";
    std::cout << (o->all_tags ? ref->name() : ref->str()) << "\n";
    return 0;
  };
}

HULL_ENGINE_VERB(pull, pull_verb);

}  // namespace hull::cli
