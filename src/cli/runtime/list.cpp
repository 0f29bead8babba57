// hull-runtime list [-q] [--format table|json]
#include <iostream>

#include "cli/runtime/verb.hpp"

namespace hull::cli {

HULL_VERB(list, [](CLI::App& app, Globals& g) {
  struct Args {
    bool quiet = false;
    std::string format = "table";
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("list", "list containers");
  c->alias("ls");
  c->add_flag("-q,--quiet", a->quiet, "print only ids");
  c->add_option("-f,--format", a->format, "table or json")->check(CLI::IsMember({"table", "json"}));
  return [a, &g] {
    auto store = store_of(g);
    auto ids = store.list();
    if (!ids) return report(ids.error());
    Json all = Json::array();
    std::vector<std::array<std::string, 6>> rows;
    for (const auto& id : *ids) {
      auto s = store.load(id);
      if (!s) continue;
      auto st = store.status_of(*s);
      bool stopped = st == runtime::ContainerStatus::stopped;
      if (a->quiet) {
        std::cout << id << "\n";
        continue;
      }
      all.push_back({{"ociVersion", oci::kSpecVersion},
                     {"id", id},
                     {"pid", stopped ? 0 : s->pid},
                     {"status", runtime::status_name(st)},
                     {"bundle", s->bundle},
                     {"rootfs", s->rootfs},
                     {"created", s->created},
                     {"owner", s->owner},
                     {"annotations", s->annotations}});
      rows.push_back({id, std::to_string(stopped ? 0 : s->pid),
                      std::string(runtime::status_name(st)), s->bundle, s->created, s->owner});
    }
    if (a->quiet) return 0;
    if (a->format == "json") {
      std::cout << all.dump() << "\n";
      return 0;
    }
    std::array<std::string, 6> head{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"};
    std::array<size_t, 6> w{};
    for (size_t i = 0; i < 6; ++i) w[i] = head[i].size();
    for (const auto& r : rows)
      for (size_t i = 0; i < 6; ++i) w[i] = std::max(w[i], r[i].size());
    auto print = [&](const std::array<std::string, 6>& r) {
      std::string line;
      for (size_t i = 0; i < 6; ++i)
        line += i == 5 ? r[i] : fmt::format("{:<{}}   ", r[i], w[i]);
      std::cout << line << "\n";
    };
    print(head);
    for (const auto& r : rows) print(r);
    return 0;
  };
});

}  // namespace hull::cli
