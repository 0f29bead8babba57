"""Fixtures for the engine's integration tests (root): a busybox rootfs from
scripts/make-rootfs, hull with its own --root and --run-root in temporary directories,
and a check after every test that nothing of hull is left: no process, no mount."""
import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest
from helpers import oci

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BUILD = os.environ.get("HULL_BUILD_DIR", os.path.join(REPO, "build"))
HULL = os.path.join(BUILD, "src", "hull")


def pytest_collection_modifyitems(config, items):
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="engine tests need root")
        for item in items:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def init_binary():
    """hull-init, the static init for --init, next to hull (built here if the build did
    not make it)."""
    path = os.path.join(os.path.dirname(HULL), "hull-init")
    if not os.path.exists(path):
        subprocess.run(["cc", "-static", "-Os", "-o", path,
                        os.path.join(REPO, "src", "engine", "init", "hull-init.c")], check=True)
    return path


@pytest.fixture(scope="session")
def rootfs_dir():
    d = tempfile.mkdtemp(prefix="hull-engine-rootfs-")
    subprocess.run([os.path.join(REPO, "scripts", "make-rootfs"), d], check=True,
                   stdout=subprocess.DEVNULL)
    yield d
    shutil.rmtree(d, ignore_errors=True)


class Hull:
    """Runs the hull binary against a private store."""

    def __init__(self, root, run_root, rootfs):
        self.root = root
        self.run_root = run_root
        self.rootfs = rootfs
        # No bridge by default: these tests must not touch the host's network (the bridge
        # test runs hull inside a network namespace of its own).
        # A docker.io name that is not in the store goes to a closed loopback port, never
        # to Docker Hub (nor a DNS query for it).
        self.env = dict(os.environ, HULL_ROOT=root, HULL_RUN_ROOT=run_root,
                        HULL_DEFAULT_NETWORK="none", HULL_REGISTRY_MIRROR="127.0.0.1:9")
        # The image flag the tests use: an imported image when the store can import,
        # else the rootfs directory itself.
        self.image = ["--rootfs", rootfs]

    def __call__(self, *args, check=True, input=None, timeout=60, stdin=None):
        p = subprocess.run([HULL, *args], env=self.env, input=input, stdin=stdin,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                           text=True)
        if check and p.returncode != 0:
            raise AssertionError(f"hull {' '.join(args)} -> {p.returncode}\n"
                                 f"stdout: {p.stdout}\nstderr: {p.stderr}")
        return p

    def popen(self, *args, **kw):
        return subprocess.Popen([HULL, *args], env=self.env, **kw)

    def run(self, *args, **kw):
        """hull run [flags...] <image> [cmd...]: flags before '--', command after."""
        if "--" in args:
            i = args.index("--")
            flags, cmd = list(args[:i]), list(args[i + 1:])
        else:
            flags, cmd = [], list(args)
        # One-shot runs clean up after themselves unless the test names or detaches them.
        if not {"-d", "--name", "--rm"} & set(flags):
            flags.insert(0, "--rm")
        return self("run", *flags, *self.image, *cmd, **kw)

    def create(self, *args, **kw):
        i = args.index("--") if "--" in args else len(args)
        return self("create", *args[:i], *self.image, *args[i + 1:], **kw)

    def inspect(self, ref):
        return json.loads(self("inspect", ref).stdout)[0]

    def ids(self):
        return self("ps", "-aq", "--no-trunc").stdout.split()

    def spec(self, cid):
        with open(os.path.join(self.root, "containers", cid, "config.json")) as f:
            return json.load(f)


def hull_processes(marker):
    """Pids whose command line or root mentions marker (a temp dir of this test)."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().decode(errors="replace")
            root = os.readlink(f"/proc/{pid}/root")
            with open(f"/proc/{pid}/environ", "rb") as f:
                environ = f.read().decode(errors="replace")
        except OSError:
            continue
        if marker in cmd or marker in root or marker in environ:
            out.append(int(pid))
    return out


def children(pid):
    """The child processes of pid (its main thread's, which forks the monitor); [] once gone."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []


def container_cgroups():
    """Every cgroup directory named like a container id, in every hierarchy."""
    return set(oci.cgroups_matching(
        lambda name: len(name) == 64 and all(c in "0123456789abcdef" for c in name)))


def _populated(cg):
    try:
        with open(os.path.join(cg, "cgroup.procs")) as f:
            return f.read().strip() != ""
    except OSError:
        return False


def leaked_cgroups(new):
    """Of the container cgroups that appeared during a test, those that stay: present and
    empty a second later. Another test session running on the same host (as engineers'
    parallel runs do) has container cgroups of its own, which hold their processes or go
    away; a leak stays, empty. Removing another session's cgroup while its container was
    being set up broke that session's run."""
    if not new:
        return []
    time.sleep(1.0)
    return [cg for cg in new if os.path.isdir(cg) and not _populated(cg)]


def mounts_under(path):
    with open("/proc/self/mountinfo") as f:
        return [l.split()[4] for l in f if l.split()[4].startswith(path)]


@pytest.fixture
def hull(rootfs_dir):
    root = tempfile.mkdtemp(prefix="hull-engine-root-")
    run_root = tempfile.mkdtemp(prefix="hull-engine-run-")
    h = Hull(root, run_root, rootfs_dir)
    cgroups_before = container_cgroups()
    yield h
    # Tests clean up after themselves; what remains is removed here and counted as a
    # failure of the test when it was not meant to stay.
    leftovers = h.ids()
    if leftovers:
        h("rm", "-f", *leftovers, check=False)
    h("system", "prune", "-f", check=False)
    deadline = time.time() + 5
    while time.time() < deadline and (hull_processes(root) or hull_processes(rootfs_dir)):
        time.sleep(0.05)
    procs = hull_processes(root) + hull_processes(rootfs_dir)
    mounts = mounts_under(root)
    cgroups_left = sorted(leaked_cgroups(container_cgroups() - cgroups_before))
    runtime_left = [e for e in os.listdir(os.path.join(run_root, "runtime"))
                    if not e.startswith(".")] if os.path.isdir(
        os.path.join(run_root, "runtime")) else []
    for pid in procs:
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    for m in reversed(mounts):
        subprocess.run(["umount", "-l", m], check=False)
    for cg in reversed(cgroups_left):
        try:
            os.rmdir(cg)
        except OSError:
            pass
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(run_root, ignore_errors=True)
    assert not procs, f"processes left: {procs}"
    assert not cgroups_left, f"cgroups left: {cgroups_left}"
    assert not mounts, f"mounts left: {mounts}"
    assert not runtime_left, f"runtime state left: {runtime_left}"
