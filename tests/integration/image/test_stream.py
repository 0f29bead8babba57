"""The streaming pull: layers unpacked while they download. Whatever goes wrong mid-stream
(a corrupt byte deep in a gzip layer, a wrong diff id, a server that ignores Range), the
store ends up with the whole image or with nothing."""
import gzip
import hashlib
import json
import os
import random
import stat
from pathlib import Path

from .conftest import Image, make_tar, sha, write_layout

BASE = [("bin/", None), ("bin/sh", "#!/bin/true\n"), ("etc/", None), ("etc/os", "base\n")]


def inspect(hull, name):
    return json.loads(hull.out("image", "inspect", name))[0]


def text(rnd, n):
    return "".join(rnd.choice("abcdefghij klmnop\n") for _ in range(n))


def big_entries(seed=1, files=30, size=40000):
    """A layer of several MB once unpacked: many chunks on the wire, dirs, links."""
    rnd = random.Random(seed)
    out = [("data/", None)]
    for i in range(files):
        out.append((f"data/d{i % 5}/f{i}", text(rnd, size) + os.urandom(size // 4).hex()))
    out += [("data/link", "->d0/f0"), ("data/hard", ("hard", "data/d1/f1"))]
    return out


def replace_layer(img, i, blob):
    """Swaps layer i's blob (same uncompressed tar, so the same diff id) and rewrites the
    manifest to match."""
    del img.blobs[img.layer_descs[i]["digest"]]
    img.blobs[sha(blob)] = blob
    img.layer_descs[i] = dict(img.layer_descs[i], digest=sha(blob), size=len(blob))
    del img.blobs[sha(img.manifest)]
    m = json.loads(img.manifest)
    m["layers"] = img.layer_descs
    img.manifest = json.dumps(m).encode()
    img.blobs[sha(img.manifest)] = img.manifest


def assert_nothing_stored(hull):
    assert hull.out("images", "-q") == ""
    assert hull.blobs() == [] and hull.layers() == [] and hull.tmp_entries() == []


def test_corrupt_byte_deep_in_gzip_layer(hull, fake_registry):
    # The unpacker trips over the bad deflate data long before the download ends; the
    # error must still be the digest mismatch, and nothing may stay.
    img = Image([BASE, big_entries()])
    d = img.layer_descs[1]
    fake_registry.add("bad/deep", "v1", img)
    fake_registry.corrupt_at[d["digest"]] = d["size"] // 3
    p = hull.run("pull", f"{fake_registry.host}/bad/deep:v1", check=False)
    assert p.returncode == 1
    err = p.stderr.decode()
    assert "digest mismatch" in err and d["digest"] in err, err
    assert_nothing_stored(hull)


def test_corrupt_gzip_early_in_a_large_layer(hull, fake_registry):
    # The unpack fails within the first chunks of a layer several MB long: the download,
    # which hands its bytes to the unpacker from memory, must not wait for it any more
    # and still runs to the end (digest mismatch, nothing stored).
    img = Image([BASE, big_entries(seed=5, files=60, size=100000)])
    d = img.layer_descs[1]
    assert d["size"] > 3_000_000, d["size"]
    fake_registry.add("bad/early", "v1", img)
    fake_registry.corrupt_at[d["digest"]] = 100_000
    p = hull.run("pull", f"{fake_registry.host}/bad/early:v1", check=False)
    assert p.returncode == 1
    err = p.stderr.decode()
    assert "digest mismatch" in err and d["digest"] in err, err
    assert_nothing_stored(hull)


def test_wrong_diff_id_stores_nothing(hull, fake_registry):
    img = Image([BASE, [("f", "x" * 5000)]])
    cfg = json.loads(img.config)
    cfg["rootfs"]["diff_ids"][1] = "sha256:" + "ab" * 32
    del img.blobs[img.id]
    img.config = json.dumps(cfg).encode()
    img.id = sha(img.config)
    img.blobs[img.id] = img.config
    m = json.loads(img.manifest)
    m["config"].update(digest=img.id, size=len(img.config))
    del img.blobs[sha(img.manifest)]
    img.manifest = json.dumps(m).encode()
    img.blobs[sha(img.manifest)] = img.manifest
    fake_registry.add("bad/diff", "v1", img)
    p = hull.run("pull", f"{fake_registry.host}/bad/diff:v1", check=False)
    assert p.returncode == 1
    assert b"diff id mismatch" in p.stderr, p.stderr
    assert_nothing_stored(hull)


def test_range_answered_with_whole_blob(hull, fake_registry):
    # The connection drops halfway; the retry asks for the rest, the server sends every
    # byte again with 200. The file the unpacker follows only grows: the first half is
    # skipped, not written twice.
    entries = BASE + [("big", os.urandom(300000))]
    img = Image([entries])
    d = img.layer_descs[0]["digest"]
    fake_registry.add("flaky/whole", "v1", img)
    fake_registry.flaky.add(d)
    fake_registry.ignore_range.add(d)
    hull.run("pull", f"{fake_registry.host}/flaky/whole:v1")
    assert fake_registry.ranges and int(fake_registry.ranges[0].split("=")[1].split("-")[0]) > 0
    j = inspect(hull, f"{fake_registry.host}/flaky/whole:v1")
    assert j["Id"] == img.id
    big = Path(j["GraphDriver"]["Data"]["LowerDir"], "big").read_bytes()
    assert big == entries[-1][1]
    assert hull.tmp_entries() == []


def test_gzip_of_several_members(hull, fake_registry):
    # pigz and some build tools write concatenated gzip members: one stream to a reader.
    entries = BASE + big_entries(seed=2, files=10)
    img = Image([entries])
    tar = make_tar(entries)
    cut = len(tar) // 2 + 777
    replace_layer(img, 0, gzip.compress(tar[:cut], mtime=0) + gzip.compress(tar[cut:], mtime=0))
    fake_registry.add("multi/member", "v1", img)
    hull.run("pull", f"{fake_registry.host}/multi/member:v1")
    j = inspect(hull, f"{fake_registry.host}/multi/member:v1")
    assert j["RootFS"]["Layers"] == img.diff_ids
    lower = Path(j["GraphDriver"]["Data"]["LowerDir"])
    assert (lower / "data/d3/f8").read_text() == dict(entries)["data/d3/f8"]


def test_big_layers_from_a_real_registry(hull, registry, tmp_path):
    # Three multi-MB layers through docker-registry, unpacked while they stream: every
    # file, link and mode as in the tars, and the diff ids verified.
    layers = [BASE + big_entries(seed=s) for s in (3, 4, 5)]
    layers[1] = [(n.replace("data/", "data1/"), c if not isinstance(c, tuple) else
                  ("hard", c[1].replace("data/", "data1/"))) for n, c in big_entries(seed=4)]
    layers[2] = [(".wh.etc", ""), ("data/d0/f0", "replaced")]
    img = Image(layers)
    layout = write_layout(tmp_path / "layout", {"t": img})
    ref = registry.push(layout, "t", "stream/big:v1")
    out = hull.out("pull", ref)
    assert "Pull complete" in out
    j = inspect(hull, ref)
    assert j["RootFS"]["Layers"] == img.diff_ids
    top, mid, bottom = (Path(p) for p in j["GraphDriver"]["Data"]["LowerDir"].split(":"))
    want = dict(layers[0])
    for name in ("data/d0/f0", "data/d4/f29", "bin/sh"):
        assert (bottom / name).read_text() == want[name]
    assert os.readlink(bottom / "data/link") == "d0/f0"
    assert os.stat(bottom / "data/hard").st_ino == os.stat(bottom / "data/d1/f1").st_ino
    assert (bottom / "data/d2/f7").stat().st_mode & 0o7777 == 0o644
    assert (mid / "data1/d1/f1").read_text() == dict(layers[1])["data1/d1/f1"]
    assert (top / "data/d0/f0").read_text() == "replaced"
    wh = os.lstat(top / "etc")
    assert stat.S_ISCHR(wh.st_mode) and wh.st_rdev == 0 and not (top / ".wh.etc").exists()
    # Stored once, nothing left in ROOT/tmp; blobs hash to their names.
    assert hull.tmp_entries() == []
    for b in hull.blobs():
        data = (hull.root / "blobs/sha256" / b).read_bytes()
        assert hashlib.sha256(data).hexdigest() == b


def test_more_layers_than_workers(hull, fake_registry):
    # Seven layers of mixed sizes for four workers (biggest first, the rest behind): every
    # layer's files whole, the blobs stored once each and hashing to their names.
    layers = [BASE] + [[(f"l{i}/", None)] + [(n.replace("data/", f"l{i}/"), c) for n, c in
                        big_entries(seed=10 + i, files=5 + 10 * (i % 3), size=20000 * (1 + i % 4))
                        if not isinstance(c, tuple)] for i in range(6)]
    img = Image(layers)
    fake_registry.add("many/layers", "v1", img)
    hull.run("pull", f"{fake_registry.host}/many/layers:v1")
    j = inspect(hull, f"{fake_registry.host}/many/layers:v1")
    assert j["RootFS"]["Layers"] == img.diff_ids
    dirs = [Path(p) for p in j["GraphDriver"]["Data"]["LowerDir"].split(":")][::-1]
    assert len(dirs) == 7
    for layer, d in zip(layers, dirs):
        for name, content in layer:
            if content is None:
                assert (d / name).is_dir(), (d, name)
            elif not content.startswith("->"):
                assert (d / name).read_text() == content, (d, name)
    assert hull.tmp_entries() == []
    for b in hull.blobs():
        data = (hull.root / "blobs/sha256" / b).read_bytes()
        assert hashlib.sha256(data).hexdigest() == b


def test_corrupt_config_while_layers_download(hull, fake_registry):
    # Layer downloads start before the config is in; a bad config stops them all.
    img = Image([BASE, big_entries(seed=6, files=10)])
    fake_registry.add("bad/config", "v1", img)
    fake_registry.corrupt.add(img.id)
    p = hull.run("pull", f"{fake_registry.host}/bad/config:v1", check=False)
    assert p.returncode == 1
    assert b"digest mismatch" in p.stderr and img.id.encode() in p.stderr, p.stderr
    assert_nothing_stored(hull)


def test_new_config_over_stored_layers(hull, fake_registry):
    # Same layers, another config: only the config is fetched, no layer blob again.
    a = Image([BASE, [("f", "1")]])
    b = Image([BASE, [("f", "1")]], cmd=("other",))
    assert a.id != b.id and a.diff_ids == b.diff_ids
    fake_registry.add("same/layers", "a", a)
    fake_registry.add("same/layers", "b", b)
    hull.run("pull", f"{fake_registry.host}/same/layers:a")
    fake_registry.requests.clear()
    out = hull.out("pull", f"{fake_registry.host}/same/layers:b")
    assert fake_registry.blob_gets() == [f"/v2/same/layers/blobs/{b.id}"]
    assert out.count("Already exists") == 2, out
    assert inspect(hull, f"{fake_registry.host}/same/layers:b")["Config"]["Cmd"] == ["other"]
    assert len(hull.layers()) == 2 and hull.tmp_entries() == []
