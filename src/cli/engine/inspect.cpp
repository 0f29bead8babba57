// hull inspect [-f TEMPLATE] CONTAINER...: docker's JSON.
#include "cli/engine/run_flags.hpp"
#include "engine/present.hpp"

namespace hull::cli {

HULL_ENGINE_VERB(inspect, [](CLI::App& app, EngineGlobals& g) {
  struct Args {
    std::vector<std::string> refs;
    std::string format;
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("inspect", "show containers' configuration and state as JSON");
  c->add_option("container", a->refs, "container names or ids")->required();
  c->add_option("-f,--format", a->format, "template such as {{.State.Pid}}");
  return [a, &g]() -> int {
    auto e = open_engine(g);
    if (!e) return engine_report(e.error());
    Json out = Json::array();
    int rc = 0;
    for (const auto& ref : a->refs) {
      auto ct = e->find(ref);
      if (!ct) {
        rc = engine_report(ct.error());
        continue;
      }
      Json j = engine::inspect_json(*e, *ct);
      if (!a->format.empty()) {
        auto s = engine::format_template(j, a->format);
        if (!s) return engine_report(s.error());
        fmt::print("{}\n", *s);
      } else {
        out.push_back(std::move(j));
      }
    }
    if (a->format.empty()) fmt::print("{}\n", out.dump(4));
    return rc == 0 ? 0 : 1;
  };
});

}  // namespace hull::cli
