"""Fuzzing findings: names that are not references (or that read as image ids) given to
`hull tag` and `hull load`, and `hull import --change` values that only failed later at
`create`. Each is refused up front with the reference or instruction named."""
import io
import json
import tarfile

import pytest

from .conftest import make_tar

HEX0 = "0" * 64


def rootfs_tar(tmp_path, name="rootfs.tar", marker="1"):
    p = tmp_path / name
    p.write_bytes(make_tar([("bin/", None), ("bin/sh", "#!"), ("marker", marker)]))
    return p


def repo_tags(hull, name):
    return json.loads(hull.out("image", "inspect", name))[0]["RepoTags"]


def image_rows(hull):
    return hull.out("images").splitlines()[1:]


@pytest.mark.parametrize("target,why", [
    ("sha256:" + HEX0, "digest algorithm"),
    ("sha256", "digest algorithm"),
    (HEX0, "64-byte hexadecimal"),
    (HEX0 + ":1", "64-byte hexadecimal"),
    ("docker.io/library/" + HEX0, "64-byte hexadecimal"),
    ("../a", "bad registry"),
    ("./a", "bad registry"),
    ("[]:1/a", "IPv6"),
    ("a..b.io/x", "bad registry"),
    ("h-.io/x", "bad registry"),
    ("h.io:70000/x", "port"),
    ("a:-t", "bad tag"),
    ("a/_b", "bad repository component"),
    ("n" * 256, "255"),
])
def test_tag_refuses_invalid_names(hull, tmp_path, target, why):
    iid = hull.out("import", str(rootfs_tar(tmp_path)), "small:1").strip()
    p = hull.run("tag", "small:1", target, check=False)
    err = p.stderr.decode(errors="replace")
    assert p.returncode == 1, err
    assert why in err, err
    assert json.dumps(target)[1:-1][:40] in err, err
    # Nothing was tagged.
    assert repo_tags(hull, iid) == ["small:1"]
    assert len(image_rows(hull)) == 1


def test_tag_accepts_docker_grammar(hull, tmp_path):
    iid = hull.out("import", str(rootfs_tar(tmp_path)), "small:1").strip()
    for t in ("my-reg.example:5000/a__b/c.d:V1.0-x", "[::1]:5000/x:y", "localhost/a--b",
              "reg.io/" + HEX0):
        hull.run("tag", "small:1", t)
        assert json.loads(hull.out("image", "inspect", t))[0]["Id"] == iid


def test_tag_with_another_images_id_cannot_shadow_it(hull, tmp_path):
    a = hull.out("import", str(rootfs_tar(tmp_path, "a.tar", "a")), "a:1").strip()
    b = hull.out("import", str(rootfs_tar(tmp_path, "b.tar", "b")), "b:1").strip()
    ahex = a.removeprefix("sha256:")
    for target in (ahex, a, ahex + ":latest"):
        p = hull.run("tag", "b:1", target, check=False)
        assert p.returncode == 1, p.stderr
        assert b"64-byte hexadecimal" in p.stderr or b"digest algorithm" in p.stderr, p.stderr
    assert repo_tags(hull, b) == ["b:1"]
    # The hex still means A, and removing by it removes A, never B.
    assert json.loads(hull.out("image", "inspect", ahex))[0]["Id"] == a
    hull.run("rmi", ahex)
    assert json.loads(hull.out("image", "inspect", "b:1"))[0]["Id"] == b
    assert hull.run("image", "inspect", "a:1", check=False).returncode != 0
    # Short ids keep working as id lookups.
    hull.run("image", "inspect", b.removeprefix("sha256:")[:12])


def test_load_ignores_repotags_that_are_not_names(hull, tmp_path):
    hull.out("import", str(rootfs_tar(tmp_path)), "rt:1")
    arch = tmp_path / "d.tar"
    hull.run("save", "--format", "docker-archive", "-o", str(arch), "rt:1")
    hull.run("rmi", "rt:1")
    bad = ["sha256:" + HEX0, HEX0 + ":latest", "../a:1", "[]:1/a:1"]
    out = tmp_path / "bad.tar"
    with tarfile.open(arch) as src, tarfile.open(out, "w") as dst:
        for m in src.getmembers():
            data = src.extractfile(m).read() if m.isfile() else None
            if m.name == "manifest.json":
                man = json.loads(data)
                man[0]["RepoTags"] = bad + ["good:1"]
                data = json.dumps(man).encode()
                m.size = len(data)
            dst.addfile(m, io.BytesIO(data) if data is not None else None)
    p = hull.run("load", "-i", str(out), check=False)
    names = [":".join(r.split()[:2]) for r in image_rows(hull)]
    # Refusing the archive or skipping the bad names are both fine; tagging them is not.
    if p.returncode != 0:
        assert b"RepoTags" in p.stderr, p.stderr
    else:
        assert "good:1" in names
    assert not any(n.startswith(("sha256", HEX0, "..", "[")) for n in names), names


@pytest.mark.parametrize("change,named", [
    ("WORKDIR", "WORKDIR"),
    ("STOPSIGNAL SIGFOO", 'STOPSIGNAL "SIGFOO"'),
    ("STOPSIGNAL 9999", 'STOPSIGNAL "9999"'),
    ("STOPSIGNAL -1", 'STOPSIGNAL "-1"'),
    ("EXPOSE 99999999", 'EXPOSE "99999999"'),
    ("EXPOSE -1", 'EXPOSE "-1"'),
    ("EXPOSE 80/bogus", 'EXPOSE "80/bogus"'),
    ("EXPOSE 0", 'EXPOSE "0"'),
    ("USER 99999999999999999999", 'USER "99999999999999999999"'),
    ("USER a:b:c", 'USER "a:b:c"'),
    ("ENTRYPOINT [1e99999]", "ENTRYPOINT [1e99999]"),
    ("CMD [1, 2]", "CMD"),
    ("ENV =x", "ENV"),
])
def test_import_change_refused_up_front(hull, tmp_path, change, named):
    p = hull.run("import", "-c", change, str(rootfs_tar(tmp_path)), "ch:1", check=False)
    err = p.stderr.decode(errors="replace")
    assert p.returncode == 1, err
    assert named in err, err
    assert "Traceback" not in err and "terminate" not in err
    # Nothing stored: no image, no blob, no layer.
    assert image_rows(hull) == []
    assert hull.blobs() == [] and hull.layers() == []


def test_import_change_docker_forms(hull, tmp_path):
    iid = hull.out("import", "-c", "WORKDIR relative/dir", "-c", "WORKDIR ../x",
                   "-c", "STOPSIGNAL SIGUSR1", "-c", "EXPOSE 80 53/udp 8000-8001",
                   "-c", "USER 1000:1000", str(rootfs_tar(tmp_path)), "ch:1").strip()
    cfg = json.loads(hull.out("image", "inspect", iid))[0]["Config"]
    assert cfg["WorkingDir"] == "/relative/x"
    assert cfg["StopSignal"] == "SIGUSR1"
    assert sorted(cfg["ExposedPorts"]) == ["53/udp", "80/tcp", "8000/tcp", "8001/tcp"]
    assert cfg["User"] == "1000:1000"


def test_import_of_a_hardlink_without_target_says_so(hull, tmp_path):
    tar = tmp_path / "hl.tar"
    tar.write_bytes(make_tar([("bin/", None), ("x", ("hard", ""))]))
    p = hull.run("import", str(tar), "hl:1", check=False)
    err = p.stderr.decode()
    assert p.returncode == 1 and 'entry "x": no file type (a link without a target?)' in err
    assert (hull.layers(), hull.blobs(), hull.tmp_entries()) == ([], [], [])


def test_import_of_a_hardlink_to_a_missing_file_names_both(hull, tmp_path):
    tar = tmp_path / "hl.tar"
    tar.write_bytes(make_tar([("bin/", None), ("x", ("hard", "bin/absent"))]))
    p = hull.run("import", str(tar), "hl:1", check=False)
    err = p.stderr.decode()
    assert p.returncode == 1, err
    assert 'hardlink "x" to "bin/absent": no such file earlier in this layer' in err, err
    assert (hull.layers(), hull.blobs(), hull.tmp_entries()) == ([], [], [])
