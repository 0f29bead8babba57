#include "image/registry.hpp"

#include <curl/curl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <thread>

#include "common/fs.hpp"
#include "common/json.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "image/certs.hpp"
#include "image/wrap.hpp"

namespace hull::image {
namespace {

constexpr int kAttempts = 5;

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// TLS settings for every request to one registry, its token server's too (as podman's
// one HTTP client per registry). The defaults set nothing: plain HTTP pays nothing.
struct Tls {
  bool verify = true;
  std::string ca_pem;     // the system's CA bundle and certs.d's *.crt; empty: curl's default
  std::string cert, key;  // a client certificate and its key (files)
};

struct Response {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names, last response only
  std::string body;                            // non-2xx bodies and in-memory requests
  CURLcode curl = CURLE_OK;
  std::string curl_error;
};

struct Transfer {
  Response* resp;
  CURL* curl;
  // Called with 2xx body bytes; false aborts the transfer.
  std::function<bool(const char*, size_t)> sink;
  size_t max_body = 4 << 20;
  bool too_big = false;
};

size_t on_header(char* data, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  std::string_view line(data, size * n);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    t->resp->headers.clear();  // a redirect's headers are not the final answer's
    return size * n;
  }
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(trim(line.substr(0, colon)));
    for (auto& c : name) c = char(tolower(c));
    t->resp->headers[name] = std::string(trim(line.substr(colon + 1)));
  }
  return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  long code = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
  size_t len = size * n;
  if (code >= 200 && code < 300 && t->sink) return t->sink(data, len) ? len : 0;
  if (t->resp->body.size() + len > t->max_body) {
    t->too_big = true;
    return 0;
  }
  t->resp->body.append(data, len);
  return len;
}

// One HTTP request. headers are full "Name: value" lines.
// share: the registry's connection cache, so requests after the first reuse a kept-alive
// connection (and a TLS session) instead of connecting again.
Response perform(CURL* c, CURLSH* share, const Tls& tls, const std::string& url,
                 const std::vector<std::string>& headers,
                 std::function<bool(const char*, size_t)> sink, int64_t range_from = -1,
                 size_t max_body = 4 << 20) {
  Response resp;
  Transfer t{&resp, c, std::move(sink), max_body};
  curl_easy_reset(c);
  if (share) curl_easy_setopt(c, CURLOPT_SHARE, share);
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  // A stalled transfer (under 1 byte/s for 30 s) counts as a dropped connection.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "hull/" HULL_VERSION);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L * 1024);
  if (!tls.verify) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!tls.ca_pem.empty()) {
    // curl copies the struct; the bytes stay the registry's for its whole life.
    curl_blob ca{const_cast<char*>(tls.ca_pem.data()), tls.ca_pem.size(), CURL_BLOB_NOCOPY};
    curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
  }
  if (!tls.cert.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLCERT, tls.cert.c_str());
    curl_easy_setopt(c, CURLOPT_SSLKEY, tls.key.c_str());
  }
  std::string range;
  if (range_from > 0) {
    range = fmt::format("{}-", range_from);
    curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
  }
  curl_slist* list = nullptr;
  for (auto& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  resp.curl = curl_easy_perform(c);
  curl_slist_free_all(list);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  if (resp.curl != CURLE_OK) {
    resp.curl_error = errbuf[0] ? errbuf : curl_easy_strerror(resp.curl);
    if (t.too_big) resp.curl_error = "response too large";
  }
  return resp;
}

// The registry's own words from {"errors":[{"code":..,"message":..}]}.
std::string registry_message(const std::string& body) {
  auto j = parse_json(body, "registry error");
  if (!j || !j->is_object() || !j->contains("errors") || !(*j)["errors"].is_array()) return "";
  std::string out;
  for (auto& e : (*j)["errors"]) {
    if (!e.is_object()) continue;
    std::string code = json_string(e, "code"), msg = json_string(e, "message");
    if (!out.empty()) out += "; ";
    out += code.empty() ? msg : (msg.empty() ? code : code + ": " + msg);
  }
  return out;
}

std::string url_escape(CURL* c, const std::string& s) {
  char* e = curl_easy_escape(c, s.c_str(), int(s.size()));
  std::string out = e ? e : "";
  curl_free(e);
  return out;
}

// A TLS alert from the server, such as OpenSSL's "sslv3 alert bad certificate" for a
// client certificate it wants or refuses: it comes as a receive error, but asking again
// only gets the same answer.
bool tls_alert(const Response& r) {
  return r.curl != CURLE_OK && r.curl_error.find(" alert ") != std::string::npos;
}

// An https request answered in plain HTTP (OpenSSL reads "HTTP/1.1 400" as a record).
bool answered_in_plain_http(const Response& r) {
  return r.curl == CURLE_SSL_CONNECT_ERROR &&
         (r.curl_error.find("wrong version number") != std::string::npos ||
          r.curl_error.find("packet length too long") != std::string::npos);
}

// A plain-HTTP request answered by a TLS server: Go's (docker-registry's) words, nginx's.
bool tls_server_got_plain_http(const Response& r) {
  return r.status == 400 &&
         (r.body.find("HTTP request to an HTTPS server") != std::string::npos ||
          r.body.find("plain HTTP request was sent to HTTPS port") != std::string::npos);
}

// curl's own CA bundle (the system's), to add certs.d's CAs to: CURLOPT_CAINFO_BLOB
// replaces the bundle, and no option adds to it. Empty when there is none.
std::string system_ca_bundle() {
  CurlPtr c(curl_easy_init());
  char* path = nullptr;
  if (!c || curl_easy_getinfo(c.get(), CURLINFO_CAINFO, &path) != CURLE_OK || !path) return "";
  auto pem = fs::read_file(path);
  return pem ? *pem : "";
}

bool transient(const Response& r) {
  if (tls_alert(r)) return false;
  if (r.curl != CURLE_OK) {
    switch (r.curl) {
      case CURLE_COULDNT_CONNECT:
      case CURLE_RECV_ERROR:
      case CURLE_SEND_ERROR:
      case CURLE_PARTIAL_FILE:
      case CURLE_OPERATION_TIMEDOUT:
      case CURLE_GOT_NOTHING:
      case CURLE_HTTP2:
      case CURLE_HTTP2_STREAM:
        return true;
      default:
        return false;
    }
  }
  return r.status >= 500 || r.status == 429 || r.status == 408;
}

void backoff(int attempt, const Response& r) {
  int ms = 200 << attempt;  // 200, 400, 800, 1600 ms
  if (auto it = r.headers.find("retry-after"); it != r.headers.end())
    if (auto s = parse_int<int>(it->second)) ms = std::min(*s, 30) * 1000;
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

}  // namespace

std::pair<std::string, std::map<std::string, std::string>> parse_challenge(std::string_view h) {
  std::map<std::string, std::string> params;
  auto sp = h.find(' ');
  std::string scheme(h.substr(0, sp));
  for (auto& c : scheme) c = char(tolower(c));
  if (sp == std::string_view::npos) return {scheme, params};
  std::string_view rest = h.substr(sp + 1);
  while (!rest.empty()) {
    rest = trim(rest);
    auto eq = rest.find('=');
    if (eq == std::string_view::npos) break;
    std::string key(trim(rest.substr(0, eq)));
    for (auto& c : key) c = char(tolower(c));
    rest = rest.substr(eq + 1);
    std::string value;
    if (!rest.empty() && rest.front() == '"') {
      size_t i = 1;
      for (; i < rest.size() && rest[i] != '"'; ++i) {
        if (rest[i] == '\\' && i + 1 < rest.size()) ++i;
        value += rest[i];
      }
      rest = rest.substr(std::min(rest.size(), i + 1));
    } else {
      auto comma = rest.find(',');
      value = std::string(trim(rest.substr(0, comma)));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma);
    }
    params[key] = value;
    auto comma = rest.find(',');
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  return {scheme, params};
}

struct Registry::Shared {
  // Connections, TLS sessions and DNS answers shared by every request of this pull,
  // from any thread: curl calls lock/unlock around each use.
  CURLSH* share = nullptr;
  std::array<std::mutex, CURL_LOCK_DATA_LAST> share_mu;

  Shared() {
    share = curl_share_init();
    if (!share) return;
    curl_share_setopt(share, CURLSHOPT_LOCKFUNC, lock_cb);
    curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, unlock_cb);
    curl_share_setopt(share, CURLSHOPT_USERDATA, this);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  }
  ~Shared() {
    if (share) curl_share_cleanup(share);
  }
  Shared(const Shared&) = delete;
  Shared& operator=(const Shared&) = delete;

  static void lock_cb(CURL*, curl_lock_data d, curl_lock_access, void* ud) {
    static_cast<Shared*>(ud)->share_mu[size_t(d) % CURL_LOCK_DATA_LAST].lock();
  }
  static void unlock_cb(CURL*, curl_lock_data d, void* ud) {
    static_cast<Shared*>(ud)->share_mu[size_t(d) % CURL_LOCK_DATA_LAST].unlock();
  }

  std::mutex mu;
  std::string authorization;  // "Authorization: ..." or empty
  std::optional<Credentials> creds;
  std::string scheme;  // "bearer", "basic" or "" (anonymous)
  std::map<std::string, std::string> challenge;
  std::string registry;

  Tls tls;
  std::string certs_found;     // the certs.d (or --cert-dir) directory in use, or ""
  std::string certs_hint;      // where this registry's certificates go, for error messages
  bool may_fall_back = false;  // unverified: an https request answered in plain HTTP ->
                               // plain HTTP, as docker and podman do for insecure registries

  // curl's complaint, with what to do about it for the TLS failures a user can fix.
  std::string transport_error(const Response& r, bool https) const {
    const std::string& e = r.curl_error;
    switch (r.curl) {
      case CURLE_PEER_FAILED_VERIFICATION:
        if (tls.ca_pem.empty())
          return fmt::format(
              "TLS certificate of registry {} is not trusted ({}): put the CA certificate that "
              "signed it in {}/ca.crt, or pass --tls-verify=false to skip verification",
              registry, e, certs_hint);
        return fmt::format(
            "TLS certificate of registry {} is not trusted ({}) by the system's CA certificates "
            "nor by those in {} (*.crt): put the CA certificate that signed it there, or pass "
            "--tls-verify=false to skip verification",
            registry, e, certs_found);
      case CURLE_SSL_CERTPROBLEM:
        return fmt::format("client certificate {} (key {}): {}", tls.cert, tls.key, e);
      case CURLE_SSL_CACERT_BADFILE:
        return fmt::format("CA certificates in {} (*.crt): {}", certs_found, e);
      default:
        break;
    }
    if (tls_alert(r)) {
      if (tls.cert.empty())
        return fmt::format(
            "registry {} wants a TLS client certificate ({}): put it in {} as NAME.cert with "
            "its key as NAME.key",
            registry, e, certs_hint);
      return fmt::format("registry {} refused the TLS client certificate {} ({})", registry,
                         tls.cert, e);
    }
    if (answered_in_plain_http(r))
      return fmt::format(
          "registry {} does not speak TLS: it answered an https request in plain HTTP ({}){}; "
          "for a plain-HTTP registry pass --tls-verify=false or --insecure-registry {}",
          registry, e,
          certs_found.empty() ? "" : fmt::format(" (hull used https because of {})", certs_found),
          registry);
    // Unverified, hull already speaks plain HTTP to a registry that answers in it.
    return e + (https && tls.verify ? " (for a plain-HTTP registry use --insecure-registry)" : "");
  }

  // The server's answer to a plain-HTTP request it wanted in TLS.
  std::string wants_tls_error() const {
    return fmt::format(
        "registry {} speaks TLS but hull spoke plain HTTP to it, as to any loopback registry "
        "without certificates: put the CA certificate that signed its certificate in {}/ca.crt "
        "(hull then uses https), or pass --tls-verify=false to use https without verification",
        registry, certs_hint);
  }

  // Decided by the first contact's answer (may_fall_back is then cleared): plain HTTP
  // also when nothing listens for https, so a registry named without a port is tried on
  // port 80 after 443, as docker does.
  bool fall_back(const Response& r) {
    bool go = may_fall_back && (answered_in_plain_http(r) || r.curl == CURLE_COULDNT_CONNECT);
    may_fall_back = false;
    if (go)
      log::debug("registry {}: https failed ({}); unverified, so trying plain HTTP", registry,
                 r.curl_error);
    return go;
  }

  // Answers a 401: the challenge it carries sets the scheme (a pull makes no /v2/ ping
  // first: its first request, the manifest, learns the scheme from its 401, as
  // containerd's resolver does), then the credentials or a fresh Bearer token are
  // fetched. False when nothing can be done (no challenge and no scheme known): the
  // 401 then stands and is reported as such.
  Result<bool> answer(CURL* c, const Response& r, const std::string& scope) {
    {
      std::lock_guard lk(mu);
      if (auto it = r.headers.find("www-authenticate"); it != r.headers.end()) {
        auto [sch, params] = parse_challenge(it->second);
        if (sch != "bearer" && sch != "basic")
          return failf("registry {}: unsupported auth scheme {:?}", registry, sch);
        scheme = sch;
        challenge = params;
      }
      if (scheme.empty()) return false;
      if (scheme == "basic" && !creds)
        return failf("unauthorized: registry {} requires authentication; run hull login {}",
                     registry, registry);
    }
    HULL_CHECK(refresh(c, scope));
    return true;
  }

  // Fetches a Bearer token for the pull scope; Basic credentials go to the token server.
  Status refresh(CURL* c, const std::string& scope) {
    std::lock_guard lk(mu);
    if (scheme == "basic") {
      if (!creds) return fail("no credentials");
      authorization =
          "Authorization: Basic " + base64_encode(creds->username + ":" + creds->password);
      return {};
    }
    if (scheme != "bearer") return {};
    std::string realm = challenge["realm"];
    if (realm.empty()) return failf("registry {}: Bearer challenge without a realm", registry);
    if (!realm.starts_with("http://") && !realm.starts_with("https://"))
      return failf("registry {}: token realm {:?} is not an http(s) URL", registry, realm);
    std::string url = realm + (realm.find('?') == std::string::npos ? "?" : "&");
    bool first = true;
    if (auto it = challenge.find("service"); it != challenge.end()) {
      url += "service=" + url_escape(c, it->second);
      first = false;
    }
    if (!scope.empty()) url += std::string(first ? "" : "&") + "scope=" + url_escape(c, scope);
    std::vector<std::string> hdrs;
    if (creds)
      hdrs.push_back("Authorization: Basic " +
                     base64_encode(creds->username + ":" + creds->password));
    std::string body;
    Response r;
    for (int attempt = 0;; ++attempt) {
      body.clear();
      r = perform(c, share, tls, url, hdrs, [&](const char* d, size_t n) {
        if (body.size() + n > (1 << 20)) return false;
        body.append(d, n);
        return true;
      });
      if (!transient(r) || attempt + 1 >= kAttempts) break;
      backoff(attempt, r);
    }
    if (r.curl != CURLE_OK) return failf("token server {}: {}", realm, transport_error(r, false));
    if (r.status == 401 || r.status == 403)
      return failf("unauthorized: token server {} refused {} (HTTP {}){}", realm,
                   creds ? "the credentials" : "anonymous access", r.status,
                   creds ? "" : "; run hull login");
    if (r.status != 200) return failf("token server {}: HTTP {}", realm, r.status);
    auto j = HULL_TRY(parse_json(body, "token response"));
    std::string token = json_string(j, "token", json_string(j, "access_token"));
    if (token.empty()) return failf("token server {}: no token in the answer", realm);
    authorization = "Authorization: Bearer " + token;
    return {};
  }

  std::vector<std::string> headers(std::vector<std::string> extra = {}) {
    std::lock_guard lk(mu);
    if (!authorization.empty()) extra.push_back(authorization);
    return extra;
  }
};

Registry::Registry(Registry&&) noexcept = default;
Registry::~Registry() = default;

Result<Registry> Registry::connect(const Reference& ref, const RegistryOptions& opts) {
  global_init();
  Registry reg;
  reg.ref_ = ref;
  reg.s_ = std::make_unique<Shared>();
  // docker.io may be served by a mirror (docker's registry-mirrors): names stay
  // docker.io/..., requests, certificates, TLS choice and credentials are the mirror's.
  // A registry-mirrors URL names its scheme; HULL_REGISTRY_MIRROR stands for docker.io
  // itself (host[:port], the scheme chosen as for any registry).
  std::string host = ref.registry;
  std::string_view scheme;  // the mirror URL's, else chosen below
  if (!opts.mirror.empty()) {
    size_t sep = opts.mirror.find("://");
    if (sep == std::string::npos) return failf("registry mirror {:?} has no scheme", opts.mirror);
    scheme = std::string_view(opts.mirror).substr(0, sep);
    host = opts.mirror.substr(sep + 3);
  } else if (const char* m = ::getenv("HULL_REGISTRY_MIRROR");
             m && *m && ref.registry == "docker.io") {
    if (auto why = registry_problem(m); !why.empty())
      return failf("HULL_REGISTRY_MIRROR {:?}: {}", m, why);
    host = m;
  }
  reg.host_ = registry_endpoint_host(host);
  reg.s_->registry = host;
  auto roots = opts.cert_roots.empty() ? default_cert_roots() : opts.cert_roots;
  auto certs = HULL_TRY(
      with_context(find_certs(host, opts.cert_dir, roots), fmt::format("registry {}", host)));
  bool insecure = opts.tls_verify ? !*opts.tls_verify : opts.insecure.matches(host);
  // Loopback registries are plain HTTP unless something asks for TLS: a certs.d entry (as
  // podman), --tls-verify, or an insecure registry (https first, then plain HTTP). A
  // mirror's URL says which.
  bool plain = scheme.empty()
                   ? is_loopback_registry(host) && !certs && !insecure && !opts.tls_verify
                   : scheme == "http";
  reg.base_ = (plain ? "http://" : "https://") + reg.host_;
  Shared& s = *reg.s_;
  s.tls.verify = !insecure;
  s.may_fall_back = insecure && !plain;
  s.certs_hint = !opts.cert_dir.empty() ? opts.cert_dir : roots.front() + "/" + host;
  if (certs) {
    s.certs_found = certs->dir;
    s.certs_hint = certs->dir;
    s.tls.cert = certs->cert;
    s.tls.key = certs->key;
    if (!certs->ca_files.empty()) {
      s.tls.ca_pem = system_ca_bundle();
      for (auto& f : certs->ca_files) {
        auto pem = HULL_TRY(with_context(fs::read_file(f), fmt::format("registry {}", host)));
        s.tls.ca_pem += "\n" + pem;
      }
    }
  }
  if (opts.credentials) {
    reg.s_->creds = opts.credentials;
  } else {
    auto creds = find_credentials(host, opts.auth_file);
    if (!creds) return std::unexpected(creds.error());
    reg.s_->creds = *creds;
  }
  return reg;
}

namespace {

// docker's spelling of what went wrong for a status code.
Error http_error(const Response& r, const Reference& ref, const std::string& what) {
  std::string detail = registry_message(r.body);
  std::string tail = detail.empty() ? "" : " (" + detail + ")";
  switch (r.status) {
    case 401:
      return Error{EACCES, fmt::format("unauthorized: authentication required to pull {} from {}"
                                       "{}; run hull login {}",
                                       ref.repository, ref.registry, tail, ref.registry)};
    case 403:
      return Error{
          EACCES, fmt::format("denied: access to {} in {} is forbidden{}", what, ref.name(), tail)};
    case 404:
      return Error{ENOENT, fmt::format("{} not found in {}{}", what, ref.name(), tail)};
    case 429:
      return Error{EAGAIN,
                   fmt::format("toomanyrequests: registry {} rate-limits pulls{}; retry later",
                               ref.registry, tail)};
    default:
      return Error{EIO, fmt::format("{} from {}: HTTP {}{}", what, ref.name(), r.status, tail)};
  }
}

}  // namespace

Status Registry::check() {
  CurlPtr c(curl_easy_init());
  if (!c) return fail("curl_easy_init failed", ENOMEM);
  Response r;
  bool answered = false;
  for (int attempt = 0;; ++attempt) {
    r = perform(c.get(), s_->share, s_->tls, base_ + "/v2/", s_->headers(), nullptr);
    if (s_->fall_back(r)) {
      base_ = "http://" + host_;
      continue;
    }
    if (r.status == 401 && !answered) {
      answered = true;
      if (HULL_TRY(s_->answer(c.get(), r, ""))) continue;
    }
    if (!transient(r) || attempt + 1 >= kAttempts) break;
    backoff(attempt, r);
  }
  if (r.curl != CURLE_OK)
    return failf("registry {}: {}/v2/: {}", ref_.registry, base_,
                 s_->transport_error(r, base_.starts_with("https://")));
  if (tls_server_got_plain_http(r)) return fail(s_->wants_tls_error());
  if (r.status == 401 || r.status == 403)
    return std::unexpected(Error{EACCES, fmt::format("login to {} failed: unauthorized: wrong "
                                                     "username or password",
                                                     ref_.registry)});
  if (r.status != 200)
    return failf("registry {}: {}/v2/: HTTP {}{}", ref_.registry, base_, r.status,
                 r.status == 404 ? " (not a v2 registry?)" : "");
  return {};
}

struct Registry::Small {
  Response r;
  std::string body;
};

Result<Registry::Small> Registry::get_small(void* curl, const std::string& path,
                                            const std::vector<std::string>& extra_headers) {
  auto* c = static_cast<CURL*>(curl);
  Small out;
  bool refreshed = false;
  for (int attempt = 0;; ++attempt) {
    out.body.clear();
    out.r = perform(c, s_->share, s_->tls, base_ + path, s_->headers(extra_headers),
                    [&](const char* d, size_t n) {
                      if (out.body.size() + n > (4 << 20)) return false;  // small; refuse floods
                      out.body.append(d, n);
                      return true;
                    });
    if (s_->fall_back(out.r)) {
      base_ = "http://" + host_;
      continue;
    }
    if (out.r.status == 401 && !refreshed) {
      refreshed = true;
      if (HULL_TRY(s_->answer(c, out.r, "repository:" + ref_.repository + ":pull"))) continue;
    }
    if (!transient(out.r) || attempt + 1 >= kAttempts) break;
    backoff(attempt, out.r);
  }
  return out;
}

Result<std::vector<std::string>> Registry::tags() {
  CurlPtr c(curl_easy_init());
  if (!c) return fail("curl_easy_init failed", ENOMEM);
  std::vector<std::string> out;
  std::string path = fmt::format("/v2/{}/tags/list", ref_.repository);
  // A registry pages the list with Link: <path?n=..&last=..>; rel="next" (the
  // distribution spec); the number of pages is bounded so a hostile one cannot loop.
  for (int page = 0; !path.empty(); ++page) {
    if (page >= 1000) return failf("tags of {}: more than 1000 pages", ref_.name());
    auto [r, body] = HULL_TRY(get_small(c.get(), path, {}));
    if (r.curl == CURLE_WRITE_ERROR) return failf("tags of {}: larger than 4 MiB", ref_.name());
    if (r.curl != CURLE_OK)
      return failf("tags of {}: {}", ref_.name(),
                   s_->transport_error(r, base_.starts_with("https://")));
    if (tls_server_got_plain_http(r)) return fail(s_->wants_tls_error());
    if (r.status != 200) return std::unexpected(http_error(r, ref_, "tags"));
    auto doc = HULL_TRY(parse_json(body, fmt::format("tags of {}", ref_.name())));
    if (doc.is_object() && doc.contains("tags") && doc["tags"].is_array())
      for (auto& t : doc["tags"])
        if (t.is_string()) out.push_back(t.get<std::string>());
    path.clear();
    if (auto link = r.headers.find("link"); link != r.headers.end()) {
      std::string_view l = link->second;
      size_t open = l.find('<'), close = l.find('>');
      if (open != std::string_view::npos && close != std::string_view::npos && open < close &&
          l.find("rel=\"next\"") != std::string_view::npos && l.substr(open + 1).starts_with('/'))
        path = std::string(l.substr(open + 1, close - open - 1));
    }
  }
  std::ranges::sort(out);
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<Manifest> Registry::manifest(std::string_view reference) {
  CurlPtr c(curl_easy_init());
  if (!c) return fail("curl_easy_init failed", ENOMEM);
  std::vector<std::string> accept = {
      fmt::format("Accept: {}, {}, {}, {}", kOciIndex, kDockerList, kOciManifest, kDockerManifest)};
  auto [r, body] = HULL_TRY(
      get_small(c.get(), fmt::format("/v2/{}/manifests/{}", ref_.repository, reference), accept));
  if (r.curl == CURLE_WRITE_ERROR)
    return failf("manifest {} of {}: larger than 4 MiB", reference, ref_.name());
  if (r.curl != CURLE_OK)
    return failf("manifest {} of {}: {}", reference, ref_.name(),
                 s_->transport_error(r, base_.starts_with("https://")));
  if (tls_server_got_plain_http(r)) return fail(s_->wants_tls_error());
  if (r.status != 200)
    return std::unexpected(http_error(r, ref_, fmt::format("manifest {}", reference)));
  Manifest m;
  m.body = std::move(body);
  m.digest = "sha256:" + Sha256::hex(m.body);
  if (reference.starts_with("sha256:") && m.digest != reference)
    return failf("manifest {} of {}: digest mismatch: content is {}", reference, ref_.name(),
                 m.digest);
  auto ct = r.headers.find("content-type");
  m.media_type = ct != r.headers.end()
                     ? std::string(trim(ct->second.substr(0, ct->second.find(';'))))
                     : std::string();
  return m;
}

Result<std::string> Registry::small_blob(const std::string& digest, int64_t max_size) {
  std::string data;  // collected in memory, at most max_size bytes
  CurlPtr c(curl_easy_init());
  if (!c) return fail("curl_easy_init failed", ENOMEM);
  std::string url = fmt::format("{}/v2/{}/blobs/{}", base_, ref_.repository, digest);
  Response r;
  bool refreshed = false;
  for (int attempt = 0;; ++attempt) {
    data.clear();
    r = perform(c.get(), s_->share, s_->tls, url, s_->headers(), [&](const char* d, size_t n) {
      if (int64_t(data.size() + n) > max_size) return false;
      data.append(d, n);
      return true;
    });
    if (r.status == 401 && !refreshed) {
      refreshed = true;
      if (HULL_TRY(s_->answer(c.get(), r, "repository:" + ref_.repository + ":pull"))) continue;
    }
    if (!transient(r) || attempt + 1 >= kAttempts) break;
    backoff(attempt, r);
  }
  if (r.curl == CURLE_WRITE_ERROR)
    return failf("blob {} of {}: larger than its descriptor's {} bytes", digest, ref_.name(),
                 max_size);
  if (r.curl != CURLE_OK)
    return failf("blob {} of {}: {}", digest, ref_.name(), s_->transport_error(r, false));
  if (r.status != 200) return std::unexpected(http_error(r, ref_, fmt::format("blob {}", digest)));
  std::string got = "sha256:" + Sha256::hex(data);
  if (got != digest)
    return failf("blob {} of {}: digest mismatch: content is {}", digest, ref_.name(), got);
  return data;
}

Status Registry::blob(const std::string& digest, int64_t size, const BlobSink& sink, Sha256& hash,
                      const std::function<void(int64_t)>& on_bytes,
                      const std::atomic<bool>& cancel) {
  CurlPtr c(curl_easy_init());
  if (!c) return fail("curl_easy_init failed", ENOMEM);
  std::string url = fmt::format("{}/v2/{}/blobs/{}", base_, ref_.repository, digest);
  int64_t have = 0;
  bool refreshed = false;
  Response r;
  std::string write_error;
  std::optional<Error> sink_error;
  for (int attempt = 0;; ++attempt) {
    int64_t start = have;
    bool first = true;
    int64_t skip = 0;
    r = perform(
        c.get(), s_->share, s_->tls, url, s_->headers(),
        [&](const char* d, size_t n) {
          if (cancel.load(std::memory_order_relaxed)) return false;
          if (first && start > 0) {
            // Asked for a range but got the whole blob: skip what the sink already has.
            // The stream only grows (pull's unpacker reads it as it does); should the
            // server's bytes differ from the first answer's, the digest check fails.
            long code = 0;
            curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &code);
            if (code == 200) skip = start;
          }
          first = false;
          if (skip > 0) {
            size_t k = size_t(std::min<int64_t>(skip, int64_t(n)));
            skip -= int64_t(k);
            d += k;
            n -= k;
            if (n == 0) return true;
          }
          if (size > 0 && have + int64_t(n) > size) {
            write_error = fmt::format("more than the {} bytes its descriptor says", size);
            return false;
          }
          if (auto st = sink(d, n); !st) {
            sink_error = st.error();
            return false;
          }
          hash.update(d, n);
          have += int64_t(n);
          if (on_bytes) on_bytes(have);
          return true;
        },
        have);
    if (cancel.load()) return fail("canceled", ECANCELED);
    if (sink_error)
      return std::unexpected(sink_error->wrap(fmt::format("blob {} of {}", digest, ref_.name())));
    if (!write_error.empty()) return failf("blob {} of {}: {}", digest, ref_.name(), write_error);
    if (r.status == 401 && !refreshed) {
      refreshed = true;
      if (HULL_TRY(s_->answer(c.get(), r, "repository:" + ref_.repository + ":pull"))) continue;
    }
    if (r.status == 416 && have == size) break;  // already complete
    if (r.curl == CURLE_OK && (r.status == 200 || r.status == 206)) break;
    if (!transient(r) || attempt + 1 >= kAttempts) break;
    log::debug("blob {}: {} after {} bytes; retrying", digest,
               r.curl != CURLE_OK ? r.curl_error : fmt::format("HTTP {}", r.status), have);
    backoff(attempt, r);
  }
  if (r.curl != CURLE_OK)
    return failf("blob {} of {}: {} after {} bytes", digest, ref_.name(),
                 s_->transport_error(r, false), have);
  if (r.status != 200 && r.status != 206 && !(r.status == 416 && have == size))
    return std::unexpected(http_error(r, ref_, fmt::format("blob {}", digest)));
  if (size > 0 && have != size)
    return failf("blob {} of {}: got {} bytes, its descriptor says {}", digest, ref_.name(), have,
                 size);
  return {};
}

}  // namespace hull::image
