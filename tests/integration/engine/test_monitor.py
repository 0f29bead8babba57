"""The per-container monitor as a small static program (hull-monitor) and the leftovers of
issue 6: `wait` on a --rm container, `system prune -a` removing unused images."""
import json
import os
import signal
import sqlite3
import subprocess
import time

from .conftest import HULL
from .test_lifecycle import alive, out, wait_for

MONITOR = os.path.join(os.path.dirname(HULL), "hull-monitor")


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def monitor_of(hull, ref):
    st = hull.inspect(ref)["State"]
    return st["MonitorPid"], st["Pid"]


def exe(pid):
    return os.path.realpath(os.readlink(f"/proc/{pid}/exe"))


def holds_pidfd(pid):
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:[pidfd]":
                return True
        except OSError:
            pass
    return False


def test_monitor_is_the_small_binary(hull):
    hull.run("-d", "--name", "small", "--", "sh", "-c", "echo hello; sleep 1000")
    mon, pid = monitor_of(hull, "small")
    assert mon > 0 and alive(mon)
    # The monitor execs hull-monitor right after reporting the start: give it a moment.
    assert wait_for(lambda: exe(mon) == os.path.realpath(MONITOR)), exe(mon)
    assert status_kib(mon, "VmRSS") <= 1024
    # It is still the parent of the container's init, with nothing of the CLI left open.
    with open(f"/proc/{pid}/stat") as f:
        assert int(f.read().rsplit(")", 1)[1].split()[1]) == mon
    fds = {os.readlink(f"/proc/{mon}/fd/{fd}") for fd in os.listdir(f"/proc/{mon}/fd")}
    assert not [f for f in fds if f.endswith(".db") or f.endswith("-wal")], fds
    assert wait_for(lambda: hull("logs", "small").stdout == "hello\n")
    hull("rm", "-f", "small")
    assert wait_for(lambda: not alive(mon) and not alive(pid))


def test_logs_attach_and_rotation_through_the_monitor(hull):
    p = hull.run("--", "sh", "-c", "echo out; echo err >&2; printf 'no newline'; exit 5",
                 check=False)
    assert p.returncode == 5
    assert p.stdout == "out\nno newline" and p.stderr == "err\n"
    hull.run("-d", "--name", "rot", "--log-opt", "max-size=2k", "--log-opt", "max-file=2",
             "--", "sh", "-c", "i=0; while [ $i -lt 200 ]; do echo line-$i; i=$((i+1)); done")
    assert wait_for(lambda: hull.inspect("rot")["State"]["Status"] == "exited")
    cid = hull.inspect("rot")["Id"]
    log = os.path.join(hull.root, "containers", cid, f"{cid}-json.log")
    assert os.path.getsize(log) <= 2048 and os.path.getsize(log + ".1") <= 2048
    with open(log) as f:
        last = [json.loads(line) for line in f][-1]
    assert last["log"] == "line-199\n" and last["stream"] == "stdout"
    assert last["time"].endswith("Z") and len(last["time"]) == 30
    assert hull("logs", "rot").stdout.splitlines()[-1] == "line-199"
    hull("rm", "rot")


def test_run_rm_leaves_nothing(hull):
    # The record goes before `run --rm` returns; hull-monitor unmounts the overlay and
    # removes the directory right after.
    tar = subprocess.Popen(["tar", "-C", hull.rootfs, "-c", "."], stdout=subprocess.PIPE)
    hull("import", "-", "rmtest:1", stdin=tar.stdout)
    tar.wait()
    p = hull("run", "--rm", "rmtest:1", "sh", "-c", "echo x > /new-file; exit 2", check=False)
    assert p.returncode == 2 and hull.ids() == []
    cdir = os.path.join(hull.root, "containers")
    assert wait_for(lambda: os.listdir(cdir) == [])
    with open("/proc/self/mountinfo") as f:
        assert not [l for l in f if hull.root in l]


def wal_frames(db):
    try:
        size = os.path.getsize(db + "-wal")
    except FileNotFoundError:
        return 0
    return max(0, size - 32) // (4096 + 24)


def test_the_exit_not_the_cli_folds_the_wal(hull):
    # A CLI's commits leave containers.db's WAL long (it folds it itself only past 128
    # frames, keeping the syncs off a user's time); hull __exited folds it after an exit.
    db = os.path.join(hull.root, "containers.db")
    names = []
    while wal_frames(db) <= 40 and len(names) < 40:
        names.append(f"w{len(names)}")
        hull.create("--name", names[-1], "--", "true")
    assert wal_frames(db) > 40
    hull.run("--rm", "--", "true")
    # One frame: the commit that starts the new WAL, so that the next CLI does not sync.
    assert wait_for(lambda: wal_frames(db) == 1)
    hull("rm", *names)
    assert hull.ids() == []


def test_a_program_gone_before_the_monitor_execs_is_watched_in_process(hull, tmp_path):
    # hull-monitor's code also runs in the monitor's own process when the program has
    # exited by the time the monitor would exec it: no exec of hull-monitor for a short
    # `run --rm`. HULL_MONITOR names a wrapper that counts the execs of the binary.
    calls = tmp_path / "calls"
    wrapper = tmp_path / "monitor"
    wrapper.write_text(f"#!/bin/sh\necho x >> {calls}\nexec {MONITOR} \"$@\"\n")
    wrapper.chmod(0o755)
    hull.env["HULL_MONITOR"] = str(wrapper)
    codes = []
    for _ in range(5):
        p = hull.run("--rm", "--", "sh", "-c", "echo out; echo err >&2; exit 3", check=False)
        assert (p.returncode, p.stdout, p.stderr) == (3, "out\n", "err\n")
        codes.append(p.returncode)
    # A run can lose the race on a loaded machine (the program still running): not all.
    execs = calls.read_text().count("x") if calls.exists() else 0
    assert execs < 5, execs
    assert hull.ids() == []
    assert wait_for(lambda: os.listdir(os.path.join(hull.root, "containers")) == [])
    # A program that runs on is watched by the binary, as before.
    hull.run("-d", "--name", "long", "--", "sleep", "1000")
    mon, _ = monitor_of(hull, "long")
    assert wait_for(lambda: exe(mon) == os.path.realpath(MONITOR))
    assert calls.read_text().count("x") == execs + 1
    hull("rm", "-f", "long")
    assert wait_for(lambda: not alive(mon))


def test_restart_keeps_the_monitor(hull):
    hull.run("-d", "--name", "loop", "--restart", "on-failure:3", "--", "sh", "-c",
             "echo run; sleep 0.3; exit 4")
    mon, _ = monitor_of(hull, "loop")
    assert wait_for(lambda: hull.inspect("loop")["RestartCount"] >= 1, timeout=15)
    # Same pid through the exit, the back-off and the relaunch; small again once it runs.
    assert wait_for(lambda: hull.inspect("loop")["State"]["Status"] == "running")
    assert monitor_of(hull, "loop")[0] == mon
    assert wait_for(lambda: alive(mon) and exe(mon) == os.path.realpath(MONITOR))
    assert wait_for(lambda: hull.inspect("loop")["State"]["Status"] == "exited", timeout=20)
    j = hull.inspect("loop")
    assert j["RestartCount"] == 3 and j["State"]["ExitCode"] == 4
    assert hull("logs", "loop").stdout == "run\n" * 4
    assert wait_for(lambda: not alive(mon))
    hull("rm", "loop")


def test_stop_during_the_back_off(hull):
    hull.run("-d", "--name", "bo", "--restart", "always", "--", "sh", "-c", "exit 1")
    # The back-off doubles: once it is past a second, a stop lands inside one.
    assert wait_for(lambda: hull.inspect("bo")["RestartCount"] >= 4, timeout=20)
    mon, _ = monitor_of(hull, "bo")
    t0 = time.time()
    hull("stop", "bo")
    assert time.time() - t0 < 5
    assert wait_for(lambda: not alive(mon))
    j = hull.inspect("bo")
    assert j["State"]["Status"] == "exited"
    count = j["RestartCount"]
    time.sleep(1)
    assert hull.inspect("bo")["RestartCount"] == count
    hull("rm", "bo")


def test_sigkill_of_the_small_monitor(hull):
    hull.run("-d", "--name", "orph", "--", "sleep", "1000")
    mon, pid = monitor_of(hull, "orph")
    assert wait_for(lambda: exe(mon) == os.path.realpath(MONITOR))
    os.kill(mon, signal.SIGKILL)
    assert wait_for(lambda: not alive(mon))
    assert alive(pid) and hull.inspect("orph")["State"]["Running"]
    hull("rm", "-f", "orph")
    assert wait_for(lambda: not alive(pid))
    # Killed while running a --rm container whose program then ends: prune cleans up.
    hull.run("-d", "--rm", "--name", "gone", "--", "sleep", "0.5")
    mon, pid = monitor_of(hull, "gone")
    os.kill(mon, signal.SIGKILL)
    assert wait_for(lambda: not alive(pid))
    assert hull.inspect("gone")["State"]["Status"] == "exited"
    hull("rm", "-f", "gone")
    hull("system", "prune", "-f")
    assert hull.ids() == []


def test_wait_on_auto_removed_container(hull):
    cid = out(hull.run("-d", "--rm", "--", "sh", "-c", "sleep 0.5; exit 7"))
    p = hull("wait", cid, check=False)
    assert p.returncode == 0 and out(p) == "7", p.stderr
    assert wait_for(lambda: hull.ids() == [])
    # Already gone by the time wait starts: its full id still answers.
    cid = out(hull.run("-d", "--rm", "--", "sh", "-c", "exit 3"))
    assert wait_for(lambda: hull.ids() == [])
    assert out(hull("wait", cid)) == "3"
    # Killed: 128 + 9.
    hull.run("-d", "--rm", "--name", "kw", "--", "sleep", "1000")
    waiter = hull.popen("wait", "kw", stdout=subprocess.PIPE, text=True)
    # Killed once the waiter holds it: a wait that starts after --rm removed "kw" finds no
    # such name (only a full id is kept). The waiter polls the monitor's pidfd.
    assert wait_for(lambda: holds_pidfd(waiter.pid)), "hull wait never got to waiting"
    hull("kill", "kw")
    assert waiter.communicate(timeout=10)[0].strip() == "137"
    assert hull("wait", "no-such-container", check=False).returncode != 0


def test_system_prune_all_removes_unused_images(hull, tmp_path):
    def imp(name, src):
        tar = subprocess.Popen(["tar", "-C", src, "-c", "."], stdout=subprocess.PIPE)
        p = hull("import", "-", name, stdin=tar.stdout)
        tar.wait()
        return out(p)

    def names():
        rows = [json.loads(l) for l in hull("images", "--format", "json").stdout.splitlines()]
        return {f"{r['Repository']}:{r['Tag']}" for r in rows}

    imp("used:1", hull.rootfs)
    other = tmp_path / "other"
    other.mkdir()
    (other / "only-file").write_text("not the same image\n")
    imp("unused:1", str(other))
    assert {"used:1", "unused:1"} <= names()
    hull("create", "--name", "holder", "used:1", "true")
    # Without -a only dangling images go: both are tagged.
    hull("system", "prune", "-f")
    assert {"used:1", "unused:1"} <= names()
    # -a: every image no container uses (stopped containers go first, as docker's).
    hull("run", "-d", "--name", "keeper", "used:1", "sleep", "1000")
    p = hull("system", "prune", "-a", "-f")
    assert "Deleted Images:" in p.stdout
    left = names()
    assert "used:1" in left and "unused:1" not in left
    assert hull.ids() == [hull.inspect("keeper")["Id"]]
    hull("rm", "-f", "keeper")
    hull("system", "prune", "-a", "-f")
    assert names() == set()


def test_rm_overlay_is_volatile(hull):
    # --rm throws the upper dir away, so its overlay skips syncs (the unmount at exit does
    # not flush it); a container that is kept must not lose data, so its overlay syncs.
    tar = subprocess.Popen(["tar", "-C", hull.rootfs, "-c", "."], stdout=subprocess.PIPE)
    hull("import", "-", "voltest:1", stdin=tar.stdout)
    tar.wait()
    show_root = ["grep", " / / ", "/proc/self/mountinfo"]
    rm = hull("run", "--rm", "voltest:1", *show_root).stdout
    assert " - overlay " in rm and "volatile" in rm, rm
    kept = hull("run", "--name", "kept", "voltest:1", *show_root).stdout
    assert " - overlay " in kept and "volatile" not in kept, kept
    hull("rm", "kept")


def test_hull_maps_only_glibc_at_start():
    # libcurl, libarchive, libnftables, libnl, libcrypto and libisal are dlopen()ed by the
    # verbs that use them (src/engine/lazy), and SQLite, libseccomp and libcap are linked
    # from their archives: a new call into a lazy library without a wrapper would make the
    # linker record it again, and every hull command (twice per `run`) would map and
    # relocate it. (This happened with curl_share_*.)
    dyn = subprocess.run(["readelf", "-d", HULL], capture_output=True, text=True,
                         check=True).stdout
    needed = [l.split("[")[1].rstrip("]") for l in dyn.splitlines() if "(NEEDED)" in l]
    assert needed, dyn
    # glibc: libc, libm and the dynamic loader (static libgcc's unwinder calls into it).
    assert [n for n in needed if not n.startswith(("libc.so", "libm.so", "ld-linux"))] == [], \
        needed


def test_kill_keeps_an_exit_recorded_meanwhile(hull):
    """`kill` (and `stop`) set manual_stop in the record while the monitor may be recording
    the exit: the flag alone is written, in the transaction that reads it. They saved the
    whole state they had read before, which undid an exit recorded in between (the
    container then showed running with no monitor, later exited with 255)."""
    hull.run("-d", "--name", "killed", "--stop-signal", "USR1", "--", "sleep", "1000")
    cid = hull.inspect("killed")["Id"]
    db = sqlite3.connect(os.path.join(hull.root, "containers.db"), isolation_level=None,
                         timeout=10)
    try:
        db.execute("BEGIN IMMEDIATE")
        state = json.loads(db.execute("SELECT state FROM containers WHERE id = ?",
                                      (cid,)).fetchone()[0])
        state["exit_code"] = 42  # what a monitor records, not committed yet
        db.execute("UPDATE containers SET state = ? WHERE id = ?", (json.dumps(state), cid))
        # USR1 is the stop signal: kill marks a manual stop. sleep as PID 1 ignores it.
        p = hull.popen("kill", "-s", "USR1", "killed", stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
        time.sleep(0.5)  # kill has read the record (WAL readers do not wait), waits to write
        db.execute("COMMIT")
        assert p.wait(15) == 0, p.stderr.read()
        state = json.loads(db.execute("SELECT state FROM containers WHERE id = ?",
                                      (cid,)).fetchone()[0])
    finally:
        db.close()
    assert state["exit_code"] == 42 and state["manual_stop"] is True, state
    hull("rm", "-f", "killed")
