"""OCI hooks: every kind runs at its point of the lifecycle with the state on stdin, its
env and args; a failing or hanging hook fails the operation and cleans up."""

import json
import os
import time

import pytest

from helpers import oci

HOST_HOOKS = ("prestart", "createRuntime", "createContainer", "poststart", "poststop")


def recorder(log, name, env_val="v"):
    """A hook that appends its name to log and saves its stdin and $HOOK_ENV."""
    return {"path": "/bin/sh",
            "args": ["sh", "-c", f'cat > "{log}.{name}.json"; echo "{name} $HOOK_ENV $0 $1" '
                     f'>> "{log}"', "arg0", "arg1"],
            "env": [f"HOOK_ENV={env_val}"]}


def test_hooks_run_in_order_with_state(ctr, tmp_path):
    log = tmp_path / "hooks.log"
    ctr.config["hooks"] = {name: [recorder(log, name)] for name in HOST_HOOKS}
    # startContainer runs in the container: its path and the file it writes are inside
    ctr.config["hooks"]["startContainer"] = [
        {"path": "/bin/sh", "args": ["sh", "-c", "cat > /start.json"]}]
    ctr.sh("echo $$ > /program-ran; exec sleep 1000")
    ctr.create().ok()
    names = lambda: [ln.split()[0] for ln in log.read_text().splitlines()]  # noqa: E731
    if ctr.runtime.name == "runc":  # runc 1.1 runs poststart at create time
        assert names()[:3] == ["prestart", "createRuntime", "createContainer"]
    else:
        assert names() == ["prestart", "createRuntime", "createContainer"]
    assert not (ctr.rootfs / "start.json").exists()
    init_pid = ctr.pid()
    ctr.start().ok()
    oci.wait_for(lambda: "poststart" in names(), what="poststart")
    assert names()[:4] == ["prestart", "createRuntime", "createContainer", "poststart"]
    start = json.loads((ctr.rootfs / "start.json").read_text())
    assert start["id"] == ctr.id  # (its pid: runc gives 1, crun 0; the spec is silent)
    ctr.kill("KILL").ok()
    ctr.wait_status("stopped")
    ctr.delete().ok()
    assert names()[-1] == "poststop"
    for ln in log.read_text().splitlines():
        assert ln.split()[1:] == ["v", "arg0", "arg1"], ln  # env and args reach the hook
    for name in HOST_HOOKS:
        st = json.loads(open(f"{log}.{name}.json").read())
        assert st["id"] == ctr.id, name
        assert os.path.realpath(st["bundle"]) == os.path.realpath(ctr.bundle), name
        if name in ("prestart", "createRuntime", "poststart"):
            assert st["pid"] == init_pid, name
    assert json.loads(open(f"{log}.poststop.json").read())["status"] == "stopped"


def test_poststop_runs_on_run_exit(ctr, tmp_path):
    log = tmp_path / "hooks.log"
    ctr.config["hooks"] = {"poststop": [recorder(log, "poststop")]}
    ctr.run().ok()
    assert log.read_text().split()[0] == "poststop"


@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer"])
def test_failing_hook_fails_create_and_cleans_up(ctr, tmp_path, kind):
    ctr.config["hooks"] = {kind: [{"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]}]}
    ctr.sh("echo ran > /ran; sleep 1000")
    r = ctr.create()
    assert r.returncode != 0, r
    assert not (ctr.rootfs / "ran").exists()
    assert not ctr.leftovers()


def test_failing_start_hook_stops_the_program(ctr):
    # startContainer runs in the init just before the program: failing it means the
    # program never runs (the start verb itself may already have returned)
    ctr.config["hooks"] = {"startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "exit 4"]}]}
    ctr.sh("echo ran > /ran; sleep 1000")
    ctr.create().ok()
    ctr.start()
    ctr.wait_status("stopped")
    assert not (ctr.rootfs / "ran").exists()


def test_hook_timeout(ctr, tmp_path):
    pidfile = tmp_path / "hook.pid"
    ctr.config["hooks"] = {"createRuntime": [
        {"path": "/bin/sh", "args": ["sh", "-c", f"echo $$ > {pidfile}; exec sleep 30"],
         "timeout": 1}]}
    t0 = time.monotonic()
    r = ctr.create()
    assert r.returncode != 0, r
    assert time.monotonic() - t0 < 10
    assert not ctr.leftovers()
    # the hung hook was killed too
    pid = int(pidfile.read_text())
    oci.wait_for(lambda: not oci.pid_alive(pid), timeout=3, what="the hook to be killed")


def test_missing_hook_binary(ctr):
    ctr.config["hooks"] = {"createRuntime": [{"path": "/no/such/hook"}]}
    r = ctr.create()
    assert r.returncode != 0, r
    assert "/no/such/hook" in r.stderr, r
    assert not ctr.leftovers()
