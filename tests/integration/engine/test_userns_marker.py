"""_HULL_USERNS=1 marks hull's own processes inside the rootless engine's user namespace.
The host's root can inherit it (sudo -E, a shell started from such an environment): a root
engine must then still be the root engine, with cgroup limits, the device cgroup and
made (not bound) device nodes, and must not hand the variable on to its monitor."""
import os

from .conftest import HULL
from .test_lifecycle import wait_for

MiB = 1 << 20


def test_root_hull_with_an_inherited_userns_marker_stays_root(hull):
    hull.env["_HULL_USERNS"] = "1"
    # A rootless engine refuses -m without a delegated cgroup; root applies it.
    hull.run("-d", "--name", "marked", "-m", "64m", "--pids-limit", "50", "--", "sleep", "1000")
    try:
        pid = hull.inspect("marked")["State"]["Pid"]
        cgroups = {}
        for line in open(f"/proc/{pid}/cgroup").read().splitlines():
            _, ctrls, path = line.split(":", 2)
            for c in ctrls.split(","):
                cgroups[c] = path
        assert cgroups.get("memory", "/").strip("/"), "container in no memory cgroup"
        with open(f"/sys/fs/cgroup/memory{cgroups['memory']}/memory.limit_in_bytes") as f:
            assert int(f.read()) == 64 * MiB
        with open(f"/sys/fs/cgroup/pids{cgroups['pids']}/pids.max") as f:
            assert f.read().strip() == "50"
        # Device nodes are made (a rootless runtime binds the host's): no mount on /dev/null.
        mounts = [l.split()[4] for l in open(f"/proc/{pid}/mountinfo")]
        assert "/dev/null" not in mounts, mounts
        # Its monitor does not carry the marker on (once it is hull-monitor: the fork of
        # the CLI it starts as shows the CLI's environment block until that exec).
        ppid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
        monitor = os.path.join(os.path.dirname(HULL), "hull-monitor")
        assert wait_for(lambda: os.path.realpath(os.readlink(f"/proc/{ppid}/exe"))
                        == os.path.realpath(monitor))
        environ = open(f"/proc/{ppid}/environ", "rb").read().split(b"\0")
        assert not any(e.startswith(b"_HULL_USERNS=") for e in environ), environ
    finally:
        hull("rm", "-f", "marked")
