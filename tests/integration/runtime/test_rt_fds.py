"""The CVE-2024-21626 class: no fd of the runtime or its caller reaches the container,
and a cwd of /proc/self/fd/N never lands on the host filesystem. Also --preserve-fds."""

import os
import subprocess

import pytest

from helpers import oci

# From the cwd, enough `..` to reach the root of whatever filesystem tree it is in: equal
# to "/" when cwd is inside the container root (`..` stops there), the host's root when a
# leaked fd put it outside.
UP = "/".join([".."] * 40)
ROOT_CHECK = f"stat -c %d:%i {UP} /"


def fds_of(text: str) -> list[int]:
    return sorted(int(x) for x in text.split())


def test_run_sees_only_stdio(ctr, tmp_path):
    # the caller gives the runtime extra fds; without --preserve-fds none reach the program
    f = tmp_path / "secret"
    f.write_text("host secret\n")
    ctr.sh("ls /proc/$$/fd; true")  # true: sh must not exec ls in its place
    ctr.write_config()
    r = ctr.cmd("run", "--bundle", ctr.bundle, ctr.id, fds={3: f, 4: f, 9: f})
    assert r.returncode == 0, r
    assert fds_of(r.stdout) == [0, 1, 2]


def test_create_start_sees_only_stdio(ctr, tmp_path):
    # the program's fds, read from the host: nothing of the runtime's (exec fifo, sync
    # sockets, state dir) or of its caller's
    f = tmp_path / "secret"
    f.write_text("x")
    ctr.set_args("sleep", "1000")
    ctr.create(fds={3: f, 5: f}).ok()
    ctr.start().ok()
    ctr.wait_status("running")
    pid = ctr.pid()
    oci.wait_for(lambda: open(f"/proc/{pid}/comm").read() == "sleep\n", what="exec")
    assert sorted(int(x) for x in os.listdir(f"/proc/{pid}/fd")) == [0, 1, 2]


def test_exec_detached_sees_only_stdio(ctr, tmp_path):
    f = tmp_path / "secret"
    f.write_text("x")
    ctr.start_running()
    pf = tmp_path / "pid"
    ctr.detached("exec", "--detach", "--pid-file", pf, ctr.id, "sleep", "1000",
                 fds={3: f, 6: f}).ok()
    pid = int(pf.read_text())
    assert sorted(int(x) for x in os.listdir(f"/proc/{pid}/fd")) == [0, 1, 2]


def test_exec_sees_only_stdio(ctr, tmp_path):
    f = tmp_path / "secret"
    f.write_text("x")
    ctr.start_running()
    r = ctr.cmd("exec", ctr.id, "sh", "-c", "ls /proc/$$/fd; true", fds={3: f, 7: f})
    assert r.returncode == 0, r
    assert fds_of(r.stdout) == [0, 1, 2]


def test_preserve_fds(ctr, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("fd three\n")
    b.write_text("fd four\n")
    ctr.sh("ls /proc/$$/fd; cat <&3; cat <&4; true")
    ctr.write_config()
    r = ctr.cmd("run", "--preserve-fds", "2", "--bundle", ctr.bundle, ctr.id,
                fds={3: a, 4: b, 5: a})
    assert r.returncode == 0, r
    lines = r.stdout.split("\n")
    assert fds_of(" ".join(lines[:-3])) == [0, 1, 2, 3, 4], r.stdout
    assert lines[-3:-1] == ["fd three", "fd four"]


@pytest.mark.parametrize("n", range(3, 21))
def test_cwd_proc_self_fd_never_reaches_host(ctr, n):
    ctr.process["cwd"] = f"/proc/self/fd/{n}"
    ctr.sh(ROOT_CHECK)
    r = ctr.run()
    if r.returncode == 0:
        up, root = r.stdout.split()
        assert up == root, f"cwd {ctr.process['cwd']} is outside the container root: {r}"
    else:
        # refusing is fine (runc: "current working directory is outside of container
        # mount namespace root"), but the program must not have run
        assert ":" not in r.stdout, r
        assert not ctr.leftovers()


def test_exec_cwd_proc_self_fd_never_reaches_host(ctr):
    ctr.start_running()
    for n in range(3, 21):
        r = ctr.exec("sh", "-c", ROOT_CHECK, opts=["--cwd", f"/proc/self/fd/{n}"])
        if r.returncode == 0:
            up, root = r.stdout.split()
            assert up == root, f"exec --cwd /proc/self/fd/{n} is outside the root: {r}"
    assert ctr.status() == "running"


def test_proc_self_fd_shows_only_own_files(ctr):
    # every fd the init holds at exec time: stdio only, and none points at a host path
    ctr.sh("for f in /proc/$$/fd/*; do readlink $f; done; true")
    r = ctr.run()
    assert r.returncode == 0, r
    for target in r.stdout.split():
        assert target.startswith(("pipe:", "/dev/", "socket:", "anon_inode:")), target
    assert not oci.processes_with_marker(ctr.id)


# ---- socket activation: the caller's LISTEN_FDS, as runc passes them --------------------

def _activated(ctr, listen_pid, listen_fds, fds, *extra):
    """run with LISTEN_PID/LISTEN_FDS in the runtime's environment (LISTEN_PID "self": the
    runtime's own pid, as systemd sets it) and fds {n: path} open in it."""
    ctr.write_config()
    argv = ctr.argv(["run", "--bundle", ctr.bundle, *extra, ctr.id])
    redirs = " ".join(f"{n}<'{p}'" for n, p in sorted(fds.items()))
    pid = "$$" if listen_pid == "self" else str(listen_pid)
    # exec keeps the shell's pid: $$ is the runtime's.
    script = f'LISTEN_PID={pid} LISTEN_FDS={listen_fds}; export LISTEN_PID LISTEN_FDS; ' \
             f'exec "$@" {redirs}'
    p = subprocess.run(["/bin/sh", "-c", script, "sh", *map(str, argv)], capture_output=True,
                       text=True, timeout=60, stdin=subprocess.DEVNULL)
    return oci.Result(argv, p.returncode, p.stdout, p.stderr)


FDS_SCRIPT = ('echo "LISTEN_FDS=${LISTEN_FDS-unset} LISTEN_PID=${LISTEN_PID-unset}"; '
              'for n in 3 4 5 6; do [ -e /proc/$$/fd/$n ] && cat <&$n; done; true')


def _files(tmp_path, names):
    out = {}
    for n, text in names.items():
        f = tmp_path / f"fd{n}"
        f.write_text(text + "\n")
        out[n] = f
    return out


def test_listen_fds_passed_with_preserve_fds_after_them(ctr, tmp_path):
    # The config's own values are replaced; --preserve-fds counts from 3 + LISTEN_FDS.
    ctr.process["env"] += ["LISTEN_FDS=7", "LISTEN_PID=42"]
    ctr.sh(FDS_SCRIPT)
    fds = _files(tmp_path, {3: "three", 4: "four", 5: "five", 6: "six"})
    r = _activated(ctr, "self", 2, fds, "--preserve-fds", "1")
    assert r.returncode == 0, r
    assert r.stdout.split("\n") == ["LISTEN_FDS=2 LISTEN_PID=1", "three", "four", "five", ""], r


def test_listen_fds_only_for_the_process_listen_pid_names(ctr, tmp_path):
    # sd_listen_fds(3): the variables are for the process LISTEN_PID names only, with N > 0.
    ctr.sh(FDS_SCRIPT)
    fds = _files(tmp_path, {3: "three", 4: "four"})
    r = _activated(ctr, "self", 1, fds)
    assert r.returncode == 0 and r.stdout == "LISTEN_FDS=1 LISTEN_PID=1\nthree\n", r
    for listen_pid, listen_fds in [(1, 2), ("self", 0), ("self", "x")]:
        r = _activated(ctr, listen_pid, listen_fds, fds)
        assert r.returncode == 0, r
        assert r.stdout == "LISTEN_FDS=unset LISTEN_PID=unset\n", r
