"""hull import, tag, rmi, image prune, save and load."""
import io
import json
import os
import re
import signal
import subprocess
import tarfile
import time
from pathlib import Path

from .conftest import Hull, Image, make_tar, write_layout


def rootfs_tar(tmp_path, name="rootfs.tar", marker="1"):
    p = tmp_path / name
    p.write_bytes(make_tar([("bin/", None), ("bin/sh", "#!"), ("marker", marker)]))
    return p


def test_import_from_stdin_and_file(hull, tmp_path):
    tar = rootfs_tar(tmp_path)
    id1 = hull.out("import", "-", "mine:1", input=tar.read_bytes()).strip()
    assert id1.startswith("sha256:")
    id2 = hull.out("import", str(tar), "mine:2").strip()
    j = json.loads(hull.out("image", "inspect", "mine:1"))[0]
    assert j["Id"] == id1 and j["RepoTags"] == ["mine:1"]
    assert Path(j["GraphDriver"]["Data"]["LowerDir"], "marker").read_text() == "1"
#Both imports share the single layer.
    assert len(hull.layers()) == 1
    rows = hull.out("images").splitlines()
    assert rows[0].split()[:2] == ["REPOSITORY", "TAG"] and len(rows) == 3
    assert id2


def test_tag_rmi_prune(hull, tmp_path):
    tar = rootfs_tar(tmp_path)
    iid = hull.out("import", str(tar), "base:1").strip()
    hull.run("tag", "base:1", "other/name:x")
    assert hull.out("images", "other/name").split("\n")[1].split()[0] == "other/name"
    out = hull.out("rmi", "base:1")
    assert out.strip() == "Untagged: base:1"
    p = hull.run("rmi", "no-such", check=False)
    assert p.returncode != 0 and b"no such image" in p.stderr
#Re - importing under the same tag leaves the old image dangling; prune removes it.
    hull.run("import", str(rootfs_tar(tmp_path, "b.tar", "2")), "other/name:x")
    assert "<none>" in hull.out("images")
    out = hull.out("image", "prune", "-f")
    assert "deleted: " + iid in out
    assert "<none>" not in hull.out("images")
    hull.run("image", "rm", "other/name:x")
    assert hull.layers() == [] and hull.blobs() == []


def test_save_load_roundtrip(hull, tmp_path):
    tar = rootfs_tar(tmp_path)
    iid = hull.out("import", str(tar), "rt:1").strip()
    for fmt in ("docker-archive", "oci-archive"):
        out = tmp_path / f"{fmt}.tar"
        hull.run("save", "--format", fmt, "-o", str(out), "rt:1")
        names = tarfile.open(out).getnames()
        assert ("manifest.json" if fmt == "docker-archive" else "index.json") in names
        hull.run("rmi", "rt:1")
        assert hull.layers() == []
        msg = hull.out("load", "-i", str(out))
        assert "Loaded image: " in msg
        assert json.loads(hull.out("image", "inspect", "rt:1"))[0]["Id"] == iid


def test_load_docker_archive_from_skopeo(hull, tmp_path, registry):
    from .conftest import Image, write_layout
    img = Image([[("f", "from-skopeo")]])
    layout = write_layout(tmp_path / "lay", {"t": img})
    arch = tmp_path / "d.tar"
    subprocess.run(["skopeo", "copy", "--quiet", f"oci:{layout}:t",
                    f"docker-archive:{arch}:sk/img:v1"], check=True)
    out = hull.out("load", "-i", str(arch))
    assert "sk/img:v1" in out
    assert json.loads(hull.out("image", "inspect", "sk/img:v1"))[0]["Id"] == img.id


def _tags(hull):
    rows = [json.loads(line) for line in hull.out("images", "--format", "json").splitlines()]
    return {f"{r['Repository']}:{r['Tag']}" for r in rows}


def _import_holding_stdin(hull, tar_bytes, name):
    """`hull import - NAME` fed the first half of a tarball, stdin kept open: it has
    started writing into ROOT/tmp and waits for the rest."""
    before = set(hull.tmp_entries())
    p = subprocess.Popen([hull.binary, "--root", str(hull.root), "import", "-", name],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    p.stdin.write(tar_bytes[: len(tar_bytes) // 2])
    p.stdin.flush()
    end = time.time() + 20
    while not set(hull.tmp_entries()) - before and time.time() < end and p.poll() is None:
        time.sleep(0.05)
    new = set(hull.tmp_entries()) - before
    assert new, f"import wrote nothing into ROOT/tmp (exit {p.poll()}: " \
        f"{p.stderr.read().decode() if p.poll() is not None else ''})"
    return p, new


def test_prune_removes_what_a_killed_import_left_but_not_a_running_ones(hull, tmp_path):
    hull.run("import", str(rootfs_tar(tmp_path)), "keep:1")
    big = make_tar([("bin/", None), ("bin/sh", "#!"), ("big", b"x" * (4 << 20))])
    killed, stale = _import_holding_stdin(hull, big, "killed:1")
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    killed.stdin.close()
    assert stale <= set(hull.tmp_entries())

#While another hull holds the store open, its temp files are not touched.
    live, in_use = _import_holding_stdin(hull, big, "live:1")
    try:
        hull.run("image", "prune", "-f")
        assert in_use <= set(hull.tmp_entries())
        live.stdin.write(big[len(big) // 2:])
        live.stdin.close()
        assert live.wait(60) == 0, live.stderr.read()
    finally:
        if live.poll() is None:
            live.kill()
            live.wait()
    assert "live:1" in _tags(hull)

#Nothing holds it now : prune clears what the killed import left, images stay.
    hull.run("image", "prune", "-f")
    assert hull.tmp_entries() == []
    assert _tags(hull) == {"keep:1", "live:1"}


def test_prune_warns_about_a_temp_entry_it_cannot_remove(hull, tmp_path):
    hull.run("import", str(rootfs_tar(tmp_path)), "keep:1")
    stuck = Path(hull.root) / "tmp" / "stuck"
    stuck.mkdir()
    (stuck / "f").write_text("x")
    subprocess.run(["chattr", "+i", str(stuck / "f")], check=True)
    try:
        p = hull.run("image", "prune", "-f")  # exit 0: the images part worked
        assert b"image prune:" in p.stderr and b"stuck" in p.stderr, p.stderr
        assert "stuck" in hull.tmp_entries()
    finally:
        subprocess.run(["chattr", "-i", str(stuck / "f")], check=True)
    hull.run("image", "prune", "-f")
    assert hull.tmp_entries() == []


def test_save_output_is_written_not_replaced(hull, tmp_path):
    """save -o wrote PATH.tmp and renamed it over PATH: `-o /dev/null` replaced the device
    node with a regular file, a symlink was replaced instead of written through, and an
    unrelated PATH.tmp was clobbered."""
    hull.run("import", str(rootfs_tar(tmp_path)), "sv:1")
    out = tmp_path / "out"
    out.mkdir()
    # A character device stays one (a private node, not the host's /dev/null).
    dev = out / "null"
    subprocess.run(["mknod", "-m", "666", str(dev), "c", "1", "3"], check=True)
    hull.run("save", "-o", str(dev), "sv:1")
    assert dev.is_char_device()
    # A FIFO is written through.
    fifo = out / "fifo"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    hull.run("save", "-o", str(fifo), "sv:1")
    assert "manifest.json" in tarfile.open(fileobj=io.BytesIO(reader.communicate()[0])).getnames()
    assert fifo.is_fifo()
    # An existing file keeps its mode; a symlink to it stays a symlink; PATH.tmp is untouched.
    target = out / "target.tar"
    target.write_text("old")
    target.chmod(0o640)
    link = out / "link.tar"
    link.symlink_to(target)
    (out / "target.tar.tmp").write_text("mine")
    hull.run("save", "-o", str(link), "sv:1")
    assert link.is_symlink() and tarfile.is_tarfile(target)
    assert target.stat().st_mode & 0o777 == 0o640
    assert (out / "target.tar.tmp").read_text() == "mine"
    # A failed save (no such image) leaves the old file, and no temp file beside it.
    p = hull.run("save", "-o", str(target), "sv:1", "nope:1", check=False)
    assert p.returncode == 1 and b"nope" in p.stderr
    assert tarfile.is_tarfile(target)
    assert sorted(x.name for x in out.iterdir()) == \
        ["fifo", "link.tar", "null", "target.tar", "target.tar.tmp"]
    # A missing directory and a directory are named in the error.
    p = hull.run("save", "-o", str(tmp_path / "missing/x.tar"), "sv:1", check=False)
    assert p.returncode == 1 and b"missing/x.tar: no such file or directory" in p.stderr, p.stderr
    p = hull.run("save", "-o", str(out), "sv:1", check=False)
    assert p.returncode == 1 and b"is a directory" in p.stderr, p.stderr


def test_full_filesystem_fails_cleanly_and_keeps_nothing(hull, registry, tmp_path):
    """A store on a full filesystem: pull, import and load each fail naming ENOSPC, keep
    none of the blobs, layers or temp files they wrote, and the same store works once
    there is room again."""
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "hull-test-small", str(small)],
                   check=True)
    try:
        h = Hull(hull.binary, small / "root", hull.home)
        h.run("images")  # the store and its databases exist before the disk fills
        # Random bytes: no compression gets this layer below the filesystem's size.
        img = Image([[("bin/", None), ("big", os.urandom(4 << 20))]])
        ref = registry.push(write_layout(tmp_path / "lay", {"t": img}), "t", "full/disk:v1")
        tar = tmp_path / "big.tar"
        tar.write_bytes(make_tar([("big", os.urandom(4 << 20))]))
        archive = tmp_path / "img.tar"
        hull.run("import", str(tar), "big:1")
        hull.run("save", "-o", str(archive), "big:1")
        for args in (("pull", "-q", ref), ("import", str(tar), "big:1"),
                     ("load", "-i", str(archive))):
            p = h.run(*args, check=False)
            assert p.returncode != 0, args
            assert b"no space left on device" in p.stderr, (args, p.stderr)
            assert h.blobs() == [] and h.layers() == [] and h.tmp_entries() == [], args
            assert h.out("images", "-q").strip() == "", args
        # Room again (a bigger tmpfs over the same path would hide the store: grow it).
        subprocess.run(["mount", "-o", "remount,size=32m", str(small)], check=True)
        h.run("pull", "-q", ref)
        assert json.loads(h.out("image", "inspect", ref))[0]["Id"] == img.id
    finally:
        subprocess.run(["umount", "-l", str(small)], capture_output=True)


def _names(hull, *args):
    out = hull.out("images", "--format", "{{.Repository}}:{{.Tag}}", *args)
    return set(out.split())


def test_images_filters_and_templates_as_docker(hull, tmp_path):
    img = Image([[("f", "labelled")]], labels={"app": "web"})
    layout = write_layout(tmp_path / "lay", {"t": img})
    arch = tmp_path / "d.tar"
    subprocess.run(["skopeo", "copy", "--quiet", f"oci:{layout}:t",
                    f"docker-archive:{arch}:lab/img:v1"], check=True)
    hull.run("load", "-i", str(arch))  # created in 2024
    old = hull.out("import", str(rootfs_tar(tmp_path)), "old:1").strip()
    time.sleep(1.1)
    new = hull.out("import", str(rootfs_tar(tmp_path, "n.tar", "2")), "new/app:1").strip()
    hull.run("tag", "new/app:1", "new/app:2")
    hull.run("import", str(rootfs_tar(tmp_path, "o.tar", "3")), "old:1")  # the first dangles

    everything = {"lab/img:v1", "old:1", "new/app:1", "new/app:2", "<none>:<none>"}
    assert _names(hull) == everything
    assert _names(hull, "-f", "dangling=true") == {"<none>:<none>"}
    assert hull.out("images", "-q", "--no-trunc", "--filter", "dangling=true").split() == [old]
    assert _names(hull, "-f", "dangling=false") == everything - {"<none>:<none>"}
    # docker's reference filter is a glob ('*' within one path component), also positional
    assert _names(hull, "-f", "reference=new/*") == {"new/app:1", "new/app:2"}
    assert _names(hull, "-f", "reference=*/app:2") == {"new/app:2"}
    assert _names(hull, "-f", "reference=*") == {"old:1"}
    assert _names(hull, "new/app:*") == {"new/app:1", "new/app:2"}
    assert _names(hull, "-f", "reference=old", "-f", "reference=lab/*") == {"old:1", "lab/img:v1"}
    assert _names(hull, "-f", "label=app") == {"lab/img:v1"}
    assert _names(hull, "-f", "label=app=web") == {"lab/img:v1"}
    assert _names(hull, "-f", "label=app=db") == set()
    assert _names(hull, "-f", f"before={new}") == {"lab/img:v1", "<none>:<none>"}
    assert _names(hull, "-f", f"since={old}") == {"new/app:1", "new/app:2", "old:1"}
    assert _names(hull, "-f", "since=old:1", "-f", "dangling=false") == set()
    p = hull.run("images", "-f", "colour=red", check=False)
    assert p.returncode == 1 and b"colour" in p.stderr, p.stderr
    p = hull.run("images", "-f", "before=nothing:here", check=False)
    assert p.returncode == 1 and b"nothing:here" in p.stderr, p.stderr

    # --format: Go templates over docker's fields, "table" with docker's headers
    rows = hull.out("images", "--format", "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}",
                    "new/app").splitlines()
    assert rows[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID"], rows
    assert sorted(r.split()[1] for r in rows[1:]) == ["1", "2"]
    assert {r.split()[2] for r in rows[1:]} == {new[7:19]}
    j = [json.loads(line) for line in
         hull.out("images", "--format", "{{json .}}", "lab/img").splitlines()]
    assert [(r["Repository"], r["Tag"]) for r in j] == [("lab/img", "v1")]


def test_image_prune_says_total_reclaimed_space(hull, tmp_path):
    assert hull.out("image", "prune", "-f").splitlines() == ["Total reclaimed space: 0B"]
    big = make_tar([("bin/", None), ("bin/sh", "#!"), ("big", os.urandom(300000))])
    old = hull.out("import", "-", "p:1", input=big).strip()
    hull.run("import", str(rootfs_tar(tmp_path)), "p:1")  # the first one dangles
    lines = hull.out("image", "prune", "-f").splitlines()
    assert lines[:3] == ["Deleted Images:", f"deleted: {old}", ""], lines
    # go-units' HumanSize: the unpacked layer and its blob, 300 kB each at least
    m = re.fullmatch(r"Total reclaimed space: ([0-9.]+)kB", lines[3])
    assert m and 600 <= float(m.group(1)) < 700, lines


def test_image_inspect_format_and_inspect_type_image(hull, tmp_path):
    iid = hull.out("import", str(rootfs_tar(tmp_path)), "ins:1").strip()
    out = hull.out("image", "inspect", "-f", "{{.Id}} {{.Os}} {{index .RepoTags 0}}", "ins:1")
    assert out == f"{iid} linux ins:1\n"
    assert hull.out("image", "inspect", "--format", "{{json .RootFS.Type}}", iid[7:19]) == \
        '"layers"\n'
    run = ("--run-root", str(tmp_path / "run"))
    # docker's inspect finds an image when no container has the name, or with --type image
    assert json.loads(hull.out(*run, "inspect", "ins:1"))[0]["Id"] == iid
    assert hull.out(*run, "inspect", "--type", "image", "-f", "{{.Id}}", "ins:1") == iid + "\n"
    p = hull.run(*run, "inspect", "--type", "container", "ins:1", check=False)
    assert p.returncode != 0 and b"ins:1" in p.stderr, p.stderr
    p = hull.run(*run, "inspect", "--type", "volume", "ins:1", check=False)
    assert p.returncode == 125 and b"volume" in p.stderr, p.stderr


def test_load_takes_an_existing_tag_and_says_so_even_with_q(hull, tmp_path):
    a = hull.out("import", str(rootfs_tar(tmp_path)), "mv:1").strip()
    arch = tmp_path / "a.tar"
    hull.run("save", "-o", str(arch), "mv:1")
    b = hull.out("import", str(rootfs_tar(tmp_path, "b.tar", "2")), "mv:1").strip()
    # docker's -q hides progress only; the old image of the tag is named, then dangles
    assert hull.out("load", "-q", "-i", str(arch)).splitlines() == [
        f"The image mv:1 already exists, renaming the old one with ID {b} to empty string",
        "Loaded image: mv:1"]
    assert json.loads(hull.out("image", "inspect", "mv:1"))[0]["Id"] == a
    assert json.loads(hull.out("image", "inspect", b))[0]["RepoTags"] == []
    # loaded again: the tag is already this image's, nothing is renamed
    assert hull.out("load", "-i", str(arch)).splitlines() == ["Loaded image: mv:1"]


def test_rmi_removes_the_others_when_one_fails_and_exits_1(hull, tmp_path):
    iid = hull.out("import", str(rootfs_tar(tmp_path)), "a:1").strip()
    for t in ("b:1", "c:1"):
        hull.run("tag", "a:1", t)
    p = hull.run("rmi", "b:1", "nope:1", "c:1", check=False)
    assert p.returncode == 1, p  # docker's CLI: 1
    assert p.stdout.decode().splitlines() == ["Untagged: b:1", "Untagged: c:1"]
    assert b"no such image: nope:1" in p.stderr, p.stderr
    hull.run("tag", "a:1", "d:1")
    p = hull.run("rmi", iid[7:19], check=False)
    assert p.returncode == 1 and b"must be forced" in p.stderr, p.stderr
    assert _names(hull) == {"a:1", "d:1"}


def test_import_without_a_name_and_with_a_message(hull, tmp_path):
    tar = rootfs_tar(tmp_path)
    iid = hull.out("import", str(tar)).strip()
    assert iid.startswith("sha256:")
    assert hull.out("images", "-q", "--no-trunc", "-f", "dangling=true").split() == [iid]
    j = json.loads(hull.out("image", "inspect", iid))[0]
    assert j["RepoTags"] == [] and j["Comment"] == f"Imported from {tar}"
    hull.run("import", "-m", "made by the test", str(rootfs_tar(tmp_path, "b.tar", "2")), "msg:1")
    assert json.loads(hull.out("image", "inspect", "msg:1"))[0]["Comment"] == "made by the test"
    # -c takes one value each: FILE after it is not swallowed now that NAME is optional
    cid = hull.out("import", "-c", "ENV A=1", str(rootfs_tar(tmp_path, "c.tar", "3"))).strip()
    assert "A=1" in json.loads(hull.out("image", "inspect", cid))[0]["Config"]["Env"]


def _load_labelled(hull, tmp_path, name, content, labels):
    img = Image([[("f", content)]], labels=labels)  # created in 2024
    layout = write_layout(tmp_path / f"lay-{content}", {"t": img})
    arch = tmp_path / f"{content}.tar"
    subprocess.run(["skopeo", "copy", "--quiet", f"oci:{layout}:t",
                    f"docker-archive:{arch}:{name}"], check=True)
    hull.run("load", "-i", str(arch))
    return img.id


def test_image_prune_filters_until_and_label(hull, tmp_path):
    web = _load_labelled(hull, tmp_path, "web:1", "web", {"app": "web"})
    db = _load_labelled(hull, tmp_path, "db:1", "db", {"app": "db"})
    now = hull.out("import", str(rootfs_tar(tmp_path)), "now:1").strip()
    out = hull.out("image", "prune", "-a", "-f", "--filter", "label=app=db")
    assert f"deleted: {db}" in out and web not in out and now not in out, out
    out = hull.out("image", "prune", "-a", "-f", "--filter", "until=24h",
                   "--filter", "label!=app=web")
    assert out.splitlines() == ["Total reclaimed space: 0B"], out
    out = hull.out("image", "prune", "-a", "-f", "--filter", "until=2025-01-01")
    assert f"deleted: {web}" in out and now not in out, out
    assert _names(hull) == {"now:1"}
    p = hull.run("image", "prune", "-f", "--filter", "colour=red", check=False)
    assert p.returncode == 1 and b"colour" in p.stderr, p.stderr
    p = hull.run("image", "prune", "-f", "--filter", "until=soon", check=False)
    assert p.returncode == 1 and b"soon" in p.stderr, p.stderr
