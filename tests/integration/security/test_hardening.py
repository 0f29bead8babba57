"""Known container escapes, each performed and asserted to fail:
CVE-2024-21626 (host fd as cwd, leaked fds), CVE-2021-30465 (mount destination swapped
for a symlink), CVE-2022-0492 (cgroupfs mount and release_agent), and masked/read-only
paths undone from inside."""

import ctypes
import glob
import os
import threading

from .conftest import cid

libc = ctypes.CDLL("libc.so.6", use_errno=True)
AT_FDCWD = -100
RENAME_EXCHANGE = 2


def run(rt, bundle, *extra, **kw):
    return rt.run("run", *extra, "--bundle", str(bundle.path), cid(), **kw)


# --- CVE-2024-21626 -----------------------------------------------------------------

def host_fds():
    """Host directory fds left open without CLOEXEC, as a careless caller would."""
    fds = [os.open(p, os.O_RDONLY | os.O_DIRECTORY) for p in ("/", "/etc", "/run", "/tmp")]
    for fd in fds:
        os.set_inheritable(fd, True)
    return fds


def test_cwd_proc_self_fd_never_reaches_host(rt, make_bundle):
    fds = host_fds()
    try:
        for n in range(3, 16):
            b = make_bundle(["/bin/attack", "fds"])
            b.config["process"]["cwd"] = f"/proc/self/fd/{n}"
            b.save()
            r = run(rt, b, pass_fds=fds)
            if r.returncode == 0:
                cwd = [l for l in r.stdout.splitlines() if l.startswith("CWD ")]
                # Reaching the host shows as a path outside the container's root.
                assert cwd and cwd[0].startswith("CWD /") and "(unreachable)" not in cwd[0], r.stdout
                assert not any(l.startswith("FD ") for l in r.stdout.splitlines()), r.stdout
            else:
                assert "cwd" in r.stderr, r.stderr
    finally:
        for fd in fds:
            os.close(fd)


def test_no_host_fd_leaks_into_run_or_exec(rt, make_bundle):
    fds = host_fds()
    try:
        b = make_bundle(["/bin/attack", "fds"])
        r = run(rt, b, pass_fds=fds)
        assert r.returncode == 0, r.stderr
        assert [l for l in r.stdout.splitlines() if l.startswith("FD ")] == []

        b = make_bundle(["sleep", "60"])
        c = cid()
        rt.run("run", "--detach", "--bundle", str(b.path), c, check=True, pass_fds=fds)
        r = rt.run("exec", c, "/bin/attack", "fds", pass_fds=fds)
        assert r.returncode == 0, r.stderr
        assert [l for l in r.stdout.splitlines() if l.startswith("FD ")] == []
        for n in range(3, 16):
            r = rt.run("exec", "--cwd", f"/proc/self/fd/{n}", c, "/bin/attack", "fds",
                       pass_fds=fds)
            if r.returncode == 0:
                assert "(unreachable)" not in r.stdout, r.stdout
                assert [l for l in r.stdout.splitlines() if l.startswith("FD ")] == []
    finally:
        for fd in fds:
            os.close(fd)


# --- CVE-2021-30465 -----------------------------------------------------------------

def mounts_outside(target, report):
    """A createContainer hook: runs in the container's mount namespace after every mount
    and before pivot_root, and reports mounts at or under `target` (outside the rootfs)."""
    return {"path": "/bin/sh",
            "args": ["sh", "-c", f"grep -c ' {target}' /proc/self/mountinfo >> {report}; true"]}


def test_mount_destination_symlink_outside_rootfs(rt, make_bundle, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    report = tmp_path / "report"
    b = make_bundle(["true"], copy_rootfs=True)
    os.symlink(str(outside), b.rootfs / "abs")
    os.symlink("../../../../../../../../" + str(outside).lstrip("/"), b.rootfs / "rel")
    for dest in ("/abs", "/rel", "/abs/sub", "/rel/sub"):
        b.config["mounts"].append({"destination": dest, "type": "tmpfs", "source": "tmpfs",
                                   "options": ["size=1m"]})
    b.config["hooks"] = {"createContainer": [mounts_outside(outside, report)]}
    b.save()
    r = run(rt, b)
    assert r.returncode == 0, r.stderr
    assert report.read_text().split() == ["0"]
    assert os.listdir(outside) == []


def test_mount_destination_swapped_during_create(rt, make_bundle, tmp_path):
    """A process swaps a directory in the rootfs with a symlink to a host directory
    (renameat2 RENAME_EXCHANGE) in a tight loop while containers with many mounts under it
    are created: no mount may land outside the rootfs."""
    outside = tmp_path / "outside"
    outside.mkdir()
    report = tmp_path / "report"
    b = make_bundle(["true"], copy_rootfs=True)
    real = b.rootfs / "swap"
    real.mkdir()
    for i in range(16):
        (real / f"d{i}").mkdir()
    link = b.rootfs / "swaplink"
    os.symlink(str(outside), link)
    for i in range(16):
        b.config["mounts"].append({"destination": f"/swap/d{i}", "type": "tmpfs",
                                   "source": "tmpfs", "options": ["size=1m"]})
    b.config["hooks"] = {"createContainer": [mounts_outside(outside, report)]}
    b.save()

    stop = threading.Event()
    swaps = [0]

    def swapper():
        a, z = bytes(real), bytes(link)
        while not stop.is_set():
            if libc.renameat2(AT_FDCWD, a, AT_FDCWD, z, RENAME_EXCHANGE) == 0:
                swaps[0] += 1

    t = threading.Thread(target=swapper)
    t.start()
    results = []
    def hook_runs():
        return report.read_text().split() if report.exists() else []

    try:
        # How many runs win the race depends on scheduling: run until 5 did (or 100 runs).
        for _ in range(100):
            results.append(run(rt, b).returncode)
            if len(results) >= 25 and len(hook_runs()) >= 5:
                break
    finally:
        stop.set()
        t.join()
    assert swaps[0] > 100
    counts = hook_runs()
    # The hook ran (the mounts were all made) in at least some of the races.
    assert len(counts) >= 1, (counts, results)
    assert all(c == "0" for c in counts), counts
    assert os.listdir(outside) == [] or set(os.listdir(outside)) <= {f"d{i}" for i in range(16)}


# --- CVE-2022-0492 ------------------------------------------------------------------

def release_agents():
    return {p: open(p).read() for p in glob.glob("/sys/fs/cgroup/*/release_agent")}


def test_cgroupfs_mount_and_release_agent_refused(rt, make_bundle):
    before = release_agents()
    b = make_bundle(["/bin/attack", "cgroup"])
    r = run(rt, b)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    mounts = [l for l in lines if "mount cgroup" in l]
    assert mounts, r.stdout
    # Refused for lack of privilege, not for want of a mount point.
    assert not any("No such file" in l for l in mounts), r.stdout
    # Directly, nothing works. In a user namespace of its own (no seccomp profile in the
    # default config forbids unshare) a v1 hierarchy may be mounted, but no release_agent
    # can be written (it needs CAP_SYS_ADMIN in the initial user namespace).
    assert [l for l in lines if l.startswith("OK direct")] == [], r.stdout
    assert [l for l in lines if l.startswith("OK") and "release_agent" in l] == [], r.stdout
    assert release_agents() == before


# --- masked and read-only paths ------------------------------------------------------

def test_masked_and_readonly_paths_stay(rt, make_bundle):
    b = make_bundle(["true"])
    # The paths this kernel has (a missing one is skipped by the runtime, as runc does).
    masked = [p for p in b.config["linux"]["maskedPaths"] if os.path.exists(p)]
    readonly = [p for p in b.config["linux"]["readonlyPaths"] if os.path.exists(p)]
    assert "/proc/keys" in masked and "/sys/firmware" in masked and "/proc/sys" in readonly
    script = []
    for p in masked + readonly:
        for how in ("umount", "remount-rw", "unshare-umount", "unshare-remount-rw"):
            script.append(f"echo '== {how} {p}'; /bin/attack {how} {p}")
    script.append("echo hacked > /proc/sys/kernel/domainname; cat /proc/sys/kernel/domainname")
    script.append("echo keys=$(cat /proc/keys | wc -c)")
    b.config["process"]["args"] = ["sh", "-c", "; ".join(script)]
    b.save()
    r = run(rt, b)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    ok = [l for l in lines if l.startswith("OK") and "unshare" not in l]
    assert ok == [], r.stdout
    umounts = [l for l in lines if l.startswith("DENIED umount")]
    assert umounts and not any("No such file" in l for l in umounts), r.stdout
    assert "hacked" not in r.stdout
    assert "keys=0" in lines  # still masked
