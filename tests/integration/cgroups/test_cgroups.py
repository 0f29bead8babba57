"""cgroup limits and verbs, live on this host (v1 controllers, hybrid cgroup2 tree)."""
import json
import os
import subprocess
import time

import pytest

from .conftest import RUNTIME, cgroup_dirs, controller_dir

KMSG_BIND = {"destination": "/dev/kmsg2", "type": "bind", "source": "/dev/kmsg",
             "options": ["bind"]}

MiB = 1 << 20


def read(path):
    with open(path) as f:
        return f.read().strip()


def cpu_ns(runtime, cid):
    return runtime.stats(cid)["data"]["cpu"]["usage"]["total"]


def wait_until(cond, what, timeout=20):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        time.sleep(0.05)


def wait_exec(runtime, cid, prog="sleep"):
    """Waits until the container's init has exec'd prog: a script's forks before its
    `exec prog` are all done then, so the set of processes no longer changes."""
    pid = runtime.state(cid)["pid"]

    def execd():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                return f.read().split(b"\0")[0] == prog.encode()
        except OSError:
            return False
    wait_until(execd, f"{cid}'s init to exec {prog}")


def test_cgroup_placed_like_runc(runtime):
    """Default cgroupsPath: /<id> nested under the caller's own cgroup per hierarchy."""
    cid = runtime.run_detached(["sleep", "100"], {"memory": {"limit": 64 * MiB}})
    pid = runtime.state(cid)["pid"]
    mine = {}
    for line in open("/proc/self/cgroup").read().splitlines():
        _, ctrls, path = line.split(":", 2)
        mine[ctrls] = path
    for line in open(f"/proc/{pid}/cgroup").read().splitlines():
        _, ctrls, path = line.split(":", 2)
        assert path == os.path.join(mine[ctrls], cid), line
    assert read(controller_dir("memory", cid) + "/memory.limit_in_bytes") == str(64 * MiB)
    assert read(controller_dir("memory", cid) + "/notify_on_release") == "1"


def test_oom_kill_with_16m_limit(runtime):
    cid = runtime.new_id()
    b = runtime.bundle(["dd", "if=/dev/zero", "of=/dev/shm/fill", "bs=1M", "count=64"],
                       {"memory": {"limit": 16 * MiB, "swap": 16 * MiB}})
    r = runtime("run", "-b", str(b), cid, check=False, timeout=60)
    assert r.returncode == 128 + 9, (r.returncode, r.stderr)
    for d in cgroup_dirs(cid):
        assert not os.path.exists(d)


def test_oom_during_start_is_reported(runtime):
    """A limit too small for init to even exec: the error says so, nothing is left."""
    cid = runtime.new_id()
    b = runtime.bundle(["true"], {"memory": {"limit": 4096, "swap": 4096}})
    r = runtime("run", "-b", str(b), cid, check=False, timeout=60)
    if r.returncode == 0:
        pytest.skip("init fit into one page on this kernel")
    if "OOM" not in r.stderr and r.returncode == 128 + 9:
        pytest.skip("killed after exec, not during start")
    assert "container init was OOM-killed (memory limit too low?)" in r.stderr, r.stderr
    for d in cgroup_dirs(cid):
        assert not os.path.exists(d)


def test_pids_limit(runtime):
    # The subshell forks sleeps until the limit stops it; init then execs a sleep (no fork).
    cid = runtime.run_detached(
        ["sh", "-c", "(for i in $(seq 1 30); do sleep 100 & done) 2>/dev/null; exec sleep 100"],
        {"pids": {"limit": 10}})
    # Counted once the loop is over (init waits for the subshell, then execs sleep): while
    # it forks, `ps` and `events --stats` would each see a different moment.
    wait_exec(runtime, cid)
    pids = json.loads(runtime("ps", "--format", "json", cid).stdout)
    assert 3 <= len(pids) <= 10, pids
    assert read(controller_dir("pids", cid) + "/pids.max") == "10"
    stats = runtime.stats(cid)["data"]["pids"]
    assert stats["limit"] == 10 and stats["current"] == len(pids)


def test_cpu_quota_20_percent(runtime):
    cid = runtime.run_detached(["sh", "-c", "while :; do :; done"],
                               {"cpu": {"quota": 20000, "period": 100000}})
    time.sleep(0.3)
    t0, u0 = time.monotonic(), cpu_ns(runtime, cid)
    time.sleep(1.0)
    t1, u1 = time.monotonic(), cpu_ns(runtime, cid)
    share = (u1 - u0) / 1e9 / (t1 - t0)
    assert 0.08 <= share <= 0.35, share
    th = runtime.stats(cid)["data"]["cpu"]["throttling"]
    assert th["throttledPeriods"] > 0


def test_pause_resume(runtime):
    cid = runtime.run_detached(["sh", "-c", "while :; do :; done"])
    wait_until(lambda: cpu_ns(runtime, cid) > 20_000_000, "the loop to run")
    runtime("pause", cid)
    assert runtime.state(cid)["status"] == "paused"
    assert read(controller_dir("freezer", cid) + "/freezer.state") == "FROZEN"
    u0 = cpu_ns(runtime, cid)
    time.sleep(0.5)
    assert cpu_ns(runtime, cid) - u0 < 20_000_000  # < 20 ms in 0.5 s
    assert runtime("pause", cid, check=False).returncode != 0  # not running
    runtime("resume", cid)
    assert runtime.state(cid)["status"] == "running"
    # Busy again: 0.1 s of CPU, however long a loaded machine takes to give it (a fixed
    # 0.5 s window asked for 20% of a CPU, which other work can take).
    u0 = cpu_ns(runtime, cid)
    wait_until(lambda: cpu_ns(runtime, cid) - u0 > 100_000_000, "the resumed loop to run")


def test_update_live(runtime):
    cid = runtime.run_detached(["sleep", "100"],
                               {"memory": {"limit": 16 * MiB, "swap": 16 * MiB}, "pids": {"limit": 20}})
    runtime("update", "--memory", "32m", "--memory-swap", "32m", "--pids-limit", "50",
            "--cpu-quota", "50000", "--cpu-period", "100000", "--cpu-shares", "512", cid)
    mem = controller_dir("memory", cid)
    assert read(mem + "/memory.limit_in_bytes") == str(32 * MiB)
    assert read(mem + "/memory.memsw.limit_in_bytes") == str(32 * MiB)
    assert read(controller_dir("pids", cid) + "/pids.max") == "50"
    assert read(controller_dir("cpu", cid) + "/cpu.cfs_quota_us") == "50000"
    assert read(controller_dir("cpu", cid) + "/cpu.shares") == "512"
    # --resources from stdin, and lowering memory again (limit before memsw this time).
    runtime("update", "--resources", "-", cid,
            input=json.dumps({"memory": {"limit": 24 * MiB, "swap": 24 * MiB}, "pids": {"limit": 30}}))
    assert read(mem + "/memory.limit_in_bytes") == str(24 * MiB)
    assert read(controller_dir("pids", cid) + "/pids.max") == "30"
    bad = runtime("update", "--blkio-weight", "5", cid, check=False)
    assert bad.returncode != 0 and "10 to 1000" in bad.stderr


def test_events_stats(runtime):
    cid = runtime.run_detached(["sleep", "100"], {"memory": {"limit": 64 * MiB}, "pids": {"limit": 64}})
    ev = runtime.stats(cid)
    assert ev["type"] == "stats" and ev["id"] == cid
    d = ev["data"]
    assert d["memory"]["usage"]["limit"] == 64 * MiB
    assert d["memory"]["usage"]["usage"] > 0
    assert d["cpu"]["usage"]["total"] > 0
    assert d["pids"]["current"] == 1 and d["pids"]["limit"] == 64
    assert "blkio" in d and "hugetlb" in d


def test_events_stream_reports_oom(runtime):
    cid = runtime.run_detached(
        ["sh", "-c", "sleep 1; dd if=/dev/zero of=/dev/shm/fill bs=1M count=64; sleep 100"],
        {"memory": {"limit": 16 * MiB, "swap": 16 * MiB}})
    p = subprocess.Popen([RUNTIME, "--root", str(runtime.root), "events", "--interval", "500ms", cid],
                         stdout=subprocess.PIPE, text=True)
    try:
        kinds = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            line = p.stdout.readline()
            if not line:
                break
            ev = json.loads(line)
            kinds.append(ev["type"])
            if ev["type"] == "oom":
                break
        assert "stats" in kinds and "oom" in kinds, kinds
    finally:
        p.kill()
        p.wait()


def test_kill_all_and_delete_leave_nothing(runtime):
    cid = runtime.run_detached(["sh", "-c", "sleep 100 & sleep 100 & exec sleep 100"],
                               {"pids": {"limit": 10}})
    wait_exec(runtime, cid)  # both sleeps forked
    assert len(json.loads(runtime("ps", "--format", "json", cid).stdout)) == 3
    runtime("kill", "--all", cid, "KILL")
    for _ in range(100):
        if runtime.state(cid)["status"] == "stopped":
            break
        time.sleep(0.05)
    assert runtime.state(cid)["status"] == "stopped"
    runtime("delete", cid)
    for d in cgroup_dirs(cid):
        assert not os.path.exists(d), d


def test_delete_force_paused_container(runtime):
    cid = runtime.run_detached(["sh", "-c", "sleep 100 & exec sleep 100"])
    runtime("pause", cid)
    t = time.monotonic()
    runtime("delete", "--force", cid)
    assert time.monotonic() - t < 5
    for d in cgroup_dirs(cid):
        assert not os.path.exists(d), d


def test_absolute_cgroups_path(runtime):
    path = f"/hull-itest/{os.getpid()}"
    cid = runtime.run_detached(["sleep", "100"], {"pids": {"limit": 7}},
                               edit=lambda s: s["linux"].__setitem__("cgroupsPath", path + "/c"))
    assert read(f"/sys/fs/cgroup/pids{path}/c/pids.max") == "7"
    runtime("delete", "--force", cid)
    assert not os.path.exists(f"/sys/fs/cgroup/pids{path}/c")
    assert not os.path.exists(f"/sys/fs/cgroup/pids/hull-itest/{os.getpid()}")


def test_hostile_cgroups_path_refused(runtime):
    cid = runtime.new_id()
    b = runtime.bundle(["true"], edit=lambda s: s["linux"].__setitem__("cgroupsPath", "../../x"))
    r = runtime("run", "-b", str(b), cid, check=False)
    assert r.returncode != 0 and '".." is not allowed' in r.stderr


def test_devices_v1_deny(runtime):
    """The default spec denies every device but the standard ones."""
    cid = runtime.run_detached(["sleep", "100"], edit=lambda s: s["mounts"].append(KMSG_BIND))
    rules = read(controller_dir("devices", cid) + "/devices.list").splitlines()
    assert "c 1:3 rwm" in rules and "a *:* rwm" not in rules
    r = runtime("exec", cid, "sh", "-c", "head -c0 /dev/kmsg2 && echo opened", check=False)
    assert "opened" not in r.stdout and "not permitted" in r.stdout + r.stderr


@pytest.mark.skipif(not os.path.exists("/sys/fs/cgroup/unified/cgroup.controllers"),
                    reason="no cgroup2 tree")
def test_v2_backend_live_on_unified_tree(runtime):
    """The v2 backend alone on this host's cgroup2 tree: procs, freeze, kill, devices."""
    env = dict(os.environ, HULL_CGROUP_FORCE="v2")
    cid = runtime.run_detached(["sh", "-c", "sleep 100 & exec sleep 100"], env=env,
                               edit=lambda s: s["mounts"].append(KMSG_BIND))
    own = [l.split(":", 2)[2] for l in open("/proc/self/cgroup").read().splitlines()
           if l.startswith("0::")][0]
    d = os.path.join("/sys/fs/cgroup/unified", own.lstrip("/"), cid)
    assert os.path.isdir(d)
    # Not placed in any v1 hierarchy.
    assert not os.path.exists(controller_dir("memory", cid))
    wait_exec(runtime, cid)  # the background sleep forked
    pids = json.loads(runtime("ps", "--format", "json", cid, env=env).stdout)
    assert len(pids) == 2 and sorted(pids) == sorted(int(p) for p in read(d + "/cgroup.procs").split())
    runtime("pause", cid, env=env)
    assert "frozen 1" in read(d + "/cgroup.events")
    assert runtime.state(cid)["status"] == "paused"
    runtime("resume", cid, env=env)
    assert "frozen 0" in read(d + "/cgroup.events")
    # The device program (BPF) allows the default set and denies the rest (/dev/kmsg).
    ok = runtime("exec", cid, "sh", "-c", "head -c1 /dev/full >/dev/null && echo ok", check=False, env=env)
    assert ok.stdout.strip() == "ok", ok.stderr
    r = runtime("exec", cid, "sh", "-c", "head -c0 /dev/kmsg2 && echo opened", check=False, env=env)
    assert "opened" not in r.stdout and "not permitted" in r.stdout + r.stderr
    runtime("kill", "--all", cid, "KILL")
    for _ in range(100):
        if not read(d + "/cgroup.procs"):
            break
        time.sleep(0.05)
    assert read(d + "/cgroup.procs") == ""
    # cgroup.procs hides a process as soon as it starts exiting; the init is
    # "stopped" only once it is a zombie, a moment later.
    for _ in range(100):
        if runtime.state(cid)["status"] == "stopped":
            break
        time.sleep(0.05)
    runtime("delete", cid)
    assert not os.path.exists(d)


def test_update_persists_resources(runtime):
    """`update` keeps the merged resources in state.json: a later update of one field keeps
    the others at their updated values (the whole merged set is re-applied, as runc does),
    and `events --stats` shows them."""
    cid = runtime.run_detached(["sleep", "100"],
                               {"memory": {"limit": 64 * MiB}, "pids": {"limit": 64}})
    state_file = runtime.root / cid / "state.json"
    saved = json.loads(state_file.read_text())["resources"]
    assert saved["memory"]["limit"] == 64 * MiB and saved["pids"]["limit"] == 64

    runtime("update", "--memory", "32m", cid)
    saved = json.loads(state_file.read_text())["resources"]
    assert saved["memory"]["limit"] == 32 * MiB and saved["pids"]["limit"] == 64

    # Without the saved 32m, re-applying the config's resources would undo it.
    runtime("update", "--pids-limit", "10", "--cpu-shares", "256", cid)
    saved = json.loads(state_file.read_text())["resources"]
    assert saved["memory"]["limit"] == 32 * MiB
    assert saved["pids"]["limit"] == 10 and saved["cpu"]["shares"] == 256
    assert read(controller_dir("memory", cid) + "/memory.limit_in_bytes") == str(32 * MiB)
    assert read(controller_dir("pids", cid) + "/pids.max") == "10"
    assert read(controller_dir("cpu", cid) + "/cpu.shares") == "256"
    d = runtime.stats(cid)["data"]
    assert d["memory"]["usage"]["limit"] == 32 * MiB and d["pids"]["limit"] == 10

    # A failed update changes neither the cgroup nor state.json.
    bad = runtime("update", "--blkio-weight", "5", cid, check=False)
    assert bad.returncode != 0
    assert json.loads(state_file.read_text())["resources"] == saved


# ---- exec --cgroup: a sub-cgroup of the container's, as runc ---------------------------

def _host_cgroups(pid):
    """{controllers: path} of a process as the host sees it ("" for cgroup2)."""
    out = {}
    for line in open(f"/proc/{pid}/cgroup").read().splitlines():
        _, ctrls, path = line.split(":", 2)
        out[ctrls] = path
    return out


def _exec_detached(runtime, cid, *opts, env=None):
    pid_file = runtime.tmp / f"exec-{len(os.listdir(runtime.tmp))}.pid"
    runtime("exec", "-d", "--pid-file", str(pid_file), *opts, cid, "sleep", "100",
            env=env, detached=True)
    return int(pid_file.read_text())


def test_exec_cgroup_v1_sub_cgroups(runtime):
    """Per controller (`memory:sub`) and for every hierarchy (a bare path); a controller's
    own path wins over the bare one. The exec'd process counts as the container's."""
    cid = runtime.run_detached(["sleep", "100"])
    base = {c: p for c, p in _host_cgroups(runtime.state(cid)["pid"]).items()}
    os.mkdir(controller_dir("memory", cid) + "/sub")
    for d in cgroup_dirs(cid):
        os.makedirs(d + "/all/deeper")
        # A new v1 cpuset cgroup has no cpus or mems: nothing can join it until it does.
        for sub in ("/all", "/all/deeper"):
            for f in ("cpuset.cpus", "cpuset.mems"):
                if os.path.exists(d + sub + "/" + f):
                    with open(d + sub + "/" + f, "w") as out:
                        out.write(read(d + "/" + f))

    pid = _exec_detached(runtime, cid, "--cgroup", "memory:sub")
    got = _host_cgroups(pid)
    for ctrls, path in got.items():
        want = base[ctrls] + "/sub" if "memory" in ctrls.split(",") else base[ctrls]
        assert path == want, (ctrls, got)

    pid = _exec_detached(runtime, cid, "--cgroup", "/all//deeper/", "--cgroup", "memory:sub")
    got = _host_cgroups(pid)
    for ctrls, path in got.items():
        if ctrls == "":  # the hybrid cgroup2 directory stays the container's
            want = base[ctrls]
        elif "memory" in ctrls.split(","):
            want = base[ctrls] + "/sub"
        else:
            want = base[ctrls] + "/all/deeper"
        assert path == want, (ctrls, got)
    # Both exec'd sleeps are the container's: listed, and killed with it by delete.
    assert len(json.loads(runtime("ps", "--format", "json", cid).stdout)) == 3


def test_exec_cgroup_errors(runtime):
    cid = runtime.run_detached(["sleep", "100"])
    os.mkdir(controller_dir("memory", cid) + "/sub")
    cases = [
        (["--cgroup", "missing"], 'sub-cgroup "missing" of the container\'s cgroup does not exist'),
        (["--cgroup", "memory:nope"], 'sub-cgroup "nope" of the container\'s cgroup does not exist'),
        (["--cgroup", "memory:../.."], '".." is not allowed'),
        (["--cgroup", "sub/../../x"], '".." is not allowed'),
        (["--cgroup", "nosuch:sub"], 'unknown controller "nosuch"'),
        (["--cgroup", ":sub"], "empty <controller> prefix"),
        (["--cgroup", "memory:sub", "--cgroup", "memory,pids:sub"],
         "controller memory specified multiple times"),
        (["--cgroup", "a", "--cgroup", "b"], "multiple <path> values specified"),
    ]
    for opts, message in cases:
        r = runtime("exec", *opts, cid, "true", check=False)
        assert r.returncode == 255 and message in r.stderr, (opts, r.stderr)


@pytest.mark.skipif(not os.path.exists("/sys/fs/cgroup/unified/cgroup.controllers"),
                    reason="no cgroup2 tree")
def test_exec_cgroup_v2_sub_cgroup(runtime):
    env = dict(os.environ, HULL_CGROUP_FORCE="v2")
    cid = runtime.run_detached(["sleep", "100"], env=env)
    own = _host_cgroups(os.getpid())[""]
    d = os.path.join("/sys/fs/cgroup/unified", own.lstrip("/"), cid)
    os.makedirs(d + "/sub/deeper")
    pid = _exec_detached(runtime, cid, "--cgroup", "sub/deeper", env=env)
    assert _host_cgroups(pid)[""] == os.path.join(own, cid, "sub/deeper")
    assert str(pid) in read(d + "/sub/deeper/cgroup.procs").split()
    assert len(json.loads(runtime("ps", "--format", "json", cid, env=env).stdout)) == 2
    for opts, message in [
            (["--cgroup", "gone"], 'sub-cgroup "gone" of the container\'s cgroup does not exist'),
            (["--cgroup", "../x"], '".." is not allowed'),
            (["--cgroup", "memory:sub"], "give the path alone")]:
        r = runtime("exec", *opts, cid, "true", check=False, env=env)
        assert r.returncode == 255 and message in r.stderr, (opts, r.stderr)
    runtime("delete", "--force", cid, env=env)
    assert not os.path.exists(d)


@pytest.mark.skipif(not os.path.exists("/sys/fs/cgroup/unified/cgroup.controllers"),
                    reason="no cgroup2 tree")
def test_exec_v2_falls_back_to_the_inits_cgroup(runtime):
    """runc's fallback: a container's cgroup2 directory that refuses a new process (its
    init moved to a sub-cgroup and a domain controller enabled below it: the kernel's "no
    internal processes" rule, EBUSY) gives way to the init's own cgroup."""
    env = dict(os.environ, HULL_CGROUP_FORCE="v2")
    cid = runtime.run_detached(["sleep", "100"], env=env)
    own = _host_cgroups(os.getpid())[""]
    d = os.path.join("/sys/fs/cgroup/unified", own.lstrip("/"), cid)
    # hugetlb is the one controller of this hybrid host's cgroup2 tree.
    if "hugetlb" not in read(d + "/cgroup.controllers").split():
        runtime("delete", "--force", cid, env=env)
        pytest.skip("no domain controller to enable in the container's cgroup2 directory")
    init = runtime.state(cid)["pid"]
    os.mkdir(d + "/init")
    try:
        with open(d + "/init/cgroup.procs", "w") as f:
            f.write(str(init))
        with open(d + "/cgroup.subtree_control", "w") as f:
            f.write("+hugetlb")
        # The container's own directory refuses any process now.
        probe = subprocess.Popen(["sleep", "30"])
        try:
            with pytest.raises(OSError) as refused:
                with open(d + "/cgroup.procs", "w") as f:
                    f.write(str(probe.pid))
            assert refused.value.errno == 16  # EBUSY
        finally:
            probe.kill()
            probe.wait()
        pid = _exec_detached(runtime, cid, env=env)
        assert _host_cgroups(pid)[""] == os.path.join(own, cid, "init")
        r = runtime("exec", cid, "cat", "/proc/self/cgroup", env=env)
        assert "0::/init" in r.stdout.splitlines(), r.stdout
        # An explicit --cgroup does not fall back: the refusal is the error.
        r = runtime("exec", "--cgroup", "/", cid, "true", check=False, env=env)
        assert r.returncode == 255 and "device or resource busy" in r.stderr, r.stderr
        assert os.path.join(own, cid) in r.stderr, r.stderr
    finally:
        runtime("kill", "--all", cid, "KILL", check=False)
        for _ in range(100):
            if runtime.state(cid)["status"] == "stopped" and not read(d + "/init/cgroup.procs"):
                break
            time.sleep(0.05)
        runtime("delete", cid, env=env)
    assert not os.path.exists(d)
