"""Fixtures for rootless hull: `hull` run by an unprivileged user (uid 65534 with a single
id mapping, and a user made here with an /etc/subuid range through newuidmap).

Every hull command runs as: unshare -m (root) -> a tmpfs with a 0666 node of
/dev/net/tun's device bind-mounted over /dev/net/tun (this VM ships it 0600; the host's node
is never touched) -> nsenter --net into a throwaway network namespace made here, with a
veth and a default route for pasta to copy -> setpriv to the user -> hull. The pause
process that the first command starts keeps that private mount namespace (a copy).

Clean-up per module: the pause process is killed by its pid, pasta processes recorded in
the run root likewise, the user's store and home are removed, the netns and the user
(with its /etc/subuid lines) deleted."""
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
BUILD = Path(os.environ.get("HULL_BUILD_DIR", REPO / "build"))
HULL = str(BUILD / "src" / "hull")
NOBODY = 65534


def pytest_collection_modifyitems(config, items):
    reason = None
    if os.geteuid() != 0:
        reason = "rootless tests set up users and namespaces as root"
    elif not os.path.exists(HULL):
        reason = f"{HULL} not built"
    elif not shutil.which("pasta"):
        reason = "pasta (Debian's passt) is not installed"
    if reason:
        for item in items:
            if "rootless" in str(item.fspath):
                item.add_marker(pytest.mark.skip(reason=reason))


class TestNs:
    """A network namespace with a routable interface (pasta copies its address and
    default route into each container's netns)."""

    def __init__(self):
        self.name = "hullrl-" + uuid.uuid4().hex[:8]
        self.path = f"/run/netns/{self.name}"
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        self.sh("ip link set lo up && ip link add rlv0 type veth peer name rlv1 && "
                "ip addr add 192.0.2.2/24 dev rlv0 && ip link set rlv0 up && "
                "ip link set rlv1 up && ip route add default via 192.0.2.1", check=True)

    def sh(self, script, **kw):
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        kw.setdefault("timeout", 30)
        return subprocess.run(["nsenter", f"--net={self.path}", "sh", "-c", script], **kw)

    def wget(self, url, timeout=2):
        return subprocess.run(["nsenter", f"--net={self.path}", "wget", "-q", "-O-",
                               "-T", str(timeout), url],
                              capture_output=True, text=True, timeout=timeout + 5)

    def remove(self):
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)


# The private mount namespace: a tmpfs (not nodev) in the user's home holds the stand-in
# tun node; it and the bind go with the namespace.
_WRAP = r'''
set -e
mount --make-rprivate /
mount -t tmpfs -o mode=0755,size=64k hull-tun "$HULL_TUN_DIR"
mknod -m 0666 "$HULL_TUN_DIR/tun" c 10 200
mount --bind "$HULL_TUN_DIR/tun" /dev/net/tun
exec nsenter --net="$HULL_NETNS" setpriv --reuid="$HULL_UID" --regid="$HULL_GID" \
  --clear-groups "$@"
'''


class User:
    """An unprivileged user with a home of its own; run() runs hull as that user."""

    def __init__(self, name, uid, gid, ns):
        self.name, self.uid, self.gid, self.ns = name, uid, gid, ns
        self.home = Path(tempfile.mkdtemp(prefix="hull-rl-home-"))
        os.chmod(self.home, 0o755)
        (self.home / "run").mkdir(mode=0o700)
        (self.home / "tun").mkdir()
        for p in (self.home, self.home / "run", self.home / "tun"):
            os.chown(p, uid, gid)
        self.run_root = self.home / "run" / "hull"
        self.root = self.home / ".local" / "share" / "hull"

    def env(self):
        return {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME": str(self.home),
                "XDG_RUNTIME_DIR": str(self.home / "run"), "HULL_TUN_DIR": str(self.home / "tun"),
                "HULL_NETNS": self.ns.path, "HULL_UID": str(self.uid), "HULL_GID": str(self.gid)}

    def cmd(self, *args):
        return ["unshare", "-m", "sh", "-c", _WRAP, "sh", *args]

    def hull(self, *args, check=False, timeout=60, **kw):
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        p = subprocess.run(self.cmd(HULL, *args), env=self.env(), timeout=timeout, **kw)
        if check:
            assert p.returncode == 0, f"hull {' '.join(args)}: {p.returncode}: {p.stderr}"
        return p

    def popen(self, *args, **kw):
        return subprocess.Popen(self.cmd(HULL, *args), env=self.env(), **kw)

    def pause_pid(self):
        try:
            pid = int((self.run_root / "pause.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if _alive(pid) else None

    def mounts_in_pause(self):
        pid = self.pause_pid()
        assert pid, "no pause process"
        return Path(f"/proc/{pid}/mountinfo").read_text()

    def cleanup(self):
        # Everything hull started lives in the pause process's user namespace (monitors,
        # containers, pasta): those processes, found by that namespace, are ended by pid,
        # the pause process last; its mount namespace takes every mount with it.
        pid = self.pause_pid()
        if pid:
            ours = os.readlink(f"/proc/{pid}/ns/user")
            for p in Path("/proc").iterdir():
                if p.name.isdigit() and int(p.name) != pid:
                    try:
                        if os.readlink(p / "ns" / "user") == ours:
                            os.kill(int(p.name), signal.SIGKILL)
                    except OSError:
                        pass
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid)
        shutil.rmtree(self.home, ignore_errors=True)


def _alive(pid):
    try:
        st = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return st.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _wait_gone(pid, timeout=5):
    end = time.time() + timeout
    while time.time() < end and _alive(pid):
        time.sleep(0.02)


def _add_subid_user():
    if not (shutil.which("newuidmap") and shutil.which("newgidmap")):
        return None
    name = "hullrl" + uuid.uuid4().hex[:6]
    subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                   check=True)
    # useradd may have given it a range already (SUB_UID_COUNT); else add one.
    for f in ("/etc/subuid", "/etc/subgid"):
        text = Path(f).read_text() if os.path.exists(f) else ""
        if not any(l.startswith(name + ":") for l in text.splitlines()):
            with open(f, "a") as fh:
                fh.write(f"{name}:400000:65536\n")
    return pwd.getpwnam(name)


def _del_subid_user(name):
    subprocess.run(["userdel", name], capture_output=True)
    for f in ("/etc/subuid", "/etc/subgid"):
        lines = Path(f).read_text().splitlines(keepends=True)
        Path(f).write_text("".join(l for l in lines if not l.startswith(name + ":")))


@pytest.fixture(scope="module")
def testns():
    ns = TestNs()
    yield ns
    ns.remove()


@pytest.fixture(scope="module", params=["nobody", "subuid"])
def user(request, testns):
    """uid 65534 (single mapping: no /etc/subuid entry), then a user made here with an
    /etc/subuid and /etc/subgid range (newuidmap)."""
    made = None
    if request.param == "nobody":
        u = User("nobody", NOBODY, NOBODY, testns)
    else:
        made = _add_subid_user()
        if not made:
            pytest.skip("newuidmap/newgidmap are not installed")
        u = User(made.pw_name, made.pw_uid, made.pw_gid, testns)
    u.kind = request.param
    try:
        yield u
    finally:
        u.cleanup()
        if made:
            _del_subid_user(made.pw_name)


@pytest.fixture(scope="module")
def busybox_tar():
    """The busybox rootfs (scripts/make-rootfs) as a tar any user can read."""
    d = Path(tempfile.mkdtemp(prefix="hull-rl-img-"))
    os.chmod(d, 0o755)
    subprocess.run([str(REPO / "scripts" / "make-rootfs"), str(d / "rootfs")], check=True,
                   stdout=subprocess.DEVNULL)
    (d / "rootfs" / "www").mkdir()
    (d / "rootfs" / "www" / "index.html").write_text("hello from rootless\n")
    tar = d / "busybox.tar"
    subprocess.run(["tar", "-C", str(d / "rootfs"), "-cf", str(tar), "."], check=True)
    os.chmod(tar, 0o644)
    yield tar
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def image(user, busybox_tar):
    """busybox imported into the user's own store (the root store is not visible)."""
    user.hull("import", str(busybox_tar), "rl-busybox:1", check=True)
    return "rl-busybox:1"
