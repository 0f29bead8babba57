"""A start that fails keeps the container, as docker does: `run` leaves it Created (`ps -a`
shows it, inspect has the error and 127/126), unless --rm; `start` may try it again.
Of the launch, nothing stays but the record and its directory (the writable layer): no
mount, runtime state, cgroup or process; `rm` removes those too."""
import os

from .conftest import container_cgroups, hull_processes, mounts_under
from .test_lifecycle import wait_for
from .test_start_path import import_image


def runtime_state(hull):
    d = os.path.join(hull.run_root, "runtime")
    return [e for e in os.listdir(d) if not e.startswith(".")] if os.path.isdir(d) else []


def only_the_record_left(hull, cid):
    assert wait_for(lambda: not hull_processes(hull.root)), hull_processes(hull.root)
    assert not mounts_under(hull.root), mounts_under(hull.root)
    assert runtime_state(hull) == []
    assert not [c for c in container_cgroups() if c.endswith(cid)]
    assert not os.path.exists(os.path.join(hull.run_root, "netns", cid))


def test_run_that_cannot_start_stays_created(hull, tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    p = hull.run("--name", "bad", "-v", f"{bindir}:/opt/bin", "--", "/opt/bin/prog",
                 check=False)
    assert p.returncode == 127 and "prog" in p.stderr, p
    cid = hull.inspect("bad")["Id"]
    st = hull.inspect("bad")["State"]
    assert st["Status"] == "created" and st["ExitCode"] == 127, st
    assert "prog" in st["Error"] and not st["Running"] and st["Pid"] == 0, st
    assert hull("ps", "-a", "--format", "{{.Names}} {{.Status}}").stdout == "bad Created\n"
    assert hull("ps", "-q").stdout == ""
    only_the_record_left(hull, cid)
    # wait does not block on a Created container (docker's "not-running"): its code.
    assert hull("wait", "bad", timeout=10).stdout == "127\n"
    # start tries again: the same failure, docker's 1, still Created.
    p = hull("start", "bad", check=False)
    assert p.returncode == 1 and "prog" in p.stderr, p
    assert hull.inspect("bad")["State"]["Status"] == "created"
    only_the_record_left(hull, cid)
    # Once the program is there, the same container runs; the error is gone.
    prog = bindir / "prog"
    prog.write_text("#!/bin/sh\necho fixed-$((40+2))\n")
    prog.chmod(0o755)
    p = hull("start", "-a", "bad")
    assert "fixed-42" in p.stdout, p
    st = hull.inspect("bad")["State"]
    assert st["Status"] == "exited" and st["ExitCode"] == 0 and st["Error"] == "", st
    hull("rm", "bad")
    assert hull.ids() == [] and os.listdir(os.path.join(hull.root, "containers")) == []


def test_failed_start_of_an_image_keeps_its_layer_until_rm(hull):
    import_image(hull, "img:1")
    p = hull("run", "-d", "--name", "noexec", "img:1", "/etc/passwd", check=False)
    assert p.returncode == 126 and p.stdout == "", p
    st = hull.inspect("noexec")["State"]
    assert st["Status"] == "created" and st["ExitCode"] == 126, st
    cid = hull.inspect("noexec")["Id"]
    only_the_record_left(hull, cid)
    # The image is held by the container: rmi refuses it until rm.
    assert hull("rmi", "img:1", check=False).returncode == 1
    hull("rm", "noexec")
    assert os.listdir(os.path.join(hull.root, "containers")) == []
    hull("rmi", "img:1")


def test_failed_start_with_rm_leaves_nothing(hull):
    p = hull.run("--rm", "--name", "gone", "--", "/no/such/program", check=False)
    assert p.returncode == 127, p
    assert hull.ids() == []
    assert wait_for(lambda: os.listdir(os.path.join(hull.root, "containers")) == [])
    assert runtime_state(hull) == [] and not mounts_under(hull.root)
