/* Lazy loading of the libraries that only some verbs need: libcurl (pull, login),
 * libarchive (pull, import, load, save), libnftables (bridge networks, -p), libnl
 * (bridge networks), libcrypto (SHA-256 of blobs: pull, import, load) and libisal
 * (gzip layers).
 *
 * Linked into `hull` itself, these definitions stand in for the libraries' own, so the
 * linker (--as-needed) records no dependency on them: each is dlopen()ed on the first
 * call of one of its functions. Loading them with their ~40 dependencies (gnutls,
 * Kerberos, LDAP, libxml2, ICU...) at every start cost ~10 ms of CPU per `hull` command,
 * twice per `run`; `hull run` of a local image with --network none now maps none of
 * them, and glibc is its only shared library (SQLite, libseccomp and libcap are linked
 * from their archives). Each wrapper has the library's own prototype (from its header), so a
 * signature change fails the build; a library missing at run time is a clear error naming it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define CURL_DISABLE_TYPECHECK 1
#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <isa-l/igzip_lib.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <nftables/libnftables.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* The sonames these headers belong to (Debian 12: libcurl4, libarchive13, libnftables1,
 * libnl-3-200, libnl-route-3-200, libssl3, libisal2). */
enum { kCurl, kArchive, kNftables, kNl, kNlRoute, kCrypto, kIsal, kLibs };
static const char* const kSonames[kLibs] = {
    "libcurl.so.4",         "libarchive.so.13", "libnftables.so.1", "libnl-3.so.200",
    "libnl-route-3.so.200", "libcrypto.so.3",   "libisal.so.2"};
static void* handles[kLibs];

static void* lazy_sym(int lib, const char* name) {
  void* h = __atomic_load_n(&handles[lib], __ATOMIC_ACQUIRE);
  if (!h) {
    h = dlopen(kSonames[lib], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char* e = dlerror();
      fprintf(stderr, "hull: load %s (for %s): %s\n", kSonames[lib], name, e ? e : "unknown");
      _exit(125);
    }
    __atomic_store_n(&handles[lib], h, __ATOMIC_RELEASE);
  }
  void* f = dlsym(h, name);
  if (!f) {
    const char* e = dlerror();
    fprintf(stderr, "hull: %s in %s: %s\n", name, kSonames[lib], e ? e : "not found");
    _exit(125);
  }
  return f;
}

/* ret name(params) { return real(args); } with the real function looked up once. */
#define LAZY(lib, ret, name, params, args)                     \
  ret name params {                                            \
    static ret(*real) params;                                  \
    ret(*f) params = __atomic_load_n(&real, __ATOMIC_ACQUIRE); \
    if (!f) {                                                  \
      f = (ret(*) params)lazy_sym(lib, #name);                 \
      __atomic_store_n(&real, f, __ATOMIC_RELEASE);            \
    }                                                          \
    return f args;                                             \
  }

/* ---- libcurl ---------------------------------------------------------------------- */
LAZY(kCurl, void, curl_easy_cleanup, (CURL * c), (c))
LAZY(kCurl, char*, curl_easy_escape, (CURL * c, const char* s, int n), (c, s, n))
LAZY(kCurl, CURL*, curl_easy_init, (void), ())
LAZY(kCurl, CURLcode, curl_easy_perform, (CURL * c), (c))
LAZY(kCurl, void, curl_easy_reset, (CURL * c), (c))
LAZY(kCurl, const char*, curl_easy_strerror, (CURLcode e), (e))
LAZY(kCurl, void, curl_free, (void* p), (p))
LAZY(kCurl, CURLcode, curl_global_init, (long flags), (flags))
LAZY(kCurl, struct curl_slist*, curl_slist_append, (struct curl_slist * l, const char* s), (l, s))
LAZY(kCurl, void, curl_slist_free_all, (struct curl_slist * l), (l))
LAZY(kCurl, CURLSH*, curl_share_init, (void), ())
LAZY(kCurl, CURLSHcode, curl_share_cleanup, (CURLSH * s), (s))

/* The variadic calls take exactly one argument after the option: a long, an int, a
 * curl_off_t, a pointer or a function pointer, all passed in one integer register
 * (x86-64 and aarch64 alike), so it is forwarded as such. No option takes a double. */
#define LAZY_ONE_VARARG(lib, ret, name, handle_t, option_t)                       \
  ret name(handle_t h, option_t option, ...) {                                    \
    static ret (*real)(handle_t, option_t, ...);                                  \
    ret (*f)(handle_t, option_t, ...) = __atomic_load_n(&real, __ATOMIC_ACQUIRE); \
    if (!f) {                                                                     \
      f = (ret(*)(handle_t, option_t, ...))lazy_sym(lib, #name);                  \
      __atomic_store_n(&real, f, __ATOMIC_RELEASE);                               \
    }                                                                             \
    va_list ap;                                                                   \
    va_start(ap, option);                                                         \
    void* arg = va_arg(ap, void*);                                                \
    va_end(ap);                                                                   \
    return f(h, option, arg);                                                     \
  }

LAZY_ONE_VARARG(kCurl, CURLcode, curl_easy_setopt, CURL*, CURLoption)
LAZY_ONE_VARARG(kCurl, CURLcode, curl_easy_getinfo, CURL*, CURLINFO)
LAZY_ONE_VARARG(kCurl, CURLSHcode, curl_share_setopt, CURLSH*, CURLSHoption)

/* ---- libarchive ------------------------------------------------------------------- */
typedef struct archive_entry AE;
typedef struct archive AR;
LAZY(kArchive, time_t, archive_entry_atime, (AE * e), (e))
LAZY(kArchive, int, archive_entry_atime_is_set, (AE * e), (e))
LAZY(kArchive, long, archive_entry_atime_nsec, (AE * e), (e))
LAZY(kArchive, __LA_MODE_T, archive_entry_filetype, (AE * e), (e))
LAZY(kArchive, void, archive_entry_free, (AE * e), (e))
LAZY(kArchive, la_int64_t, archive_entry_gid, (AE * e), (e))
LAZY(kArchive, const char*, archive_entry_hardlink, (AE * e), (e))
LAZY(kArchive, time_t, archive_entry_mtime, (AE * e), (e))
LAZY(kArchive, long, archive_entry_mtime_nsec, (AE * e), (e))
LAZY(kArchive, AE*, archive_entry_new, (void), ())
LAZY(kArchive, const char*, archive_entry_pathname, (AE * e), (e))
LAZY(kArchive, __LA_MODE_T, archive_entry_perm, (AE * e), (e))
LAZY(kArchive, dev_t, archive_entry_rdev, (AE * e), (e))
LAZY(kArchive, void, archive_entry_set_filetype, (AE * e, unsigned int t), (e, t))
LAZY(kArchive, void, archive_entry_set_gid, (AE * e, la_int64_t g), (e, g))
LAZY(kArchive, void, archive_entry_set_hardlink, (AE * e, const char* p), (e, p))
LAZY(kArchive, void, archive_entry_set_mtime, (AE * e, time_t t, long ns), (e, t, ns))
LAZY(kArchive, void, archive_entry_set_pathname, (AE * e, const char* p), (e, p))
LAZY(kArchive, void, archive_entry_set_perm, (AE * e, __LA_MODE_T m), (e, m))
LAZY(kArchive, void, archive_entry_set_rdev, (AE * e, dev_t d), (e, d))
LAZY(kArchive, void, archive_entry_set_size, (AE * e, la_int64_t s), (e, s))
LAZY(kArchive, void, archive_entry_set_symlink, (AE * e, const char* p), (e, p))
LAZY(kArchive, void, archive_entry_set_uid, (AE * e, la_int64_t u), (e, u))
LAZY(kArchive, la_int64_t, archive_entry_size, (AE * e), (e))
LAZY(kArchive, int, archive_entry_size_is_set, (AE * e), (e))
LAZY(kArchive, const char*, archive_entry_symlink, (AE * e), (e))
LAZY(kArchive, la_int64_t, archive_entry_uid, (AE * e), (e))
LAZY(kArchive, void, archive_entry_xattr_add_entry,
     (AE * e, const char* name, const void* value, size_t size), (e, name, value, size))
LAZY(kArchive, int, archive_entry_xattr_next,
     (AE * e, const char** name, const void** value, size_t* size), (e, name, value, size))
LAZY(kArchive, int, archive_entry_xattr_reset, (AE * e), (e))
LAZY(kArchive, const char*, archive_error_string, (AR * a), (a))
LAZY(kArchive, la_ssize_t, archive_read_data, (AR * a, void* buf, size_t n), (a, buf, n))
LAZY(kArchive, int, archive_read_data_block,
     (AR * a, const void** buf, size_t* size, la_int64_t* offset), (a, buf, size, offset))
LAZY(kArchive, int, archive_read_free, (AR * a), (a))
LAZY(kArchive, AR*, archive_read_new, (void), ())
LAZY(kArchive, int, archive_read_next_header, (AR * a, AE** e), (a, e))
LAZY(kArchive, int, archive_read_open,
     (AR * a, void* data, archive_open_callback* o, archive_read_callback* r,
      archive_close_callback* c),
     (a, data, o, r, c))
LAZY(kArchive, int, archive_read_open_fd, (AR * a, int fd, size_t block), (a, fd, block))
LAZY(kArchive, int, archive_read_open_filename, (AR * a, const char* p, size_t block),
     (a, p, block))
LAZY(kArchive, int, archive_read_support_filter_all, (AR * a), (a))
LAZY(kArchive, int, archive_read_support_filter_gzip, (AR * a), (a))
LAZY(kArchive, int, archive_read_support_filter_none, (AR * a), (a))
LAZY(kArchive, int, archive_read_support_filter_zstd, (AR * a), (a))
LAZY(kArchive, int, archive_read_support_format_raw, (AR * a), (a))
LAZY(kArchive, int, archive_read_support_format_tar, (AR * a), (a))
LAZY(kArchive, int, archive_write_close, (AR * a), (a))
LAZY(kArchive, la_ssize_t, archive_write_data, (AR * a, const void* buf, size_t n), (a, buf, n))
LAZY(kArchive, int, archive_write_free, (AR * a), (a))
LAZY(kArchive, int, archive_write_header, (AR * a, AE* e), (a, e))
LAZY(kArchive, AR*, archive_write_new, (void), ())
LAZY(kArchive, int, archive_write_open_fd, (AR * a, int fd), (a, fd))
LAZY(kArchive, int, archive_write_open_filename, (AR * a, const char* p), (a, p))
LAZY(kArchive, int, archive_write_set_bytes_in_last_block, (AR * a, int n), (a, n))
LAZY(kArchive, int, archive_write_set_format_pax_restricted, (AR * a), (a))

/* Variadic (printf-like): formatted here, passed on as "%s". */
void archive_set_error(AR* a, int err, const char* fmt, ...) {
  static void (*real)(AR*, int, const char*, ...);
  void (*f)(AR*, int, const char*, ...) = __atomic_load_n(&real, __ATOMIC_ACQUIRE);
  if (!f) {
    f = (void (*)(AR*, int, const char*, ...))lazy_sym(kArchive, "archive_set_error");
    __atomic_store_n(&real, f, __ATOMIC_RELEASE);
  }
  if (!fmt) {
    f(a, err, NULL);
    return;
  }
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  f(a, err, "%s", msg);
}

/* ---- libnftables ------------------------------------------------------------------ */
LAZY(kNftables, struct nft_ctx*, nft_ctx_new, (uint32_t flags), (flags))
LAZY(kNftables, void, nft_ctx_free, (struct nft_ctx * c), (c))
LAZY(kNftables, int, nft_ctx_buffer_output, (struct nft_ctx * c), (c))
LAZY(kNftables, const char*, nft_ctx_get_output_buffer, (struct nft_ctx * c), (c))
LAZY(kNftables, int, nft_ctx_buffer_error, (struct nft_ctx * c), (c))
LAZY(kNftables, const char*, nft_ctx_get_error_buffer, (struct nft_ctx * c), (c))
LAZY(kNftables, int, nft_run_cmd_from_buffer, (struct nft_ctx * c, const char* buf), (c, buf))

/* ---- libnl-3, libnl-route-3 ------------------------------------------------------- */
typedef struct nl_addr NA;
typedef struct nl_sock NS;
typedef struct rtnl_link RL;
typedef struct rtnl_addr RA;
typedef struct rtnl_route RR;
LAZY(kNl, NA*, nl_addr_build, (int family, const void* buf, size_t size), (family, buf, size))
LAZY(kNl, int, nl_addr_parse, (const char* s, int hint, NA** out), (s, hint, out))
LAZY(kNl, void, nl_addr_put, (NA * a), (a))
LAZY(kNl, void, nl_addr_set_prefixlen, (NA * a, int len), (a, len))
LAZY(kNl, void, nl_cache_free, (struct nl_cache * c), (c))
LAZY(kNl, struct nl_object*, nl_cache_get_first, (struct nl_cache * c), (c))
LAZY(kNl, struct nl_object*, nl_cache_get_next, (struct nl_object * o), (o))
LAZY(kNl, int, nl_connect, (NS * s, int proto), (s, proto))
LAZY(kNl, const char*, nl_geterror, (int err), (err))
LAZY(kNl, NS*, nl_socket_alloc, (void), ())
LAZY(kNl, void, nl_socket_free, (NS * s), (s))
LAZY(kNlRoute, int, rtnl_addr_add, (NS * s, RA* a, int flags), (s, a, flags))
LAZY(kNlRoute, RA*, rtnl_addr_alloc, (void), ())
LAZY(kNlRoute, void, rtnl_addr_put, (RA * a), (a))
LAZY(kNlRoute, int, rtnl_addr_set_broadcast, (RA * a, NA* b), (a, b))
LAZY(kNlRoute, void, rtnl_addr_set_family, (RA * a, int family), (a, family))
LAZY(kNlRoute, void, rtnl_addr_set_ifindex, (RA * a, int i), (a, i))
LAZY(kNlRoute, int, rtnl_addr_set_local, (RA * a, NA* l), (a, l))
LAZY(kNlRoute, void, rtnl_addr_set_prefixlen, (RA * a, int len), (a, len))
LAZY(kNlRoute, int, rtnl_link_add, (NS * s, RL* l, int flags), (s, l, flags))
LAZY(kNlRoute, RL*, rtnl_link_alloc, (void), ())
LAZY(kNlRoute, int, rtnl_link_alloc_cache, (NS * s, int family, struct nl_cache** out),
     (s, family, out))
LAZY(kNlRoute, RL*, rtnl_link_bridge_alloc, (void), ())
LAZY(kNlRoute, int, rtnl_link_change, (NS * s, RL* orig, RL* changes, int flags),
     (s, orig, changes, flags))
LAZY(kNlRoute, int, rtnl_link_delete, (NS * s, const RL* l), (s, l))
LAZY(kNlRoute, int, rtnl_link_get_ifindex, (RL * l), (l))
LAZY(kNlRoute, int, rtnl_link_get_kernel, (NS * s, int ifindex, const char* name, RL** out),
     (s, ifindex, name, out))
LAZY(kNlRoute, int, rtnl_link_get_master, (RL * l), (l))
LAZY(kNlRoute, unsigned int, rtnl_link_get_mtu, (RL * l), (l))
LAZY(kNlRoute, char*, rtnl_link_get_name, (RL * l), (l))
LAZY(kNlRoute, char*, rtnl_link_get_type, (RL * l), (l))
LAZY(kNlRoute, void, rtnl_link_put, (RL * l), (l))
LAZY(kNlRoute, void, rtnl_link_set_addr, (RL * l, NA* a), (l, a))
LAZY(kNlRoute, void, rtnl_link_set_flags, (RL * l, unsigned int flags), (l, flags))
LAZY(kNlRoute, void, rtnl_link_set_master, (RL * l, int i), (l, i))
LAZY(kNlRoute, void, rtnl_link_set_mtu, (RL * l, unsigned int m), (l, m))
LAZY(kNlRoute, void, rtnl_link_set_name, (RL * l, const char* n), (l, n))
LAZY(kNlRoute, void, rtnl_link_set_ns_fd, (RL * l, int fd), (l, fd))
LAZY(kNlRoute, RL*, rtnl_link_veth_alloc, (void), ())
LAZY(kNlRoute, RL*, rtnl_link_veth_get_peer, (RL * l), (l))
LAZY(kNlRoute, int, rtnl_route_add, (NS * s, RR* r, int flags), (s, r, flags))
LAZY(kNlRoute, void, rtnl_route_add_nexthop, (RR * r, struct rtnl_nexthop* nh), (r, nh))
LAZY(kNlRoute, RR*, rtnl_route_alloc, (void), ())
LAZY(kNlRoute, struct rtnl_nexthop*, rtnl_route_nh_alloc, (void), ())
LAZY(kNlRoute, void, rtnl_route_nh_set_gateway, (struct rtnl_nexthop * nh, NA* a), (nh, a))
LAZY(kNlRoute, void, rtnl_route_nh_set_ifindex, (struct rtnl_nexthop * nh, int i), (nh, i))
LAZY(kNlRoute, void, rtnl_route_put, (RR * r), (r))
LAZY(kNlRoute, int, rtnl_route_set_dst, (RR * r, NA* a), (r, a))
LAZY(kNlRoute, int, rtnl_route_set_family, (RR * r, uint8_t family), (r, family))
LAZY(kNlRoute, void, rtnl_route_set_protocol, (RR * r, uint8_t p), (r, p))
LAZY(kNlRoute, void, rtnl_route_set_scope, (RR * r, uint8_t s), (r, s))
LAZY(kNlRoute, void, rtnl_route_set_table, (RR * r, uint32_t t), (r, t))
LAZY(kNlRoute, int, rtnl_route_set_type, (RR * r, uint8_t t), (r, t))

/* ---- libcrypto -------------------------------------------------------------------- */
LAZY(kCrypto, EVP_MD_CTX*, EVP_MD_CTX_new, (void), ())
LAZY(kCrypto, void, EVP_MD_CTX_free, (EVP_MD_CTX * c), (c))
LAZY(kCrypto, const EVP_MD*, EVP_sha256, (void), ())
LAZY(kCrypto, int, EVP_DigestInit_ex, (EVP_MD_CTX * c, const EVP_MD* md, ENGINE* e), (c, md, e))
LAZY(kCrypto, int, EVP_DigestUpdate, (EVP_MD_CTX * c, const void* d, size_t n), (c, d, n))
LAZY(kCrypto, int, EVP_DigestFinal_ex, (EVP_MD_CTX * c, unsigned char* md, unsigned int* n),
     (c, md, n))

/* ---- libisal ---------------------------------------------------------------------- */
LAZY(kIsal, void, isal_inflate_init, (struct inflate_state * s), (s))
LAZY(kIsal, void, isal_inflate_reset, (struct inflate_state * s), (s))
LAZY(kIsal, int, isal_inflate, (struct inflate_state * s), (s))
