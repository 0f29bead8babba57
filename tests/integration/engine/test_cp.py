"""`hull cp`: files between a container and the host, for running and stopped containers,
with docker's path rules, tar streams on stdin/stdout, ownership, and the container's
filesystem treated as hostile (symlinks out of it resolved inside it, a hostile tar
refused). The fixture checks that nothing is left mounted after each test."""
import io
import os
import subprocess
import tarfile
import tempfile
import uuid

import pytest

from .test_start_path import import_image


@pytest.fixture
def img(hull):
    import_image(hull, "cpimg:1")
    yield "cpimg:1"


@pytest.fixture
def host_dir():
    d = tempfile.mkdtemp(prefix="hull-cp-host-")
    yield d
    subprocess.run(["rm", "-rf", d], check=False)


def out(p):
    return p.stdout.strip()


def cat(hull, name, path):
    return out(hull("exec", name, "cat", path))


def started(hull, img, name):
    hull("run", "-d", "--name", name, img, "sleep", "1000")
    return name


def made_by(hull, img, state, *cmd):
    """Container cc, "running" (cmd exec'd in it) or "exited" (cmd its program)."""
    if state == "running":
        started(hull, img, "cc")
        hull("exec", "cc", *cmd)
    else:
        hull("run", "--name", "cc", img, *cmd)


@pytest.mark.parametrize("state", ["running", "created", "exited"])
def test_cp_file_and_dir_both_ways(hull, img, host_dir, state):
    if state == "running":
        started(hull, img, "cc")
    else:
        hull("create", "--name", "cc", img, "sleep", "1000")
        if state == "exited":
            hull("start", "cc")
            hull("stop", "-t", "0", "cc")
    # host -> container: a file, and a directory with a subdirectory
    with open(os.path.join(host_dir, "f.txt"), "w") as f:
        f.write("from host\n")
    os.makedirs(os.path.join(host_dir, "d", "sub"))
    with open(os.path.join(host_dir, "d", "sub", "g"), "w") as f:
        f.write("deep\n")
    hull("cp", os.path.join(host_dir, "f.txt"), "cc:/tmp/")
    hull("cp", os.path.join(host_dir, "f.txt"), "cc:/tmp/renamed.txt")
    hull("cp", os.path.join(host_dir, "d"), "cc:/tmp")          # -> /tmp/d/sub/g
    hull("cp", os.path.join(host_dir, "d"), "cc:/tmp/newdir")   # -> /tmp/newdir/sub/g
    hull("cp", os.path.join(host_dir, "d") + "/.", "cc:/tmp/")  # -> /tmp/sub/g
    # container -> host, back again
    back = os.path.join(host_dir, "back")
    os.mkdir(back)
    hull("cp", "cc:/tmp/f.txt", back)
    hull("cp", "cc:/tmp/renamed.txt", os.path.join(back, "r.txt"))
    hull("cp", "cc:/tmp/d", back)
    hull("cp", "cc:/tmp/newdir", os.path.join(back, "nd"))
    hull("cp", "cc:/tmp/sub", os.path.join(back, "s"))
    hull("cp", "cc:/tmp/d/.", os.path.join(back, "dot"))
    read = lambda *p: open(os.path.join(back, *p)).read()
    assert read("f.txt") == "from host\n"
    assert read("r.txt") == "from host\n"
    assert read("d", "sub", "g") == "deep\n"
    assert read("nd", "sub", "g") == "deep\n"
    assert read("s", "g") == "deep\n"
    assert read("dot", "sub", "g") == "deep\n"
    if state == "running":
        assert cat(hull, "cc", "/tmp/sub/g") == "deep"
        assert cat(hull, "cc", "/tmp/newdir/sub/g") == "deep"
    else:
        # The files are in the container's writable layer: its next start sees them.
        hull("start", "cc")
        assert cat(hull, "cc", "/tmp/f.txt") == "from host"
        assert cat(hull, "cc", "/tmp/d/sub/g") == "deep"
    hull("rm", "-f", "cc")
    hull("rmi", img)


def test_cp_trailing_slash_rules_and_errors(hull, img, host_dir):
    started(hull, img, "cc")
    hull("exec", "cc", "sh", "-c", "mkdir /dir && echo x > /dir/file && echo y > /file")
    f = os.path.join(host_dir, "f")
    with open(f, "w") as fh:
        fh.write("f\n")
    # A file to a missing directory named with a trailing "/": docker's error.
    r = hull("cp", f, "cc:/missing/", check=False)
    assert r.returncode == 1 and "no such directory" in r.stderr, r.stderr
    # SRC ending in "/" must be a directory.
    r = hull("cp", "cc:/file/", host_dir, check=False)
    assert r.returncode == 1 and "not a directory" in r.stderr, r.stderr
    # A directory onto a file.
    r = hull("cp", "cc:/dir", f, check=False)
    assert r.returncode == 1 and "cannot copy a directory" in r.stderr, r.stderr
    # A file over an existing file replaces it; into a file path with "/": error.
    hull("cp", "cc:/file", f)
    assert open(f).read() == "y\n"
    r = hull("cp", "cc:/file", f + "/", check=False)
    assert r.returncode == 1 and "not a directory" in r.stderr, r.stderr
    # Never a directory replaced by a file, nor a file by a directory (docker's rule).
    os.makedirs(os.path.join(host_dir, "clash", "file"))
    r = hull("cp", "cc:/file", os.path.join(host_dir, "clash"), check=False)
    assert os.path.isdir(os.path.join(host_dir, "clash", "file"))
    assert r.returncode == 1 and "cannot overwrite the directory" in r.stderr, r.stderr
    hull("exec", "cc", "sh", "-c", "mkdir -p /clash/dir && echo keep > /clash/dir/k")
    os.makedirs(os.path.join(host_dir, "y"))
    with open(os.path.join(host_dir, "y", "dir"), "w") as fh:
        fh.write("file\n")
    r = hull("cp", os.path.join(host_dir, "y") + "/.", "cc:/clash", check=False)
    assert r.returncode == 1 and "cannot overwrite the directory" in r.stderr, r.stderr
    assert cat(hull, "cc", "/clash/dir/k") == "keep"
    # The parent of a new name must exist.
    r = hull("cp", f, "cc:/nope/nope", check=False)
    assert r.returncode == 1 and "Could not find the file /nope/ in container cc" in r.stderr
    # Not found, unknown container, bad syntax: exit 1, clear messages.
    r = hull("cp", "cc:/x", host_dir, check=False)
    assert r.returncode == 1 and "Could not find the file /x in container cc" in r.stderr
    r = hull("cp", "nosuch:/x", host_dir, check=False)
    assert r.returncode == 1 and "no such container: nosuch" in r.stderr, r.stderr
    r = hull("cp", f, host_dir, check=False)
    assert r.returncode == 1 and "must specify at least one container" in r.stderr
    r = hull("cp", "cc:/file", "cc:/other", check=False)
    assert r.returncode == 1 and "copying between containers is not supported" in r.stderr
    # /proc is the kernel's: never read nor written.
    r = hull("cp", "cc:/proc/1/environ", host_dir, check=False)
    assert r.returncode == 1 and "kernel filesystem" in r.stderr, r.stderr
    r = hull("cp", f, "cc:/proc/", check=False)
    assert r.returncode == 1 and "kernel filesystem" in r.stderr, r.stderr
    hull("rm", "-f", "cc")
    hull("rmi", img)


def tar_of(entries):
    """A tar in memory: (name, data or None for a directory, uid, gid)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data, uid, gid in entries:
            ti = tarfile.TarInfo(name)
            ti.uid, ti.gid = uid, gid
            if data is None:
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                t.addfile(ti)
            else:
                ti.size, ti.mode = len(data), 0o644
                t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


@pytest.mark.parametrize("state", ["running", "created"])
def test_cp_tar_streams_and_ownership(hull, img, host_dir, state):
    if state == "running":
        started(hull, img, "cc")
    else:
        hull("create", "--name", "cc", img, "sleep", "1000")
    # A tar on stdin goes into a directory; without -a its files are root's.
    tar = tar_of([("in/", None, 1234, 5678), ("in/a", b"A\n", 1234, 5678)])
    r = hull.popen("cp", "-", "cc:/tmp", stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = r.communicate(tar, timeout=30)
    assert r.returncode == 0, err
    r = hull.popen("cp", "-a", "-", "cc:/root", stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = r.communicate(tar, timeout=30)
    assert r.returncode == 0, err
    # A host file owned by 1234:5678: root's without -a, its own with -a.
    f = os.path.join(host_dir, "owned")
    with open(f, "w") as fh:
        fh.write("o\n")
    os.chown(f, 1234, 5678)
    hull("cp", f, "cc:/tmp/plain")
    hull("cp", "-a", f, "cc:/tmp/kept")
    # Read back as a tar on stdout: names and owners as in the container.
    def members(path):
        p = hull.popen("cp", path, "-", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        data, err = p.communicate(timeout=30)
        assert p.returncode == 0, err
        with tarfile.open(fileobj=io.BytesIO(data)) as t:
            return {m.name.rstrip("/"): (m.uid, m.gid, t.extractfile(m).read() if m.isfile()
                                         else None) for m in t.getmembers()}
    m = members("cc:/tmp/in")
    assert m == {"in": (0, 0, None), "in/a": (0, 0, b"A\n")}, m
    m = members("cc:/root/in")
    assert m == {"in": (1234, 5678, None), "in/a": (1234, 5678, b"A\n")}, m
    assert members("cc:/tmp/plain") == {"plain": (0, 0, b"o\n")}
    assert members("cc:/tmp/kept") == {"kept": (1234, 5678, b"o\n")}
    # Out to the host: the caller's, whatever the container's owner (docker's cp).
    hull("cp", "cc:/root/in", host_dir)
    st = os.stat(os.path.join(host_dir, "in", "a"))
    assert (st.st_uid, st.st_gid) == (os.geteuid(), os.getegid())
    hull("rm", "-f", "cc")
    hull("rmi", img)


@pytest.mark.parametrize("state", ["running", "exited"])
def test_cp_symlinks_resolve_inside_the_container(hull, img, host_dir, state):
    # A host file the container must never read, a host directory it must never write.
    secret = os.path.join(host_dir, "secret")
    with open(secret, "w") as fh:
        fh.write("host secret\n")
    outside = os.path.join(host_dir, "outside")
    os.mkdir(outside)
    links = ("ln -s / /abs && ln -s ../../../../../.. /rel && "
             f"ln -s {secret} /to_secret && mkdir -p {outside} && ln -s {outside} /to_outside && "
             "mkdir -p /lnkdir && ln -s / /lnkdir/root && ln -s ../../../.. /lnkdir/up")
    made_by(hull, img, state, "sh", "-c", links)
    dest = os.path.join(host_dir, "got")
    os.mkdir(dest)
    # Reads: the host's file is not found through any link, absolute or relative.
    for path in (f"cc:/abs{secret}", f"cc:/rel{secret}", "cc:/to_secret", f"cc:/lnkdir/up{secret}",
                 f"cc:/lnkdir/root/../../{secret}"):
        r = hull("cp", "-L", path, os.path.join(dest, "x"), check=False)
        assert r.returncode == 1 and "Could not find the file" in r.stderr, (path, r.stderr)
    assert os.listdir(dest) == []
    # Without -L a link is copied as a link, never followed; a directory's links too.
    hull("cp", "cc:/to_secret", dest)
    assert os.readlink(os.path.join(dest, "to_secret")) == secret
    hull("cp", "cc:/lnkdir", dest)
    assert sorted(os.listdir(os.path.join(dest, "lnkdir"))) == ["root", "up"]
    assert os.readlink(os.path.join(dest, "lnkdir", "root")) == "/"
    # Writes through each link land inside the container, never on the host.
    f = os.path.join(host_dir, "payload")
    with open(f, "w") as fh:
        fh.write("payload\n")
    hull("cp", f, f"cc:/abs{outside}/a")
    hull("cp", f, f"cc:/rel{outside}/b")
    hull("cp", f, "cc:/to_outside/")
    hull("cp", f, f"cc:/lnkdir/up{outside}/c")
    assert os.listdir(outside) == [], "written on the host"
    inside = os.path.join(host_dir, "inside")
    hull("cp", f"cc:{outside}", inside)
    assert sorted(os.listdir(inside)) == ["a", "b", "c", "payload"]
    hull("rm", "-f", "cc")
    hull("rmi", img)


@pytest.mark.parametrize("state", ["running", "created"])
def test_cp_hostile_tar_on_stdin_is_refused(hull, img, host_dir, state):
    made_by(hull, img, state, "ln", "-s", "/", "/tmp/up")
    escape = os.path.join(host_dir, f"escape-{uuid.uuid4().hex[:8]}")
    # "..", an absolute name, a write through the container's symlink to "/".
    for name in (f"../../../../../..{escape}", escape, f"up{escape}", f"up/../..{escape}"):
        tar = tar_of([("ok", b"fine\n", 0, 0), (name, b"evil\n", 0, 0)])
        p = hull.popen("cp", "-", "cc:/tmp", stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        _, err = p.communicate(tar, timeout=30)
        assert p.returncode == 1, (name, err)
        assert b"refusing" in err, (name, err)
        assert not os.path.exists(escape), name
    assert os.listdir(host_dir) == []
    hull("rm", "-f", "cc")
    hull("rmi", img)


def test_cp_symlink_swapped_during_copy_stays_inside(hull, img, host_dir):
    # The container swaps a directory for a symlink to a host path as fast as it can while
    # hull copies into it: every write lands in the container or fails, none on the host.
    outside = os.path.join(host_dir, "outside")
    os.mkdir(outside)
    hull("run", "-d", "--name", "cc", img, "sh", "-c",
         f"mkdir -p /race {outside}; while true; do mkdir -p /race/d; rm -rf /race/d; "
         f"ln -s {outside} /race/d; rm -f /race/d; done")
    src = os.path.join(host_dir, "tree")
    os.makedirs(os.path.join(src, "a", "b"))
    for i in range(20):
        with open(os.path.join(src, "a", "b", f"f{i}"), "w") as fh:
            fh.write("x\n")
    for _ in range(20):
        hull("cp", src, "cc:/race/d/", check=False)
        hull("cp", src + "/.", "cc:/race/d", check=False)
    assert os.listdir(outside) == [], "written on the host"
    hull("rm", "-f", "cc")
    hull("rmi", img)


def test_cp_out_hardlink_to_a_left_out_device_links_no_host_file(hull, img, host_dir):
    # The container's device node is left out on the host; a hard link to it must not
    # then link whatever host file already has that name in DEST.
    hull("create", "--name", "cc", img, "sleep", "1000")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        d = tarfile.TarInfo("x")
        d.type, d.mode = tarfile.DIRTYPE, 0o755
        t.addfile(d)
        dev = tarfile.TarInfo("x/dev1")
        dev.type, dev.mode, dev.devmajor, dev.devminor = tarfile.CHRTYPE, 0o644, 1, 3
        t.addfile(dev)
        ln = tarfile.TarInfo("x/dev2")
        ln.type, ln.linkname = tarfile.LNKTYPE, "x/dev1"
        t.addfile(ln)
    p = hull.popen("cp", "-", "cc:/", stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = p.communicate(buf.getvalue(), timeout=30)
    assert p.returncode == 0, err
    got = os.path.join(host_dir, "got")
    os.makedirs(os.path.join(got, "x"))
    secret = os.path.join(got, "x", "dev1")
    with open(secret, "w") as fh:
        fh.write("host file\n")
    r = hull("cp", "cc:/x", got, check=False)
    assert open(secret).read() == "host file\n"
    assert os.stat(secret).st_nlink == 1, "a host file was hard-linked from the container's tar"
    assert not os.path.exists(os.path.join(got, "x", "dev2")), r.stderr
    assert "left out" in r.stderr
    hull("rm", "-f", "cc")
    hull("rmi", img)


@pytest.mark.parametrize("state", ["running", "created"])
def test_cp_sparse_file_stays_sparse_both_ways(hull, img, host_dir, state):
    # A hostile container's sparse file of a huge size must not fill the host's disk
    # when copied out (nor the container's when copied in): zero blocks stay holes.
    if state == "running":
        started(hull, img, "cc")
    else:
        hull("create", "--name", "cc", img, "sleep", "1000")
    size = 256 << 20
    src = os.path.join(host_dir, "sparse")
    with open(src, "wb") as fh:
        fh.write(b"head")
        fh.seek(size - 4)
        fh.write(b"tail")
    hull("cp", src, "cc:/tmp/sparse")
    back = os.path.join(host_dir, "back")
    os.mkdir(back)
    hull("cp", "cc:/tmp/sparse", back)
    st = os.stat(os.path.join(back, "sparse"))
    assert st.st_size == size
    assert st.st_blocks * 512 < (1 << 20), f"{st.st_blocks * 512} bytes allocated"
    with open(os.path.join(back, "sparse"), "rb") as fh:
        assert fh.read(4) == b"head"
        fh.seek(size - 4)
        assert fh.read(4) == b"tail"
    hull("rm", "-f", "cc")
    hull("rmi", img)


@pytest.mark.parametrize("state", ["running", "exited"])
def test_cp_out_plants_no_setid_device_or_whiteout_and_fifo_does_not_block(
        hull, img, host_dir, state):
    # What a hostile container can leave for an innocent `hull cp c:/evil DEST`: a set-uid
    # and a set-gid file, a FIFO (never opened for reading), a disk device, and ".wh."
    # names that would delete a host file if taken as whiteouts.
    made = ("mkdir /evil && echo s > /evil/suid && chmod 6755 /evil/suid && mkfifo /evil/fifo && "
            "mknod /evil/disk b 8 0 && echo w > /evil/.wh.victim && mkdir /evil/.wh..wh..opq")
    made_by(hull, img, state, "sh", "-c", made)
    dest = os.path.join(host_dir, "evil")
    os.mkdir(dest)
    with open(os.path.join(dest, "victim"), "w") as fh:
        fh.write("host\n")
    r = hull("cp", "cc:/evil", host_dir, timeout=30)
    st = os.stat(os.path.join(dest, "suid"))
    assert st.st_mode & 0o7777 == 0o755, oct(st.st_mode)
    assert (st.st_uid, st.st_gid) == (os.geteuid(), os.getegid())
    import stat as S
    assert S.S_ISFIFO(os.lstat(os.path.join(dest, "fifo")).st_mode)
    assert not os.path.exists(os.path.join(dest, "disk")) and "left out" in r.stderr
    assert open(os.path.join(dest, "victim")).read() == "host\n"
    assert open(os.path.join(dest, ".wh.victim")).read() == "w\n"
    assert os.path.isdir(os.path.join(dest, ".wh..wh..opq"))
    hull("rm", "-f", "cc")
    hull("rmi", img)


def test_cp_refuses_a_running_container_without_runtime_state(hull, img):
    # The record's pid alone could name another process by now: without the runtime's
    # state (pid and start time), cp does not reach for /proc/PID/root.
    started(hull, img, "cc")
    cid = hull.inspect("cc")["Id"]
    state = os.path.join(hull.run_root, "runtime", cid, "state.json")
    assert os.path.exists(state)
    os.rename(state, state + ".away")
    try:
        r = hull("cp", "cc:/etc", "-", check=False)
        assert r.returncode == 1 and "container cc" in r.stderr, r
        assert r.stdout == "", r.stdout[:200]
    finally:
        os.rename(state + ".away", state)
    hull("rm", "-f", "cc")


def xattrs(path):
    return {n: os.getxattr(path, n, follow_symlinks=False)
            for n in os.listxattr(path, follow_symlinks=False)}


def tar_members(hull, path):
    """`hull cp PATH -`: {name: pax headers} of the tar it writes."""
    p = hull.popen("cp", path, "-", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    data, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        return {m.name.rstrip("/"): m.pax_headers for m in t.getmembers()}


# cap_net_raw+ep as the kernel stores it (struct vfs_cap_data, revision 2).
CAP_NET_RAW = (0x02000001).to_bytes(4, "little") + (1 << 13).to_bytes(4, "little") + bytes(12)


@pytest.mark.parametrize("state", ["running", "exited"])
def test_cp_keeps_user_xattrs_and_file_capabilities(hull, img, host_dir, state):
    # docker's cp carries extended attributes (SCHILY.xattr records in its tar): user.* and
    # file capabilities go into the container; onto the host user.* only (a container's
    # file capabilities are not planted on the host, as its set-id bits are not).
    made_by(hull, img, state, "true")
    f = os.path.join(host_dir, "f")
    with open(f, "w") as fh:
        fh.write("f\n")
    os.setxattr(f, "user.colour", b"blue")
    os.setxattr(f, "security.capability", CAP_NET_RAW)
    d = os.path.join(host_dir, "d")
    os.mkdir(d)
    os.setxattr(d, "user.dir", b"\x00binary\xff")
    hull("cp", f, "cc:/tmp/")
    hull("cp", d, "cc:/tmp/")
    m = tar_members(hull, "cc:/tmp/f")
    assert m["f"].get("SCHILY.xattr.user.colour") == "blue", m
    assert "SCHILY.xattr.security.capability" in m["f"], m
    m = tar_members(hull, "cc:/tmp/d")
    assert "SCHILY.xattr.user.dir" in m["d"], m
    back = os.path.join(host_dir, "back")
    os.mkdir(back)
    hull("cp", "cc:/tmp/f", back)
    hull("cp", "cc:/tmp/d", back)
    assert xattrs(os.path.join(back, "f")) == {"user.colour": b"blue"}
    assert xattrs(os.path.join(back, "d")) == {"user.dir": b"\x00binary\xff"}
    if state == "running":
        # In the container the capability is the file's own, as it was on the host.
        upper = os.path.join(hull.root, "containers", hull.inspect("cc")["Id"], "upper")
        assert os.getxattr(os.path.join(upper, "tmp", "f"), "security.capability") == CAP_NET_RAW
    hull("rm", "-f", "cc")
    hull("rmi", img)


def test_cp_carries_no_trusted_or_overlay_xattrs_from_a_hostile_container(hull, img, host_dir):
    # A container's files may hold trusted.overlay.* (made on a bind-mounted directory, or in
    # a hostile tar): taken into an overlay upper dir they would forge opaque directories
    # and whiteouts. Neither the host nor another container gets them; user.* still goes.
    vol = os.path.join(host_dir, "vol")
    os.makedirs(os.path.join(vol, "d"))
    with open(os.path.join(vol, "d", "f"), "w") as fh:
        fh.write("f\n")
    for p in (os.path.join(vol, "d"), os.path.join(vol, "d", "f")):
        os.setxattr(p, "trusted.overlay.opaque", b"y")
        os.setxattr(p, "trusted.hull", b"evil")
        os.setxattr(p, "user.ok", b"1")
    hull("run", "-d", "--name", "cc", "-v", f"{vol}:/vol", img, "sleep", "1000")
    got = os.path.join(host_dir, "got")
    os.mkdir(got)
    hull("cp", "cc:/vol/d", got)
    for p in (os.path.join(got, "d"), os.path.join(got, "d", "f")):
        assert xattrs(p) == {"user.ok": b"1"}, p
    m = tar_members(hull, "cc:/vol/d")
    for name, pax in m.items():
        assert [k for k in pax if k.startswith("SCHILY.xattr.")] == ["SCHILY.xattr.user.ok"], m
    # A tar on stdin into a stopped container: /etc made opaque would hide the image's.
    hull("create", "--name", "c2", img, "sleep", "1000")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        e = tarfile.TarInfo("etc")
        e.type, e.mode = tarfile.DIRTYPE, 0o755
        e.pax_headers = {"SCHILY.xattr.trusted.overlay.opaque": "y",
                         "SCHILY.xattr.user.overlay.opaque": "y"}
        t.addfile(e)
        x = tarfile.TarInfo("x")
        x.size, x.mode = 2, 0o644
        x.pax_headers = {"SCHILY.xattr.trusted.hull": "evil", "SCHILY.xattr.security.selinux": "a",
                         "SCHILY.xattr.user.ok": "1"}
        t.addfile(x, io.BytesIO(b"x\n"))
    p = hull.popen("cp", "-", "c2:/", stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = p.communicate(buf.getvalue(), timeout=30)
    assert p.returncode == 0, err
    assert b"trusted.hull" in err and b"left out" in err, err
    upper = os.path.join(hull.root, "containers", hull.inspect("c2")["Id"], "upper")
    # (overlay's own trusted.overlay.origin of a copied-up /etc is not the tar's)
    etc = xattrs(os.path.join(upper, "etc"))
    assert "trusted.overlay.opaque" not in etc and "user.overlay.opaque" not in etc, etc
    assert xattrs(os.path.join(upper, "x")) == {"user.ok": b"1"}
    hull("start", "c2")
    assert "root" in cat(hull, "c2", "/etc/passwd")
    hull("rm", "-f", "cc", "c2")
    hull("rmi", img)


@pytest.mark.parametrize("state", ["running", "exited"])
def test_cp_sees_a_stopped_containers_volumes_and_binds(hull, img, host_dir, state):
    # docker's cp of a stopped container sees its named volumes and bind mounts at their
    # container paths, both ways; a `:ro` one refuses a write with docker's message.
    bind = os.path.join(host_dir, "bind")
    ro = os.path.join(host_dir, "ro")
    for d in (bind, ro):
        os.mkdir(d)
    with open(os.path.join(bind, "b.txt"), "w") as fh:
        fh.write("bind\n")
    vols = ["-v", "vn:/data", "-v", f"{bind}:/bind", "-v", f"{ro}:/ro:ro"]
    made = "echo vol > /data/v.txt && ln -s / /data/up"
    if state == "running":
        hull("run", "-d", "--name", "cc", *vols, img, "sleep", "1000")
        hull("exec", "cc", "sh", "-c", made)
    else:
        hull("run", "--name", "cc", *vols, img, "sh", "-c", made)
    data = os.path.join(hull.root, "volumes", "vn", "_data")
    got = os.path.join(host_dir, "got")
    os.mkdir(got)
    hull("cp", "cc:/data/v.txt", got)
    hull("cp", "cc:/bind/b.txt", got)
    hull("cp", "cc:/bind", os.path.join(got, "wholebind"))
    assert open(os.path.join(got, "v.txt")).read() == "vol\n"
    assert open(os.path.join(got, "b.txt")).read() == "bind\n"
    assert open(os.path.join(got, "wholebind", "b.txt")).read() == "bind\n"
    f = os.path.join(host_dir, "f")
    with open(f, "w") as fh:
        fh.write("in\n")
    hull("cp", f, "cc:/data/new")
    hull("cp", f, "cc:/bind/")
    assert open(os.path.join(data, "new")).read() == "in\n"
    assert open(os.path.join(bind, "f")).read() == "in\n"
    # The volume's symlink to "/" resolves to the container's root, not the host's.
    escape = f"/tmp/hull-cp-escape-{uuid.uuid4().hex[:8]}"
    hull("cp", f, f"cc:/data/up{escape}")
    assert not os.path.exists(escape)
    upper = os.path.join(hull.root, "containers", hull.inspect("cc")["Id"], "upper")
    assert os.path.exists(os.path.join(upper, escape.lstrip("/")))
    assert not os.path.exists(os.path.join(upper, "data", "new")), "written under the volume"
    # Read-only: refused before anything is written, into it or below it.
    for dest in ("cc:/ro/", "cc:/ro/x"):
        r = hull("cp", f, dest, check=False)
        assert r.returncode == 1 and "mounted volume is marked read-only" in r.stderr, r.stderr
    p = hull.popen("cp", "-", "cc:/ro", stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = p.communicate(tar_of([("t", b"t\n", 0, 0)]), timeout=30)
    assert p.returncode == 1 and b"mounted volume is marked read-only" in err, err
    assert os.listdir(ro) == []
    hull("rm", "-f", "cc")
    hull("volume", "rm", "vn")
    hull("rmi", img)


@pytest.mark.parametrize("state", ["running", "created"])
def test_cp_refuses_a_read_only_rootfs_but_not_its_volume(hull, img, host_dir, state):
    # docker: "container rootfs is marked read-only" for --read-only, running or not (a
    # stopped one's overlay would take the write); its writable volume still takes one.
    args = ("--name", "cc", "--read-only", "-v", "rw1:/data", img, "sleep", "1000")
    hull("run", "-d", *args) if state == "running" else hull("create", *args)
    f = os.path.join(host_dir, "f")
    with open(f, "w") as fh:
        fh.write("f\n")
    r = hull("cp", f, "cc:/tmp/", check=False)
    assert r.returncode == 1 and "container rootfs is marked read-only" in r.stderr, r.stderr
    upper = os.path.join(hull.root, "containers", hull.inspect("cc")["Id"], "upper")
    assert not os.path.exists(os.path.join(upper, "tmp", "f"))
    hull("cp", f, "cc:/data/")
    assert os.path.exists(os.path.join(hull.root, "volumes", "rw1", "_data", "f"))
    hull("rm", "-f", "cc")
    hull("volume", "rm", "rw1")
    hull("rmi", img)


def test_cp_prints_docker_successfully_copied_line(hull, img, host_dir):
    # docker's line on stderr when stdout is a terminal and -q is not given; never for a
    # tar on stdout.
    import pty
    import re
    hull("create", "--name", "cc", img, "sleep", "1000")
    f = os.path.join(host_dir, "f")
    with open(f, "wb") as fh:
        fh.write(b"x" * 2048)

    def on_tty(*args, cwd=None):
        master, slave = pty.openpty()
        try:
            p = hull.popen(*args, stdout=slave, stderr=subprocess.PIPE, cwd=cwd)
            os.close(slave)
            _, err = p.communicate(timeout=30)
        finally:
            os.close(master)
        assert p.returncode == 0, err
        return err.decode()

    err = on_tty("cp", f, "cc:/tmp/")
    assert re.fullmatch(r"Successfully copied 2\.05kB \(transferred 3\.58kB\) to cc:/tmp/\n",
                        err), err
    err = on_tty("cp", "cc:/tmp/f", "./back", cwd=host_dir)
    assert re.fullmatch(r"Successfully copied 2\.05kB \(transferred 3\.58kB\) to "
                        + re.escape(os.path.join(host_dir, "back")) + r"\n", err), err
    err = on_tty("cp", "cc:/tmp", host_dir + "/t/")
    assert re.fullmatch(r"Successfully copied [0-9.]+kB to " + re.escape(host_dir + "/t/")
                        + r"\n", err), err
    assert on_tty("cp", "-q", f, "cc:/tmp/") == ""
    # Not on a pipe (docker's default -q), never with "-" (even when asked for).
    assert hull("cp", f, "cc:/tmp/").stderr == ""
    p = hull.popen("cp", "--quiet=false", "cc:/tmp/f", "-", stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE)
    data, err = p.communicate(timeout=30)
    assert p.returncode == 0 and data and err == b"", err
    hull("rm", "-f", "cc")
    hull("rmi", img)
