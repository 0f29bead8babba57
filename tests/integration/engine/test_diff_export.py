"""`hull diff` (docker's A/C/D lines from the container's writable layer) and `hull
export` (its root filesystem as a tar, which `hull import` takes back)."""
import io
import os
import pty
import subprocess
import tarfile
import tempfile

import pytest

from .test_start_path import import_image


@pytest.fixture
def img(hull):
    import_image(hull, "diffimg:1")
    yield "diffimg:1"


CHANGES = ("echo new > /added && mkdir -p /newdir/deeper && echo n > /newdir/deeper/f && "
           "echo more >> /etc/passwd && rm /etc/group && rm -r /home")


def test_diff_shows_added_changed_and_deleted(hull, img):
    hull("run", "--name", "cc", img, "sh", "-c", CHANGES)
    lines = hull("diff", "cc").stdout.splitlines()
    for want in ("A /added", "A /newdir", "A /newdir/deeper", "A /newdir/deeper/f",
                 "C /etc", "C /etc/passwd", "D /etc/group", "D /home"):
        assert want in lines, (want, lines)
    # Nothing the container did not touch.
    assert not [l for l in lines if l.split()[1].startswith("/bin")], lines
    # docker's order: a walk of the writable layer, each directory's names sorted, a
    # changed parent before its children.
    paths = [l.split()[1] for l in lines]
    assert paths.index("/etc") < paths.index("/etc/group") < paths.index("/etc/passwd")
    assert paths.index("/newdir") < paths.index("/newdir/deeper") < paths.index(
        "/newdir/deeper/f")
    assert paths.index("/added") < paths.index("/etc") < paths.index("/home")
    # The same while it runs (its upper dir, read live).
    hull("run", "-d", "--name", "rr", img, "sh", "-c", "echo x > /live; sleep 1000")
    deadline = 50
    while deadline and "A /live" not in hull("diff", "rr").stdout:
        deadline -= 1
        subprocess.run(["sleep", "0.1"])
    assert "A /live" in hull("diff", "rr").stdout.splitlines()
    # A container never started has no changes; errors are exit 1.
    hull("create", "--name", "fresh", img, "true")
    assert hull("diff", "fresh").stdout == ""
    r = hull("diff", "nosuch", check=False)
    assert r.returncode == 1 and "no such container: nosuch" in r.stderr
    hull("rm", "-f", "cc", "rr", "fresh")
    hull("rmi", img)


@pytest.mark.parametrize("state", ["exited", "running"])
def test_export_import_round_trip(hull, img, state):
    if state == "exited":
        hull("run", "--name", "cc", img, "sh", "-c", "echo made here > /made && rm /etc/group")
    else:
        hull("run", "-d", "--name", "cc", img, "sh",
             "-c", "echo made here > /made; rm /etc/group; sleep 1000")
        for _ in range(50):
            if "A /made" in hull("diff", "cc").stdout:
                break
            subprocess.run(["sleep", "0.1"])
    with tempfile.TemporaryDirectory(prefix="hull-export-") as d:
        tar = os.path.join(d, "c.tar")
        hull("export", "-o", tar, "cc")
        with tarfile.open(tar) as t:
            names = {m.name.rstrip("/") for m in t.getmembers()}
            assert t.extractfile("made").read() == b"made here\n"
        assert {"bin/busybox", "etc/passwd", "made"} <= names, sorted(names)[:20]
        assert "etc/group" not in names  # deleted in the container
        # Nothing of the running container's mounts: /proc is an empty directory.
        assert not [n for n in names if n.startswith("proc/")], [n for n in names if "proc" in n]
        hull("import", tar, "exported:1")
    assert hull("run", "--rm", "exported:1", "cat", "/made").stdout == "made here\n"
    # To stdout, the same archive.
    p = hull.popen("export", "cc", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    data, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        assert t.extractfile("made").read() == b"made here\n"
    hull("rm", "-f", "cc")
    hull("rmi", "exported:1", img)


def test_export_refuses_a_terminal_and_unknown_containers(hull):
    master, slave = pty.openpty()
    try:
        p = subprocess.run([hull_bin(hull), "export", "whatever"], env=hull.env, stdout=slave,
                           stderr=subprocess.PIPE, timeout=30, text=True)
    finally:
        os.close(slave)
        os.close(master)
    assert p.returncode == 1 and "refusing to save to a terminal" in p.stderr, p.stderr
    r = hull("export", "-o", "/dev/null", "nosuch", check=False)
    assert r.returncode == 1 and "no such container: nosuch" in r.stderr


def hull_bin(hull):
    from .conftest import HULL
    return HULL


@pytest.mark.parametrize("state", ["running", "exited"])
def test_diff_and_export_follow_nothing_in_the_upper_dir(hull, img, state):
    # Links to the host's / and /etc, a directory replaced by a link to /, a FIFO and a
    # hard link in the container's layer: diff and export list them as what they are,
    # read nothing through them and do not block on the FIFO.
    made = ("ln -s / /toroot && ln -s /etc /toetc && rm -rf /home && ln -s / /home && "
            "mkfifo /fifo && echo x > /f && ln /f /f2")
    if state == "exited":
        hull("run", "--name", "cc", img, "sh", "-c", made)
    else:
        hull("run", "-d", "--name", "cc", img, "sh", "-c", made + " && sleep 1000")
        for _ in range(50):
            if "A /f2" in hull("diff", "cc").stdout:
                break
            subprocess.run(["sleep", "0.1"])
    lines = set(hull("diff", "cc").stdout.splitlines())
    assert {"A /toroot", "A /toetc", "A /fifo", "A /f", "A /f2"} <= lines, lines
    assert not [l for l in lines if l.startswith(("A /toroot/", "A /toetc/", "A /home/",
                                                   "C /home/"))], lines
    p = hull.popen("export", "cc", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    data, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        m = {x.name.rstrip("/"): x for x in t.getmembers()}
    assert m["toroot"].issym() and m["toroot"].linkname == "/"
    assert m["home"].issym() and m["home"].linkname == "/"
    assert not [n for n in m if n.startswith(("toroot/", "toetc/", "home/"))]
    assert m["fifo"].isfifo()
    assert m["f2"].islnk() and m["f2"].linkname == "f"
    hull("rm", "-f", "cc")
    hull("rmi", img)
