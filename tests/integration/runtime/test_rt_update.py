"""`update` with runc's flags and --resources, read back from the container's cgroup
files (v1 controllers or cgroup2, wherever the container's init sits); `events --stats`."""

import json

import pytest

from helpers import oci

MiB = 1 << 20


def cgroup_file(pid: int, controller: str, v1_name: str, v2_name: str) -> str:
    """Contents of a control file of pid's cgroup: the v1 controller's when mounted."""
    paths = {}
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            for c in ctrls.split(","):
                paths[c] = path
    mounts = oci.cgroup_mounts()
    if controller in paths:
        for mp in mounts:
            if mp.rstrip("/").split("/")[-1].split(",").count(controller):
                with open(f"{mp}{paths[controller]}/{v1_name}") as f:
                    return f.read().strip()
    unified = "/sys/fs/cgroup/unified" if "/sys/fs/cgroup/unified" in mounts else "/sys/fs/cgroup"
    with open(f"{unified}{paths['']}/{v2_name}") as f:
        return f.read().strip()


def memory_limit(pid: int) -> int:
    v = cgroup_file(pid, "memory", "memory.limit_in_bytes", "memory.max")
    return -1 if v == "max" else int(v)


def pids_max(pid: int) -> str:
    return cgroup_file(pid, "pids", "pids.max", "pids.max")


@pytest.fixture
def limited(ctr):
    ctr.config["linux"]["resources"] = {"memory": {"limit": 64 * MiB}, "pids": {"limit": 100}}
    ctr.start_running()
    return ctr


@pytest.mark.skip_runtime("crun", reason="crun 1.8 pastes the size into JSON: no units")
@pytest.mark.parametrize("size, value", [
    ("100m", 100 * MiB), ("1.5m", int(1.5 * MiB)), ("96MiB", 96 * MiB), ("80 MB", 80 * MiB),
    ("72Mi", 72 * MiB), ("67108864", 64 * MiB)])
def test_update_memory_sizes_as_runc(limited, size, value):
    # runc reads sizes with go-units' RAMInBytes: fractions, "KiB", "MB", a space
    limited.cmd("update", "--memory", size, limited.id).ok()
    assert memory_limit(limited.pid()) == value


def test_update_bad_size_is_refused(limited):
    r = limited.cmd("update", "--memory", "12q", limited.id)
    assert r.returncode == 1, r
    assert "12q" in r.stderr
    assert memory_limit(limited.pid()) == 64 * MiB


@pytest.mark.skip_runtime("crun", reason="crun 1.8 names the flag --cpu-shares")
def test_update_cpu_share_as_runc_spells_it(limited):
    limited.cmd("update", "--cpu-share", "512", limited.id).ok()
    assert cgroup_file(limited.pid(), "cpu", "cpu.shares", "cpu.weight") in ("512", "20")


@pytest.mark.skip_runtime("crun", reason="crun 1.8 has no kernel memory flags")
def test_update_kernel_memory_is_ignored_with_a_warning(limited):
    r = limited.cmd("update", "--kernel-memory", "10m", "--kernel-memory-tcp", "10m",
                    limited.id)
    assert r.returncode == 0, r
    assert "ignored" in r.stderr


@pytest.mark.skip_runtime("crun", reason="crun 1.8 has no Intel RDT flags")
def test_update_intel_rdt_without_rdt_is_an_error(limited):
    r = limited.cmd("update", "--l3-cache-schema", "L3:0=f", limited.id)
    assert r.returncode == 1 and "not enabled" in r.stderr, r


@pytest.mark.skip_runtime("crun", reason="crun 1.8 merges the flags into the file's values")
def test_update_resources_file_ignores_the_other_flags(limited, tmp_path):
    # runc: "if data is to be read from a file or the standard input, all other options
    # are ignored"
    f = tmp_path / "res.json"
    f.write_text(json.dumps({"pids": {"limit": 50}}))
    limited.cmd("update", "-r", f, "--memory", "32m", "--pids-limit", "20", limited.id).ok()
    assert pids_max(limited.pid()) == "50"
    assert memory_limit(limited.pid()) == 64 * MiB


@pytest.mark.skip_runtime("crun", reason="crun 1.8 has no events verb")
def test_events_stats_has_runcs_fields(limited):
    # runc's `events --stats` data (types/events.go): every section, and in memory the
    # memory.stat values as raw (a working set is computed from them)
    r = limited.cmd("events", "--stats", limited.id).ok()
    ev = json.loads(r.stdout)
    assert ev["type"] == "stats" and ev["id"] == limited.id
    d = ev["data"]
    for key in ("cpu", "memory", "pids", "blkio", "hugetlb", "intel_rdt"):
        assert key in d, key
    assert "network_interfaces" in d
    assert d["memory"]["usage"]["limit"] == 64 * MiB
    assert d["memory"]["usage"]["usage"] > 0
    for entry in ("usage", "swap"):
        assert "limit" in d["memory"][entry], entry
    raw = d["memory"]["raw"]
    assert raw and all(isinstance(v, int) for v in raw.values())
    assert any(k in raw for k in ("inactive_file", "total_inactive_file")), raw
    assert d["pids"] == {"current": 1, "limit": 100}
    assert isinstance(d["cpu"]["usage"]["percpu"], list)
