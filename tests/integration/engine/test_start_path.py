"""What the fast start path of `hull run` relies on (docs/engine.md, "hull run, step by
step"): the CLI records the launch for a monitor that uses no database, --network none is
the monitor's own network namespace, `run --rm` frees the name before it returns, and a
start maps no library but glibc's."""
import glob
import os
import subprocess

from .conftest import HULL, children, container_cgroups, leaked_cgroups
from .test_lifecycle import alive, out, wait_for

LAZY = ("libcurl", "libarchive", "libnftables", "libnl", "libcrypto", "libisal", "libsqlite",
        "libseccomp", "libcap")


def import_image(hull, ref):
    tar = subprocess.Popen(["tar", "-C", hull.rootfs, "-c", "."], stdout=subprocess.PIPE)
    hull("import", "-", ref, stdin=tar.stdout)
    tar.wait()


def netns(pid):
    return os.readlink(f"/proc/{pid}/ns/net")


def test_network_none_is_the_monitors_own_netns(hull):
    hull.run("-d", "--name", "nn", "--network", "none", "--", "sleep", "1000")
    st = hull.inspect("nn")["State"]
    mon, pid = st["MonitorPid"], st["Pid"]
    # Its own namespace (not the host's), the monitor's: no netns file, no bind mount.
    assert netns(pid) != netns(os.getpid())
    assert netns(pid) == netns(mon)
    nsdir = os.path.join(hull.run_root, "netns")
    assert not os.path.isdir(nsdir) or os.listdir(nsdir) == []
    with open("/proc/self/mountinfo") as f:
        assert not [l for l in f if "netns" in l and hull.run_root in l]
    # lo is up (IFF_UP in its flags), and it is the only interface.
    flags = out(hull("exec", "nn", "cat", "/sys/class/net/lo/flags"))
    assert int(flags, 16) & 1, flags
    assert out(hull("exec", "nn", "ls", "/sys/class/net")).split() == ["lo"]
    # exec joins the same namespace.
    inside = out(hull("exec", "nn", "readlink", "/proc/self/ns/net"))
    assert inside == netns(pid)
    hull("rm", "-f", "nn")
    assert wait_for(lambda: not alive(mon) and not alive(pid))


def test_exit_of_a_quick_program_is_recorded(hull):
    # The CLI records the launch after the monitor's report; the monitor waits for it
    # before hull-monitor can hand the exit to `hull __exited`, whose record must win.
    for code in (3, 0, 7):
        cid = out(hull.run("-d", "--", "sh", "-c", f"exit {code}"))
        assert out(hull("wait", cid)) == str(code)
        st = hull.inspect(cid)["State"]
        assert st["Status"] == "exited" and st["ExitCode"] == code, st
        assert wait_for(lambda: hull.inspect(cid)["State"]["MonitorPid"] == 0)
        hull("rm", cid)
    # Attached: the CLI records the exit itself.
    p = hull.run("--name", "att", "--", "sh", "-c", "exit 4", check=False)
    assert p.returncode == 4
    st = hull.inspect("att")["State"]
    assert st["Status"] == "exited" and st["ExitCode"] == 4 and st["Pid"] == 0, st
    hull("rm", "att")
    # A program that cannot start: the CLI records nothing running; the container stays
    # Created (docker's), with the status.
    p = hull.run("--name", "bad", "--", "/no/such/program", check=False)
    assert p.returncode == 127, p
    st = hull.inspect("bad")["State"]
    assert st["Status"] == "created" and st["ExitCode"] == 127 and st["Pid"] == 0, st
    hull("rm", "bad")


def test_run_rm_frees_name_and_image_before_returning(hull):
    import_image(hull, "fast:1")
    for _ in range(3):
        p = hull("run", "--rm", "--name", "same", "fast:1", "sh", "-c", "exit 3", check=False)
        assert p.returncode == 3, p.stderr
        # Gone from ps at once (never half-removed), and the name is free for the next.
        assert hull.ids() == []
    cdir = os.path.join(hull.root, "containers")
    assert wait_for(lambda: os.listdir(cdir) == [])
    # No hold left on the image.
    hull("rmi", "fast:1")


def test_start_maps_only_glibc(hull, tmp_path):
    # Every hull process of a `run --rm` of a local image (the CLI and the monitor's
    # hand-overs) loads no shared library but glibc's: the others are linked in or
    # dlopen()ed by the verbs that need them (src/engine/lazy).
    import_image(hull, "libs:1")
    env = dict(hull.env, LD_DEBUG="libs", LD_DEBUG_OUTPUT=str(tmp_path / "ld"))
    for args in (["run", "--rm", "libs:1", "true"], ["run", "-d", "--rm", "libs:1", "true"]):
        p = subprocess.run([HULL, *args], env=env, capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
    assert wait_for(lambda: hull.ids() == [])
    logs = glob.glob(str(tmp_path / "ld.*"))
    assert logs
    loaded = set()
    for log in logs:
        with open(log) as f:
            for line in f:
                if "calling init:" in line:
                    loaded.add(os.path.basename(line.split("calling init:")[1].strip()))
    assert loaded and not [l for l in loaded if l.startswith(LAZY)], loaded


class DirCreations:
    """Names created in a directory while it is open (inotify IN_CREATE)."""

    def __init__(self, path):
        import ctypes
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        assert self.fd >= 0
        assert self.libc.inotify_add_watch(self.fd, path.encode(), 0x100) >= 0  # IN_CREATE

    def names(self):
        import struct
        out, data = [], b""
        while True:
            try:
                data += os.read(self.fd, 65536)
            except BlockingIOError:
                break
        while data:
            _, _, _, n = struct.unpack_from("iIII", data)
            out.append(data[16:16 + n].rstrip(b"\0").decode())
            data = data[16 + n:]
        return out

    def close(self):
        os.close(self.fd)


def test_run_forks_its_monitor_before_the_record_and_an_abort_leaves_nothing(hull):
    """`run` forks the monitor before it writes the record, so the runtime's state dir,
    cgroups and netns are made meanwhile; a run that fails before the monitor's go (name in
    use: the record is refused; a rootfs that cannot be mounted) leaves none of them."""
    import_image(hull, "early:1")
    before = container_cgroups()
    hull("create", "--name", "taken", "early:1", "true")
    taken = hull.inspect("taken")["Id"]
    # The name is refused by the record's insert, after the monitor made its state dir.
    watch = DirCreations(os.path.join(hull.run_root, "runtime"))
    try:
        p = hull("run", "--name", "taken", "early:1", "true", check=False)
        made = watch.names()
    finally:
        watch.close()
    assert p.returncode == 125 and "already in use" in p.stderr, p.stderr
    assert len(made) == 1 and made[0] != taken, made
    assert leaked_cgroups(container_cgroups() - before) == []
    assert [e for e in os.listdir(os.path.join(hull.run_root, "runtime"))
            if not e.startswith(".")] == []
    assert hull.ids() == [taken]
    # The image's layers gone from under the store: the overlay mount fails after the
    # record, and the waiting monitor unwinds too.
    layers = os.path.join(hull.root, "layers")
    hidden = layers + ".hidden"
    os.rename(layers, hidden)
    try:
        p = hull("run", "--rm", "early:1", "true", check=False)
    finally:
        os.rename(hidden, layers)
    assert p.returncode == 125, p.stderr
    assert leaked_cgroups(container_cgroups() - before) == []
    assert hull.ids() == [taken]
    assert sorted(os.listdir(os.path.join(hull.root, "containers"))) == [taken]
    hull("rm", "taken")
    assert hull("run", "--rm", "early:1", "echo", "ok").stdout == "ok\n"


def test_run_whose_early_monitor_dies_reports_it(hull):
    """The monitor forked early is killed while it waits for the CLI's go: the CLI's "r"
    meets a closed pipe (an error, not a SIGPIPE that kills the CLI), it reports exit 125,
    and the cgroup the monitor made is removed with the container."""
    import signal
    import sqlite3
    import time
    import_image(hull, "early:2")
    before = container_cgroups()
    # images.db held for writing: the CLI waits in the image hold, after the fork.
    db = sqlite3.connect(os.path.join(hull.root, "images.db"), isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    cli = hull.popen("run", "--rm", "early:2", "true",
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 10
        monitors = []
        while not monitors and time.time() < deadline:
            monitors = [p for p in children(cli.pid)
                        if os.readlink(f"/proc/{p}/exe") == os.path.realpath(HULL)]
            time.sleep(0.01)
        assert monitors, "no monitor forked before the record"
        # Its state dir and cgroups are there once it waits for the go.
        wait_for(lambda: container_cgroups() - before)
        os.kill(monitors[0], signal.SIGKILL)
    finally:
        db.execute("ROLLBACK")
        db.close()
    _, err = cli.communicate(timeout=30)
    assert cli.returncode == 125, (cli.returncode, err)
    assert "monitor exited" in err, err
    assert hull.ids() == []
    assert leaked_cgroups(container_cgroups() - before) == []
