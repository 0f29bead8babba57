"""Fixtures for the security tests: a busybox rootfs built once per session, bundles made
from `hull-runtime spec` and edited in Python, and a per-test state root so nothing is
shared between tests. Run as root: pytest tests/integration/security."""

import json
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
BUILD = Path(os.environ.get("HULL_BUILD_DIR", REPO / "build"))
RUNTIME = BUILD / "src" / "hull-runtime"


def pytest_collection_modifyitems(config, items):
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="security tests run as root")
        for item in items:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def runtime_bin():
    if not RUNTIME.exists():
        pytest.fail(f"{RUNTIME} missing: build hull-runtime first (HULL_BUILD_DIR)")
    return str(RUNTIME)


@pytest.fixture(scope="session")
def base_rootfs(tmp_path_factory):
    """The busybox rootfs plus /bin/attack (helpers/attack.c, static)."""
    d = tmp_path_factory.mktemp("rootfs") / "rootfs"
    subprocess.run([str(REPO / "scripts" / "make-rootfs"), str(d)], check=True)
    subprocess.run(["gcc", "-static", "-O2", "-o", str(d / "bin" / "attack"),
                    str(Path(__file__).parent / "helpers" / "attack.c")], check=True)
    return d


def run_captured(cmd, timeout=60, **kw):
    """subprocess.run with stdout/stderr in files, not pipes: a detached container keeps
    the runtime's stdio open, and a pipe would never reach EOF."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        r = subprocess.run(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                           timeout=timeout, **kw)
        out.seek(0)
        err.seek(0)
        r.stdout = out.read().decode(errors="replace")
        r.stderr = err.read().decode(errors="replace")
        return r


class Runtime:
    """hull-runtime with a private --root; deletes what it created at the end."""

    def __init__(self, binary, root):
        self.binary = binary
        self.root = str(root)
        self.ids = []

    def cmd(self, *args):
        return [self.binary, "--root", self.root, *args]

    def run(self, *args, check=False, timeout=60, **kw):
        if args and args[0] in ("create", "run"):
            self.ids.append(args[-1])
        r = run_captured(self.cmd(*args), timeout=timeout, **kw)
        if check and r.returncode != 0:
            raise AssertionError(f"{args}: exit {r.returncode}: {r.stderr}")
        return r

    def state(self, cid):
        r = self.run("state", cid, check=True)
        return json.loads(r.stdout)

    def cleanup(self):
        for cid in self.ids:
            subprocess.run(self.cmd("delete", "--force", cid), capture_output=True, timeout=60)


@pytest.fixture
def rt(runtime_bin, tmp_path):
    r = Runtime(runtime_bin, tmp_path / "state")
    yield r
    r.cleanup()


class Bundle:
    def __init__(self, path, config):
        self.path = path
        self.config = config

    @property
    def rootfs(self):
        root = Path(self.config["root"]["path"])
        return root if root.is_absolute() else self.path / root

    def save(self):
        (self.path / "config.json").write_text(json.dumps(self.config, indent=1))
        return str(self.path)


def new_bundle(runtime_bin, base_rootfs, where, args, rootless=False, copy_rootfs=False):
    where.mkdir(parents=True, exist_ok=True)
    cmd = [runtime_bin, "spec", "--bundle", str(where)]
    if rootless:
        cmd.append("--rootless")
    subprocess.run(cmd, check=True)
    config = json.loads((where / "config.json").read_text())
    if copy_rootfs:
        shutil.copytree(base_rootfs, where / "rootfs", symlinks=True)
        config["root"]["path"] = "rootfs"
    else:
        config["root"]["path"] = str(base_rootfs)
    config["process"]["terminal"] = False
    config["process"]["args"] = list(args)
    b = Bundle(where, config)
    b.save()
    return b


@pytest.fixture
def make_bundle(runtime_bin, base_rootfs, tmp_path):
    """make_bundle(args, copy_rootfs=False) -> Bundle; edit .config then .save()."""

    def make(args=("true",), copy_rootfs=False, rootless=False):
        return new_bundle(runtime_bin, base_rootfs, tmp_path / f"bundle-{uuid.uuid4().hex[:8]}",
                          args, rootless=rootless, copy_rootfs=copy_rootfs)

    return make


def cid():
    return "sec-" + uuid.uuid4().hex[:10]


class Engine:
    """The engine (`hull`) from a copy of its binaries in a temporary directory (an attack
    that writes to the binary hits the copy), with its own --root and --run-root, no
    network and no registry. Removes its containers and volumes at the end."""

    def __init__(self, bindir, root):
        self.binary = str(bindir / "hull")
        self.env = dict(os.environ, HULL_ROOT=str(root / "root"),
                        HULL_RUN_ROOT=str(root / "run"), HULL_DEFAULT_NETWORK="none",
                        HULL_REGISTRY_MIRROR="127.0.0.1:9")

    def __call__(self, *args, check=True, timeout=60):
        r = run_captured([self.binary, *args], timeout=timeout, env=self.env)
        if check and r.returncode != 0:
            raise AssertionError(f"hull {' '.join(args)}: exit {r.returncode}: {r.stderr}")
        return r

    def cleanup(self):
        ids = self("ps", "-aq", "--no-trunc", check=False).stdout.split()
        if ids:
            self("rm", "-f", "-v", *ids, check=False)
        self("volume", "prune", "-f", check=False)


@pytest.fixture
def engine(tmp_path):
    bindir = tmp_path / "enginebin"
    bindir.mkdir()
    for name in ("hull", "hull-monitor", "hull-init"):
        src = BUILD / "src" / name
        if src.exists():
            shutil.copy2(src, bindir / name)
    e = Engine(bindir, tmp_path / "engine")
    yield e
    e.cleanup()
