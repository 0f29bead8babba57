"""OCI hooks: every phase in order, in the right namespaces, with the state on stdin; a
hook that fails or outlives its timeout fails create/start and nothing is left behind."""

import json
import os
import subprocess
import time
import uuid

from .conftest import cid

PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def recorder(phase, logdir):
    """A hook that appends '<phase> <mnt ns>' to logdir/log and saves its stdin."""
    script = (f'echo "{phase} $(readlink /proc/self/ns/mnt)" >> {logdir}/log; '
              f'cat > {logdir}/state-{phase}.json')
    return {"path": "/bin/sh", "args": ["sh", "-c", script], "env": [PATH_ENV]}


def add_logdir(bundle, host_dir):
    bundle.config["mounts"].append({"destination": "/hooklog", "type": "bind",
                                    "source": str(host_dir), "options": ["rbind", "rw"]})


def host_mnt_ns():
    return os.readlink("/proc/self/ns/mnt")


def test_every_phase_in_order_with_state(rt, make_bundle, tmp_path):
    logdir = tmp_path / "log"
    logdir.mkdir()
    b = make_bundle(["sleep", "30"])
    add_logdir(b, logdir)
    host = {p: recorder(p, logdir) for p in
            ("prestart", "createRuntime", "createContainer", "poststart", "poststop")}
    b.config["hooks"] = {p: [h] for p, h in host.items()}
    # startContainer runs in the container: its path and files are the container's.
    b.config["hooks"]["startContainer"] = [recorder("startContainer", "/hooklog")]
    b.save()
    c = cid()
    rt.run("create", "--bundle", str(b.path), c, check=True)
    st = rt.state(c)
    assert st["status"] == "created"
    rt.run("start", c, check=True)
    rt.run("kill", c, "KILL", check=True)
    for _ in range(100):
        if rt.state(c)["status"] == "stopped":
            break
        time.sleep(0.05)
    rt.run("delete", c, check=True)

    lines = (logdir / "log").read_text().split("\n")
    phases = [l.split()[0] for l in lines if l]
    assert phases == ["prestart", "createRuntime", "createContainer", "startContainer",
                      "poststart", "poststop"]
    ns = dict(l.split() for l in lines if l)
    # Runtime namespace for prestart, createRuntime, poststart, poststop; the container's
    # for createContainer and startContainer.
    for p in ("prestart", "createRuntime", "poststart", "poststop"):
        assert ns[p] == host_mnt_ns(), p
    assert ns["createContainer"] != host_mnt_ns()
    assert ns["startContainer"] == ns["createContainer"]

    expect = {"prestart": "creating", "createRuntime": "creating",
              "createContainer": "creating", "startContainer": "created",
              "poststart": "running", "poststop": "stopped"}
    for phase, status in expect.items():
        s = json.loads((logdir / f"state-{phase}.json").read_text())
        assert s["id"] == c and s["status"] == status, (phase, s)
        assert s["bundle"] == str(b.path)
        assert "ociVersion" in s
        if status != "stopped":
            assert s["pid"] == st["pid"], phase


def test_run_runs_hooks(rt, make_bundle, tmp_path):
    logdir = tmp_path / "log"
    logdir.mkdir()
    b = make_bundle(["true"])
    add_logdir(b, logdir)
    b.config["hooks"] = {p: [recorder(p, logdir)] for p in
                         ("prestart", "createRuntime", "createContainer", "poststart",
                          "poststop")}
    b.config["hooks"]["startContainer"] = [recorder("startContainer", "/hooklog")]
    b.save()
    r = rt.run("run", "--bundle", str(b.path), cid())
    assert r.returncode == 0, r.stderr
    phases = [l.split()[0] for l in (logdir / "log").read_text().split("\n") if l]
    assert phases == ["prestart", "createRuntime", "createContainer", "startContainer",
                      "poststart", "poststop"]


def test_args_and_env_reach_the_hook(rt, make_bundle, tmp_path):
    out = tmp_path / "out"
    b = make_bundle(["true"])
    b.config["hooks"] = {"createRuntime": [{
        "path": "/bin/sh", "args": ["sh", "-c", f'echo "$0 $1 $FOO" > {out}', "first", "second"],
        "env": [PATH_ENV, "FOO=bar"]}]}
    b.save()
    r = rt.run("run", "--bundle", str(b.path), cid())
    assert r.returncode == 0, r.stderr
    assert out.read_text().strip() == "first second bar"


def assert_nothing_left(rt, marker=None):
    state_root = rt.root
    left = os.listdir(state_root) if os.path.isdir(state_root) else []
    assert [d for d in left if not d.startswith(".")] == [], left
    if marker:
        # The runtime SIGKILLs the hook's process group but reaps only the hook: a child
        # still shows until the kernel has run its kill, later on a loaded machine.
        def shown():
            return marker in subprocess.run(["ps", "-eo", "args"], capture_output=True,
                                            text=True).stdout
        end = time.monotonic() + 10
        while shown() and time.monotonic() < end:
            time.sleep(0.05)
        assert not shown(), f"{marker!r} outlived the hook's timeout"


def test_failing_create_hook_fails_and_cleans_up(rt, make_bundle, tmp_path):
    for phase in ("prestart", "createRuntime", "createContainer"):
        poststop_out = tmp_path / f"poststop-{phase}"
        b = make_bundle(["sleep", "30"])
        b.config["hooks"] = {
            phase: [{"path": "/bin/sh", "args": ["sh", "-c", "echo boom-$0 >&2; exit 3", phase],
                     "env": [PATH_ENV]}],
            "poststop": [{"path": "/bin/sh", "args": ["sh", "-c", f"cat > {poststop_out}"]}]}
        b.save()
        c = cid()
        r = rt.run("create", "--bundle", str(b.path), c)
        assert r.returncode != 0
        assert f'{phase} hook "/bin/sh"' in r.stderr, r.stderr
        assert "exit status 3" in r.stderr and f"boom-{phase}" in r.stderr, r.stderr
        assert_nothing_left(rt)
        # The lifecycle goes on to the poststop hooks.
        assert json.loads(poststop_out.read_text())["status"] == "stopped"


def test_missing_hook_binary_names_it(rt, make_bundle):
    b = make_bundle(["true"])
    b.config["hooks"] = {"prestart": [{"path": "/nonexistent/hook"}]}
    b.save()
    r = rt.run("run", "--bundle", str(b.path), cid())
    assert r.returncode != 0
    assert 'prestart hook "/nonexistent/hook": exec: no such file or directory' in r.stderr
    assert_nothing_left(rt)


def test_hook_timeout_kills_it(rt, make_bundle):
    n = uuid.uuid4().int % 1000000
    marker = f"sleep 30.{n:06d}"  # the hook's child: killed with the hook's process group
    b = make_bundle(["sleep", "30"])
    b.config["hooks"] = {"createRuntime": [{
        "path": "/bin/sh", "args": ["sh", "-c", f"{marker}; true"], "timeout": 1}]}
    b.save()
    t0 = time.monotonic()
    r = rt.run("create", "--bundle", str(b.path), cid())
    took = time.monotonic() - t0
    assert r.returncode != 0
    assert "timed out after 1s" in r.stderr and "createRuntime" in r.stderr, r.stderr
    assert took < 10
    assert_nothing_left(rt, marker)


def test_failing_start_container_hook_fails_start(rt, make_bundle):
    b = make_bundle(["sleep", "30"])
    b.config["hooks"] = {"startContainer": [{
        "path": "/bin/sh", "args": ["sh", "-c", "echo nope >&2; exit 1"]}]}
    b.save()
    c = cid()
    rt.run("create", "--bundle", str(b.path), c, check=True)
    r = rt.run("start", c)
    assert r.returncode != 0
    assert 'startContainer hook "/bin/sh": exit status 1: stderr: nope' in r.stderr, r.stderr
    # The program never ran and the container stopped.
    for _ in range(100):
        if rt.state(c)["status"] == "stopped":
            break
        time.sleep(0.05)
    assert rt.state(c)["status"] == "stopped"
    rt.run("delete", c, check=True)
    assert_nothing_left(rt)


def test_failing_poststart_is_a_warning(rt, make_bundle):
    b = make_bundle(["true"])
    b.config["hooks"] = {"poststart": [{"path": "/bin/false"}]}
    b.save()
    r = rt.run("run", "--bundle", str(b.path), cid())
    assert r.returncode == 0, r.stderr
    assert 'poststart hook "/bin/false": exit status 1' in r.stderr
