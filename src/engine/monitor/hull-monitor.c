/* hull-monitor: the long-lived part of a container's monitor, like podman's conmon.
 *
 * hull launches the container in-process (so the launching process is the parent of the
 * container's init), then execve()s this program in the same process: same pid, same
 * child, fds passed by number. It copies the program's output to the json-file log
 * (rotated by size) and to an attached CLI, forwards the CLI's keyboard (the detach keys,
 * ctrl-p ctrl-q unless --detach-keys, detach) and window size to the pty, and reaps the
 * program. A CLI attaches later (`hull attach`) through <root>/containers/<id>/attach.sock,
 * which this program serves while the program runs. Then it execve()s hull
 * again (`hull __exited`), which records the exit in SQLite, cleans up, and applies the
 * restart policy or --rm. A restart's back-off is spent here too (--sleep), so only
 * this small program stays resident while a container runs or waits to restart.
 *
 * Plain C, no stdio, no malloc: static buffers only, so it links statically and a
 * monitor costs well under 1 MiB of RSS. Protocol with the CLI (engine/monitor.hpp):
 *   report (-> CLI): "detached\n" on ctrl-p ctrl-q; "exited N\n" when the program ended
 *                    ("exit N\n" is hull __exited's)
 *   control (CLI ->): "w" on SIGWINCH; after "exited": "d" (the CLI cleaned up), "c"
 *                     (--rm: the CLI removed the record, hull __exited --removed removes
 *                     the rest) or "x" (hull __exited must); EOF when the CLI is gone
 *   attach.sock: `hull attach` connects and sends one message: "i" (stdin wanted) or "o"
 *     (output only), then the detach keys' bytes (none: ctrl-p ctrl-q), with its stdin,
 *     stdout and stderr as SCM_RIGHTS. The answer is "ok\n" (then the socket is report and
 *     control, as the pipes above) or "err <why>\n"; one CLI at a time is attached.
 *
 * hull links this file too (HULL_MONITOR_IN_PROCESS): for a program that exited before
 * its monitor would exec this binary, hull runs hull_monitor_main in that process
 * instead, and hull_monitor_handover (hull's) may then do --rm's clean-up there as well
 * (engine/monitor.cpp, exec_monitor): two execs fewer for a short `run --rm`.
 *
 * Usage (hull builds these command lines; not for people):
 *   hull-monitor --hull PATH --root DIR --run-root DIR --id ID --backoff MS
 *                [--pidfd FD] --pid PID [--stdout FD] [--stderr FD] [--console FD]
 *                [--stdin-keep FD] [--log PATH --log-max-size N --log-max-file N]
 *                [--report FD --control FD --attach-in FD --attach-out FD
 *                 --attach-err FD] [--interactive] [--detach-keys HEX]
 *   hull-monitor --hull PATH --root DIR --run-root DIR --id ID --backoff MS --sleep MS */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h> /* rename(2) only: no stdio stream is used */
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

enum { kExitEngine = 125, kMaxKeys = 16 };

#ifdef HULL_MONITOR_IN_PROCESS
#include "engine/monitor/hull-monitor.h"
#define HULL_MONITOR_ENTRY hull_monitor_main
#else
#define HULL_MONITOR_ENTRY main
#endif

/* ---- small helpers: no stdio ------------------------------------------------------- */

static void write_all(int fd, const char* p, size_t n) {
  while (fd >= 0 && n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    n -= (size_t)w;
  }
}

static void say(const char* a, const char* b) {
  write_all(2, "hull-monitor: ", 14);
  write_all(2, a, strlen(a));
  if (b) write_all(2, b, strlen(b));
  write_all(2, "\n", 1);
}

/* Decimal, unsigned; -1 when not a number. */
static int64_t parse_num(const char* s) {
  if (!s || !*s) return -1;
  int64_t v = 0;
  for (; *s; ++s) {
    if (*s < '0' || *s > '9' || v > (INT64_MAX - 9) / 10) return -1;
    v = v * 10 + (*s - '0');
  }
  return v;
}

/* Writes v in decimal at p; returns the length. */
static size_t fmt_num(char* p, uint64_t v) {
  char tmp[24];
  size_t n = 0;
  do tmp[n++] = (char)('0' + v % 10);
  while ((v /= 10) != 0);
  for (size_t i = 0; i < n; ++i) p[i] = tmp[n - 1 - i];
  return n;
}

static void fmt_pad(char* p, unsigned v, int width) {
  for (int i = width - 1; i >= 0; --i, v /= 10) p[i] = (char)('0' + v % 10);
}

/* ---- the json-file log (docker's format, as src/engine/logs.cpp reads it) ----------- */

static struct {
  const char* path;
  int fd;
  uint64_t size, max_size;
  int max_file;
} lg = {NULL, -1, 0, 0, 1};

/* One record: the longest line piece is a whole read buffer, each byte escaped to at
 * most six ("\u00XX"). */
static char in_buf[16384];
static char rec_buf[sizeof in_buf * 6 + 128];

static void log_open(void) {
  if (!lg.path) return;
  lg.fd = open(lg.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (lg.fd < 0) {
    say("open log ", lg.path);
    return;
  }
  struct stat st;
  if (fstat(lg.fd, &st) == 0) lg.size = (uint64_t)st.st_size;
}

static void log_rotate(void) {
  if (lg.max_file <= 1) {
    /* A single file starts over, as docker does with max-file=1. */
    if (ftruncate(lg.fd, 0) == 0) lg.size = 0;
    return;
  }
  size_t plen = strlen(lg.path);
  char from[4096 + 16], to[4096 + 16];
  if (plen > 4096) return;
  for (int i = lg.max_file - 1; i >= 1; --i) {
    memcpy(from, lg.path, plen);
    from[plen] = 0;
    if (i > 1) {
      from[plen] = '.';
      from[plen + 1 + fmt_num(from + plen + 1, (uint64_t)(i - 1))] = 0;
    }
    memcpy(to, lg.path, plen);
    to[plen] = '.';
    to[plen + 1 + fmt_num(to + plen + 1, (uint64_t)i)] = 0;
    (void)rename(from, to);
  }
  close(lg.fd);
  lg.fd = open(lg.path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0640);
  lg.size = 0;
}

/* UTC by hand: gmtime_r would link glibc's time zone code and, with it, stdio and
 * scanf (a third of this binary's resident size). Days to civil date: H. Hinnant's
 * days_from_civil inverse. */
static size_t append_time(char* p) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int64_t secs = ts.tv_sec, days = secs / 86400, rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days -= 1;
  }
  int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  unsigned d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
  unsigned mon = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
  unsigned year = (unsigned)(yoe + era * 400 + (mon <= 2));
  /* 2026-01-01T00:00:00.000000000Z */
  fmt_pad(p, year, 4);
  p[4] = '-';
  fmt_pad(p + 5, mon, 2);
  p[7] = '-';
  fmt_pad(p + 8, d, 2);
  p[10] = 'T';
  fmt_pad(p + 11, (unsigned)(rem / 3600), 2);
  p[13] = ':';
  fmt_pad(p + 14, (unsigned)(rem / 60 % 60), 2);
  p[16] = ':';
  fmt_pad(p + 17, (unsigned)(rem % 60), 2);
  p[19] = '.';
  fmt_pad(p + 20, (unsigned)ts.tv_nsec, 9);
  p[29] = 'Z';
  return 30;
}

static void log_record(const char* stream, const char* line, size_t len) {
  static const char hex[] = "0123456789abcdef";
  if (lg.fd < 0) return;
  char* p = rec_buf;
  memcpy(p, "{\"log\":\"", 8);
  p += 8;
  for (size_t i = 0; i < len; ++i) {
    unsigned char c = (unsigned char)line[i];
    switch (c) {
      case '"':
        *p++ = '\\';
        *p++ = '"';
        break;
      case '\\':
        *p++ = '\\';
        *p++ = '\\';
        break;
      case '\n':
        *p++ = '\\';
        *p++ = 'n';
        break;
      case '\r':
        *p++ = '\\';
        *p++ = 'r';
        break;
      case '\t':
        *p++ = '\\';
        *p++ = 't';
        break;
      default:
        if (c < 0x20) {
          memcpy(p, "\\u00", 4);
          p[4] = hex[c >> 4];
          p[5] = hex[c & 15];
          p += 6;
        } else {
          *p++ = (char)c; /* UTF-8 passes through; invalid bytes too (docker) */
        }
    }
  }
  memcpy(p, "\",\"stream\":\"", 12);
  p += 12;
  size_t sl = strlen(stream);
  memcpy(p, stream, sl);
  p += sl;
  memcpy(p, "\",\"time\":\"", 10);
  p += 10;
  p += append_time(p);
  memcpy(p, "\"}\n", 3);
  p += 3;
  size_t n = (size_t)(p - rec_buf);
  if (lg.max_size > 0 && lg.size > 0 && lg.size + n > lg.max_size) log_rotate();
  if (lg.fd < 0) return;
  ssize_t w = write(lg.fd, rec_buf, n);
  if (w > 0) lg.size += (uint64_t)w;
}

/* One record per line; a partial last line is a record of its own (docker's copier does
 * the same once its buffer fills). */
static void log_write(const char* stream, const char* data, size_t len) {
  while (len > 0) {
    const char* nl = memchr(data, '\n', len);
    size_t n = nl ? (size_t)(nl - data) + 1 : len;
    log_record(stream, data, n);
    data += n;
    len -= n;
  }
}

/* ---- supervision -------------------------------------------------------------------- */

static struct {
  const char *hull, *root, *run_root, *id;
  int64_t backoff, sleep_ms;
  pid_t pid;
  int pidfd, out, err, console, stdin_keep;
  int report, control, attach_in, attach_out, attach_err;
  int listen, dir; /* attach.sock and the container's directory, which holds it */
  int interactive, attached, removed;
} m = {.backoff = 100,
       .sleep_ms = -1,
       .pidfd = -1,
       .out = -1,
       .err = -1,
       .console = -1,
       .stdin_keep = -1,
       .report = -1,
       .control = -1,
       .attach_in = -1,
       .attach_out = -1,
       .attach_err = -1,
       .listen = -1,
       .dir = -1};

/* The detach keys (docker's, parsed by hull: common/detach_keys.hpp) and how many of them
 * were typed last. */
static struct {
  unsigned char seq[kMaxKeys];
  size_t len, typed;
} keys = {{0x10, 0x11}, 2, 0}; /* ctrl-p ctrl-q */

/* What an attached CLI typed for a program without a pty (-i), on its way to the stdin
 * pipe (stdin_keep): its read waits until the program took all of it. */
static struct {
  char buf[4096];
  size_t len, off;
} fwd;

static void close_fd(int* fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void detach(void) {
  if (!m.attached) return;
  m.attached = 0;
  fwd.len = fwd.off = 0;
  close_fd(&m.attach_in);
  close_fd(&m.attach_out);
  close_fd(&m.attach_err);
  close_fd(&m.control);
  close_fd(&m.report);
}

/* Copies what the program wrote to the log and, when attached, to the CLI. Returns 0 at
 * EOF or error (the caller then drops fd), 1 otherwise. */
static int pump(int fd, const char* stream, int* attach_fd) {
  for (;;) {
    ssize_t n = read(fd, in_buf, sizeof in_buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return 1;
    if (n <= 0) return 0;
    log_write(stream, in_buf, (size_t)n);
    if (m.attached && *attach_fd >= 0) {
      const char* p = in_buf;
      size_t left = (size_t)n;
      while (left > 0) {
        ssize_t w = write(*attach_fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
          /* The CLI went away: keep logging. Closed, not dropped: a monitor outlives
           * many attaches. */
          close_fd(attach_fd);
          break;
        }
        p += w;
        left -= (size_t)w;
      }
    }
    if ((size_t)n < sizeof in_buf) return 1;
  }
}

static void set_winsize(void) {
  struct winsize ws;
  if (m.console >= 0 && m.attach_in >= 0 && ioctl(m.attach_in, TIOCGWINSZ, &ws) == 0)
    ioctl(m.console, TIOCSWINSZ, &ws);
}

/* Keys that may begin the detach sequence are held back until it is complete (detach:
 * returns 1) or broken (then they go on as typed), as common/detach_keys.hpp's Matcher. */
static int match_keys(const char* in, size_t n, char* out, size_t* o) {
  for (size_t i = 0; i < n; ++i) {
    unsigned char ch = (unsigned char)in[i];
    if (ch != keys.seq[keys.typed] && keys.typed > 0) {
      memcpy(out + *o, keys.seq, keys.typed);
      *o += keys.typed;
      keys.typed = 0;
    }
    if (ch != keys.seq[keys.typed]) {
      out[(*o)++] = (char)ch;
      continue;
    }
    if (++keys.typed == keys.len) {
      keys.typed = 0;
      return 1;
    }
  }
  return 0;
}

/* The CLI's keyboard to the pty, watching for the detach keys. */
static void from_terminal(void) {
  static char out[sizeof in_buf + kMaxKeys];
  ssize_t n = read(m.attach_in, in_buf, sizeof in_buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {
    close_fd(&m.attach_in);
    return;
  }
  size_t o = 0;
  if (match_keys(in_buf, (size_t)n, out, &o)) {
    write_all(m.console, out, o);
    write_all(m.report, "detached\n", 9);
    detach();
    return;
  }
  write_all(m.console, out, o);
}

/* An attached CLI's stdin to a -i program without a pty: read only once the last piece
 * went into the pipe, so a program that does not read never blocks this loop. docker
 * watches no detach keys there. The CLI's EOF leaves the program's stdin open (docker's
 * attach does not close it). */
static void from_stdin(void) {
  ssize_t n = read(m.attach_in, fwd.buf, sizeof fwd.buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {
    close_fd(&m.attach_in);
    return;
  }
  fwd.len = (size_t)n;
  fwd.off = 0;
}

static void to_stdin(void) {
  ssize_t w = write(m.stdin_keep, fwd.buf + fwd.off, fwd.len - fwd.off);
  if (w < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (w <= 0) {
    close_fd(&m.stdin_keep); /* the program closed its stdin */
    fwd.len = fwd.off = 0;
    return;
  }
  fwd.off += (size_t)w;
  if (fwd.off == fwd.len) fwd.len = fwd.off = 0;
}

/* ---- attach.sock (hull attach) ------------------------------------------------------ */

#ifndef HULL_MONITOR_IN_PROCESS
/* "/proc/self/fd/N/attach.sock": the container's directory by fd, as a sun_path has room
 * for 107 bytes only and <root>/containers/<id>/attach.sock is 101 with the default root,
 * more with a longer one (conmon does the same). */
static socklen_t attach_addr(struct sockaddr_un* a) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  char* p = a->sun_path;
  memcpy(p, "/proc/self/fd/", 14);
  p += 14;
  p += fmt_num(p, (uint64_t)m.dir);
  memcpy(p, "/attach.sock", 12);
  p += 12;
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)(p - a->sun_path) + 1);
}

/* A failure leaves the container without `hull attach`, nothing else. */
static void listen_attach(void) {
  static char dir[4096 + 128];
  size_t rl = strlen(m.root), il = strlen(m.id);
  if (rl + il + 16 > sizeof dir) return;
  memcpy(dir, m.root, rl);
  memcpy(dir + rl, "/containers/", 12);
  memcpy(dir + rl + 12, m.id, il + 1);
  m.dir = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (m.dir < 0) return;
  m.listen = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (m.listen < 0) return;
  struct sockaddr_un a;
  socklen_t len = attach_addr(&a);
  int r = bind(m.listen, (struct sockaddr*)&a, len);
  if (r < 0 && errno == EADDRINUSE) { /* a killed monitor's: no one serves it */
    unlinkat(m.dir, "attach.sock", 0);
    r = bind(m.listen, (struct sockaddr*)&a, len);
  }
  if (r < 0 || listen(m.listen, 4) < 0) {
    say("attach socket in ", dir);
    close_fd(&m.listen);
  }
}
#endif

static void stop_listening(void) {
  if (m.listen < 0) return;
  close_fd(&m.listen);
  unlinkat(m.dir, "attach.sock", 0);
}

/* One `hull attach`: its message (see the top of this file), then it is the attached CLI. */
static void accept_attach(void) {
  int c = accept4(m.listen, NULL, NULL, SOCK_CLOEXEC);
  if (c < 0) return;
  int fds[3] = {-1, -1, -1}, got = 0;
  char msg[1 + kMaxKeys + 1];
  ssize_t n = -1;
  /* A CLI sends at once; one that does not is not waited for long. Read before a refusal
   * too: a close with its message unread would reset the connection before the answer. */
  struct pollfd p = {c, POLLIN, 0};
  if (poll(&p, 1, 2000) == 1) {
    union {
      struct cmsghdr h;
      char b[CMSG_SPACE(sizeof fds)];
    } cm;
    struct iovec iov = {msg, sizeof msg};
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cm.b;
    mh.msg_controllen = sizeof cm.b;
    n = recvmsg(c, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    struct cmsghdr* h = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
    if (h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
      got = (int)((h->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      if (got > 3) got = 3;
      memcpy(fds, CMSG_DATA(h), (size_t)got * sizeof(int));
    }
  }
  const char* why = m.attached
                        ? "err another client is attached to it (hull attaches one at a time)\n"
                        : "err bad attach request\n";
  if (m.attached || got != 3 || n < 1 || n > 1 + kMaxKeys || (msg[0] != 'i' && msg[0] != 'o')) {
    write_all(c, why, strlen(why));
    for (int i = 0; i < got; ++i) close(fds[i]);
    close(c);
    return;
  }
  m.report = fcntl(c, F_DUPFD_CLOEXEC, 3);
  if (m.report < 0) {
    for (int i = 0; i < 3; ++i) close(fds[i]);
    close(c);
    return;
  }
  m.control = c;
  m.attach_in = fds[0];
  m.attach_out = fds[1];
  m.attach_err = fds[2];
  m.interactive = msg[0] == 'i';
  if (n > 1) {
    keys.len = (size_t)n - 1;
    memcpy(keys.seq, msg + 1, keys.len);
  } else {
    keys.seq[0] = 0x10;
    keys.seq[1] = 0x11;
    keys.len = 2;
  }
  keys.typed = 0;
  m.attached = 1;
  if (m.console < 0 && m.stdin_keep >= 0)
    fcntl(m.stdin_keep, F_SETFL, fcntl(m.stdin_keep, F_GETFL) | O_NONBLOCK);
  write_all(m.report, "ok\n", 3);
  set_winsize();
}

static void set_nonblock(int fd) {
  if (fd >= 0) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Waits for the program; returns its status as a shell reports it. */
static int supervise(void) {
  set_nonblock(m.out);
  set_nonblock(m.err);
  set_nonblock(m.console);
  for (;;) {
    /* Typed input goes to the pty, or to a -i program's stdin pipe once it has room. */
    const int typing = m.attached && m.interactive && (m.console >= 0 || m.stdin_keep >= 0);
    struct pollfd p[8] = {
        {m.pidfd, POLLIN, 0},
        {m.out, POLLIN, 0},
        {m.err, POLLIN, 0},
        {m.console, POLLIN, 0},
        {typing && fwd.len == 0 ? m.attach_in : -1, POLLIN, 0},
        {m.attached ? m.control : -1, POLLIN, 0},
        {m.listen, POLLIN, 0},
        {fwd.len > 0 ? m.stdin_keep : -1, POLLOUT, 0},
    };
    int r = poll(p, 8, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return kExitEngine;
    if (p[1].revents && !pump(m.out, "stdout", &m.attach_out)) close_fd(&m.out);
    if (p[2].revents && !pump(m.err, "stderr", &m.attach_err)) close_fd(&m.err);
    /* The pty's slave closed by every process (EIO): keep nothing but the exit to wait. */
    if (p[3].revents && !pump(m.console, "stdout", &m.attach_out)) close_fd(&m.console);
    if (p[4].revents) m.console >= 0 ? from_terminal() : from_stdin();
    if (p[7].revents) to_stdin();
    if (p[6].revents) accept_attach();
    if (p[5].revents) {
      char c[16];
      ssize_t n = read(m.control, c, sizeof c);
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
        detach(); /* the CLI is gone (killed, or its terminal closed) */
      else if (n > 0)
        set_winsize();
    }
    if (p[0].revents & POLLIN) {
      /* A CLI that connects from now on is refused at once, not left waiting. */
      stop_listening();
      siginfo_t info;
      memset(&info, 0, sizeof info);
      int status = kExitEngine;
      if (waitid((idtype_t)P_PIDFD, (id_t)m.pidfd, &info, WEXITED) == 0)
        status = info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
      /* What the program wrote last is still in the pipes. */
      if (m.out >= 0) pump(m.out, "stdout", &m.attach_out);
      if (m.err >= 0) pump(m.err, "stderr", &m.attach_err);
      if (m.console >= 0) pump(m.console, "stdout", &m.attach_out);
      close_fd(&m.out);
      close_fd(&m.err);
      close_fd(&m.console);
      close_fd(&m.stdin_keep);
      close_fd(&m.pidfd);
      return status;
    }
  }
}

/* The back-off before a restart: until it ends or SIGTERM (`hull stop`) comes; 1 if
 * SIGTERM came. */
static int back_off(void) {
  int term_seen = 0;
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigprocmask(SIG_BLOCK, &term, NULL);
  int sfd = signalfd(-1, &term, SFD_CLOEXEC);
  struct pollfd p = {sfd, POLLIN, 0};
  struct timespec end, now;
  clock_gettime(CLOCK_MONOTONIC, &end);
  end.tv_sec += m.sleep_ms / 1000;
  end.tv_nsec += (m.sleep_ms % 1000) * 1000000;
  if (end.tv_nsec >= 1000000000) {
    end.tv_sec += 1;
    end.tv_nsec -= 1000000000;
  }
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t left = (end.tv_sec - now.tv_sec) * 1000 + (end.tv_nsec - now.tv_nsec) / 1000000;
    if (left <= 0) break;
    int r = poll(&p, 1, (int)left);
    if (r > 0) {
      struct signalfd_siginfo si;
      term_seen = read(sfd, &si, sizeof si) == (ssize_t)sizeof si;
      break;
    }
    if (r < 0 && errno != EINTR) break;
  }
  if (sfd >= 0) close(sfd);
  return term_seen;
}

/* An attached CLI already has hull loaded: it is asked to record the exit and clean up
 * itself ("exited N"), which spares `run` a second start of hull. It answers "d"
 * (done: nothing left here), "c" (--rm: the record is gone and the CLI returns;
 * `hull __exited --removed` removes the rest) or "x" (restart policy: hull __exited must
 * do it, and report to it). Returns 1 when the CLI did its part. */
static int hand_to_cli(int status) {
  if (!m.attached || m.report < 0 || m.control < 0) return 0;
  char line[32] = "exited ";
  size_t n = 7 + fmt_num(line + 7, (uint64_t)status);
  line[n++] = '\n';
  if (write(m.report, line, n) != (ssize_t)n) {
    detach();
    return 0;
  }
  fcntl(m.control, F_SETFL, fcntl(m.control, F_GETFL) & ~O_NONBLOCK);
  for (;;) {
    char c;
    ssize_t r = read(m.control, &c, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r == 1 && c == 'w') continue; /* a window size change that came late */
    if (r == 1 && c == 'd') return 1;
    if (r == 1 && c == 'c') {
      detach(); /* the CLI returns: hull __exited reports to nobody */
      m.removed = 1;
      return 0;
    }
    if (r == 1 && c == 'x') return 0;
    detach(); /* the CLI died meanwhile: hull __exited does it all */
    return 0;
  }
}

/* Hands over to hull; never returns. */
static void exec_hull(const char* verb, int status, int stop) {
  stop_listening();
  char status_s[24], backoff_s[24], report_s[24];
  status_s[fmt_num(status_s, (uint64_t)(status < 0 ? 0 : status))] = 0;
  backoff_s[fmt_num(backoff_s, (uint64_t)m.backoff)] = 0;
  const char* argv[16];
  int a = 0;
  argv[a++] = m.hull;
  argv[a++] = "--root";
  argv[a++] = m.root;
  argv[a++] = "--run-root";
  argv[a++] = m.run_root;
  argv[a++] = verb;
  argv[a++] = "--id";
  argv[a++] = m.id;
  argv[a++] = "--backoff";
  argv[a++] = backoff_s;
  if (status >= 0) {
    argv[a++] = "--status";
    argv[a++] = status_s;
  }
  if (stop) argv[a++] = "--stop";
  if (m.removed) argv[a++] = "--removed";
  if (m.attached && m.report >= 0) {
    /* Still attached: hull reports the exit (after --rm's clean-up). */
    report_s[fmt_num(report_s, (uint64_t)m.report)] = 0;
    fcntl(m.report, F_SETFD, 0);
    argv[a++] = "--report";
    argv[a++] = report_s;
  } else {
    close_fd(&m.report);
  }
  argv[a] = NULL;
  close_fd(&m.control);
  close_fd(&m.attach_in);
  close_fd(&m.attach_out);
  close_fd(&m.attach_err);
  if (lg.fd >= 0) close(lg.fd);
#ifdef HULL_MONITOR_IN_PROCESS
  /* In hull's process: returns when a fresh hull must do it after all. */
  hull_monitor_handover(verb, m.removed, m.attached ? m.report : -1);
#endif
  execv(m.hull, (char* const*)argv);
  say("exec ", m.hull);
  _exit(kExitEngine);
}

static int opt_fd(const char* v) {
  int64_t n = parse_num(v);
  if (n < 0 || n > 1 << 20) return -2;
  /* Not inherited by hull at the exit hand-over unless passed on explicitly. */
  fcntl((int)n, F_SETFD, FD_CLOEXEC);
  return (int)n;
}

/* --detach-keys: the bytes in hex (hull parsed docker's spec). */
static int parse_keys(const char* v) {
  size_t n = strlen(v);
  if (n == 0 || n % 2 || n / 2 > kMaxKeys) return -1;
  for (size_t i = 0; i < n; ++i) {
    char c = v[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return -1;
    keys.seq[i / 2] = (unsigned char)(i % 2 ? keys.seq[i / 2] << 4 | d : d);
  }
  keys.len = n / 2;
  return 0;
}

int HULL_MONITOR_ENTRY(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const char* k = argv[i];
    if (!strcmp(k, "--interactive")) {
      m.interactive = 1;
      continue;
    }
    if (i + 1 >= argc) {
      say("missing value for ", k);
      return kExitEngine;
    }
    const char* v = argv[++i];
    int bad = 0;
    if (!strcmp(k, "--hull"))
      m.hull = v;
    else if (!strcmp(k, "--root"))
      m.root = v;
    else if (!strcmp(k, "--run-root"))
      m.run_root = v;
    else if (!strcmp(k, "--id"))
      m.id = v;
    else if (!strcmp(k, "--log"))
      lg.path = v;
    else if (!strcmp(k, "--log-max-size"))
      bad = (int64_t)(lg.max_size = (uint64_t)parse_num(v)) < 0;
    else if (!strcmp(k, "--log-max-file"))
      bad = (lg.max_file = (int)parse_num(v)) < 0;
    else if (!strcmp(k, "--backoff"))
      bad = (m.backoff = parse_num(v)) < 0;
    else if (!strcmp(k, "--sleep"))
      bad = (m.sleep_ms = parse_num(v)) < 0;
    else if (!strcmp(k, "--pid"))
      bad = (m.pid = (pid_t)parse_num(v)) <= 0;
    else if (!strcmp(k, "--pidfd"))
      bad = (m.pidfd = opt_fd(v)) < 0;
    else if (!strcmp(k, "--stdout"))
      bad = (m.out = opt_fd(v)) < 0;
    else if (!strcmp(k, "--stderr"))
      bad = (m.err = opt_fd(v)) < 0;
    else if (!strcmp(k, "--console"))
      bad = (m.console = opt_fd(v)) < 0;
    else if (!strcmp(k, "--stdin-keep"))
      bad = (m.stdin_keep = opt_fd(v)) < 0;
    else if (!strcmp(k, "--report"))
      bad = (m.report = opt_fd(v)) < 0;
    else if (!strcmp(k, "--control"))
      bad = (m.control = opt_fd(v)) < 0;
    else if (!strcmp(k, "--attach-in"))
      bad = (m.attach_in = opt_fd(v)) < 0;
    else if (!strcmp(k, "--attach-out"))
      bad = (m.attach_out = opt_fd(v)) < 0;
    else if (!strcmp(k, "--attach-err"))
      bad = (m.attach_err = opt_fd(v)) < 0;
    else if (!strcmp(k, "--detach-keys"))
      bad = parse_keys(v) < 0;
    else {
      say("unknown option ", k);
      return kExitEngine;
    }
    if (bad) {
      say("bad value for ", k);
      return kExitEngine;
    }
  }
  if (!m.hull || !m.root || !m.run_root || !m.id) {
    say("usage: started by hull only (--hull, --root, --run-root and --id are required)", NULL);
    return kExitEngine;
  }
  if (m.sleep_ms >= 0) {
    int stop = back_off();
    exec_hull("__relaunch", -1, stop);
  }
  if (m.pidfd < 0 && m.pid > 0) m.pidfd = (int)syscall(SYS_pidfd_open, m.pid, 0);
  if (m.pidfd < 0) {
    say("no --pidfd or --pid of the program to watch", NULL);
    return kExitEngine;
  }
  m.attached = m.report >= 0 && m.attach_out >= 0;
  if (!m.attached) close_fd(&m.report);
  log_open();
  set_winsize();
#ifndef HULL_MONITOR_IN_PROCESS
  /* In hull's process the program has exited already: nothing to attach to. */
  listen_attach();
#endif
  int status = supervise();
  if (hand_to_cli(status)) return 0;
  exec_hull("__exited", status, 0);
  return kExitEngine;
}
