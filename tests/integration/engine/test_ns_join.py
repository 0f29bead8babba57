"""--ipc, --uts and --pid container:NAME: the joiner shares NAME's namespace (as docker's
--ipc and --pid, and podman's --uts), checked from inside both containers: the namespace
links, /dev/shm's files, the hostname, `ps`. NAME must exist and run: else 125 with an
error naming it, and nothing made. The pid join runs from a sealed copy of hull
(tests/integration/security/test_engine_escapes.py)."""
import os

import pytest

from .conftest import mounts_under
from .test_lifecycle import wait_for


def ns_link(hull, name, kind):
    return hull("exec", name, "readlink", f"/proc/self/ns/{kind}").stdout.strip()


def full_id(hull, name):
    return hull.inspect(name)["Id"]


def test_ipc_shares_namespace_and_dev_shm(hull):
    hull.run("-d", "--name", "donor", "--ipc", "shareable", "--shm-size", "2m", "--",
             "sleep", "1000")
    hull("exec", "donor", "sh", "-c", "echo from-donor > /dev/shm/donor-file")
    out = hull.run("--rm", "--ipc", "container:donor", "--", "sh", "-c",
                   "readlink /proc/self/ns/ipc; cat /dev/shm/donor-file; "
                   "echo from-joiner > /dev/shm/joiner-file; df -k /dev/shm | tail -1").stdout
    link, text, df = out.splitlines()
    assert link == ns_link(hull, "donor", "ipc")
    assert text == "from-donor"
    assert df.split()[1] == "2048", df  # the donor's tmpfs, with the donor's --shm-size
    assert hull("exec", "donor", "cat", "/dev/shm/joiner-file").stdout == "from-joiner\n"
    assert hull.inspect("donor")["HostConfig"]["IpcMode"] == "shareable"
    assert hull.inspect("donor")["HostConfig"]["ShmSize"] == 2 << 20
    # The host's tmpfs goes with the donor's stop.
    hull("stop", "-t", "0", "donor")
    assert not mounts_under(os.path.join(hull.root, "containers"))
    hull("rm", "donor")


def test_ipc_join_of_a_private_container_is_refused(hull):
    """docker's rule: only a shareable IPC namespace (or the host's) has a /dev/shm that a
    joiner can share."""
    hull.run("-d", "--name", "donor", "--", "sleep", "1000")
    p = hull.run("--ipc", "container:donor", "--", "true", check=False)
    assert p.returncode == 125, p
    assert "non-shareable" in p.stderr and "--ipc shareable" in p.stderr, p.stderr
    assert hull.ids() == [full_id(hull, "donor")]


def test_uts_shares_hostname(hull):
    hull.run("-d", "--name", "donor", "-h", "donorhost", "--", "sleep", "1000")
    hull.run("-d", "--name", "joiner", "--uts", "container:donor", "--", "sleep", "1000")
    out = hull("exec", "joiner", "sh", "-c", "hostname; cat /etc/hostname; echo $HOSTNAME")
    assert out.stdout == "donorhost\n" * 3, out.stdout
    assert ns_link(hull, "joiner", "uts") == ns_link(hull, "donor", "uts")
    info = hull.inspect("joiner")
    assert info["HostConfig"]["UTSMode"] == "container:" + full_id(hull, "donor")
    assert info["Config"]["Hostname"] == "donorhost"
    # docker's "conflicting options": the names are the donor's.
    for flag in ("-h", "--hostname", "--domainname"):
        p = hull.run("--uts", "container:donor", flag, "other", "--", "true", check=False)
        assert p.returncode == 125, p
        want = "--domainname" if flag == "--domainname" else "--hostname"
        assert "conflicting options" in p.stderr and want in p.stderr, p.stderr
    assert len(hull.ids()) == 2


def test_pid_shares_namespace(hull):
    hull.run("-d", "--name", "donor", "--", "sleep", "1000")
    out = hull.run("--rm", "--pid", "container:donor", "--", "sh", "-c",
                   "echo $$; ps -o pid,args; env").stdout
    assert "_HULL" not in out, out  # the sealed re-exec's variables stay in hull
    lines = out.splitlines()
    assert lines[0] != "1", out  # the joiner's shell is not the namespace's init
    assert any(l.split(None, 1) == ["1", "sleep 1000"] for l in lines[2:]), out
    # And the donor sees a joiner's process.
    hull.run("-d", "--name", "joiner", "--pid", "container:donor", "--", "sleep", "2000")
    assert wait_for(lambda: "sleep 2000" in hull("exec", "donor", "ps", "-o", "args").stdout)
    info = hull.inspect("joiner")["HostConfig"]
    assert info["PidMode"] == "container:" + full_id(hull, "donor")
    assert info["IpcMode"] == "private" and info["UTSMode"] == ""
    assert ns_link(hull, "joiner", "pid") == ns_link(hull, "donor", "pid")
    # hull exec into either runs (from a sealed copy: the other one's processes see it).
    assert hull("exec", "joiner", "echo", "ok").stdout == "ok\n"


def test_pid_joiner_dies_with_the_namespaces_init(hull):
    """As docker: when the donor's init exits, the kernel kills every process of its pid
    namespace, the joiner's included (SIGKILL: 137)."""
    hull.run("-d", "--name", "donor", "--", "sleep", "1000")
    hull.run("-d", "--name", "joiner", "--pid", "container:donor", "--", "sleep", "1000")
    hull("stop", "-t", "1", "donor")
    assert hull("wait", "joiner", timeout=20).stdout.strip() == "137"
    assert hull.inspect("joiner")["State"]["Status"] == "exited"


def test_created_joiner_starts_later(hull):
    """create resolves NAME (running now) and records its id; start joins it then."""
    hull.run("-d", "--name", "donor", "-h", "donorhost", "--", "sleep", "1000")
    hull.create("--name", "joiner", "--pid", "container:donor", "--uts", "container:donor",
                "--", "sleep", "1000")
    hull("start", "joiner")
    assert ns_link(hull, "joiner", "pid") == ns_link(hull, "donor", "pid")
    assert hull("exec", "joiner", "hostname").stdout == "donorhost\n"
    hull("restart", "-t", "0", "joiner")
    assert ns_link(hull, "joiner", "pid") == ns_link(hull, "donor", "pid")


@pytest.mark.parametrize("flag", ["--pid", "--ipc", "--uts"])
@pytest.mark.parametrize("verb", ["run", "create"])
def test_unknown_or_stopped_container_is_refused(hull, flag, verb):
    hull.create("--name", "stopped", "--", "true")
    hull.run("-d", "--name", "up", "--ipc", "shareable", "--", "sleep", "1000")
    ids = sorted(hull.ids())
    cases = [("container:nope", "no such container"),
             ("container:stopped", 'container "stopped" is not running'),
             ("container:", "invalid")]
    if verb == "create":
        cases.append(("container:jx", "cannot join itself"))  # its own name, not yet made
    for mode, want in cases:
        args = ["--name", "jx", f"{flag}={mode}", "--", "true"]
        p = hull.run(*args, check=False) if verb == "run" else hull.create(*args, check=False)
        assert p.returncode == 125, (mode, p)
        assert want in p.stderr and flag in p.stderr, (mode, p.stderr)
        assert sorted(hull.ids()) == ids, mode
        assert sorted(os.listdir(os.path.join(hull.root, "containers"))) == ids, mode
    # Once stopped, a created joiner cannot start: 1 for start, and it stays created.
    hull.create("--name", "late", f"{flag}=container:up", "--", "sleep", "100")
    hull("stop", "-t", "0", "up")
    p = hull("start", "late", check=False)
    assert p.returncode == 1 and 'container "' in p.stderr and "is not running" in p.stderr, p
    assert hull.inspect("late")["State"]["Status"] == "created"


def test_removed_target_is_refused_at_start(hull):
    """The record names the target by id (docker's HostConfig): a new container of the
    same name is not it."""
    hull.run("-d", "--name", "cb", "--", "sleep", "1000")
    hull.create("--name", "ca", "--uts", "container:cb", "--", "sleep", "1000")
    b_id = full_id(hull, "cb")
    hull("rm", "-f", "cb")
    hull.run("-d", "--name", "cb", "--", "sleep", "1000")
    assert hull.inspect("ca")["HostConfig"]["UTSMode"] == "container:" + b_id
    p = hull("start", "ca", check=False)
    assert p.returncode == 1 and "no such container" in p.stderr, p


@pytest.mark.parametrize("verb", ["run", "create"])
def test_chain_that_comes_back_is_refused(hull, verb):
    """--network container:NAME keeps the name: ca joins cb; cb is replaced by one joining
    ca, whose chain would then go cb -> ca -> cb. Refused at create, nothing made (the same
    helper resolves every kind at start)."""
    hull.run("-d", "--name", "cb", "--", "sleep", "1000")
    hull.run("-d", "--name", "ca", "--network", "container:cb", "--", "sleep", "1000")
    hull("rm", "-f", "cb")
    ids = hull.ids()
    args = ["--name", "cb", "--network", "container:ca", "--", "sleep", "1000"]
    p = hull.run("-d", *args, check=False) if verb == "run" else hull.create(*args, check=False)
    assert p.returncode == 125, p
    assert "comes back" in p.stderr and '"cb"' in p.stderr, p.stderr
    assert hull.ids() == ids
    assert sorted(os.listdir(os.path.join(hull.root, "containers"))) == ids


@pytest.mark.parametrize("verb", ["run", "create"])
def test_network_target_is_checked_at_create(hull, verb):
    """--network container:NAME: NAME must exist and be another container when the joiner
    is made (125, nothing made), as with --pid, --ipc and --uts; unlike them it need not
    run yet (docker creates a joiner beside a stopped NAME): a start checks that."""
    hull.run("-d", "--name", "up", "--", "sleep", "1000")
    ids = sorted(hull.ids())
    for mode, want in [("container:nope", "no such container: nope"),
                       ("container:jx", "cannot join itself")]:
        args = ["--name", "jx", "--network", mode, "--", "true"]
        p = hull.run(*args, check=False) if verb == "run" else hull.create(*args, check=False)
        assert p.returncode == 125, (mode, p)
        assert want in p.stderr and f"--network {mode}" in p.stderr, (mode, p.stderr)
        assert sorted(hull.ids()) == ids, mode
        assert sorted(os.listdir(os.path.join(hull.root, "containers"))) == ids, mode


def test_created_network_joiner_starts_once_its_target_runs(hull):
    """A joiner of a created (not running) NAME is made; its start fails while NAME does
    not run, and works once it does. NAME removed in between: the start names it."""
    hull.create("--name", "base", "-h", "basehost", "--", "sleep", "1000")
    hull.create("--name", "side", "--network", "container:base", "--", "sleep", "1000")
    p = hull("start", "side", check=False)
    assert p.returncode == 1 and 'container "base" is not running' in p.stderr, p
    assert hull.inspect("side")["State"]["Status"] == "created"
    hull("start", "base")
    hull("start", "side")
    assert ns_link(hull, "side", "net") == ns_link(hull, "base", "net")
    assert hull("exec", "side", "hostname").stdout == "basehost\n"
    hull("rm", "-f", "side")
    # Removed after the joiner was made: its start fails with the name, and leaves it.
    hull.create("--name", "late", "--network", "container:base", "--", "sleep", "1000")
    hull("rm", "-f", "base")
    p = hull("start", "late", check=False)
    assert p.returncode == 1 and "no such container: base" in p.stderr, p
    assert hull.inspect("late")["State"]["Status"] == "created"


def test_restart_policy_relaunches_into_the_pid_namespace(hull):
    """`hull __relaunch` (the monitor's restart) re-executes from the sealed copy too: each
    run of the program is in the donor's pid namespace, and none fails to launch."""
    hull.run("-d", "--name", "donor", "--", "sleep", "1000")
    hull.run("-d", "--name", "joiner", "--restart", "on-failure:2", "--pid", "container:donor",
             "--", "sh", "-c", "ps -o args | grep -q '^sleep 1000' && exit 3")
    assert wait_for(lambda: hull.inspect("joiner")["RestartCount"] == 2 and
                    hull.inspect("joiner")["State"]["Status"] == "exited", timeout=20)
    state = hull.inspect("joiner")["State"]
    assert state["ExitCode"] == 3 and state["Error"] == "", state
