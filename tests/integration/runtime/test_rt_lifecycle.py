"""OCI lifecycle through the CLI: run, create/start/state/kill/delete, list, detach,
pid file. Each test checks the behaviour from the outside (state JSON, /proc) and from
inside the container (its output)."""

import json
import os
import signal
import subprocess
import time

import pytest

from helpers import oci, procstatus


@pytest.mark.parametrize("code", [0, 3, 255])
def test_run_returns_exit_status(ctr, code):
    ctr.sh(f"echo out; echo err >&2; exit {code}")
    r = ctr.run()
    assert r.returncode == code, r
    assert r.stdout == "out\n"
    assert "err\n" in r.stderr


def _popen_run(ctr):
    ctr.write_config()
    argv = ctr.runtime.argv(ctr.root, "run", "--bundle", ctr.bundle, ctr.id)
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("sig", ["KILL", "USR1", "TERM"])
def test_run_killed_by_signal_returns_128_plus_n(ctr, sig):
    # The init of a pid namespace only gets signals it handles, even from the host
    # (SIGKILL excepted): for the others run without a pid namespace so sleep's default
    # disposition (terminate) applies.
    ctr.set_args("sleep", "1000")
    if sig != "KILL":
        ctr.drop_namespace("pid")
    p = _popen_run(ctr)
    try:
        ctr.wait_status("running")
        ctr.kill(sig).ok()
        out, err = p.communicate(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    n = getattr(signal, "SIG" + sig)
    assert p.returncode == 128 + n, err


def test_run_forwards_signals(ctr):
    # A signal to the foreground `run` reaches the container (trap prints it).
    ctr.sh("trap 'echo got-hup; exit 7' HUP; echo ready; while :; do sleep 0.05; done")
    p = _popen_run(ctr)
    try:
        assert p.stdout.readline() == "ready\n"
        p.send_signal(signal.SIGHUP)
        out, err = p.communicate(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert "got-hup" in out
    assert p.returncode == 7, err


def test_create_start_state_transitions(ctr):
    ctr.config["annotations"] = {"org.hull.test": "yes", "other": "two"}
    ctr.sh("echo started > /started; exec sleep 1000")
    ctr.create().ok()

    st = ctr.state()
    assert st["status"] == "created"
    assert st["id"] == ctr.id
    assert os.path.realpath(st["bundle"]) == os.path.realpath(ctr.bundle)
    assert st["annotations"] == {"org.hull.test": "yes", "other": "two"}
    assert "ociVersion" in st
    pid = st["pid"]
    assert pid > 0 and oci.pid_alive(pid)
    # created means set up but the user program has not run yet
    time.sleep(0.2)
    assert not (ctr.rootfs / "started").exists()

    ctr.start().ok()
    oci.wait_for(lambda: (ctr.rootfs / "started").exists(), what="program to run")
    st = ctr.state()
    assert st["status"] == "running"
    assert st["pid"] == pid  # the init process execs the program in place
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[0] == b"sleep"

    ctr.kill("KILL").ok()
    ctr.wait_status("stopped")
    assert not oci.pid_alive(pid)
    ctr.delete().ok()
    r = ctr.cmd("state", ctr.id)
    assert r.returncode != 0
    assert not (ctr.root / ctr.id).exists()


def test_start_twice_fails(ctr):
    ctr.start_running()
    r = ctr.start()
    assert r.returncode != 0, r
    assert ctr.status() == "running"


def test_state_stopped_after_exit(ctr):
    ctr.set_args("true")
    ctr.create().ok()
    ctr.start().ok()
    ctr.wait_status("stopped")
    # runc and crun keep "pid" in a stopped container's state, as 0 (list shows the same)
    assert ctr.state()["pid"] == 0
    ctr.delete().ok()


@pytest.mark.parametrize("form", ["USR1", "SIGUSR1", "10", "usr1"])
def test_kill_signal_forms(ctr, form):
    if form == "usr1" and ctr.runtime.name == "crun":
        pytest.skip("runc upper-cases signal names; crun does not")
    ctr.sh("trap 'echo usr1 > /got; exit 0' USR1; while :; do sleep 0.05; done")
    ctr.create().ok()
    ctr.start().ok()
    ctr.wait_status("running")
    pid = ctr.pid()
    oci.wait_for(lambda: procstatus.traps(pid, signal.SIGUSR1), what="sh to trap USR1")
    ctr.kill(form).ok()
    ctr.wait_status("stopped")
    assert (ctr.rootfs / "got").read_text() == "usr1\n"


def test_kill_default_is_sigterm(ctr):
    ctr.sh("trap 'echo term > /got; exit 0' TERM; while :; do sleep 0.05; done")
    pid = ctr.start_running(ctr.process["args"][2])
    oci.wait_for(lambda: procstatus.traps(pid, signal.SIGTERM), what="sh to trap TERM")
    ctr.kill().ok()
    ctr.wait_status("stopped")
    assert (ctr.rootfs / "got").read_text() == "term\n"


@pytest.mark.skip_runtime("crun", reason="crun 1.8 accepts an unknown signal name")
def test_kill_bad_signal_fails(ctr):
    ctr.start_running()
    r = ctr.kill("NOTASIGNAL")
    assert r.returncode != 0
    assert ctr.status() == "running"


def test_kill_created_container(ctr):
    ctr.sh("sleep 1000")
    ctr.create().ok()
    pid = ctr.pid()
    ctr.kill("KILL").ok()
    oci.wait_for(lambda: not oci.pid_alive(pid), what="init to die")
    ctr.wait_status("stopped")


@pytest.mark.skip_runtime("crun", reason="crun 1.8's created init ignores SIGTERM")
@pytest.mark.parametrize("sig", [None, "INT", "HUP"])
def test_kill_created_container_with_default_signal(ctr, sig):
    # runc's waiting init exits on SIGTERM, SIGINT, SIGHUP: `kill ID` stops a created
    # container (an engine's stop of a never-started container needs no SIGKILL timeout)
    ctr.sh("echo ran > /ran")
    ctr.create().ok()
    pid = ctr.pid()
    ctr.kill(*([sig] if sig else [])).ok()
    oci.wait_for(lambda: not oci.pid_alive(pid), what="init to die")
    ctr.wait_status("stopped")
    assert ctr.start().returncode != 0
    assert not (ctr.rootfs / "ran").exists()


def test_kill_created_container_with_ignored_signal(ctr):
    # SIGUSR1 neither ends runc's waiting init nor hull's; it starts as usual afterwards
    ctr.sh("echo ran")
    ctr.create().ok()
    ctr.kill("USR1").ok()
    time.sleep(0.2)
    assert ctr.status() == "created"
    ctr.start().ok()
    ctr.wait_status("stopped")
    assert ctr.output() == "ran\n"


def test_pause_resume_created_container(ctr):
    # runc and crun pause a created container's cgroup too; resumed, it starts as usual
    ctr.sh("echo ran")
    ctr.create().ok()
    r = ctr.cmd("pause", ctr.id)
    assert r.returncode == 0, r
    assert ctr.status() in ("paused", "created")  # runc: paused, crun 1.8: created
    if ctr.runtime.name != "crun":
        assert ctr.start().returncode != 0  # runc: "cannot start a container in the paused state"
    assert ctr.cmd("resume", ctr.id).returncode == 0
    assert ctr.status() == "created"
    ctr.start().ok()
    ctr.wait_status("stopped")
    assert ctr.output() == "ran\n"


def test_delete_force_of_paused_created_container(ctr):
    ctr.sh("sleep 100")
    ctr.create().ok()
    assert ctr.cmd("pause", ctr.id).returncode == 0
    ctr.delete(force=True).ok()  # the fixture checks that nothing is left


def test_delete_running_needs_force(ctr):
    pid = ctr.start_running()
    r = ctr.delete()
    assert r.returncode != 0, r
    assert ctr.status() == "running" and oci.pid_alive(pid)
    ctr.delete(force=True).ok()
    assert not oci.pid_alive(pid)
    assert not (ctr.root / ctr.id).exists()
    assert ctr.cmd("state", ctr.id).returncode != 0


def test_delete_created_container(ctr):
    ctr.sh("echo ran > /ran")
    ctr.create().ok()
    pid = ctr.pid()
    r = ctr.delete()
    if r.returncode != 0:  # runc deletes a created container without --force; allow force
        ctr.delete(force=True).ok()
    assert not oci.pid_alive(pid)
    assert not (ctr.rootfs / "ran").exists()
    assert not (ctr.root / ctr.id).exists()


@pytest.mark.hull_only
def test_delete_after_a_create_that_died_before_its_state(ctr):
    """A create killed between its cgroup and state.json (an engine monitor killed while it
    launches) leaves the state dir, the cgroup and maybe the init: the cgroup, noted on the
    state dir as soon as it exists (an xattr as root), lets delete find and remove them."""
    ctr.sh("sleep 1000")
    ctr.create().ok()
    pid = ctr.pid()
    assert oci.cgroups_named(ctr.id)
    (ctr.root / ctr.id / "state.json").unlink()
    assert os.getxattr(ctr.root / ctr.id, "trusted.hull.cgroup")
    assert "cgroup.json" not in os.listdir(ctr.root / ctr.id)
    ctr.delete(force=True).ok()
    oci.wait_for(lambda: not oci.pid_alive(pid), what="init to die")
    assert oci.cgroups_named(ctr.id) == []
    assert not (ctr.root / ctr.id).exists()


def test_delete_force_of_stopped_and_missing(ctr):
    ctr.create().ok()
    ctr.start().ok()
    ctr.wait_status("stopped")
    ctr.delete(force=True).ok()
    # --force on a container that no longer exists is not an error (runc, crun agree)
    assert ctr.delete(force=True).returncode == 0


def test_list_quiet_and_json(make_container):
    a = make_container()
    b = make_container()
    b.root = a.root  # both in one --root
    a.start_running()
    b.sh("sleep 1000")
    b.create().ok()

    r = a.cmd("list", "-q").ok()
    assert sorted(r.stdout.split()) == sorted([a.id, b.id])

    r = a.cmd("list", "--format", "json").ok()
    items = {i["id"]: i for i in json.loads(r.stdout)}
    assert set(items) == {a.id, b.id}
    assert items[a.id]["status"] == "running"
    assert items[b.id]["status"] == "created"
    assert items[a.id]["pid"] == a.pid()
    assert os.path.realpath(items[b.id]["bundle"]) == os.path.realpath(b.bundle)

    r = a.cmd("list").ok()  # table: a header, then one line per container
    lines = r.stdout.strip().splitlines()
    assert lines[0].split()[0] in ("ID", "NAME")  # runc: ID, crun: NAME
    assert sorted(ln.split()[0] for ln in lines[1:]) == sorted([a.id, b.id])


def test_list_empty_root(ctr):
    r = ctr.cmd("list", "-q").ok()
    assert r.stdout.strip() == ""
    r = ctr.cmd("list", "--format", "json").ok()
    assert json.loads(r.stdout or "null") in (None, [])


def test_run_detach(ctr):
    ctr.sh("echo hello; exec sleep 1000")
    t0 = time.monotonic()
    ctr.run_detached().ok()
    assert time.monotonic() - t0 < 10
    st = ctr.state()
    assert st["status"] == "running"
    assert oci.pid_alive(st["pid"])
    oci.wait_for(lambda: ctr.output() == "hello\n", what="container output")


def test_pid_file(ctr, tmp_path):
    pf = tmp_path / "sub" / "pidfile"
    pf.parent.mkdir()
    # A file of the caller's beside it is not the runtime's scratch space.
    (pf.parent / "pidfile.tmp").write_text("mine")
    ctr.sh("sleep 1000")
    ctr.create("--pid-file", pf).ok()
    assert int(pf.read_text().strip()) == ctr.pid()
    assert (pf.parent / "pidfile.tmp").read_text() == "mine"
    assert sorted(p.name for p in pf.parent.iterdir()) == ["pidfile", "pidfile.tmp"]


@pytest.mark.skip_runtime("crun", reason="crun resolves it elsewhere")
def test_pid_file_relative_to_cwd(ctr, tmp_path):
    # runc resolves a relative --pid-file against the caller's cwd
    ctr.sh("sleep 1000")
    ctr.write_config()
    argv = ctr.runtime.argv(ctr.root, "create", "--bundle", ctr.bundle, "--pid-file",
                            "rel.pid", ctr.id)
    subprocess.run(argv, cwd=tmp_path, check=True, timeout=oci.TIMEOUT,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    assert int((tmp_path / "rel.pid").read_text()) == ctr.pid()


def test_run_pid_file_detached(ctr, tmp_path):
    pf = tmp_path / "run.pid"
    ctr.set_args("sleep", "1000")
    ctr.run_detached("--pid-file", pf).ok()
    assert int(pf.read_text()) == ctr.pid()


def test_kill_all(ctr, tmp_path):
    # Without a pid namespace the init's death does not take its children with it:
    # only --all reaches the background sleep.
    ctr.drop_namespace("pid")
    ctr.sh("sleep 1000 & echo $! > /bg; exec sleep 1000")
    ctr.create().ok()
    ctr.start().ok()
    oci.wait_for(lambda: (ctr.rootfs / "bg").exists() and (ctr.rootfs / "bg").read_text(),
                 what="background pid")
    init = ctr.pid()
    # /bg holds the pid as the container sees it; no pid namespace, so the host's
    bg = int((ctr.rootfs / "bg").read_text())
    assert oci.pid_alive(bg)
    ctr.kill("KILL", all=True).ok()
    oci.wait_for(lambda: not oci.pid_alive(init) and not oci.pid_alive(bg),
                 what="every container process to die")
    ctr.wait_status("stopped")


def test_init_killed_outside_runtime(ctr):
    # the state follows the process, and kill/delete still behave afterwards
    pid = ctr.start_running()
    os.kill(pid, signal.SIGKILL)
    ctr.wait_status("stopped")
    r = ctr.kill("TERM")
    assert r.returncode != 0 or ctr.status() == "stopped"
    ctr.delete().ok()


def test_no_pivot(ctr):
    ctr.sh("echo chrooted; cat /etc/hostname")
    r = ctr.run("--no-pivot")
    assert r.returncode == 0, r
    assert r.stdout == "chrooted\nhull\n"


def test_absolute_root_path(ctr):
    ctr.config["root"]["path"] = str(ctr.rootfs)
    ctr.set_args("cat", "/etc/hostname")
    r = ctr.run()
    assert r.returncode == 0 and r.stdout == "hull\n", r


def test_bundle_defaults_to_cwd(ctr):
    ctr.set_args("cat", "/etc/hostname")
    ctr.write_config()
    argv = ctr.runtime.argv(ctr.root, "run", ctr.id)
    p = subprocess.run(argv, cwd=ctr.bundle, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=oci.TIMEOUT)
    assert p.returncode == 0 and p.stdout == "hull\n", p


def test_run_removes_container_after_exit(ctr):
    ctr.set_args("true")
    ctr.run().ok()
    assert ctr.cmd("state", ctr.id).returncode != 0
    assert not (ctr.root / ctr.id).exists()


def test_run_forwards_stdin(ctr):
    ctr.set_args("cat")
    ctr.write_config()
    r = ctr.cmd("run", "--bundle", ctr.bundle, ctr.id, input="line one\nline two\n")
    assert r.returncode == 0 and r.stdout == "line one\nline two\n", r


def test_cgroups_path_joined_and_removed(ctr):
    # the init is in the configured cgroup before the program runs; delete removes it
    name = f"hull-itest-{ctr.id}"
    ctr.config["linux"]["cgroupsPath"] = f"/{name}"
    ctr.sh("cat /proc/self/cgroup > /cg; exec sleep 1000")
    ctr.drop_namespace("cgroup")  # see the full path
    pid = ctr.start_running(ctr.process["args"][2])
    oci.wait_for(lambda: (ctr.rootfs / "cg").exists() and (ctr.rootfs / "cg").read_text(),
                 what="/proc/self/cgroup")
    inside = (ctr.rootfs / "cg").read_text().splitlines()
    assert any(ln.split(":", 2)[2] == f"/{name}" for ln in inside), inside
    with open(f"/proc/{pid}/cgroup") as f:
        assert any(ln.split(":", 2)[2] == f"/{name}" for ln in f.read().splitlines())
    dirs = oci.cgroups_named(name)
    assert dirs
    ctr.kill("KILL").ok()
    ctr.wait_status("stopped")
    ctr.delete().ok()
    assert oci.cgroups_named(name) == []


@pytest.mark.hull_only
def test_reused_pid_is_never_signalled(ctr):
    # state.json records the init's pid with its start time: if the pid now belongs to
    # another process (simulated by pointing pid at a bystander), the container is
    # stopped and kill/delete must not touch the bystander.
    ctr.start_running()
    ctr.kill("KILL").ok()
    ctr.wait_status("stopped")
    bystander = subprocess.Popen(["sleep", "1000"])
    try:
        state_file = ctr.root / ctr.id / "state.json"
        st = json.loads(state_file.read_text())
        st["pid"] = bystander.pid
        state_file.write_text(json.dumps(st))
        assert ctr.status() == "stopped"
        ctr.kill("KILL")
        ctr.delete(force=True).ok()
        time.sleep(0.2)
        assert bystander.poll() is None, "a process that reused the pid was signalled"
    finally:
        bystander.kill()
        bystander.wait()


def test_start_of_instantly_exiting_program(make_container):
    # start must succeed even when the program is already gone by the time start checks
    # on it (a race between releasing the exec fifo and looking at the process): repeat
    # to make a narrow window show up.
    for _ in range(10):
        c = make_container()
        c.set_args("true")
        c.create().ok()
        c.start().ok()
        c.wait_status("stopped")
        c.delete().ok()


# ---- ps: ps(1)'s table cut to the container's rows, as runc ---------------------------

def _ps_rows(out):
    lines = out.splitlines()
    return lines[0].split(), [line.split() for line in lines[1:]]


@pytest.mark.skip_runtime("crun", reason="crun's ps takes no ps(1) options")
def test_ps_default_is_ps_ef_of_the_container(ctr):
    pid = ctr.start_running("sleep 1000")
    r = ctr.cmd("ps", ctr.id).ok()
    header, rows = _ps_rows(r.stdout)
    assert header == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"], r
    # The container's one process, not the host's (this test's own pid included).
    assert [int(row[1]) for row in rows] == [pid], r
    assert rows[0][-2:] == ["sleep", "1000"], r


@pytest.mark.skip_runtime("crun", reason="crun's ps takes no ps(1) options")
def test_ps_passes_options_to_ps(ctr):
    pid = ctr.start_running("sleep 1000 & exec sleep 999")
    oci.wait_for(lambda: len(json.loads(ctr.cmd("ps", "--format", "json", ctr.id).ok().stdout))
                 == 2, what="two processes")
    # Flags after the id are ps(1)'s.
    r = ctr.cmd("ps", ctr.id, "-e", "-o", "comm,pid,args").ok()
    header, rows = _ps_rows(r.stdout)
    assert header[:2] == ["COMMAND", "PID"], r
    by_pid = {int(row[1]): row for row in rows}
    assert len(by_pid) == 2 and pid in by_pid, r
    assert by_pid[pid][2:] == ["sleep", "999"], r
    # JSON is the container's pids, whatever follows the id.
    pids = json.loads(ctr.cmd("ps", "--format", "json", ctr.id).ok().stdout)
    assert sorted(pids) == sorted(by_pid), pids


@pytest.mark.skip_runtime("crun", reason="crun's ps takes no ps(1) options")
def test_ps_errors(ctr):
    ctr.start_running("sleep 1000")
    r = ctr.cmd("ps", ctr.id, "-e", "-o", "comm")
    assert r.returncode == 1 and "couldn't find PID field in ps output" in r.stderr, r
    # ps's own complaint is quoted.
    r = ctr.cmd("ps", ctr.id, "--no-such-ps-option")
    assert r.returncode == 1 and "exit status 1" in r.stderr, r
    assert "unknown gnu long option" in r.stderr, r


# ---- run --keep, --no-subreaper ---------------------------------------------------------

def test_run_keep_leaves_stopped_container_for_delete(ctr):
    ctr.sh("exit 3")
    r = ctr.run("--keep")
    assert r.returncode == 3, r
    # Its state and cgroup are kept: state says stopped, delete removes them.
    assert ctr.status() == "stopped"
    assert (ctr.root / ctr.id).is_dir()
    assert oci.cgroups_named(ctr.id), "cgroup removed"
    ctr.delete().ok()
    assert not ctr.leftovers()


@pytest.mark.skip_runtime("crun", reason="crun's run has no --keep")
@pytest.mark.parametrize("failure", ["program", "mount"])
def test_run_keep_keeps_a_container_whose_start_failed(ctr, runtime, failure):
    # As runc: with --keep a start that fails (the program not found; a mount in the new
    # root that fails) leaves the container stopped for delete, its (empty) cgroup gone.
    if failure == "mount" and runtime.name == "runc":
        pytest.skip("runc 1.1 leaves a failed mount's directory without state.json")
    if failure == "program":
        ctr.set_args("/no/such/program")
    else:
        ctr.sh("true")
        ctr.config["mounts"].append({"destination": "/mnt", "type": "bind",
                                     "source": "/no/such/source", "options": ["rbind"]})
    r = ctr.run("--keep")
    assert r.returncode != 0 and ("no/such" in r.stderr), r
    assert ctr.status() == "stopped"
    assert (ctr.root / ctr.id).is_dir()
    assert not oci.cgroups_named(ctr.id)
    ctr.delete().ok()
    assert not ctr.leftovers()
    # Without --keep nothing is left of it.
    r = ctr.run()
    assert r.returncode != 0, r
    assert not ctr.leftovers() and not oci.cgroups_named(ctr.id)
    assert ctr.cmd("state", ctr.id).returncode != 0


ORPHAN_SCRIPT = (
    # A grandchild orphaned while the container runs (no pid namespace: no init of its own
    # to adopt it); its parent, then whether it was reaped once it exited.
    '(sleep 0.3 & echo $! > /tmp/orphan); read o < /tmp/orphan; '
    'while read k v; do [ "$k" = PPid: ] && echo "runtime=$PPID orphan_parent=$v"; '
    'done < /proc/$o/status; sleep 1.5; '
    'if [ -e /proc/$o ]; then grep State: /proc/$o/status; else echo reaped; fi')


def test_run_is_subreaper_of_orphans(ctr):
    ctr.drop_namespace("pid")
    ctr.sh(ORPHAN_SCRIPT)
    r = ctr.run()
    assert r.returncode == 0, r
    first, second = r.stdout.splitlines()
    runtime_pid, parent = (int(w.split("=")[1]) for w in first.split())
    assert parent == runtime_pid, r
    assert second == "reaped", r


def test_run_no_subreaper(ctr):
    ctr.drop_namespace("pid")
    ctr.sh(ORPHAN_SCRIPT)
    r = ctr.run("--no-subreaper")
    assert r.returncode == 0, r
    runtime_pid, parent = (int(w.split("=")[1]) for w in r.stdout.splitlines()[0].split())
    assert parent != runtime_pid, r
