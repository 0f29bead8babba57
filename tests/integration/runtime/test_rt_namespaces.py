"""linux.namespaces: new ones (checked from inside and against the host's) and joined ones
(by path), hostname/domainname, user namespace mappings, cgroup and time namespaces."""

import os
import socket

import pytest

from helpers import oci

NS_FILES = {"pid": "pid", "uts": "uts", "ipc": "ipc", "network": "net", "mount": "mnt",
            "cgroup": "cgroup"}


def run_ok(ctr) -> str:
    r = ctr.run()
    assert r.returncode == 0, r
    return r.stdout


@pytest.mark.parametrize("ns", sorted(NS_FILES))
def test_new_namespace_differs_from_host(ctr, ns):
    ctr.set_namespace(ns)
    f = NS_FILES[ns]
    ctr.set_args("readlink", f"/proc/self/ns/{f}")
    inside = run_ok(ctr).strip()
    assert inside.startswith(f + ":[")
    assert inside != os.readlink(f"/proc/self/ns/{f}")


@pytest.mark.parametrize("ns", ["uts", "ipc", "network", "cgroup"])
def test_without_namespace_shares_host(ctr, ns):
    ctr.drop_namespace(ns)
    if ns == "uts":
        ctr.config.pop("hostname", None)
        ctr.config.pop("domainname", None)
    f = NS_FILES[ns]
    ctr.set_args("readlink", f"/proc/self/ns/{f}")
    assert run_ok(ctr).strip() == os.readlink(f"/proc/self/ns/{f}")


def test_hostname(ctr):
    host_before = socket.gethostname()
    ctr.config["hostname"] = "itest-host"
    ctr.set_args("hostname")
    assert run_ok(ctr) == "itest-host\n"
    assert socket.gethostname() == host_before


@pytest.mark.skip_runtime("runc", reason="domainname is new in runc 1.2")
def test_domainname(ctr):
    with open("/proc/sys/kernel/domainname") as f:
        host_before = f.read()
    ctr.config["domainname"] = "itest.example"
    ctr.set_args("cat", "/proc/sys/kernel/domainname")
    assert run_ok(ctr) == "itest.example\n"
    with open("/proc/sys/kernel/domainname") as f:
        assert f.read() == host_before


def test_pid_namespace_init_is_pid_1(ctr):
    ctr.sh("echo $$; ps -o pid,comm > /ps.txt; cat /ps.txt")
    out = run_ok(ctr).splitlines()
    assert out[0] == "1"
    procs = sorted(tuple(ln.split()) for ln in out[2:])
    # only the shell and ps exist in the container's pid namespace
    assert procs[0] == ("1", "sh") and len(procs) == 2 and procs[1][1] == "ps", out


def test_network_namespace_has_only_lo(ctr):
    ctr.sh("tail -n +3 /proc/net/dev | cut -d: -f1; ip -o link 2>/dev/null | wc -l")
    lines = run_ok(ctr).split()
    assert lines[0] == "lo" and len(lines) == 2, lines


def test_new_network_namespace_has_lo_up(ctr):
    # A netns the runtime makes starts with lo down: runc (its "loopback" network) and
    # crun bring it up before the program runs, so the program needs no CAP_NET_ADMIN.
    ctr.set_namespace("network")
    ctr.set_args("cat", "/sys/class/net/lo/flags")
    flags = int(run_ok(ctr).strip(), 16)
    assert flags & 0x1, f"lo is down: flags {flags:#x}"


def test_lo_is_usable(ctr):
    # loopback only inside the container's own network namespace
    ctr.sh("ip link set lo up 2>/dev/null || ifconfig lo up; "
           "(sleep 30 | nc -l -p 5555 > /got &); "
           # the listener keeps a stdin open (at EOF busybox nc may quit before reading);
           # the connect is retried: under load the listener may not be up yet
           "i=0; until echo ping | nc 127.0.0.1 5555 2>/dev/null || [ $i -ge 50 ]; do "
           "sleep 0.1; i=$((i+1)); done; "
           "i=0; until [ -s /got ] || [ $i -ge 50 ]; do sleep 0.1; i=$((i+1)); done; cat /got")
    ctr.process["capabilities"]["bounding"].append("CAP_NET_ADMIN")
    ctr.process["capabilities"]["effective"].append("CAP_NET_ADMIN")
    ctr.process["capabilities"]["permitted"].append("CAP_NET_ADMIN")
    assert "ping" in run_ok(ctr)


def test_ipc_namespace_isolates_sysv(ctr):
    # a SysV segment made on the host is invisible inside
    ctr.set_args("cat", "/proc/sysvipc/shm")
    lines = run_ok(ctr).splitlines()
    assert len(lines) == 1  # header only


def test_user_namespace_mappings(ctr):
    ctr.set_namespace("user")
    ctr.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    ctr.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]
    # the mount of cgroupfs needs privileges a user-namespaced root lacks on v1
    ctr.config["mounts"] = [m for m in ctr.config["mounts"] if m["type"] != "cgroup"]
    _chown_rootfs(ctr.rootfs, 100000, 200000)
    # the mapped root must be able to reach the bundle (pytest's tmp dirs are 0700)
    d = ctr.bundle
    while str(d) != "/":
        os.chmod(d, os.stat(d).st_mode | 0o001)
        d = d.parent
    pid = ctr.start_running(
        "cat /proc/self/uid_map /proc/self/gid_map > /maps; id -u > /id; exec sleep 1000")
    with open(f"/proc/{pid}/status") as f:
        st = dict(ln.split(":", 1) for ln in f.read().splitlines())
    assert st["Uid"].split() == ["100000"] * 4
    assert st["Gid"].split() == ["200000"] * 4
    assert os.readlink(f"/proc/{pid}/ns/user") != os.readlink("/proc/self/ns/user")
    # The shell creates /id before id(1) writes to it: wait for the line, not the file.
    id_file = ctr.rootfs / "id"
    oci.wait_for(lambda: id_file.exists() and id_file.read_text().endswith("\n"), what="script")
    maps = [ln.split() for ln in (ctr.rootfs / "maps").read_text().splitlines()]
    assert maps == [["0", "100000", "65536"], ["0", "200000", "65536"]]
    assert id_file.read_text() == "0\n"


def _chown_rootfs(rootfs, uid, gid):
    # the session's busybox is hard-linked into each rootfs: copy it before chown
    bb = rootfs / "bin" / "busybox"
    data = bb.read_bytes()
    bb.unlink()
    bb.write_bytes(data)
    bb.chmod(0o755)
    for dirpath, dirnames, filenames in os.walk(rootfs):
        for n in [dirpath, *(os.path.join(dirpath, x) for x in dirnames + filenames)]:
            os.lchown(n, uid, gid)


def test_cgroup_namespace_root(ctr):
    ctr.set_namespace("cgroup")
    ctr.set_args("cat", "/proc/self/cgroup")
    lines = run_ok(ctr).splitlines()
    assert lines
    for ln in lines:
        assert ln.split(":", 2)[2] == "/", lines


def test_time_namespace_offsets(ctr):
    ctr.set_namespace("time")
    offset = 10_000_000
    ctr.config["linux"]["timeOffsets"] = {"boottime": {"secs": offset, "nanosecs": 0},
                                          "monotonic": {"secs": offset, "nanosecs": 0}}
    ctr.set_args("cat", "/proc/uptime")
    r = ctr.run()
    if r.returncode != 0 and ctr.runtime.name != "hull":
        pytest.skip(f"{ctr.runtime.name} has no time namespace support: {r.stderr.strip()}")
    assert r.returncode == 0, r
    with open("/proc/uptime") as f:
        host = float(f.read().split()[0])
    inside = float(r.stdout.split()[0])
    assert offset + host - 5 < inside < offset + host + 60


def test_join_namespaces_by_path(make_container):
    a = make_container()
    pid = a.start_running()
    # 'running' is before the exec: B counts A's sleep only once sh has become it.
    oci.wait_for(lambda: open(f"/proc/{pid}/comm").read() == "sleep\n", what="A's exec")
    b = make_container()
    for ns in ("network", "ipc", "uts", "pid"):
        b.set_namespace(ns, f"/proc/{pid}/ns/{NS_FILES[ns]}")
    b.config.pop("hostname", None)  # a joined uts namespace keeps its hostname
    b.sh("for n in net ipc uts pid; do readlink /proc/self/ns/$n; done; hostname; "
         "ps -o comm | grep -c sleep")
    r = b.run()
    assert r.returncode == 0, r
    out = r.stdout.splitlines()
    want = [os.readlink(f"/proc/{pid}/ns/{n}") for n in ("net", "ipc", "uts")]
    assert out[:3] == want
    # joined pid namespace: A's sleep is visible
    assert out[3] == os.readlink(f"/proc/{pid}/ns/pid_for_children") or out[3] == \
        os.readlink(f"/proc/{pid}/ns/pid")
    assert out[4] == "itest"  # A's hostname
    assert out[5] == "1"


def test_join_namespace_bad_path_fails_cleanly(ctr, tmp_path):
    (tmp_path / "notans").write_text("")
    ctr.set_namespace("network", str(tmp_path / "notans"))
    r = ctr.run()
    assert r.returncode != 0, r
    assert not ctr.leftovers()
