"""Escapes through the engine (`hull`), which runs the runtime in-process: the same attack
programs as the runtime's tests, against `hull run` / `hull exec` with a busybox rootfs
(--rootfs) and a copy of the engine's binaries."""

import os
import shutil

import pytest

from .conftest import run_captured
from .test_cve_2019_5736 import assert_attack_held, sha


def test_exec_engine_binary_cannot_be_overwritten(engine, base_rootfs, tmp_path):
    """CVE-2019-5736 through `hull exec`: a container given CAP_SYS_PTRACE holds
    /proc/<pid>/exe of the exec'ing engine and writes to it once the engine has exited.
    PR_SET_DUMPABLE does not stop a holder of CAP_SYS_PTRACE: the engine must run the exec
    from a sealed copy of itself."""
    results = tmp_path / "results"
    results.mkdir()
    out = results / "out"
    before = sha(engine.binary)
    engine("run", "-d", "--name", "victim", "--cap-add", "SYS_PTRACE",
           "-v", f"{results}:/results", "--rootfs", str(base_rootfs),
           "/bin/attack", "exe", "/results/out", "12")
    for _ in range(40):
        engine("exec", "victim", "true")
        if out.exists() and "OPENED" in out.read_text():
            break
    assert_attack_held(out, engine.binary, before, "engine")


@pytest.mark.parametrize("how", ["run", "start", "exec-joiner", "exec-owner"])
def test_pid_join_engine_binary_cannot_be_overwritten(engine, base_rootfs, tmp_path, how):
    """CVE-2019-5736 through `hull run --pid container:NAME` (and start of a created
    joiner): the joiner's init runs hull's code in a pid namespace where a container
    holding CAP_SYS_PTRACE already lives. The engine re-executes from a sealed copy of
    itself before it makes anything, so the /proc/<pid>/exe the attacker holds is the copy
    (another inode than the host's file), and writing to it fails. `hull exec` into either
    container of a shared pid namespace does the same, whatever the capabilities of the one
    it enters (exec-joiner: the attacker owns the namespace; exec-owner: it joined it)."""
    results = tmp_path / "results"
    results.mkdir()
    out = results / "out"
    before = sha(engine.binary)
    attacker = ["--cap-add", "SYS_PTRACE", "-v", f"{results}:/results", "--rootfs",
                str(base_rootfs), "/bin/attack", "exe", "/results/out", "12"]
    plain = ["--rootfs", str(base_rootfs), "sleep", "60"]
    if how == "exec-owner":
        engine("run", "-d", "--name", "owner", *plain)
        engine("run", "-d", "--name", "victim", "--pid", "container:owner", *attacker)
    else:
        engine("run", "-d", "--name", "victim", *attacker)
    if how == "exec-joiner":
        engine("run", "-d", "--name", "joiner", "--pid", "container:victim", *plain)
    for n in range(40):
        if how == "run":
            engine("run", "--rm", "--pid", "container:victim", "--rootfs", str(base_rootfs),
                   "true")
        elif how == "start":
            engine("create", "--name", f"j{n}", "--pid", "container:victim",
                   "--rootfs", str(base_rootfs), "true")
            engine("start", "-a", f"j{n}")
        else:
            engine("exec", "joiner" if how == "exec-joiner" else "owner", "true")
        if out.exists() and "OPENED" in out.read_text():
            break
    assert_attack_held(out, engine.binary, before, "engine")
    host_ino = os.stat(engine.binary).st_ino
    opened = [l for l in out.read_text().splitlines() if l.startswith("OPENED")]
    assert all(f"ino {host_ino} " not in l for l in opened), (host_ino, opened)


@pytest.mark.parametrize("grant", [["--cap-add", "SYS_PTRACE"], ["--privileged"]],
                         ids=["ptrace", "privileged"])
def test_engine_under_another_name_runs_in_host_pid_ns(engine, base_rootfs, grant):
    """A container in the host's pid namespace with CAP_SYS_PTRACE is where hull-runtime
    re-executes from a sealed copy. The engine's monitor must not: it is a fork of the CLI,
    and the re-exec runs the CLI's command line again. It used to tell itself apart by its
    program name, so hull reached as `docker` (a symlink) re-executed, and the run failed
    with 'its monitor exited before starting it' (exit 125)."""
    link = os.path.join(os.path.dirname(engine.binary), "docker")
    os.symlink("hull", link)
    r = run_captured([link, "run", "--rm", "--pid", "host", *grant, "--rootfs",
                      str(base_rootfs), "echo", "hello"], env=engine.env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hello\n"
    assert engine("ps", "-aq").stdout == ""


def test_masked_paths_bind_only_the_null_device(engine, base_rootfs):
    """CVE-2025-31133: masked files are covered with /dev/null. A /dev that is a volume
    another container wrote to may have /dev/null as a symlink to a procfs file: bound as it
    was, it put /proc/timer_list over /proc/keys and over itself, unmasked."""
    engine("volume", "create", "evil")
    engine("run", "--rm", "-v", "evil:/data", "--rootfs", str(base_rootfs), "/bin/sh", "-c",
           "ln -s /proc/timer_list /data/null")
    r = engine("run", "--rm", "-v", "evil:/dev", "--rootfs", str(base_rootfs), "/bin/sh", "-c",
               "cat /proc/keys /proc/timer_list", check=False)
    assert "Timer List" not in r.stdout, r.stdout[:300]
    if r.returncode != 0:
        assert "null device" in r.stderr, r.stderr


@pytest.mark.parametrize("target", ["/proc", "/proc/sys/kernel", "/proc//sys", "/procsys/kernel"])
def test_no_volume_over_or_inside_proc(engine, base_rootfs, tmp_path, target):
    """CVE-2019-16884 / CVE-2025-52881: a mount over /proc or inside it replaces what the
    runtime writes as the host's root (sysctl, LSM labels) and what masked and read-only
    paths protect; runc refuses it. /procsys is a symlink to /proc/sys in the image here:
    a mount through it lands inside /proc all the same."""
    rootfs = tmp_path / "rootfs"
    shutil.copytree(base_rootfs, rootfs, symlinks=True)
    (rootfs / "procsys").symlink_to("/proc/sys")
    r = engine("run", "--rm", "-v", f"vol:{target}", "--rootfs", str(rootfs), "true",
               check=False)
    assert r.returncode != 0, f"a volume on {target} was mounted"
    assert "/proc" in r.stderr, r.stderr


def test_proc_not_mounted_through_a_symlink(engine, base_rootfs, tmp_path):
    """CVE-2019-19921: an image whose /proc is a symlink into a volume would get procfs
    mounted there, then hidden by the volume: the container's /proc is then the volume's
    files, which another container controls."""
    rootfs = tmp_path / "rootfs"
    shutil.copytree(base_rootfs, rootfs, symlinks=True)
    (rootfs / "proc").rmdir()
    (rootfs / "proc").symlink_to("/data/fakeproc")
    r = engine("run", "--rm", "-v", "vol:/data", "--rootfs", str(rootfs), "/bin/sh", "-c",
               "grep -c . /proc/self/status", check=False)
    assert r.returncode != 0, "procfs was mounted through a symlink"
    assert "symlink" in r.stderr, r.stderr


def test_default_profile_denies_io_uring(engine, base_rootfs):
    r = engine("run", "--rm", "--rootfs", str(base_rootfs), "/bin/attack", "io_uring")
    assert r.stdout.startswith("DENIED io_uring_setup"), r.stdout
