"""Driving an OCI runtime CLI (hull-runtime, crun or runc) on a bundle, and checking that
nothing is left behind afterwards."""

import copy
import itertools
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

# Every container process gets this variable; its value is the container id, so a stray
# process can be traced back to the test that leaked it.
MARKER = "HULL_ITEST"
TIMEOUT = 30

_ids = itertools.count(1)


def session_prefix() -> str:
    """Ids of this pytest process's containers start with this (concurrent sessions on
    one machine must not see each other's containers as leaks)."""
    return f"it-{os.getpid()}-"


def unique_id() -> str:
    return f"{session_prefix()}{next(_ids)}"


def copy_rootfs(src: Path, dst: Path) -> None:
    """Per-test copy of the session rootfs: small files copied (tests may change them),
    the busybox binary hard-linked (no test writes to it)."""

    def copy(s, d):
        if os.path.basename(s) == "busybox":
            os.link(s, d)
        else:
            shutil.copy2(s, d)

    shutil.copytree(src, dst, symlinks=True, copy_function=copy)


class Runtime:
    def __init__(self, name: str, path: str):
        self.name = name
        self.path = path

    def __repr__(self):
        return f"Runtime({self.name}, {self.path})"

    def argv(self, root, *args) -> list[str]:
        return [self.path, "--root", str(root), *map(str, args)]

    def spec(self, workdir: Path) -> dict:
        """The runtime's own default config.json."""
        workdir.mkdir(parents=True, exist_ok=True)
        subprocess.run([self.path, "spec"], cwd=workdir, check=True, timeout=TIMEOUT,
                       capture_output=True)
        with open(workdir / "config.json") as f:
            return json.load(f)


def mounts_under(prefix: Path) -> list[str]:
    """Mount points in this process's mount namespace at or below prefix."""
    p = str(prefix)
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].replace("\\040", " ")
            if mp == p or mp.startswith(p + "/"):
                out.append(mp)
    return out


def host_mounts(own) -> list[tuple[str, str, str]]:
    """This mount namespace's mounts (point, type, source), sorted, but those that other
    test sessions on the machine (engineers' parallel runs) make and remove at any time:
    whatever is under /tmp and not under one of the dirs in own, and `ip netns add`'s
    under /run/netns. A fuzz test compares two of these: a mount its runtime or engine
    leaked lands under its own dirs (a bundle, a store, or a traversal from one) or on a
    host path outside /tmp, and shows."""
    mine = [str(d).rstrip("/") + "/" for d in own]

    def foreign(mp):
        if mp.startswith("/run/netns/"):
            return True
        return mp.startswith("/tmp/") and not any(mp.startswith(m) for m in mine)
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            mp = left.split()[4].replace("\\040", " ")
            if not foreign(mp):
                found.append((mp, *right.split()[:2]))
    return sorted(found)


def processes_with_marker(value: str | None = None, prefix: str | None = None) -> list[int]:
    """Pids whose environment has MARKER=value (or MARKER=prefix...)."""
    want = f"{MARKER}={value}".encode() if value else f"{MARKER}={prefix or ''}".encode()
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if any(e == want if value else e.startswith(want) for e in env):
            found.append(int(d))
    return found


def cgroups_named(cid: str) -> list[str]:
    """cgroup directories (down to depth 3 in each hierarchy) whose name contains cid."""
    return cgroups_matching(lambda name: cid in name)


def cgroups_matching(match) -> list[str]:
    """cgroup directories (down to depth 3 in each hierarchy) whose name match(name) takes;
    not searched below."""
    found = []

    def walk(d: str, depth: int):
        try:
            entries = list(os.scandir(d))
        except OSError:
            return
        for e in entries:
            if not e.is_dir(follow_symlinks=False):
                continue
            if match(e.name):
                found.append(e.path)
            elif depth < 3:
                walk(e.path, depth + 1)

    for hierarchy in cgroup_mounts():
        walk(hierarchy, 0)
    return found


def cgroup_mounts() -> list[str]:
    """Mount points of cgroup v1/v2 filesystems (so the tmpfs that hides cgroup2 from crun
    in private_cgroup_view is not mistaken for a hierarchy)."""
    visible = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            visible[left.split()[4]] = right.split()[0]
    return [mp for mp, fs in visible.items() if fs in ("cgroup", "cgroup2")]


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except OSError:
        return False


def wait_for(pred, timeout: float = 10.0, interval: float = 0.02, what: str = "condition"):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Result:
    """Outcome of one runtime command: returncode, stdout, stderr (text)."""

    def __init__(self, argv, returncode, stdout, stderr):
        self.argv, self.returncode, self.stdout, self.stderr = argv, returncode, stdout, stderr

    def __repr__(self):
        return (f"Result(argv={self.argv}, rc={self.returncode},\n stdout={self.stdout!r},\n"
                f" stderr={self.stderr!r})")

    def ok(self) -> "Result":
        assert self.returncode == 0, f"command failed: {self!r}"
        return self


class Container:
    """One container under test: its own bundle (rootfs copy + config.json), its own
    --root state dir and a unique id. `config` is edited by the test before create/run."""

    def __init__(self, runtime: Runtime, workdir: Path, base_spec: dict, rootfs: Path,
                 cid: str | None = None):
        self.runtime = runtime
        self.workdir = workdir
        self.id = cid or unique_id()
        self.root = workdir / "state"
        self.bundle = workdir / "bundle"
        self.root.mkdir(parents=True, exist_ok=True)
        self.bundle.mkdir(parents=True, exist_ok=True)
        copy_rootfs(rootfs, self.bundle / "rootfs")
        c = copy.deepcopy(base_spec)
        c["root"] = {"path": "rootfs", "readonly": False}
        p = c["process"]
        p["terminal"] = False
        p["args"] = ["true"]
        p["cwd"] = "/"
        p["env"] = [e for e in p.get("env", []) if not e.startswith("TERM=")]
        p["env"].append(f"{MARKER}={self.id}")
        c["hostname"] = "itest"
        self.config = c
        self.deleted = False
        self._n = itertools.count()

    # ---- bundle ----------------------------------------------------------------------
    @property
    def rootfs(self) -> Path:
        return self.bundle / "rootfs"

    @property
    def process(self) -> dict:
        return self.config["process"]

    def set_args(self, *args):
        self.process["args"] = list(args)

    def sh(self, script: str):
        self.process["args"] = ["sh", "-c", script]

    def namespaces(self) -> list[dict]:
        return self.config.setdefault("linux", {}).setdefault("namespaces", [])

    def set_namespace(self, ns_type: str, path: str | None = None):
        nss = [n for n in self.namespaces() if n["type"] != ns_type]
        nss.append({"type": ns_type, **({"path": path} if path else {})})
        self.config["linux"]["namespaces"] = nss

    def drop_namespace(self, ns_type: str):
        self.config["linux"]["namespaces"] = [
            n for n in self.namespaces() if n["type"] != ns_type]

    def add_mount(self, destination, type_, source, options=()):
        self.config.setdefault("mounts", []).append(
            {"destination": destination, "type": type_, "source": str(source),
             "options": list(options)})

    def write_config(self, text: str | None = None):
        with open(self.bundle / "config.json", "w") as f:
            f.write(text if text is not None else json.dumps(self.config, indent=1))

    # ---- runtime commands ------------------------------------------------------------
    def argv(self, args, global_args=(), fds=None) -> list[str]:
        """The runtime's argv; fds {n: path} opens each path read-only as fd n in the runtime
        (through a sh wrapper, which does not leak other fds)."""
        argv = [self.runtime.path, "--root", str(self.root), *map(str, global_args),
                *map(str, args)]
        if fds:
            redirs = " ".join(f"{n}<'{p}'" for n, p in sorted(fds.items()))
            argv = ["/bin/sh", "-c", f'exec "$@" {redirs}', "sh", *argv]
        return argv

    def cmd(self, *args, timeout=TIMEOUT, input=None, pass_fds=(), global_args=(),
            fds=None) -> Result:
        """Runs the runtime with pipes for stdio. Only for commands whose children do not
        keep stdout open after the runtime exits (use detached() for those)."""
        argv = self.argv(args, global_args, fds)
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input,
                           pass_fds=pass_fds, stdin=None if input is not None else
                           subprocess.DEVNULL)
        return Result(argv, p.returncode, p.stdout, p.stderr)

    def detached(self, *args, timeout=TIMEOUT, pass_fds=(), global_args=(), fds=None) -> Result:
        """Runs a command that leaves a process holding its stdio (create, run --detach,
        exec --detach): stdout and stderr go to files, which are read when the runtime
        exits; the container keeps writing to them (see output())."""
        n = next(self._n)
        out, err = self.workdir / f"out.{n}", self.workdir / f"err.{n}"
        self.last_out, self.last_err = out, err
        argv = self.argv(args, global_args, fds)
        with open(out, "w") as o, open(err, "w") as e:
            p = subprocess.run(argv, stdout=o, stderr=e, stdin=subprocess.DEVNULL,
                               timeout=timeout, pass_fds=pass_fds)
        # errors="replace": a message may quote the bytes of a malformed input.
        return Result(argv, p.returncode, out.read_text(errors="replace"),
                      err.read_text(errors="replace"))

    def output(self) -> str:
        """What the detached container wrote to stdout so far."""
        return self.last_out.read_text()

    def run(self, *extra, write=True, **kw) -> Result:
        if write:
            self.write_config()
        return self.cmd("run", "--bundle", self.bundle, *extra, self.id, **kw)

    def run_detached(self, *extra, write=True, **kw) -> Result:
        if write:
            self.write_config()
        return self.detached("run", "--detach", "--bundle", self.bundle, *extra, self.id, **kw)

    def create(self, *extra, write=True, **kw) -> Result:
        if write:
            self.write_config()
        return self.detached("create", "--bundle", self.bundle, *extra, self.id, **kw)

    def start(self) -> Result:
        return self.cmd("start", self.id)

    def state(self) -> dict:
        r = self.cmd("state", self.id).ok()
        return json.loads(r.stdout)

    def status(self) -> str:
        return self.state()["status"]

    def pid(self) -> int:
        return int(self.state()["pid"])

    def kill(self, *sig, all=False) -> Result:
        return self.cmd("kill", *(["--all"] if all else []), self.id, *sig)

    def delete(self, force=False) -> Result:
        r = self.cmd("delete", *(["--force"] if force else []), self.id)
        if r.returncode == 0:
            self.deleted = True
        return r

    def exec(self, *args, opts=(), **kw) -> Result:
        return self.cmd("exec", *opts, self.id, *args, **kw)

    def wait_status(self, status: str, timeout=10.0):
        def check():
            try:
                return self.status() == status
            except AssertionError:
                return False
        wait_for(check, timeout, what=f"{self.id} to be {status}")

    def start_running(self, script: str = "sleep 1000") -> int:
        """create + start a long-running container; returns its pid."""
        self.sh(script)
        self.create().ok()
        self.start().ok()
        self.wait_status("running")
        return self.pid()

    # ---- cleanup ---------------------------------------------------------------------
    def leftovers(self) -> list[str]:
        """What this container left behind (empty if nothing)."""
        left = []
        if (self.root / self.id).exists():
            left.append(f"state dir {self.root / self.id}")
        for mp in mounts_under(self.workdir):
            left.append(f"mount {mp}")
        for pid in processes_with_marker(self.id):
            left.append(f"process {pid}")
        for cg in cgroups_named(self.id):
            left.append(f"cgroup {cg}")
        return left

    def cleanup(self) -> list[str]:
        """delete --force, then report anything left behind. Kills stray processes and
        unmounts stray mounts so one failure does not cascade."""
        self.cmd("delete", "--force", self.id)
        try:
            wait_for(lambda: not self.leftovers(), timeout=10, what="cleanup")
            return []
        except AssertionError:
            pass
        left = self.leftovers()
        for pid in processes_with_marker(self.id):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for mp in reversed(mounts_under(self.workdir)):
            subprocess.run(["umount", "-l", mp], capture_output=True)
        return left
