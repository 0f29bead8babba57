"""Top-level conftest for hull's integration tests: command-line options and shared
fixtures only. Areas add their own conftest.py under tests/integration/<area>/.

  --runtime hull|crun|runc|PATH   (or HULL_TEST_RUNTIME; default hull, the binary at
                                   $HULL_BUILD_DIR/src/hull-runtime, build dir ./build)

Markers: @pytest.mark.hull_only (skipped for crun/runc),
         @pytest.mark.skip_runtime("runc", reason="...") (skipped for that runtime).
"""

import os
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `import helpers` from any subdir

from helpers import oci, runtimes  # noqa: E402

# Every hull a test starts inherits this: a docker.io name not in the store is asked of a
# closed loopback port, never of Docker Hub (nor of DNS). A test that wants a mirror
# sets its own.
os.environ.setdefault("HULL_REGISTRY_MIRROR", "127.0.0.1:9")

_NO_TESTS_COLLECTED = 5


def pytest_addoption(parser):
    parser.addoption("--runtime", default=None,
                     help="OCI runtime under test: hull, crun, runc or a path "
                          "(default: $HULL_TEST_RUNTIME or hull)")


def pytest_configure(config):
    config.addinivalue_line("markers", "hull_only: test of a hull-runtime specific behaviour")
    config.addinivalue_line("markers",
                            "skip_runtime(name, reason): skip when the runtime under test is name")
    choice = config.getoption("--runtime") or os.environ.get("HULL_TEST_RUNTIME") or "hull"
    try:
        name, path = runtimes.resolve(choice)
    except ValueError as e:
        raise pytest.UsageError(str(e))
    config._hull_runtime = oci.Runtime(name, path)
    if name == "crun" and os.geteuid() == 0:
        # Before any thread exists: unshare(CLONE_NEWNS) needs an unshared fs_struct.
        runtimes.private_cgroup_view()


def pytest_report_header(config):
    rt = config._hull_runtime
    return f"runtime under test: {rt.name} ({rt.path})"


def pytest_collection_modifyitems(config, items):
    name = config._hull_runtime.name
    for item in items:
        if name != "hull" and item.get_closest_marker("hull_only"):
            item.add_marker(pytest.mark.skip(reason=f"hull-runtime specific (runtime is {name})"))
        for m in item.iter_markers("skip_runtime"):
            if m.args and m.args[0] == name:
                why = m.kwargs.get("reason", "")
                item.add_marker(pytest.mark.skip(reason=f"not for {name}: {why}"))


def pytest_sessionfinish(session, exitstatus):
    # An area with no tests yet, or a -k/-m that selects none, is not a failure; the whole
    # suite collecting nothing still is (exit 5, which scripts/test reports).
    if exitstatus != _NO_TESTS_COLLECTED:
        return
    cfg = session.config
    here = Path(__file__).resolve().parent
    narrowed = bool(cfg.option.keyword or cfg.option.markexpr) or any(
        Path(a.split("::")[0]).resolve() != here for a in cfg.args)
    if narrowed:
        session.exitstatus = 0


# ---- fixtures ------------------------------------------------------------------------

@pytest.fixture(scope="session")
def runtime(pytestconfig) -> oci.Runtime:
    """The runtime under test (name: hull|crun|runc, path)."""
    rt = pytestconfig._hull_runtime
    if os.geteuid() != 0:
        pytest.skip("integration tests need root")
    if not os.access(rt.path, os.X_OK):
        pytest.fail(f"runtime binary {rt.path} missing or not executable (build it first)")
    return rt


@pytest.fixture(scope="session")
def session_dir():
    """A session-wide scratch dir (under /tmp; removed at the end)."""
    with tempfile.TemporaryDirectory(prefix="hull-itest-") as d:
        yield Path(d)


@pytest.fixture(scope="session")
def rootfs(session_dir) -> Path:
    """busybox rootfs built once per session with scripts/make-rootfs. Containers get a
    copy (oci.copy_rootfs); do not modify this one."""
    import subprocess
    d = session_dir / "rootfs"
    subprocess.run([str(runtimes.REPO / "scripts" / "make-rootfs"), str(d)], check=True,
                   timeout=120)
    return d


@pytest.fixture(scope="session")
def base_spec(runtime, session_dir) -> dict:
    """The runtime's own `spec` output (the Container class edits a copy)."""
    return runtime.spec(session_dir / "spec")


@pytest.fixture(scope="session")
def leak_check(session_dir, tmp_path_factory):
    """Session-end check: no process of this session's containers (env marker) and no new
    mount under this session's temp dirs, where every bundle and --root lives. Requested
    by the container fixtures (not autouse)."""
    watched = [session_dir, tmp_path_factory.getbasetemp()]

    def mounts():
        return {m for w in watched for m in oci.mounts_under(w)}

    before = mounts()
    yield
    procs = oci.processes_with_marker(prefix=oci.session_prefix())
    new_mounts = sorted(mounts() - before)
    assert not procs, f"container processes left at session end: {procs}"
    assert not new_mounts, f"mounts left at session end: {new_mounts}"


@pytest.fixture
def make_container(runtime, rootfs, base_spec, tmp_path, leak_check):
    """Factory: make_container() -> oci.Container with a fresh bundle, --root dir and id.
    Every container made is deleted with --force at teardown, and the test errors if it
    left a state dir, mount, process or cgroup behind."""
    made = []

    def make(**kw) -> oci.Container:
        c = oci.Container(runtime, tmp_path / f"c{len(made)}", base_spec, rootfs, **kw)
        made.append(c)
        return c

    yield make
    problems = []
    for c in reversed(made):
        problems += [f"{c.id}: {p}" for p in c.cleanup()]
    assert not problems, "left behind after delete --force: " + "; ".join(problems)


@pytest.fixture
def ctr(make_container) -> oci.Container:
    """One container (see make_container)."""
    return make_container()


@pytest.fixture
def console(tmp_path):
    """Factory: console() -> helpers.console.ConsoleSocket listening in tmp_path (pass its
    .path as --console-socket); closed at teardown."""
    from helpers.console import ConsoleSocket
    made = []

    def make() -> ConsoleSocket:
        s = ConsoleSocket(tmp_path / f"console{len(made)}.sock")
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()
