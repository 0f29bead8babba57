#include "image/pull.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "common/json.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "image/reference.hpp"
#include "image/registries.hpp"
#include "image/registry.hpp"
#include "image/unpack.hpp"
#include "image/wrap.hpp"

namespace hull::image {
namespace {

constexpr int64_t kMaxConfig = 8 << 20;

const std::set<std::string_view> kLayerTypes = {
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
};
const std::set<std::string_view> kConfigTypes = {
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
};

struct Descriptor {
  std::string media_type, digest;
  int64_t size = 0;
};

Result<Descriptor> descriptor(const Json& j, const char* what) {
  if (!j.is_object()) return failf("{}: descriptor is not an object", what);
  Descriptor d;
  d.media_type = json_string(j, "mediaType");
  d.digest = json_string(j, "digest");
  if (!j.contains("size") || !j["size"].is_number_integer() || j["size"].get<int64_t>() < 0)
    return failf("{}: descriptor {} has no valid size", what, d.digest);
  d.size = j["size"].get<int64_t>();
  if (!valid_digest(d.digest)) return failf("{}: unsupported digest {:?}", what, d.digest);
  return d;
}

// What a manifest is, from the Content-Type or, failing that, its own mediaType field.
std::string kind_of(const Manifest& m, const Json& body) {
  std::string t = m.media_type;
  if (t.empty() || t == "application/json" || t == "text/plain" || t == "application/octet-stream")
    t = json_string(body, "mediaType");
  if (t.empty() && body.is_object()) {
    if (body.contains("manifests")) return kOciIndex;
    if (body.contains("layers")) return kOciManifest;
  }
  return t;
}

Result<Descriptor> pick_platform(const Json& index, const std::string& want_s, bool explicit_p) {
  auto want = HULL_TRY(parse_platform(want_s));
  if (!index.contains("manifests") || !index["manifests"].is_array())
    return fail("image index has no manifests array");
  std::vector<std::string> seen;
  std::optional<Descriptor> loose;
  for (auto& m : index["manifests"]) {
    auto d = HULL_TRY(descriptor(m, "image index"));
    const Json& p = json_object(m, "platform");
    std::string os = json_string(p, "os"), arch = json_string(p, "architecture"),
                variant = json_string(p, "variant");
    if (os.empty() && arch.empty()) continue;  // attestations and other artifacts
    seen.push_back(os + "/" + arch + (variant.empty() ? "" : "/" + variant));
    if (os != want.os || arch != want.arch) continue;
    bool v8 = want.arch == "arm64" && (variant.empty() || variant == "v8") &&
              (want.variant.empty() || want.variant == "v8");
    if (variant == want.variant || v8) return d;
    if (!loose && (!explicit_p || want.variant.empty())) loose = d;
  }
  if (loose) return *loose;
  std::string have;
  for (auto& s : seen) have += (have.empty() ? "" : ", ") + s;
  return failf("no matching manifest for {} in the manifest list entries (has: {})", want_s,
               have.empty() ? "none" : have);
}

// Per-phase timestamps for `hull --debug pull` (bench/pull prints them): milliseconds
// since the pull began.
struct Phases {
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  void mark(std::string_view what) const {
    if (!log::debug_enabled()) return;
    auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0);
    log::debug("pull +{:.1f} ms: {}", ms.count(), what);
  }
};

// A blob on its way into ROOT/tmp and, from memory, to its unpacker. curl hands the
// body over in 16 KiB pieces; they are gathered into 128 KiB chunks, each written to the
// temp file with one write() and then queued for the unpacker, so the unpacker never
// reads the file back and the download makes 8 times fewer syscalls and wake-ups.
// At most kQueued chunks wait: a download that runs ahead of its unpack waits for it.
// Once the unpacker has stopped (done or failed), chunks only go to the file: a
// failed unpack still lets the download finish, to report a corrupt blob as such.
class BlobStream {
 public:
  static constexpr size_t kChunk = 128 << 10;
  static constexpr size_t kQueued = 4;

  explicit BlobStream(int fd) : fd_(fd) {}

  // The download's sink.
  Status append(const char* data, size_t n) {
    while (n > 0) {
      if (!cur_) cur_ = take_free();
      size_t k = std::min(n, kChunk - cur_->size());
      cur_->insert(cur_->end(), data, data + k);
      data += k, n -= k;
      if (cur_->size() == kChunk) HULL_CHECK(flush());
    }
    return {};
  }

  // The end of the download: what is left goes to the file, and the unpacker sees the
  // end (ok) or an error.
  Status finish(bool ok) {
    Status st = cur_ && !cur_->empty() ? flush() : Status{};
    {
      std::lock_guard lk(mu_);
      done_ = true;
      failed_ = !ok || !st;
    }
    cv_.notify_all();
    return st;
  }

  // The unpacker's source: the chunks in order, waiting for the next.
  ReadFn reader() {
    return [this](char* buf, size_t len) -> Result<size_t> {
      std::unique_lock lk(mu_);
      for (;;) {
        if (failed_) return fail("download failed", ECANCELED);
        if (!queue_.empty()) break;
        if (done_) return size_t(0);
        ++waiting_;
        cv_.wait(lk);
        --waiting_;
      }
      std::vector<char>& front = *queue_.front();
      size_t k = std::min(len, front.size() - read_off_);
      memcpy(buf, front.data() + read_off_, k);
      read_off_ += k;
      if (read_off_ == front.size()) {
        read_off_ = 0;
        recycle(std::move(queue_.front()));
        queue_.pop_front();
        if (waiting_) cv_.notify_all();  // a download waiting for room
      }
      return k;
    };
  }

  // The unpacker is done with the stream, whatever its outcome: nothing is queued any
  // more and a download waiting for room goes on.
  void reader_gone() {
    {
      std::lock_guard lk(mu_);
      reader_gone_ = true;
      queue_.clear();
    }
    cv_.notify_all();
  }

 private:
  using Chunk = std::unique_ptr<std::vector<char>>;

  Chunk take_free() {
    std::lock_guard lk(mu_);
    if (!free_.empty()) {
      Chunk c = std::move(free_.back());
      free_.pop_back();
      return c;
    }
    auto c = std::make_unique<std::vector<char>>();
    c->reserve(kChunk);
    return c;
  }
  void recycle(Chunk c) {  // under mu_
    c->clear();
    free_.push_back(std::move(c));
  }

  Status flush() {
    for (size_t off = 0; off < cur_->size();) {
      ssize_t w = ::write(fd_, cur_->data() + off, cur_->size() - off);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return sys_fail("write downloading blob");
      off += size_t(w);
    }
    std::unique_lock lk(mu_);
    if (reader_gone_) {
      recycle(std::move(cur_));
      return {};
    }
    while (queue_.size() >= kQueued && !reader_gone_) {
      ++waiting_;
      cv_.wait(lk);
      --waiting_;
    }
    if (reader_gone_) {
      recycle(std::move(cur_));
      return {};
    }
    queue_.push_back(std::move(cur_));
    bool sleeper = waiting_ > 0;  // the unpacker waiting for bytes
    lk.unlock();
    if (sleeper) cv_.notify_all();
    return {};
  }

  int fd_;
  Chunk cur_;  // being filled by the download thread (not under mu_)
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Chunk> queue_;
  std::vector<Chunk> free_;
  size_t read_off_ = 0;  // into queue_.front()
  int waiting_ = 0;      // threads in cv_.wait
  bool done_ = false, failed_ = false, reader_gone_ = false;
};

// What the config says about each layer once it has arrived: the diff id to verify, or
// that the store has the layer already.
struct Expect {
  std::string diff_id;
  bool have = false;
};
using Plan = std::shared_future<Result<std::vector<Expect>>>;

// Downloads one layer blob while unpacking it: the bytes go through sha256 into a temp
// file, and a second thread unpacks that file as it grows (gunzip, tar, diff id). The
// blob is renamed into the store and the layer committed only when both digests match;
// on any failure both temp files go. A failed unpack lets the download finish first, so
// a corrupted blob is reported as the digest mismatch it is. Returns whether it added the
// layer (false: the config showed the store had it, and only the blob was new).
Result<bool> download_and_unpack(Store& store, Registry& reg, const Reference& ref,
                                 const Descriptor& d, const Plan& plan, size_t idx,
                                 std::atomic<bool>& cancel,
                                 const std::function<void(Progress)>& emit, const Phases& phases) {
  auto [tmp, fd] = HULL_TRY(store.temp_file());
  struct Unlink {
    std::string path;
    ~Unlink() {
      if (!path.empty()) ::unlink(path.c_str());
    }
  } tmp_guard{tmp};
  BlobStream stream(fd.get());
  // The download may start before the config is in: the unpack does not wait for it,
  // its diff id is checked against the config's once both are done.
  std::optional<Result<StagedLayer>> staged;
  std::thread unpacker([&] {
    staged = store.stage_layer(stream.reader(), "", d.digest);
    stream.reader_gone();
    phases.mark(fmt::format("layer {} unpacked", d.digest.substr(7, 12)));
  });

  Sha256 hash;
  emit({d.digest, Progress::Phase::downloading, 0, d.size, "Downloading"});
  auto got = reg.blob(
      d.digest, d.size, [&](const char* p, size_t n) { return stream.append(p, n); }, hash,
      [&, shown = int64_t(0)](int64_t have) mutable {
        // curl hands over 16 KiB at a time: a progress line per 256 KiB is plenty.
        if (have - shown < (256 << 10) && have != d.size) return;
        shown = have;
        emit({d.digest, Progress::Phase::downloading, have, d.size, "Downloading"});
      },
      cancel);
  std::string digest = got ? "sha256:" + hash.hex_final() : "";
  phases.mark(fmt::format("layer {} downloaded ({} bytes)", d.digest.substr(7, 12), d.size));
  auto flushed = stream.finish(got && digest == d.digest);
  emit({d.digest, Progress::Phase::extracting, d.size, d.size, "Extracting"});
  unpacker.join();
  if (!got) return std::unexpected(got.error());
  if (!flushed) return std::unexpected(flushed.error());
  if (digest != d.digest)
    return failf("blob {} of {}: digest mismatch: downloaded content is {} (nothing stored)",
                 d.digest, ref.name(), digest);
  const auto& expect = plan.get();
  if (!expect) return std::unexpected(Error{ECANCELED, "no config"});
  const Expect& want = (*expect)[idx];
  if (!want.have) {
    if (!*staged) return std::unexpected(staged->error());
    if ((*staged)->diff_id() != want.diff_id)
      return failf("layer {}: diff id mismatch: config says {}, content is {}", d.digest,
                   want.diff_id, (*staged)->diff_id());
  }
  fd.reset();
  HULL_CHECK(store.commit_blob(tmp, d.digest));
  tmp_guard.path.clear();
  if (want.have) return false;  // the store had the layer: only the blob is new
  auto committed = store.commit_layer(std::move(**staged));
  if (!committed) {
    ::unlink(store.blob_path(d.digest).c_str());
    return std::unexpected(committed.error());
  }
  phases.mark(fmt::format("layer {} committed", d.digest.substr(7, 12)));
  return true;
}

// How a command reaches registries: hull.json's insecure registries with the
// --insecure-registry flags added, each checked before any request.
Result<RegistryOptions> registry_options(const RegistryAccess& access,
                                         const std::string& auth_file) {
  RegistryOptions ro{.insecure = registry_config().insecure,
                     .auth_file = auth_file,
                     .tls_verify = access.tls_verify,
                     .cert_dir = access.cert_dir};
  for (const auto& h : access.insecure_registries)
    if (auto st = ro.insecure.add(h); !st)
      return std::unexpected(st.error().wrap("--insecure-registry"));
  return ro;
}

// Connects to ref's registry and runs fn there. docker.io's repositories are tried on
// each registry-mirrors entry first, in order, then on docker.io itself (or on
// HULL_REGISTRY_MIRROR, which stands for it): a mirror that fails, because it is down or
// has not the image, passes on to the next, as in docker's pull. The last error stands,
// the mirrors' after it.
template <class T>
Result<std::pair<Registry, T>> on_first_endpoint(const Reference& ref, RegistryOptions ro,
                                                 const std::function<Result<T>(Registry&)>& fn) {
  std::vector<std::string> endpoints;
  if (ref.registry == "docker.io") endpoints = registry_config().mirrors;
  endpoints.emplace_back();  // the registry itself
  std::string mirrors_failed;
  for (size_t i = 0;; ++i) {
    ro.mirror = endpoints[i];
    auto r = [&]() -> Result<std::pair<Registry, T>> {
      auto reg = HULL_TRY(Registry::connect(ref, ro));
      T v = HULL_TRY(fn(reg));
      return std::pair<Registry, T>(std::move(reg), std::move(v));
    }();
    if (r) return r;
    if (i + 1 == endpoints.size()) {
      if (mirrors_failed.empty()) return r;
      return fail(
          fmt::format("{} (registry mirrors tried first: {})", r.error().message, mirrors_failed),
          r.error().code);
    }
    log::debug("registry mirror {} failed for {}: {}; trying the next", endpoints[i], ref.str(),
               r.error().message);
    mirrors_failed += fmt::format("{}{}: {}", mirrors_failed.empty() ? "" : "; ", endpoints[i],
                                  r.error().message);
  }
}

}  // namespace

Result<std::string> pull(Store& store, std::string_view ref, const PullOptions& opts) {
  return pull([&]() -> Result<Store*> { return &store; }, ref, opts);
}

Result<std::string> pull(const StoreSource& store_source, std::string_view ref_str,
                         const PullOptions& opts) {
  Phases phases;
  auto ref = HULL_TRY(parse_reference(ref_str));
  // Before any request: a bad platform is the error, not what the registry answers.
  std::optional<Platform> asked;
  if (!opts.platform.empty()) asked = HULL_TRY(parse_platform(opts.platform));
  std::mutex progress_mu;
  auto emit = [&](Progress p) {
    if (!opts.progress) return;
    std::lock_guard lk(progress_mu);
    opts.progress(p);
  };
  emit({"", Progress::Phase::resolving, 0, 0,
        fmt::format("{}: Pulling from {}", ref.digest.empty() ? ref.tag : ref.digest,
                    ref.familiar_name() == ref.name() ? ref.repository : ref.familiar_name())});
  auto ro = HULL_TRY(registry_options(opts.access, opts.auth_file));
  auto found = HULL_TRY(on_first_endpoint<Manifest>(
      ref, std::move(ro), [&](Registry& r) { return r.manifest(ref.reference()); }));
  Registry& reg = found.first;
  Manifest top = std::move(found.second);
  phases.mark("manifest");
  auto top_json = HULL_TRY(parse_json(top.body, fmt::format("manifest of {}", ref.str())));
  std::string kind = kind_of(top, top_json);
  Manifest man = top;
  Json man_json = top_json;
  const bool from_index = kind == kOciIndex || kind == kDockerList;
  if (from_index) {
    bool explicit_p = !opts.platform.empty();
    auto d = HULL_TRY(with_context(
        pick_platform(top_json, explicit_p ? opts.platform : host_platform(), explicit_p),
        ref.str()));
    man = HULL_TRY(reg.manifest(d.digest));
    man_json = HULL_TRY(parse_json(man.body, fmt::format("manifest {}", d.digest)));
    kind = kind_of(man, man_json);
    if (kind.empty()) kind = d.media_type;
  }
  if (kind.starts_with("application/vnd.docker.distribution.manifest.v1"))
    return failf(
        "{}: unsupported manifest media type {} (Docker schema 1 is deprecated; push the "
        "image again with a current tool)",
        ref.str(), kind);
  if (kind != kOciManifest && kind != kDockerManifest)
    return failf("{}: unsupported manifest media type {:?}", ref.str(), kind);
  if (!man_json.is_object() || !man_json.contains("config") || !man_json.contains("layers") ||
      !man_json["layers"].is_array())
    return failf("{}: manifest {} lacks config or layers", ref.str(), man.digest);
  auto cfg_desc = HULL_TRY(descriptor(man_json["config"], "manifest config"));
  if (!cfg_desc.media_type.empty() && !kConfigTypes.contains(cfg_desc.media_type))
    return failf("{}: unsupported config media type {:?} (not a container image)", ref.str(),
                 cfg_desc.media_type);
  std::vector<Descriptor> layer_descs;
  for (auto& l : man_json["layers"]) {
    auto d = HULL_TRY(descriptor(l, "manifest layer"));
    if (!kLayerTypes.contains(d.media_type))
      return failf("{}: unsupported layer media type {:?} for {}", ref.str(), d.media_type,
                   d.digest);
    layer_descs.push_back(d);
  }
  if (cfg_desc.size > kMaxConfig)
    return failf("{}: config {} is {} bytes, over the {} byte limit", ref.str(), cfg_desc.digest,
                 cfg_desc.size, kMaxConfig);
  Store& store = *HULL_TRY(store_source());
  phases.mark("store ready");

  // Blobs and layers this pull adds, removed again if it fails.
  std::mutex added_mu;
  std::vector<std::string> added_blobs, added_layers;
  auto undo = [&] {
    std::lock_guard lk(added_mu);
    (void)store.collect_garbage(added_blobs, added_layers);
  };

  // The config's diff ids tell which layers the store has. A config already stored is
  // read first; otherwise the layer downloads start at once and the config is fetched
  // alongside (one round trip less), the unpackers waiting for it.
  std::string cfg_text;
  std::vector<std::string> diff_ids;
  auto read_config = [&](bool fetch) -> Result<std::vector<Expect>> {
    if (fetch)
      cfg_text = HULL_TRY(reg.small_blob(cfg_desc.digest, cfg_desc.size));
    else
      cfg_text = HULL_TRY(store.read_blob(cfg_desc.digest));
    phases.mark("config");
    auto cfg = HULL_TRY(parse_json(cfg_text, fmt::format("config {}", cfg_desc.digest)));
    // A single-platform image carries its platform only in the config: an explicit
    // --platform must match it there (an index entry was matched already), as docker's.
    if (!from_index && asked) {
      std::string os = json_string(cfg, "os"), arch = json_string(cfg, "architecture");
      if (!os.empty() && !arch.empty() && (os != asked->os || arch != asked->arch))
        return failf("{}: the image is {}/{}, not the {} asked for with --platform", ref.str(), os,
                     arch, opts.platform);
    }
    if (cfg.is_object() && cfg.contains("rootfs") && cfg["rootfs"].is_object() &&
        cfg["rootfs"].contains("diff_ids") && cfg["rootfs"]["diff_ids"].is_array())
      for (auto& d : cfg["rootfs"]["diff_ids"])
        diff_ids.push_back(d.is_string() ? d.get<std::string>() : "");
    if (diff_ids.size() != layer_descs.size())
      return failf("{}: config lists {} diff ids for {} layers", ref.str(), diff_ids.size(),
                   layer_descs.size());
    for (auto& d : diff_ids)
      if (!valid_digest(d)) return failf("{}: config has an invalid diff id {:?}", ref.str(), d);
    if (fetch) {
      HULL_TRY(store.put_blob(cfg_text));
      std::lock_guard lk(added_mu);
      added_blobs.push_back(cfg_desc.digest);
    }
    std::vector<Expect> out;
    for (auto& d : diff_ids) out.push_back({d, store.has_layer(d)});
    return out;
  };
  std::promise<Result<std::vector<Expect>>> plan_promise;
  Plan plan = plan_promise.get_future().share();
  bool early = !store.has_blob(cfg_desc.digest);
  if (!early) plan_promise.set_value(read_config(false));
  if (!early && !plan.get()) return std::unexpected(plan.get().error());

  struct Job {
    size_t idx;
    bool download;
  };
  std::vector<Job> jobs;
  for (size_t i = 0; i < layer_descs.size(); ++i) {
    auto& d = layer_descs[i];
    if (!early && (*plan.get())[i].have) {
      emit({d.digest, Progress::Phase::exists, d.size, d.size, "Already exists"});
      continue;
    }
    bool dl = !store.has_blob(d.digest);
    jobs.push_back({i, dl});
    emit({d.digest, Progress::Phase::waiting, 0, d.size, dl || early ? "Waiting" : "Extracting"});
  }
  // Biggest first: the pull ends when the last unpack does, and the biggest layer has
  // the longest one; with more layers than workers, small ones fill in behind it.
  std::stable_sort(jobs.begin(), jobs.end(), [&](const Job& a, const Job& b) {
    return layer_descs[a.idx].size > layer_descs[b.idx].size;
  });

  std::atomic<size_t> next{0};
  std::atomic<bool> cancel{false};
  std::mutex err_mu;
  std::optional<Error> first_error;
  auto failed = [&](const Error& e) {
    std::lock_guard lk(err_mu);
    if (!first_error && e.code != ECANCELED) first_error = e;
    cancel = true;
  };
  auto worker = [&] {
    for (;;) {
      size_t j = next.fetch_add(1);
      if (j >= jobs.size() || cancel.load()) return;
      size_t idx = jobs[j].idx;
      auto& d = layer_descs[idx];
      auto st = [&]() -> Status {
        bool added = false;
        if (jobs[j].download) {
          added =
              HULL_TRY(download_and_unpack(store, reg, ref, d, plan, idx, cancel, emit, phases));
          std::lock_guard lk(added_mu);
          added_blobs.push_back(d.digest);
        } else {
          const auto& expect = plan.get();
          if (!expect) return std::unexpected(Error{ECANCELED, "no config"});
          if (!(*expect)[idx].have) {
            emit({d.digest, Progress::Phase::extracting, d.size, d.size, "Extracting"});
            HULL_TRY(store.unpack_layer(d.digest, (*expect)[idx].diff_id));
            added = true;
          }
        }
        if (added) {
          std::lock_guard lk(added_mu);
          added_layers.push_back((*plan.get())[idx].diff_id);
        }
        emit({d.digest, added ? Progress::Phase::done : Progress::Phase::exists, d.size, d.size,
              added ? "Pull complete" : "Already exists"});
        return {};
      }();
      if (!st) {
        failed(st.error());
        return;
      }
    }
  };
  size_t nthreads = std::min<size_t>(size_t(std::max(1, opts.parallel)), jobs.size());
  std::vector<std::thread> threads;
  // Early: every worker on its own thread while this one fetches the config.
  for (size_t i = early ? 0 : 1; i < nthreads; ++i) threads.emplace_back(worker);
  if (early) {
    auto expect = read_config(true);
    if (!expect) failed(expect.error());
    plan_promise.set_value(std::move(expect));
  } else if (nthreads > 0) {
    worker();
  }
  for (auto& t : threads) t.join();
  if (first_error || cancel) {
    undo();
    return std::unexpected(first_error ? *first_error : Error{ECANCELED, "pull canceled"});
  }

  NewImage img;
  img.config_digest = cfg_desc.digest;
  img.manifest_digest = man.digest;
  img.manifest_media_type = kind;
  if (!store.has_blob(man.digest)) HULL_TRY(store.put_blob(man.body));
  if (top.digest != man.digest && !store.has_blob(top.digest)) HULL_TRY(store.put_blob(top.body));
  for (size_t i = 0; i < layer_descs.size(); ++i)
    img.layers.push_back(
        {layer_descs[i].digest, layer_descs[i].media_type, diff_ids[i], layer_descs[i].size});
  if (ref.digest.empty()) img.tags.push_back(ref.str());
  img.repo_digest = ref.name() + "@" + top.digest;
  {
    auto lk = store.lock();
    if (!lk) {
      undo();
      return std::unexpected(lk.error());
    }
    if (auto st = store.add_image(img); !st) {
      undo();
      return std::unexpected(st.error());
    }
  }
  phases.mark("image recorded");
  emit({"", Progress::Phase::done, 0, 0, "Digest: " + top.digest});
  return cfg_desc.digest;
}

StoreOpener::StoreOpener(std::string root)
    : thread_([this, root = std::move(root)] {
        Phases phases;
        auto opened = Store::open(root);
        phases.mark("store open");
        {
          std::lock_guard lk(mu_);
          store_ = std::move(opened);
        }
        cv_.notify_all();
        // Not waited for: the first unpack would otherwise load it.
        if (*store_) preload_unpacker();
        phases.mark("libarchive loaded");
      }) {}

StoreOpener::~StoreOpener() {
  if (thread_.joinable()) thread_.join();
}

Result<Store*> StoreOpener::get() {
  std::unique_lock lk(mu_);
  cv_.wait(lk, [&] { return store_.has_value(); });
  if (!*store_) return std::unexpected(store_->error());
  return &**store_;
}

Result<std::vector<std::string>> list_tags(const Reference& ref, const PullOptions& opts) {
  auto ro = HULL_TRY(registry_options(opts.access, opts.auth_file));
  auto found = HULL_TRY(on_first_endpoint<std::vector<std::string>>(
      ref, std::move(ro), [](Registry& r) { return r.tags(); }));
  return std::move(found.second);
}

Status check_login(std::string_view registry, const std::string& username,
                   const std::string& password, const RegistryAccess& access) {
  Reference ref;
  ref.registry = std::string(registry);
  auto ro = HULL_TRY(registry_options(access, {}));
  ro.credentials = Credentials{username, password};
  auto reg = HULL_TRY(Registry::connect(ref, ro));
  return reg.check();
}

}  // namespace hull::image
