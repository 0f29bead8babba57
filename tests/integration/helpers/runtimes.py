"""Which OCI runtime the suite drives, and the host set-up some runtimes need."""

import ctypes
import os
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
NAMES = ("hull", "crun", "runc")

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS = 0x00020000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18


def hull_binary() -> Path:
    build = Path(os.environ.get("HULL_BUILD_DIR") or REPO / "build")
    if not build.is_absolute():
        build = REPO / build
    return build / "src" / "hull-runtime"


def resolve(choice: str) -> tuple[str, str]:
    """Maps a --runtime / HULL_TEST_RUNTIME value (a name or a path) to (name, path)."""
    if "/" in choice:
        base = os.path.basename(choice)
        name = "hull" if base.startswith("hull") else base
        if name not in NAMES:
            raise ValueError(f"runtime {choice!r}: binary name must be hull-runtime, crun or runc")
        return name, choice
    if choice not in NAMES:
        raise ValueError(f"runtime {choice!r}: expected one of {', '.join(NAMES)} or a path")
    if choice == "hull":
        return "hull", str(hull_binary())
    path = shutil.which(choice) or shutil.which(choice, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if not path:
        raise ValueError(f"runtime {choice!r} is not installed")
    return choice, path


def _mountinfo_fstype(path: str) -> str | None:
    found = None  # the last mount on a path is the visible one
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            if left.split()[4] == path:
                found = right.split()[0]
    return found


def private_cgroup_view() -> bool:
    """crun refuses the hybrid cgroup layout of this machine (cgroup2 on .../unified next to
    v1 controllers). Like the issue says, give this process (and so every runtime it starts)
    a private mount namespace with an empty tmpfs over /sys/fs/cgroup/unified. Must run
    before pytest starts any thread. Returns whether anything was done."""
    if _mountinfo_fstype("/sys/fs/cgroup/unified") != "cgroup2":
        return False
    if _libc.unshare(CLONE_NEWNS) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"unshare(CLONE_NEWNS): {os.strerror(e)}")
    # Private first, so neither the tmpfs nor any test mount propagates to the host.
    if _libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"mount --make-rprivate /: {os.strerror(e)}")
    if _libc.mount(b"tmpfs", b"/sys/fs/cgroup/unified", b"tmpfs", 0, b"mode=755") != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"mount tmpfs on /sys/fs/cgroup/unified: {os.strerror(e)}")
    return True
