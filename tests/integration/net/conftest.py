"""Fixtures for the networking tests (root). Every test runs hull inside a throwaway
network namespace made here (`ip netns add`), through `nsenter --net` (not `ip netns
exec`, whose private mount namespace would hide hull's netns bind mounts from the next
command). Bridges, veths, the nft table and ip_forward are all that namespace's; the
host's network is never touched, and traffic stays between the namespace and its
containers. After each test: no hull link, no nft table `hull` in the namespace."""
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BUILD = os.environ.get("HULL_BUILD_DIR", os.path.join(REPO, "build"))
HULL = os.path.join(BUILD, "src", "hull")


def pytest_collection_modifyitems(config, items):
    reason = None
    if os.geteuid() != 0:
        reason = "networking tests need root"
    elif not os.path.exists(HULL):
        reason = f"{HULL} not built"
    if reason:
        for item in items:
            item.add_marker(pytest.mark.skip(reason=reason))



def wait_http(ns, url, tries=50):
    """GETs url from inside the test netns until it answers (a server may still start)."""
    p = None
    for _ in range(tries):
        p = ns.wget(url, timeout=2)
        if p.returncode == 0:
            return p.stdout
        time.sleep(0.1)
    raise AssertionError(f"{url} never answered: {p.stderr}")

@pytest.fixture(scope="session")
def rootfs_dir():
    d = tempfile.mkdtemp(prefix="hull-net-rootfs-")
    subprocess.run([os.path.join(REPO, "scripts", "make-rootfs"), d], check=True,
                   stdout=subprocess.DEVNULL)
    yield d
    shutil.rmtree(d, ignore_errors=True)


class TestNs:
    """A network namespace of the test's own, and commands run inside it."""

    def __init__(self):
        self.name = "hulltest-" + uuid.uuid4().hex[:8]
        self.path = f"/run/netns/{self.name}"
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        self.sh("ip link set lo up")

    def cmd(self, *args, **kw):
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        kw.setdefault("text", True)
        kw.setdefault("timeout", 30)
        return subprocess.run(["nsenter", f"--net={self.path}", *args], **kw)

    def sh(self, script, **kw):
        return self.cmd("sh", "-c", script, **kw)

    def popen(self, *args, **kw):
        return subprocess.Popen(["nsenter", f"--net={self.path}", *args], **kw)

    def links(self):
        out = self.cmd("ip", "-o", "link").stdout
        return [l.split(":")[1].strip().split("@")[0] for l in out.splitlines()]

    def nft_tables(self):
        return self.cmd("nft", "list", "tables").stdout

    def wget(self, url, timeout=5):
        # Python rather than busybox wget: Debian's static busybox wget crashes on the
        # host side here (glibc NSS in a static binary).
        return self.cmd("/usr/bin/python3", "-c",
                        "import sys, urllib.request; "
                        f"sys.stdout.write(urllib.request.urlopen({url!r}, "
                        f"timeout={timeout}).read().decode())",
                        timeout=timeout + 5)

    def delete(self):
        subprocess.run(["ip", "netns", "del", self.name], check=False)


class Hull:
    """hull with a private --root and --run-root, run inside the test namespace."""

    def __init__(self, ns, root, run_root, rootfs):
        self.ns = ns
        self.env = dict(os.environ, HULL_ROOT=root, HULL_RUN_ROOT=run_root)
        self.image = ["--rootfs", rootfs]
        self.started = []

    def __call__(self, *args, check=True, timeout=60):
        p = subprocess.run(["nsenter", f"--net={self.ns.path}", HULL, *args], env=self.env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"hull {' '.join(args)} -> {p.returncode}\n"
                                 f"stdout: {p.stdout}\nstderr: {p.stderr}")
        return p

    def run(self, *args, **kw):
        """hull run [flags...] -- cmd...: the image flag goes between."""
        i = args.index("--") if "--" in args else len(args)
        flags, cmd = list(args[:i]), list(args[i + 1:])
        if "-d" in flags and "--name" in flags:
            self.started.append(flags[flags.index("--name") + 1])
        return self("run", *flags, *self.image, *cmd, **kw)


@pytest.fixture
def testns():
    ns = TestNs()
    yield ns
    ns.delete()


@pytest.fixture
def hull(testns, rootfs_dir):
    root = tempfile.mkdtemp(prefix="hull-net-root-")
    run_root = tempfile.mkdtemp(prefix="hull-net-run-")
    h = Hull(testns, root, run_root, rootfs_dir)
    yield h
    for name in reversed(h.started):
        h("rm", "-f", name, check=False)
    nets = h("network", "ls", "-q", check=False).stdout.split()
    ls = h("network", "ls", "--format", "json", check=False).stdout
    for line in ls.splitlines():
        n = json.loads(line)
        if n["Name"] != "bridge":
            h("network", "rm", n["Name"], check=False)
    left_links = [l for l in testns.links() if l.startswith("hull")]
    left_table = "table ip hull" in testns.nft_tables()
    subprocess.run(["umount", "-R", run_root], stderr=subprocess.DEVNULL, check=False)
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(run_root, ignore_errors=True)
    assert not left_links, f"hull links left behind: {left_links}"
    assert not left_table, "nft table ip hull left behind"
