"""Fixtures for the cgroup tests: a busybox rootfs made once per session, bundles made
from `hull-runtime spec` and edited here, and a runner that always deletes what it made."""
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import uuid

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
BUILD = pathlib.Path(os.environ.get("HULL_BUILD_DIR", REPO / "build"))
RUNTIME = str(BUILD / "src" / "hull-runtime")


def own_cgroups():
    """This process's cgroup per v1 controller (and "" for cgroup2)."""
    out = {}
    for line in pathlib.Path("/proc/self/cgroup").read_text().splitlines():
        _, ctrls, path = line.split(":", 2)
        for c in ctrls.split(",") if ctrls else [""]:
            out[c] = path
    return out


def cgroup_dirs(cid):
    """Every directory a container `cid` with the default cgroupsPath would have."""
    dirs = []
    for ctrl, own in own_cgroups().items():
        if ctrl == "":
            mount = "/sys/fs/cgroup/unified" if os.path.isdir("/sys/fs/cgroup/unified") else "/sys/fs/cgroup"
        elif ctrl.startswith("name="):
            mount = "/sys/fs/cgroup/" + ctrl[5:]
        else:
            mount = "/sys/fs/cgroup/" + ctrl
        if os.path.isdir(mount):
            dirs.append(os.path.join(mount, own.lstrip("/"), cid))
    return dirs


def controller_dir(ctrl, cid):
    own = own_cgroups()[ctrl]
    return os.path.join("/sys/fs/cgroup", ctrl, own.lstrip("/"), cid)


@pytest.fixture(scope="session")
def rootfs(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("cgroup tests need root")
    if not os.path.exists(RUNTIME):
        pytest.skip(f"{RUNTIME} not built")
    d = tmp_path_factory.mktemp("cg-rootfs") / "rootfs"
    subprocess.run([str(REPO / "scripts" / "make-rootfs"), str(d)], check=True,
                   stdout=subprocess.DEVNULL)
    return d


class Runtime:
    def __init__(self, root, tmp, rootfs):
        self.root = root
        self.tmp = tmp
        self.rootfs = rootfs
        self.ids = []

    def __call__(self, *args, check=True, env=None, input=None, timeout=60, detached=False):
        if detached:
            # The container keeps stdout open: no pipe, or run would never see EOF.
            with tempfile.TemporaryFile("w+") as err:
                r = subprocess.run([RUNTIME, "--root", str(self.root), *args], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=err, env=env, timeout=timeout)
                err.seek(0)
                r.stderr, r.stdout = err.read(), ""
        else:
            r = subprocess.run([RUNTIME, "--root", str(self.root), *args], capture_output=True,
                               text=True, env=env, input=input, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"hull-runtime {' '.join(args)}: {r.returncode}\n{r.stderr}")
        return r

    def bundle(self, args, resources=None, edit=None):
        b = self.tmp / f"bundle-{uuid.uuid4().hex[:8]}"
        b.mkdir()
        subprocess.run([RUNTIME, "spec"], cwd=b, check=True)
        spec = json.loads((b / "config.json").read_text())
        spec["root"] = {"path": str(self.rootfs), "readonly": True}
        spec["process"]["terminal"] = False
        spec["process"]["args"] = args
        if resources:
            spec["linux"].setdefault("resources", {}).update(resources)
        if edit:
            edit(spec)
        (b / "config.json").write_text(json.dumps(spec))
        return b

    def new_id(self):
        cid = "cg-" + uuid.uuid4().hex[:10]
        self.ids.append(cid)
        return cid

    def run_detached(self, args, resources=None, env=None, edit=None):
        cid = self.new_id()
        b = self.bundle(args, resources, edit)
        self("run", "-d", "-b", str(b), cid, env=env, detached=True)
        return cid

    def state(self, cid):
        return json.loads(self("state", cid).stdout)

    def stats(self, cid):
        return json.loads(self("events", "--stats", cid).stdout)

    def cleanup(self):
        for cid in self.ids:
            self("delete", "--force", cid, check=False)


@pytest.fixture
def runtime(rootfs, tmp_path):
    rt = Runtime(tmp_path / "state", tmp_path, rootfs)
    yield rt
    rt.cleanup()
    for cid in rt.ids:
        for d in cgroup_dirs(cid):
            assert not os.path.exists(d), f"cgroup {d} left behind"
