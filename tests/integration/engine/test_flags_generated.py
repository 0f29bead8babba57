"""`hull run --rm` with generated flag combinations (fixed seed, so a failure reproduces):
1-3 of docker's run flags, each with a value drawn from valid and hostile ones (bad
sizes, signals, policies, capabilities, volume and mount specs, sysctls, platforms,
newlines, very long strings). Each run must end with the program's exit (0), docker's
125 with a message, or 126/127 for a program that cannot run; never by a signal, never
hang, never leave a container, directory, mount or runtime state once its monitor is
done (the fixture checks cgroups and processes at the end), and never change the host's sysctls, hostname, mounts
or network namespace."""
import os
import random

from helpers import oci

from .conftest import mounts_under
from .test_lifecycle import wait_for

CASES = 150
FLAGS = ["-m", "--memory-swap", "--cpus", "--cpu-shares", "--cpuset-cpus", "--pids-limit",
         "--ulimit", "--cap-add", "--cap-drop", "--security-opt", "--stop-signal",
         "--stop-timeout", "--restart", "-l", "--sysctl", "--shm-size", "--log-opt", "-e",
         "--env-file", "-w", "-u", "--entrypoint", "-h", "-v", "--mount", "--tmpfs", "--name",
         "--pid", "--ipc", "--uts", "--platform", "--pull", "--network", "--init",
         "--read-only"]
VALUES = ["", "0", "-1", "1", "abc", "1g", "10m", "1b", "99999999999999999999", "1.5", "-0.5",
          "nan", "inf", "0x10", "1e9", "nofile=1:2", "nofile=2:1", "bogus=1", "nofile=-1",
          "ALL", "CAP_SYS_ADMIN", "sys_bogus", "seccomp=unconfined", "seccomp=/nonexistent",
          "no-new-privileges", "apparmor=x", "SIGKILL", "SIGFOO", "999", "no", "always",
          "on-failure:-1", "on-failure:x", "a=b", "=b", "a=", "net.ipv4.ip_forward=1",
          "kernel.hostname=x", "kernel.shmmax=1", "fs.file-max=1", "max-size=1k",
          "max-size=-1", "max-file=0", "K", "K=V", "/nonexistent", "/tmp:/tmp",
          "/etc:/etc:ro", "vol:/x", "/tmp:/x:zz", "../x:/y", "/tmp:relative",
          "type=bind,src=/tmp,dst=/x", "type=volume,dst=/x", "type=tmpfs,dst=/x,tmpfs-size=1k",
          "type=bogus", "src=/tmp", "/x:size=1k", "/x:rw,noexec", "host", "container:nope",
          "none", "linux/arm64", "windows/amd64", "missing", "never", "a" * 300, "x\ny",
          "\u00e9", "root", "1000:1000", "nobody:nogroup", "nouser", "0:99999999999",
          "/bin/false", "/proc", "/dev/null"]
HOST = ["/proc/sys/kernel/hostname", "/proc/sys/kernel/domainname",
        "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shmmax", "/proc/sys/fs/file-max"]


def host_view(hull):
    view = []
    for f in HOST:
        with open(f) as fh:
            view.append(fh.read())
    # Not a count of every mount: other test sessions on the machine mount and unmount
    # under their own /tmp dirs at any time.
    view.append(oci.host_mounts([hull.root, hull.run_root, hull.rootfs]))
    view.append(os.readlink("/proc/self/ns/net"))
    return view


def test_generated_run_flags(hull):
    rnd = random.Random(20261202)
    before = host_view(hull)
    outcomes = {}
    for n in range(CASES):
        args = []
        for _ in range(rnd.randint(1, 3)):
            flag = rnd.choice(FLAGS)
            args += [flag] if flag in ("--init", "--read-only") else [flag, rnd.choice(VALUES)]
        if "--pull" in args:
            args += ["--pull", "never"]  # whatever else was drawn: never the network
        p = hull("run", "--rm", *args, *hull.image, "true", check=False, timeout=60)
        case = f"case {n}: hull run --rm {args!r} -> {p.returncode}, stderr {p.stderr[-400:]!r}"
        assert p.returncode in (0, 125, 126, 127), case
        if p.returncode:
            assert p.stderr.strip(), case
            assert "terminate called" not in p.stderr and "what()" not in p.stderr, case
        outcomes[p.returncode] = outcomes.get(p.returncode, 0) + 1
        # The record goes before run --rm returns; the monitor removes the rest just after.
        assert hull.ids() == [], case
        runtime = os.path.join(hull.run_root, "runtime")
        assert wait_for(lambda: not os.listdir(os.path.join(hull.root, "containers")) and
                        not mounts_under(hull.root) and
                        not [e for e in os.listdir(runtime) if not e.startswith(".")]), case
        assert host_view(hull) == before, case
    assert outcomes.get(0, 0) > 5 and outcomes.get(125, 0) > CASES / 2, outcomes
