"""hull load of docker-archive and oci-archive tarballs whose JSON is hostile: members of
the wrong type, numbers too large for a double, nesting 100000 levels deep, invalid
RepoTags, no images at all. Each load ends with 0 or with 1 and a message naming the
file, never by a signal (an uncaught JSON exception aborted hull, deep nesting crashed it
on the stack); a loaded image can be inspected and saved; a refused one stores nothing."""
import io
import json
import subprocess
import tarfile
import threading
import time

import pytest

from .conftest import make_tar, sha

LAYER = make_tar([("hello", "hi\n")])
CONFIG = {"created": "2024-01-02T03:04:05Z", "architecture": "amd64", "os": "linux",
          "config": {"Cmd": ["sh"]}, "rootfs": {"type": "layers", "diff_ids": [sha(LAYER)]}}


def archive(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in files.items():
            data = data if isinstance(data, bytes) else data.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def docker_archive(config=CONFIG, manifest=None, raw_config=None, raw_manifest=None):
    cfg = raw_config if raw_config is not None else json.dumps(config)
    man = manifest if manifest is not None else [
        {"Config": "cfg.json", "RepoTags": ["hostile:1"], "Layers": ["layer.tar"]}]
    return archive({"manifest.json": raw_manifest if raw_manifest is not None else
                    json.dumps(man), "cfg.json": cfg, "layer.tar": LAYER})


def oci_manifest(cfg):
    """The OCI manifest of config bytes cfg and the one LAYER, sizes right."""
    return {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": sha(cfg), "size": len(cfg)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": sha(LAYER), "size": len(LAYER)}]}


def oci_archive(index_entry=None, manifest=None, config=CONFIG, manifests=None):
    cfg = json.dumps(config).encode()
    man = json.dumps(manifest if manifest is not None else oci_manifest(cfg)).encode()
    entry = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(man),
             "size": len(man), "annotations": {"org.opencontainers.image.ref.name": "1"}}
    entry.update(index_entry or {})
    index = {"schemaVersion": 2, "manifests": manifests if manifests is not None else [entry]}
    files = {"oci-layout": '{"imageLayoutVersion":"1.0.0"}', "index.json": json.dumps(index)}
    for b in (cfg, man, LAYER):
        files["blobs/sha256/" + sha(b)[7:]] = b
    return archive(files)


_CFG = json.dumps(CONFIG).encode()
_MAN = oci_manifest(_CFG)

_MAN_BODY = json.dumps(_MAN).encode()
_ENTRY = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(_MAN_BODY),
          "size": len(_MAN_BODY), "annotations": {"org.opencontainers.image.ref.name": "1"}}


def deep(n):
    return "[" * n + "]" * n


CASES = {
    # loaded (the odd member reads as absent), then inspected and saved
    "config created null": (docker_archive(dict(CONFIG, created=None)), 0),
    "config os null": (docker_archive(dict(CONFIG, os=None)), 0),
    "config architecture object": (docker_archive(dict(CONFIG, architecture={"a": 1})), 0),
    "oci config os number": (oci_archive(config=dict(CONFIG, os=7)), 0),
    "oci layer mediaType false": (oci_archive(manifest={
        "schemaVersion": 2,
        "config": {"digest": sha(json.dumps(CONFIG).encode()),
                   "size": len(json.dumps(CONFIG))},
        "layers": [{"mediaType": False, "digest": sha(LAYER), "size": len(LAYER)}]}), 0),
    "oci ref.name number": (oci_archive({"annotations": {
        "org.opencontainers.image.ref.name": 5}}), 0),  # loaded without a name
    # refused
    "oci index digest bool": (oci_archive({"digest": True}), "index.json"),
    "oci manifest config number": (oci_archive(manifest={"schemaVersion": 2, "config": 0,
                                                         "layers": []}), "config"),
    "oci manifest layer string": (oci_archive(manifest={
        "schemaVersion": 2, "config": {"digest": sha(json.dumps(CONFIG).encode())},
        "layers": [""]}), "layer"),
    "oci manifests null entry": (oci_archive(manifests=[None]), "index.json"),
    "oci no manifests": (oci_archive(manifests=[]), "index.json"),
    "number overflow": (docker_archive(raw_manifest='[{"Config": "cfg.json", "RepoTags": '
                                                    '1e99999, "Layers": ["layer.tar"]}]'),
                        "manifest.json"),
    "config 100000 deep": (docker_archive(raw_config=json.dumps(dict(CONFIG, config=None))[:-1]
                                          + ', "deep": ' + deep(100000) + "}"), "deeper"),
    "repotag path": (docker_archive(manifest=[{"Config": "cfg.json", "RepoTags": ["/etc/passwd"],
                                               "Layers": ["layer.tar"]}]), "/etc/passwd"),
    "repotag newline": (docker_archive(manifest=[{"Config": "cfg.json", "RepoTags": ["a\nb:1"],
                                                  "Layers": ["layer.tar"]}]), "RepoTags"),
    "repotag number": (docker_archive(manifest=[{"Config": "cfg.json", "RepoTags": [3],
                                                 "Layers": ["layer.tar"]}]), "RepoTags"),
    "no images": (docker_archive(manifest=[]), "no images"),
    # descriptor sizes must be the content's (OCI image spec)
    "oci layer size wrong": (oci_archive(manifest=dict(_MAN, layers=[
        dict(_MAN["layers"][0], size=len(LAYER) + 1)])), "bytes but its descriptor says"),
    "oci config size string": (oci_archive(manifest=dict(_MAN, config=dict(
        _MAN["config"], size=str(len(_CFG))))), "not a byte count"),
    "oci index size wrong": (oci_archive({"size": 1}), "index.json: manifest"),
    # refused after the config or the layer were stored: they go again
    "oci layer missing": (oci_archive(manifest=dict(_MAN, layers=[
        dict(_MAN["layers"][0], digest=sha(b"absent"))])), "blobs/sha256"),
    "oci ref.name invalid": (oci_archive({"annotations": {
        "org.opencontainers.image.ref.name": "UPPER/case"}}), "index.json: name"),
    # more images than an archive may list (10000), refused before anything is stored
    "oci 10001 manifests": (oci_archive(manifests=[_ENTRY] * 10001), "index.json: 10001"),
    "docker 10001 images": (docker_archive(manifest=[
        {"Config": "cfg.json", "RepoTags": ["hostile:1"], "Layers": ["layer.tar"]}] * 10001),
                            "manifest.json: 10001"),
    # a name quoting a terminal escape is shown escaped
    "config path escape": (docker_archive(manifest=[{"Config": "cfg\x1b]0;owned\x07.json",
                                                     "Layers": ["layer.tar"]}]),
                           "cfg\\x1b]0;owned\\x07.json"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_archive(hull, tmp_path, name):
    data, expect = CASES[name]
    path = tmp_path / "a.tar"
    path.write_bytes(data)
    p = hull.run("load", "-i", str(path), check=False)
    err = p.stderr.decode(errors="replace")
    assert p.returncode in (0, 1), (p.returncode, err)
    assert "terminate called" not in err and "what()" not in err, err
    if expect == 0:
        assert p.returncode == 0, err
        ids = hull.out("images", "-q").split()
        assert len(ids) == 1, ids
        info = json.loads(hull.out("image", "inspect", ids[0]))
        assert info[0]["Id"].startswith("sha256:"), info
        for fmt in ("docker-archive", "oci-archive"):
            hull.run("save", "--format", fmt, "-o", str(tmp_path / f"out-{fmt}.tar"), ids[0])
    else:
        assert p.returncode == 1 and err.strip(), (p.returncode, err)
        if expect:
            assert expect in err, err
        assert "\x1b" not in err, err
        assert hull.out("images", "-q").split() == []
        # Nothing of it stays: no blob, no layer, no temp file.
        assert (hull.blobs(), hull.layers(), hull.tmp_entries()) == ([], [], []), name


@pytest.mark.parametrize("fmt", ["oci", "docker"])
def test_one_image_listed_10000_times_loads_once(hull, tmp_path, fmt):
    """An archive listing the same image 10000 times (a 4 MiB layer): each blob is hashed
    and adopted once, the image and its name recorded once, the line printed once. Every
    entry redid it all (10000 hashes of the layer, 10000 records): 11 s for a 1 MiB layer,
    longer than the 20 s allowed here for this one."""
    layer = make_tar([("big", bytes(range(256)) * (4 << 12))])
    cfg = json.dumps(dict(CONFIG, rootfs={"type": "layers", "diff_ids": [sha(layer)]})).encode()
    if fmt == "oci":
        man = json.dumps(dict(_MAN, config=dict(_MAN["config"], digest=sha(cfg), size=len(cfg)),
                              layers=[dict(_MAN["layers"][0], digest=sha(layer),
                                           size=len(layer))])).encode()
        entry = dict(_ENTRY, digest=sha(man), size=len(man))
        files = {"oci-layout": '{"imageLayoutVersion":"1.0.0"}',
                 "index.json": json.dumps({"schemaVersion": 2, "manifests": [entry] * 10000})}
        for b in (cfg, man, layer):
            files["blobs/sha256/" + sha(b)[7:]] = b
        shown = "localhost/image:1"
    else:
        files = {"manifest.json": json.dumps([{"Config": "cfg.json", "RepoTags": ["dup:1"],
                                               "Layers": ["layer.tar"]}] * 10000),
                 "cfg.json": cfg, "layer.tar": layer}
        shown = "dup:1"
    path = tmp_path / "dup.tar"
    path.write_bytes(archive(files))
    p = subprocess.run([hull.binary, "--root", str(hull.root), "load", "-i", str(path)],
                       capture_output=True, timeout=20)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    assert p.stdout.decode().splitlines() == [f"Loaded image: {shown}"]
    assert hull.out("images", "-q").split() == [sha(cfg)[7:19]]
    assert len(hull.layers()) == 1


def _feed(p, head):
    """Writes head, then zeros until hull stops reading (or 20 s have passed)."""
    end = time.time() + 20
    try:
        p.stdin.write(head)
        zeros = bytes(1 << 16)
        while time.time() < end:
            p.stdin.write(zeros)
    except (BrokenPipeError, ValueError):
        pass


@pytest.mark.parametrize("args,stdin_head,expect", [
    # /dev/zero: an empty tar (its first block ends it), then zeros without end
    (["load", "-i", "/dev/zero"], None, ["load /dev/zero", "empty archive"]),
    (["import", "/dev/zero", "zeros:1"], None, ["import /dev/zero", "empty archive"]),
    (["load"], b"", ["load -", "empty archive"]),
    (["import", "-", "zeros:1"], b"", ["import -", "empty archive"]),
    # a real tar, then zeros without end: more than its padding
    (["import", "-", "zeros:1"], make_tar([("bin/", None), ("bin/sh", "#!")]),
     ["import -", "after the tar's end-of-archive marker"]),
    (["load"], archive({"manifest.json": "[]"}), ["load -", "after the tar's end-of-archive"]),
], ids=["load /dev/zero", "import /dev/zero", "load stdin zeros", "import stdin zeros",
        "import tar then zeros", "load tar then zeros"])
def test_endless_zeros_are_refused(hull, args, stdin_head, expect):
    """A tar stream that never ends: a stream of zeros read for ever (`hull import` copied
    it into ROOT/tmp until the disk was full). What follows the end-of-archive marker is
    read for the diff id, but no more than 16 MiB of it."""
    cmd = [hull.binary, "--root", str(hull.root), *args]
    if stdin_head is None:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    else:
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        feeder = threading.Thread(target=_feed, args=(p, stdin_head), daemon=True)
        feeder.start()
    try:
        p.wait(20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        pytest.fail(f"hull {' '.join(args)} still reading after 20 s")
    finally:
        if stdin_head is not None:
            feeder.join()
            p.stdin.close()
    err = p.stderr.read().decode(errors="replace")
    assert p.returncode == 1, (p.returncode, err)
    for e in expect:
        assert e in err, err
    assert hull.out("images", "-q").split() == []
    assert (hull.blobs(), hull.layers(), hull.tmp_entries()) == ([], [], [])
