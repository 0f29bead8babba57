// The flags `pull` and `login` share for reaching a registry, as podman spells them:
// --tls-verify[=false], --cert-dir DIR, and docker's --insecure-registry HOST|CIDR.
#pragma once

#include <string>
#include <vector>

#include "cli/engine/verb.hpp"
#include "image/pull.hpp"

namespace hull::cli {

struct RegistryFlags {
  image::RegistryAccess access;
  bool tls_verify = true;
  CLI::Option* tls_verify_opt = nullptr;

  void add(CLI::App* c) {
    c->add_option("--insecure-registry", access.insecure_registries,
                  "do not verify this registry's (host[:port], or a CIDR range's) TLS "
                  "certificate; plain HTTP if it answers so; adds to hull.json's");
    tls_verify_opt = c->add_flag("--tls-verify", tls_verify,
                                 "--tls-verify=false: do not verify TLS certificates (plain HTTP "
                                 "if the registry answers so); true: https even on loopback");
    c->add_option("--cert-dir", access.cert_dir,
                  "TLS files for the registry: *.crt CAs, NAME.cert + NAME.key client "
                  "certificate (default: certs.d/HOST[:PORT])");
  }

  // What the command line said, once parsed: tls_verify stays unset unless given.
  const image::RegistryAccess& get() {
    if (tls_verify_opt->count() > 0) access.tls_verify = tls_verify;
    return access;
  }
};

}  // namespace hull::cli
