"""Rootless networking (issue 7): `hull run -p` by an unprivileged user through pasta.

src/net's part (net::start_pasta run by uid 65534 against a user+network namespace of
that user) is tested by tests/unit/net_kernel_test.cpp
RootlessPastaForwardsAPublishedPortAsAnUnprivilegedUser; the engine's rootless mode as a
whole by tests/integration/rootless/. This file runs the end-to-end case as the networking
suite sees it: uid 65534 publishes a port with `hull run -d -p 18090:80`, busybox httpd
answers from the test's network namespace, and rm leaves no pasta behind.

/dev/net/tun is 0600 on this VM (distributions ship 0666): the host's node is never
changed. hull runs in a private mount namespace (unshare -m, as root) where a 0666 node of
the same device, on a tmpfs of that namespace, is bind-mounted over /dev/net/tun; then
setpriv drops to the user."""
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from .conftest import HULL

NOBODY = 65534


def as_nobody():
    os.setgroups([])
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, NOBODY, NOBODY)


def test_unprivileged_user_namespaces_work():
    # pasta and a rootless engine both start from an unprivileged user namespace.
    p = subprocess.run(["unshare", "-Urn", "sh", "-c", "cat /proc/self/uid_map"],
                       preexec_fn=as_nobody, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["0", str(NOBODY), "1"], p.stdout


@pytest.fixture
def user_home(rootfs_dir):
    # Outside pytest's tmp_path, whose parents are root-only (0700). The rootfs is the
    # user's own copy: a rootless --rootfs must be writable by the user (hull creates the
    # /etc/hosts mount target in it).
    home = tempfile.mkdtemp(prefix="hull-rootless-")
    os.chmod(home, 0o755)
    shutil.copytree(rootfs_dir, os.path.join(home, "rootfs"), symlinks=True)
    os.makedirs(os.path.join(home, "rootfs", "www"))
    with open(os.path.join(home, "rootfs", "www", "index.html"), "w") as f:
        f.write("rootless pasta\n")
    os.mkdir(os.path.join(home, "tun"))
    subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", home], check=True)
    yield home
    try:
        pid = int(open(os.path.join(home, "run", "hull", "pause.pid")).read().split()[0])
        if open(f"/proc/{pid}/comm").read().strip() == "hull-pause":
            ours = os.readlink(f"/proc/{pid}/ns/user")
            for p in os.listdir("/proc"):
                if p.isdigit() and int(p) != pid:
                    try:
                        if os.readlink(f"/proc/{p}/ns/user") == ours:
                            os.kill(int(p), signal.SIGKILL)
                    except OSError:
                        pass
            os.kill(pid, signal.SIGKILL)
    except (OSError, ValueError, IndexError):
        pass
    shutil.rmtree(home, ignore_errors=True)


WRAP = r'''
set -e
mount --make-rprivate /
mount -t tmpfs -o mode=0755,size=64k hull-tun "$HOME/tun"
mknod -m 0666 "$HOME/tun/tun" c 10 200
mount --bind "$HOME/tun/tun" /dev/net/tun
exec nsenter --net="$NETNS" setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
'''


def test_hull_run_network_as_an_unprivileged_user(testns, user_home):
    # pasta copies the namespace's routable interface and default route.
    testns.sh("ip link add rlv0 type veth peer name rlv1 && ip addr add 192.0.2.2/24 dev rlv0 "
              "&& ip link set rlv0 up && ip link set rlv1 up && ip route add default via "
              "192.0.2.1", check=True)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": user_home,
           "XDG_RUNTIME_DIR": os.path.join(user_home, "run"), "NETNS": testns.path}
    os.mkdir(env["XDG_RUNTIME_DIR"], 0o700)
    os.chown(env["XDG_RUNTIME_DIR"], NOBODY, NOBODY)
    rootfs = os.path.join(user_home, "rootfs")
    tun_mode = os.stat("/dev/net/tun").st_mode

    def hull(*args):
        return subprocess.run(["unshare", "-m", "sh", "-c", WRAP, "sh", HULL, *args], env=env,
                              capture_output=True, text=True, timeout=60)

    p = hull("run", "-d", "--name", "web", "-p", "18090:80", "--rootfs", rootfs, "httpd", "-f",
             "-p", "80", "-h", "/www")
    assert p.returncode == 0, p.stderr
    try:
        body = None
        for _ in range(50):
            r = testns.cmd("wget", "-q", "-O-", "-T", "2", "http://127.0.0.1:18090/index.html")
            if r.returncode == 0:
                body = r.stdout
                break
            time.sleep(0.1)
        assert body == "rootless pasta\n"
        assert "0.0.0.0:18090->80/tcp" in hull("ps").stdout
    finally:
        p = hull("rm", "-f", "web")
    assert p.returncode == 0, p.stderr
    r = testns.cmd("wget", "-q", "-O-", "-T", "1", "http://127.0.0.1:18090/index.html")
    assert r.returncode != 0, "the port is still forwarded after rm"
    # The host's tun node was not touched.
    assert os.stat("/dev/net/tun").st_mode == tun_mode
