"""The rootless run root ($XDG_RUNTIME_DIR/hull, else /tmp/hull-UID) and store are refused
when another user could read or replace what is in them (the pause pid and lock, pasta
records, images): a directory on the way owned by another user, or writable by others
without the sticky bit, or a symlink another user planted at /tmp/hull-UID, which is
not followed. hull runs as uid 65534; the other user is uid 4343.

Each case runs in a private mount namespace (unshare -m, as root) with a tmpfs of its
own on /tmp, so the /tmp/hull-65534 planted here is no one else's business: the
scenario is made as root there, then setpriv drops to uid 65534 to run `hull ps`."""
import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from .conftest import HULL, NOBODY, _alive, _wait_gone

OTHER = 4343

_WRAP = r'''
set -e
mount --make-rprivate /
mount -t tmpfs -o mode=1777,size=1m hull-rl-tmp /tmp
eval "$SETUP"
set +e
setpriv --reuid=65534 --regid=65534 --clear-groups env -i PATH="$PATH" $USER_ENV "$HULL" ps
rc=$?
echo "== after"
eval "$AFTER"
exit $rc
'''


@pytest.fixture(scope="module", autouse=True)
def hull_outside_tmp():
    """The cases hide /tmp under a tmpfs: a build under /tmp (a checkout there) would
    vanish with it, so hull and its helpers run from a copy in /var/tmp."""
    global _HULL
    d = tempfile.mkdtemp(prefix="hull-rl-bin-", dir="/var/tmp")
    os.chmod(d, 0o755)
    src = os.path.dirname(HULL)
    for name in ("hull", "hull-monitor", "hull-init", "hull-runtime"):
        if os.path.exists(os.path.join(src, name)):
            shutil.copy2(os.path.join(src, name), d)
    _HULL = os.path.join(d, "hull")
    yield
    shutil.rmtree(d)


_HULL = HULL


def run_case(setup, user_env, after="true"):
    """Runs setup as root, then `hull ps` as uid 65534 with user_env (NAME=VALUE...) in a
    private /tmp; returns (returncode, hull's stderr, output of after)."""
    home = f"/tmp/home-{uuid.uuid4().hex[:8]}"
    setup = (f"mkdir -m 0755 {home} && chown {NOBODY}:{NOBODY} {home}\n" + setup)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "SETUP": setup,
           "USER_ENV": f"HOME={home} " + user_env, "AFTER": after, "HULL": _HULL}
    try:
        p = subprocess.run(["unshare", "-m", "sh", "-c", _WRAP], env=env, capture_output=True,
                           text=True, timeout=60)
    finally:
        # A pause process that got started (the control case, or a check that let a
        # case through) lives on in its copy of the namespace: ended by its pid.
        for pid in _pause_processes(home):
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid)
    out = p.stdout.split("== after\n", 1)
    return p.returncode, p.stderr, out[1] if len(out) > 1 else ""


def _pause_processes(home):
    found = []
    for p in Path("/proc").iterdir():
        try:
            if (p.name.isdigit() and p.stat().st_uid == NOBODY and
                    (p / "comm").read_text().strip() == "hull-pause" and
                    f"HOME={home}".encode() in (p / "environ").read_bytes().split(b"\0")):
                found.append(int(p.name))
        except OSError:
            pass
    return found


def test_control_a_clean_tmp_gives_a_private_run_root():
    rc, err, after = run_case("", "", after="stat -c '%u %a %F' /tmp/hull-65534")
    assert rc == 0, err
    assert after.split("\n")[0] == f"{NOBODY} 700 directory", after


# (setup as root, the user's environment, what must be empty or unchanged after, the error)
REFUSED = {
    # A symlink another user planted at /tmp/hull-UID: nothing is made or changed through
    # it (no lock, no pid file, no chmod).
    "planted-symlink": (
        f"mkdir -m 0777 /tmp/theirs && chown {OTHER} /tmp/theirs && "
        f"ln -s /tmp/theirs /tmp/hull-65534 && chown -h {OTHER} /tmp/hull-65534",
        "", "ls -A /tmp/theirs; stat -c '%a' /tmp/theirs", ["777"],
        f"run root /tmp/hull-65534: /tmp/hull-65534 is a symlink owned by uid {OTHER}, "
        f"not {NOBODY} or root (not followed): refusing it (use --run-root DIR)"),
    "tmp-hull-uid-of-another-user": (
        f"mkdir -m 0777 /tmp/hull-65534 && chown {OTHER} /tmp/hull-65534",
        "", "ls -A /tmp/hull-65534", [],
        f"/tmp/hull-65534 is owned by uid {OTHER}, not {NOBODY} or root"),
    # The user's own run root, in a directory another user owns (who could rename it away
    # and put one of theirs in its place).
    "parent-of-another-user": (
        f"mkdir -m 0755 /tmp/xdg && chown {OTHER} /tmp/xdg && "
        f"mkdir -m 0700 /tmp/xdg/hull && chown {NOBODY} /tmp/xdg/hull",
        "XDG_RUNTIME_DIR=/tmp/xdg", "ls -A /tmp/xdg/hull", [],
        f"run root /tmp/xdg/hull: /tmp/xdg is owned by uid {OTHER}, not {NOBODY} or root"),
    "parent-writable-by-others": (
        "mkdir -m 0777 /tmp/open",
        "XDG_RUNTIME_DIR=/tmp/open", "ls -A /tmp/open", [],
        "run root /tmp/open/hull: /tmp/open is writable by others (mode 0777) without the "
        "sticky bit"),
    "store-under-another-user": (
        f"mkdir -m 0755 /tmp/data && chown {OTHER} /tmp/data && "
        f"mkdir -m 0700 /tmp/run && chown {NOBODY} /tmp/run",
        "XDG_RUNTIME_DIR=/tmp/run XDG_DATA_HOME=/tmp/data", "ls -A /tmp/data", [],
        f"store /tmp/data/hull: /tmp/data is owned by uid {OTHER}, not {NOBODY} or root: "
        "refusing it (use --root DIR)"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_refused_with_the_path_and_owner(case):
    setup, user_env, after_cmd, after_want, error = REFUSED[case]
    rc, err, after = run_case(setup, user_env, after=after_cmd)
    assert rc == 125, err
    assert error in err, err
    assert after.split() == after_want, after
