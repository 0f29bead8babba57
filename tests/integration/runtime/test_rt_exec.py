"""`exec`: a new process in a running container: args, --process, --env, --cwd, --user,
--tty with a console socket, --detach, --pid-file, exit status, joined namespaces and the
container's security settings."""

import json
import os
import re
import subprocess
import time

import pytest

from helpers import oci, procstatus

NS = ("mnt", "uts", "ipc", "net", "pid", "cgroup")


@pytest.fixture
def running(ctr):
    ctr.config["hostname"] = "exec-host"
    ctr.start_running()
    return ctr


def test_exec_args_and_exit_status(running):
    r = running.exec("sh", "-c", "echo out; echo err >&2; exit 7")
    assert r.returncode == 7, r
    assert r.stdout == "out\n" and "err\n" in r.stderr


def test_exec_stdin(running):
    r = running.exec("cat", input="piped input\n")
    assert r.returncode == 0 and r.stdout == "piped input\n", r


def test_exec_joins_container_namespaces(running):
    pid = running.pid()
    script = "; ".join(f"readlink /proc/self/ns/{n}" for n in NS) + "; hostname; echo $$"
    r = running.exec("sh", "-c", script).ok()
    out = r.stdout.splitlines()
    assert out[:len(NS)] == [os.readlink(f"/proc/{pid}/ns/{n}") for n in NS]
    assert out[len(NS)] == "exec-host"
    assert int(out[len(NS) + 1]) > 1  # a new pid in the container's pid namespace


@pytest.mark.skip_runtime("crun", reason="crun 1.8 exec does not set no_new_privs")
def test_exec_gets_container_security(running):
    pid = running.pid()
    with open(f"/proc/{pid}/status") as f:
        init = procstatus.parse_status(f.read())
    r = running.exec("cat", "/proc/self/status").ok()
    mine = procstatus.parse_status(r.stdout)
    for k in ("CapBnd", "CapEff", "CapPrm", "CapInh", "CapAmb", "NoNewPrivs", "Seccomp"):
        assert mine[k] == init[k], k


def test_exec_env_cwd_user(running):
    r = running.exec("/bin/sh", "-c", "echo $FOO; pwd; id -u; id -g; echo $HULL_ITEST",
                     opts=["--env", "FOO=bar", "--cwd", "/etc", "--user", "1000:1001"]).ok()
    out = r.stdout.splitlines()
    assert out[:4] == ["bar", "/etc", "1000", "1001"]
    if running.runtime.name != "crun":  # runc adds --env to the container's env; crun replaces
        assert out[4] == running.id


def test_exec_repeatable_flags_right_before_the_id(running):
    # each --env / --cap takes one value; the id and the command after it are not values
    # (crun replaces the environment with --env: PATH given)
    r = running.exec("sh", "-c", "echo $A $B; grep CapEff /proc/self/status",
                     opts=["--env", "PATH=/bin", "--env", "A=1", "--env", "B=2",
                           "--cap", "CAP_SYS_ADMIN"]).ok()
    out = r.stdout.splitlines()
    assert out[0] == "1 2"
    assert int(out[1].split()[1], 16) & (1 << 21)  # CAP_SYS_ADMIN


@pytest.mark.skip_runtime("crun", reason="crun 1.8 exec has no --additional-gids")
def test_exec_additional_gids_right_before_the_id(running):
    r = running.exec("id", "-G", opts=["--user", "1000", "-g", "5", "-g", "6"]).ok()
    assert r.stdout.split()[1:] == ["5", "6"]


def test_exec_process_file(running, tmp_path):
    proc = {"terminal": False, "user": {"uid": 1234, "gid": 2345, "additionalGids": [7]},
            "args": ["sh", "-c", "id -u; id -g; pwd; echo $X; grep Groups /proc/self/status"],
            "env": ["PATH=/bin:/usr/bin", "X=from-process-file"], "cwd": "/tmp",
            "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"],
                             "permitted": ["CAP_KILL"]},
            "noNewPrivileges": True}
    pf = tmp_path / "process.json"
    pf.write_text(json.dumps(proc))
    r = running.cmd("exec", "--process", pf, running.id).ok()
    out = r.stdout.splitlines()
    assert out[:4] == ["1234", "2345", "/tmp", "from-process-file"]
    assert out[4].split() == ["Groups:", "7"]


def test_exec_process_file_without_capabilities_gets_the_containers(running, tmp_path):
    # runc and crun fill a --process file's missing capabilities from the container's
    # config; it must never mean the runtime's own (a full bounding set)
    pid = running.pid()
    with open(f"/proc/{pid}/status") as f:
        init = procstatus.caps(procstatus.parse_status(f.read()))
    proc = {k: v for k, v in running.process.items() if k != "capabilities"}
    proc["args"] = ["cat", "/proc/self/status"]
    pf = tmp_path / "process.json"
    pf.write_text(json.dumps(proc))
    r = running.cmd("exec", "--process", pf, running.id).ok()
    assert procstatus.caps(procstatus.parse_status(r.stdout)) == init


@pytest.mark.skip_runtime("runc", reason="runc exec needs --detach with a console socket")
def test_exec_tty_console_socket(running, console):
    sock = console()
    r = running.exec("sh", "-c", "[ -t 0 ] && [ -t 1 ] && echo is-a-tty; exit 3",
                     opts=["--tty", "--console-socket", sock.path])
    assert r.returncode == 3, r
    assert "is-a-tty" in sock.read_until_eof()


def test_exec_tty_console_socket_detached(running, console):
    sock = console()
    r = running.detached("exec", "--detach", "--tty", "--console-socket", sock.path,
                         running.id, "sh", "-c", "[ -t 0 ] && [ -t 2 ] && echo is-a-tty; "
                         "stty size")
    assert r.returncode == 0, r
    out = sock.read_until_eof()
    assert "is-a-tty" in out, out


def test_exec_detach_and_pid_file(running, tmp_path):
    pf = tmp_path / "exec.pid"
    r = running.detached("exec", "--detach", "--pid-file", pf, running.id,
                         "sh", "-c", "echo detached > /detached; exec sleep 1000")
    assert r.returncode == 0, r
    oci.wait_for(lambda: (running.rootfs / "detached").exists(), what="detached exec")
    pid = int(pf.read_text())
    assert oci.pid_alive(pid) and pid != running.pid()

    def argv0():
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")[0]
    # /detached is written before `exec sleep`: the process at the pid file becomes sleep
    oci.wait_for(lambda: argv0() != b"sh", what="the exec of sleep")
    assert argv0() == b"sleep"
    assert os.readlink(f"/proc/{pid}/ns/pid") == os.readlink(f"/proc/{running.pid()}/ns/pid")


def test_exec_joins_container_cgroups(running, tmp_path):
    # Every hierarchy (v1 controllers and the cgroup2 dir): exec'd processes are counted
    # and limited with the container's.
    pf = tmp_path / "exec.pid"
    r = running.detached("exec", "--detach", "--pid-file", pf, running.id, "sleep", "1000")
    assert r.returncode == 0, r
    pid = int(pf.read_text())
    with open(f"/proc/{running.pid()}/cgroup") as f:
        want = sorted(f.read().splitlines())
    with open(f"/proc/{pid}/cgroup") as f:
        got = sorted(f.read().splitlines())
    assert got == want
    assert any(line.split(":", 2)[2] != "/" for line in want), want  # really a cgroup of its own


def test_exec_missing_program(running):
    r = running.exec("no-such-program-xyz")
    assert r.returncode != 0, r
    if running.runtime.name == "crun":
        assert re.search(r"executable file .*not found in \$PATH", r.stderr), r
    else:
        assert "executable file not found in $PATH" in r.stderr, r
    assert running.status() == "running"


@pytest.mark.parametrize("case", ["missing-program", "not-executable", "missing-cwd"])
def test_exec_failure_exit_status_is_255(running, case):
    # runc and crun exit 255 when the process cannot be started, so a caller can tell it
    # from a program that ran and exited 1
    if case == "missing-program":
        r = running.exec("no-such-program-xyz")
    elif case == "not-executable":
        (running.rootfs / "noexec").write_text("#!/bin/sh\n")
        r = running.exec("/noexec")
    else:
        r = running.exec("true", opts=["--cwd", "/no/such/dir"])
    assert r.returncode == 255, r
    assert running.status() == "running"


def test_exec_non_executable(running):
    f = running.rootfs / "noexec"
    f.write_text("#!/bin/sh\n")
    os.chmod(f, 0o644)
    r = running.exec("/noexec")
    assert r.returncode != 0, r
    assert "permission denied" in r.stderr.lower(), r


def test_exec_in_stopped_container_fails(ctr):
    ctr.set_args("true")
    ctr.create().ok()
    ctr.start().ok()
    ctr.wait_status("stopped")
    r = ctr.exec("true")
    assert r.returncode != 0, r


def test_exec_in_created_container(ctr):
    # runc and crun allow exec into a created container; whatever the exec does, the
    # container's own program must stay parked until start.
    ctr.sh("echo ran > /ran; sleep 1000")
    ctr.create().ok()
    ctr.exec("true")
    assert not (ctr.rootfs / "ran").exists()
    assert ctr.status() == "created"


@pytest.mark.parametrize("cwd", ["bin", "../etc", "."])
def test_exec_relative_cwd_is_refused(running, cwd):
    # runc: "Cwd must be an absolute path" (as in config.json), exit 255
    r = running.exec("pwd", opts=["--cwd", cwd])
    assert r.returncode == 255, r
    assert "absolute" in r.stderr, r


@pytest.mark.skip_runtime("crun", reason="crun 1.8 has no --ignore-paused")
def test_exec_in_paused_container_needs_ignore_paused(running):
    running.cmd("pause", running.id).ok()
    resumed = False
    try:
        r = running.exec("true")
        assert r.returncode == 255 and "--ignore-paused" in r.stderr, r
        # Accepted, the process starts frozen with the container (runc's exec waits for it
        # as well): resume lets it run and finish.
        argv = running.argv(["exec", "--ignore-paused", running.id, "sh", "-c", "exit 3"])
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        time.sleep(0.5)
        assert p.poll() is None, p.stderr.read()
        running.cmd("resume", running.id).ok()
        resumed = True
        assert p.wait(timeout=10) == 3
    finally:
        if not resumed:
            running.cmd("resume", running.id)


@pytest.mark.skip_runtime("crun", reason="crun 1.8 names no --process-label / --apparmor")
def test_exec_lsm_flags_are_known(running):
    # empty values mean "unchanged", as runc; the flags must not swallow the id
    r = running.exec("true", opts=["--apparmor", "", "--process-label", ""])
    assert r.returncode == 0, r


def test_exec_unknown_flag_before_the_id_is_an_error(running):
    # runc: "flag provided but not defined: -no-such-flag", exit 1 (a usage error)
    r = running.exec("true", opts=["--no-such-flag"])
    assert r.returncode == 1, r
    assert "no-such-flag" in r.stderr, r
