// hull-runtime state ID: the OCI state document.
#include <iostream>

#include "cli/runtime/verb.hpp"

namespace hull::cli {

HULL_VERB(state, [](CLI::App& app, Globals& g) {
  auto id = std::make_shared<std::string>();
  app.add_subcommand("state", "print a container's state")
      ->add_option("id", *id, "container id")
      ->required();
  return [id, &g] {
    auto store = store_of(g);
    auto s = store.load(*id);
    if (!s) return report(s.error());
    Json j = runtime::oci_state(*s, store.status_of(*s));
    // The spec requires pid only while created or running; runc and crun print 0 after.
    if (!j.contains("pid")) j["pid"] = 0;
    j["rootfs"] = s->rootfs;
    j["created"] = s->created;
    j["owner"] = s->owner;
    std::cout << j.dump(2) << "\n";
    return 0;
  };
});

}  // namespace hull::cli
