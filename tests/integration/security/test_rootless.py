"""Rootless: an unprivileged user (made here with useradd, entered with setpriv) runs,
execs into, kills and deletes containers; state lives under $XDG_RUNTIME_DIR; the config
of `spec --rootless` works as is, and subordinate id ranges go through newuidmap."""

import json
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from .conftest import cid, run_captured


@pytest.fixture(scope="module")
def user():
    name = "hullsec" + uuid.uuid4().hex[:6]
    subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                   check=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", name], capture_output=True)
        for f in ("/etc/subuid", "/etc/subgid"):  # userdel leaves them on some versions
            lines = Path(f).read_text().splitlines(keepends=True)
            Path(f).write_text("".join(l for l in lines if not l.startswith(name + ":")))


@pytest.fixture
def home(user, base_rootfs, runtime_bin):
    """A world-readable work dir with the binary and rootfs, and the user's XDG dir."""
    d = Path(tempfile.mkdtemp(prefix="hull-rootless-", dir="/tmp"))
    os.chmod(d, 0o755)
    shutil.copy2(runtime_bin, d / "hull-runtime")
    shutil.copytree(base_rootfs, d / "rootfs", symlinks=True)
    xdg = d / "xdg"
    xdg.mkdir(mode=0o700)
    os.chown(xdg, user.pw_uid, user.pw_gid)
    yield d
    subprocess.run(["umount", "-R", "-l", str(d)], capture_output=True)
    shutil.rmtree(d, ignore_errors=True)


class AsUser:
    def __init__(self, user, home):
        self.user, self.home = user, home
        self.env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(home),
                    "XDG_RUNTIME_DIR": str(home / "xdg")}
        self.ids = []

    def run(self, *args, check=False, timeout=60):
        if args[0] in ("run", "create"):
            self.ids.append(args[-1])
        cmd = ["setpriv", f"--reuid={self.user.pw_uid}", f"--regid={self.user.pw_gid}",
               "--clear-groups", "--inh-caps=-all", str(self.home / "hull-runtime"), *args]
        r = run_captured(cmd, env=self.env, timeout=timeout, cwd=str(self.home))
        if check and r.returncode != 0:
            raise AssertionError(f"{args}: exit {r.returncode}: {r.stderr}")
        return r

    def bundle(self, args, edit=None):
        b = self.home / f"bundle-{uuid.uuid4().hex[:6]}"
        b.mkdir()
        os.chown(b, self.user.pw_uid, self.user.pw_gid)
        self.run("spec", "--rootless", "--bundle", str(b), check=True)
        cfg = json.loads((b / "config.json").read_text())
        cfg["root"]["path"] = str(self.home / "rootfs")
        cfg["process"]["terminal"] = False
        cfg["process"]["args"] = args
        if edit:
            edit(cfg)
        (b / "config.json").write_text(json.dumps(cfg))
        return b

    def cleanup(self):
        for c in self.ids:
            self.run("delete", "--force", c)


@pytest.fixture
def u(user, home):
    a = AsUser(user, home)
    yield a
    a.cleanup()


def test_spec_rootless_runs_as_is(u, user):
    b = u.bundle(["sh", "-c", "id -u; id -g; cat /proc/self/uid_map"])
    r = u.run("run", "--bundle", str(b), cid())
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    assert lines[0] == "0" and lines[1] == "0", r.stdout
    assert lines[2].split() == ["0", str(user.pw_uid), "1"], r.stdout


def test_rootless_lifecycle_and_state_dir(u, user, home):
    b = u.bundle(["sleep", "60"])
    c = cid()
    u.run("run", "--detach", "--bundle", str(b), c, check=True)
    state_dir = home / "xdg" / "hull-runtime" / c
    assert state_dir.is_dir()
    assert os.stat(state_dir).st_uid == user.pw_uid
    st = json.loads(u.run("state", c, check=True).stdout)
    assert st["status"] == "running"
    # The container's processes are the user's on the host.
    assert os.stat(f"/proc/{st['pid']}").st_uid == user.pw_uid
    r = u.run("exec", c, "sh", "-c", "id -u; hostname")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["0", "hull"]
    u.run("kill", c, "KILL", check=True)
    for _ in range(100):
        if json.loads(u.run("state", c, check=True).stdout)["status"] == "stopped":
            break
        time.sleep(0.05)
    u.run("delete", c, check=True)
    assert not state_dir.exists()
    assert not os.path.exists(f"/run/hull-runtime/{c}")


def test_rootless_create_start(u):
    b = u.bundle(["true"])
    c = cid()
    u.run("create", "--bundle", str(b), c, check=True)
    assert json.loads(u.run("state", c, check=True).stdout)["status"] == "created"
    u.run("start", c, check=True)
    for _ in range(100):
        if json.loads(u.run("state", c, check=True).stdout)["status"] == "stopped":
            break
        time.sleep(0.05)
    u.run("delete", c, check=True)


def subid_range(name, f):
    for line in Path(f).read_text().splitlines():
        n, start, count = line.split(":")
        if n == name:
            return int(start), int(count)
    return None


def test_rootless_subordinate_ranges_through_newuidmap(u, user):
    sub = subid_range(user.pw_name, "/etc/subuid")
    subg = subid_range(user.pw_name, "/etc/subgid")
    if not sub or not subg or not shutil.which("newuidmap"):
        pytest.skip("no /etc/subuid range or newuidmap for the test user")

    def edit(cfg):
        cfg["linux"]["uidMappings"] = [{"containerID": 0, "hostID": user.pw_uid, "size": 1},
                                       {"containerID": 1, "hostID": sub[0], "size": 65536}]
        cfg["linux"]["gidMappings"] = [{"containerID": 0, "hostID": user.pw_gid, "size": 1},
                                       {"containerID": 1, "hostID": subg[0], "size": 65536}]

    b = u.bundle(["sleep", "60"], edit)
    c = cid()
    u.run("run", "--detach", "--bundle", str(b), c, check=True)
    r = u.run("exec", c, "cat", "/proc/self/uid_map")
    assert r.returncode == 0, r.stderr
    rows = [l.split() for l in r.stdout.splitlines()]
    assert ["0", str(user.pw_uid), "1"] in rows and ["1", str(sub[0]), "65536"] in rows
    r = u.run("exec", "--user", "1000:1000", c, "sh", "-c", "id -u; id -g")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1000", "1000"]


def test_rootless_maps_beyond_own_id_without_subids_fail_clearly(u, user):
    def edit(cfg):
        cfg["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 0, "size": 1}]

    b = u.bundle(["true"], edit)
    r = u.run("run", "--bundle", str(b), cid())
    assert r.returncode != 0
    assert "newuidmap" in r.stderr, r.stderr
