"""`hull update`: docker's update of a container's limits and restart policy. A running
container's cgroup changes at once (read here from the host's cgroup files), the record
keeps the values for inspect and every later start, and a created container gets them
when it starts."""
from .test_lifecycle import out, wait_for

MiB = 1 << 20


def cgroup_file(pid, controller, name):
    """A control file of the cgroup pid is in, in the host's v1 hierarchy of controller."""
    for line in open(f"/proc/{pid}/cgroup").read().splitlines():
        _, ctrls, path = line.split(":", 2)
        if controller in ctrls.split(","):
            with open(f"/sys/fs/cgroup/{controller}{path}/{name}") as f:
                return f.read().strip()
    raise AssertionError(f"pid {pid} is in no {controller} cgroup")


def limits(pid):
    return (int(cgroup_file(pid, "memory", "memory.limit_in_bytes")),
            int(cgroup_file(pid, "memory", "memory.memsw.limit_in_bytes")),
            cgroup_file(pid, "pids", "pids.max"),
            cgroup_file(pid, "cpu", "cpu.shares"),
            cgroup_file(pid, "cpu", "cpu.cfs_quota_us"))


def test_update_a_running_container_then_restart(hull):
    hull.run("-d", "--name", "live", "-m", "64m", "--pids-limit", "20", "--", "sleep", "1000")
    pid = hull.inspect("live")["State"]["Pid"]
    assert limits(pid)[0] == 64 * MiB
    p = hull("update", "-m", "96m", "--memory-swap", "200m", "--pids-limit", "50",
             "--cpu-shares", "512", "--cpus", "0.5", "live")
    assert p.stdout == "live\n", p.stdout
    # The cgroup of the running program, at once.
    assert limits(pid) == (96 * MiB, 200 * MiB, "50", "512", "50000")
    hc = hull.inspect("live")["HostConfig"]
    assert (hc["Memory"], hc["MemorySwap"], hc["PidsLimit"], hc["CpuShares"],
            hc["NanoCpus"]) == (96 * MiB, 200 * MiB, 50, 512, 500000000), hc
    # A restart (a new cgroup, from the record) keeps them.
    hull("restart", "-t", "0", "live")
    new_pid = hull.inspect("live")["State"]["Pid"]
    assert new_pid != pid
    assert limits(new_pid) == (96 * MiB, 200 * MiB, "50", "512", "50000")
    # --pids-limit -1 is no limit; --memory alone keeps the memory+swap it fits under.
    hull("update", "--pids-limit", "-1", "-m", "80m", "live")
    assert limits(new_pid)[:3] == (80 * MiB, 200 * MiB, "max")
    assert hull.inspect("live")["HostConfig"]["PidsLimit"] == -1
    hull("rm", "-f", "live")


def test_update_a_created_container_applies_at_start(hull):
    hull.create("--name", "later", "--", "sleep", "1000")
    hull("update", "-m", "48m", "--pids-limit", "30", "--cpu-quota", "20000",
         "--cpu-period", "100000", "--memory-reservation", "32m", "--blkio-weight", "300",
         "later")
    hc = hull.inspect("later")["HostConfig"]
    assert (hc["Memory"], hc["MemorySwap"], hc["MemoryReservation"], hc["PidsLimit"],
            hc["CpuQuota"], hc["CpuPeriod"], hc["NanoCpus"], hc["BlkioWeight"]) == (
        48 * MiB, 96 * MiB, 32 * MiB, 30, 20000, 100000, 0, 300), hc
    hull("start", "later")
    pid = hull.inspect("later")["State"]["Pid"]
    assert limits(pid) == (48 * MiB, 96 * MiB, "30", "1024", "20000")
    assert int(cgroup_file(pid, "memory", "memory.soft_limit_in_bytes")) == 32 * MiB
    # docker refuses --cpus over an earlier --cpu-quota.
    p = hull("update", "--cpus", "1", "later", check=False)
    assert p.returncode == 1 and "conflicting options" in p.stderr, p.stderr
    hull("rm", "-f", "later")


def test_update_restart_policy(hull):
    # Fails (3) once /tmp/go appears, taking it away: a restarted program waits again.
    hull.run("-d", "--name", "policy", "--", "sh", "-c",
             "while [ ! -e /tmp/go ]; do sleep 0.05; done; rm /tmp/go; exit 3")
    assert hull.inspect("policy")["HostConfig"]["RestartPolicy"]["Name"] == "no"
    hull("update", "--restart", "on-failure:3", "policy")
    rp = hull.inspect("policy")["HostConfig"]["RestartPolicy"]
    assert (rp["Name"], rp["MaximumRetryCount"]) == ("on-failure", 3), rp
    # The new policy is the one the monitor follows: a failure restarts the program.
    pid = hull.inspect("policy")["State"]["Pid"]
    hull("exec", "policy", "touch", "/tmp/go")
    assert wait_for(lambda: hull.inspect("policy")["RestartCount"] == 1
                    and hull.inspect("policy")["State"]["Running"]
                    and hull.inspect("policy")["State"]["Pid"] != pid), hull.inspect("policy")
    hull("rm", "-f", "policy")
    # --rm and a restart policy do not go together (docker).
    hull.run("-d", "--rm", "--name", "gone", "--", "sleep", "1000")
    p = hull("update", "--restart", "always", "gone", check=False)
    assert p.returncode == 1 and "AutoRemove" in p.stderr, p.stderr
    hull("rm", "-f", "gone")


def test_update_errors(hull):
    hull.run("-d", "--name", "ua", "-m", "64m", "--", "sh", "-c",
             "head -c 30m /dev/zero > /dev/shm/fill; sleep 1000")
    hull.create("--name", "ub", "--", "true")
    pid = hull.inspect("ua")["State"]["Pid"]
    # A value the flag does not take: docker's 125, naming the flag, before any container.
    for args, flag in ((["-m", "lots"], "--memory"), (["--pids-limit", "x"], "--pids-limit"),
                       (["--cpus", "-2"], "--cpus"), (["--restart", "sometimes"], "--restart")):
        p = hull("update", *args, "ua", check=False)
        assert p.returncode == 125 and flag in p.stderr, (args, p.stderr)
    p = hull("update", "ua", check=False)
    assert p.returncode == 1 and "one or more flags" in p.stderr
    # What the container cannot take: an error for it, and 1.
    for args, words in ((["-m", "4m"], "minimum is 6MB"),
                        (["-m", "100m", "--memory-swap", "50m"], "at least the memory limit"),
                        (["-m", "200m"], "memory+swap limit"),
                        (["--blkio-weight", "5"], "--blkio-weight"),
                        (["--cpu-period", "10"], "--cpu-period")):
        p = hull("update", *args, "ua", check=False)
        assert p.returncode == 1 and words in p.stderr, (args, p.stderr)
    # Below what it uses now (30 MiB in /dev/shm): refused, the limit left as it was.
    assert wait_for(lambda: int(cgroup_file(pid, "memory", "memory.usage_in_bytes")) > 30 * MiB)
    p = hull("update", "-m", "16m", "--memory-swap", "32m", "ua", check=False)
    assert p.returncode == 1 and "current memory usage" in p.stderr, p.stderr
    assert limits(pid)[0] == 64 * MiB
    assert hull.inspect("ua")["HostConfig"]["Memory"] == 64 * MiB
    # An unknown container among others: the others are updated, the status is 1.
    p = hull("update", "--pids-limit", "40", "nosuch", "ua", "ub", check=False)
    assert p.returncode == 1 and "nosuch" in p.stderr, p.stderr
    assert p.stdout.split() == ["ua", "ub"], p.stdout
    assert limits(pid)[2] == "40"
    assert hull.inspect("ub")["HostConfig"]["PidsLimit"] == 40
    hull("rm", "-f", "ua", "ub")
