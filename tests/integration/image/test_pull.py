"""hull pull against real registries (docker-registry) and a fake one; the store's sharing,
reference counts and hostile-input handling."""
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from .conftest import Image, free_port, sha, write_layout

BASE = [("bin/", None), ("bin/sh", "#!/bin/true\n"), ("etc/", None), ("etc/os", "base\n")]


def push(registry, tmp_path, name, img, fmt=None):
    layout = write_layout(tmp_path / f"layout-{name.replace('/', '_').replace(':', '_')}", {"t": img})
    return registry.push(layout, "t", name, fmt=fmt)


def images_json(hull):
    return [json.loads(l) for l in hull.out("images", "--format", "json").splitlines() if l]


def inspect(hull, name):
    return json.loads(hull.out("image", "inspect", name))[0]


def test_pull_one_layer(hull, registry, tmp_path):
    img = Image([BASE])
    ref = push(registry, tmp_path, "one/layer:v1", img)
    out = hull.out("pull", ref)
    assert "Pull complete" in out and "Downloaded newer image" in out
    assert out.strip().splitlines()[-1] == f"{registry.host}/one/layer:v1"
    j = inspect(hull, ref)
    assert j["RootFS"]["Layers"] == img.diff_ids
    assert j["Config"]["Cmd"] == ["sh"]
    assert j["RepoTags"] == [f"{registry.host}/one/layer:v1"]
    layer = Path(j["GraphDriver"]["Data"]["LowerDir"])
    assert (layer / "etc/os").read_text() == "base\n"
    rows = images_json(hull)
    assert rows[0]["Repository"] == f"{registry.host}/one/layer" and rows[0]["Tag"] == "v1"
    assert hull.out("images", "-q").strip() == img.id[7:19]
    table = hull.out("images", "--digests")
    assert table.splitlines()[0].split() == ["REPOSITORY", "TAG", "DIGEST", "IMAGE", "ID",
                                             "CREATED", "SIZE"]
    assert "sha256:" in table.splitlines()[1]
    assert hull.tmp_entries() == []


def test_three_layers_whiteout_and_opaque(hull, registry, tmp_path):
    l1 = BASE + [("a/", None), ("a/x", "x"), ("a/y", "y"), ("b", "b")]
    l2 = [(".wh.b", ""), ("a/", None), ("a/.wh..wh..opq", ""), ("a/z", "z")]
    l3 = [("c", "c")]
    img = Image([l1, l2, l3])
    ref = push(registry, tmp_path, "three/layers:v1", img)
    hull.run("pull", "-q", ref)
    j = inspect(hull, ref)
    lowers = j["GraphDriver"]["Data"]["LowerDir"].split(":")
    assert len(lowers) == 3
    mid = Path(lowers[1])  # top first: l3, l2, l1
    st = os.lstat(mid / "b")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.getxattr(mid / "a", "trusted.overlay.opaque") == b"y"
    assert not (mid / ".wh.b").exists() and not (mid / "a/.wh..wh..opq").exists()
    # Mounted as overlay, the whiteouts hide what the lower layer had.
    m = tmp_path / "m"
    for d in ("m", "u", "w"):
        (tmp_path / d).mkdir()
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    f"lowerdir={':'.join(lowers)},upperdir={tmp_path/'u'},workdir={tmp_path/'w'}",
                    str(m)], check=True)
    try:
        assert sorted(os.listdir(m / "a")) == ["z"]
        assert not (m / "b").exists()
        assert (m / "c").read_text() == "c" and (m / "etc/os").exists()
    finally:
        subprocess.run(["umount", str(m)], check=True)


@pytest.mark.parametrize("fmt,media", [
    ("v2s2", "application/vnd.docker.distribution.manifest.v2+json"),
    ("oci", "application/vnd.oci.image.manifest.v1+json"),
])
def test_docker_v2_and_oci_manifests(hull, registry, tmp_path, fmt, media):
    img = Image([BASE, [("f", fmt)]])
    ref = push(registry, tmp_path, f"fmt/{fmt}:v1", img, fmt=fmt)
    hull.run("pull", ref)
    j = inspect(hull, ref)
    assert j["Metadata"]["ManifestMediaType"] == media
    assert Path(j["GraphDriver"]["Data"]["LowerDir"].split(":")[0], "f").read_text() == fmt


def test_two_platform_index(hull, registry, tmp_path):
    amd = Image([BASE + [("arch", "amd64")]], arch="amd64")
    arm = Image([BASE + [("arch", "arm64")]], arch="arm64")
    layout = write_layout(tmp_path / "multi", None, index_of={"t": [amd, arm]})
    ref = registry.push(layout, "t", "multi/arch:v1", all_platforms=True)
    hull.run("pull", ref)
    assert inspect(hull, ref)["Id"] == amd.id
    hull.run("pull", "--platform", "linux/arm64", ref)
    j = inspect(hull, ref)
    assert j["Id"] == arm.id and j["Architecture"] == "arm64"
    # The repo digest is the index's, as docker records it.
    assert any("@sha256:" in d for d in j["RepoDigests"])
    p = hull.run("pull", "--platform", "linux/s390x", ref, check=False)
    assert p.returncode == 1 and b"no matching manifest for linux/s390x" in p.stderr


@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
def test_layer_compressions(hull, registry, tmp_path, compression):
    img = Image([BASE + [("comp", compression)]], compression=compression)
    ref = push(registry, tmp_path, f"comp/{compression}:v1", img)
    hull.run("pull", ref)
    j = inspect(hull, ref)
    assert j["RootFS"]["Layers"] == img.diff_ids
    assert Path(j["GraphDriver"]["Data"]["LowerDir"], "comp").read_text() == compression


@pytest.mark.parametrize("entries", [
    [("ok", "fine"), ("../../../../../../tmp/HULL_EVIL", "pwned")],
    [("esc", "->/tmp"), ("esc/HULL_EVIL", "pwned")],
    [("esc", "->../../../../../../../tmp"), ("esc/HULL_EVIL", "pwned")],
    [("/HULL_EVIL_ABS", "pwned")],
    [("h", ("hard", "../../../../../../etc/passwd"))],
], ids=["dotdot", "abs-symlink", "rel-symlink", "absolute", "hardlink"])
def test_hostile_layer_refused(hull, registry, tmp_path, entries):
    img = Image([BASE, entries], compression="none")
    name = f"hostile/x{abs(hash(str(entries))) % 10000}:v1"
    ref = push(registry, tmp_path, name, img)
    before = set(os.listdir("/tmp"))
    p = hull.run("pull", ref, check=False)
    assert p.returncode == 1, p.stdout
    err = p.stderr.decode()
    assert "refus" in err, err
    assert not Path("/tmp/HULL_EVIL").exists() and not Path("/HULL_EVIL_ABS").exists()
    assert {n for n in set(os.listdir("/tmp")) - before if "HULL" in n} == set()
    # Nothing half-done stays: no image, no layer dirs, no temp files, no blobs.
    assert hull.out("images", "-q") == ""
    assert hull.layers() == [] and hull.tmp_entries() == [] and hull.blobs() == []


def test_corrupt_blob_fails_digest_and_stores_nothing(hull, fake_registry):
    img = Image([BASE, [("f", "x" * 5000)]])
    fake_registry.add("bad/img", "v1", img)
    fake_registry.corrupt.add(img.layer_descs[1]["digest"])
    p = hull.run("pull", f"{fake_registry.host}/bad/img:v1", check=False)
    assert p.returncode == 1
    err = p.stderr.decode()
    assert "digest mismatch" in err and img.layer_descs[1]["digest"] in err
    assert hull.out("images", "-q") == ""
    assert hull.blobs() == [] and hull.layers() == [] and hull.tmp_entries() == []


def test_pull_again_downloads_no_blob(hull, fake_registry):
    img = Image([BASE, [("f", "1")]])
    fake_registry.add("same/img", "v1", img)
    hull.run("pull", f"{fake_registry.host}/same/img:v1")
    assert len(fake_registry.blob_gets()) == 3  # config + 2 layers
    fake_registry.requests.clear()
    out = hull.out("pull", f"{fake_registry.host}/same/img:v1")
    assert fake_registry.blob_gets() == []
    assert "Image is up to date" in out


def test_shared_base_layer_stored_once(hull, registry, tmp_path):
    a = Image([BASE, [("a", "a")]])
    b = Image([BASE, [("b", "b")]])
    ra = push(registry, tmp_path, "share/a:v1", a)
    rb = push(registry, tmp_path, "share/b:v1", b)
    hull.run("pull", ra)
    hull.run("pull", rb)
    base_diff = a.diff_ids[0]
    assert base_diff == b.diff_ids[0]
    assert len(hull.layers()) == 3
    base_blob = a.layer_descs[0]["digest"][7:]
    assert hull.blobs().count(base_blob) == 1
    out = hull.out("rmi", ra)
    assert "Untagged:" in out and "Deleted: " + a.id in out
    assert base_diff[7:] in hull.layers() and base_blob in hull.blobs()
    assert a.diff_ids[1][7:] not in hull.layers()
    hull.run("rmi", rb)
    assert hull.layers() == [] and hull.blobs() == []


def test_bearer_token_flow(hull, fake_registry):
    img = Image([BASE])
    fake_registry.add("x", "v1", img)
    fake_registry.token_required = True
    hull.run("pull", f"{fake_registry.host}/x:v1")
    assert any(p.startswith("/token?") and "scope=repository%3Ax%3Apull" in p
               for _, p in fake_registry.requests)
    assert any(p.startswith("/token?") and "service=fake" in p for _, p in fake_registry.requests)


def test_no_ping_first_request_is_the_manifest(hull, fake_registry):
    # No GET /v2/ before the pull: the manifest request comes first, and with a token
    # registry its 401 brings the challenge (one round trip less, as containerd does).
    img = Image([BASE])
    fake_registry.add("x", "v1", img)
    fake_registry.requests.clear()
    hull.run("pull", f"{fake_registry.host}/x:v1")
    paths = [p for _, p in fake_registry.requests]
    assert "/v2/" not in paths and paths[0] == "/v2/x/manifests/v1", paths
    hull.run("rmi", f"{fake_registry.host}/x:v1")
    fake_registry.token_required = True
    fake_registry.requests.clear()
    hull.run("pull", f"{fake_registry.host}/x:v1")
    paths = [p for _, p in fake_registry.requests]
    assert "/v2/" not in paths, paths
    assert paths[0] == "/v2/x/manifests/v1" and paths[1].startswith("/token?"), paths
    assert paths[2] == "/v2/x/manifests/v1", paths
    # hull login still checks /v2/ (answering its challenge).
    fake_registry.creds = ("alice", "pw")
    p = hull.run("login", "-u", "alice", "-p", "wrong", fake_registry.host, check=False)
    assert p.returncode == 1 and b"unauthorized" in p.stderr, p.stderr
    assert "Login Succeeded" in hull.out("login", "-u", "alice", "-p", "pw", fake_registry.host)


def test_bearer_token_with_credentials(hull, fake_registry, tmp_path):
    img = Image([BASE])
    fake_registry.add("x", "v1", img)
    fake_registry.token_required = True
    fake_registry.creds = ("alice", "pw")
    p = hull.run("pull", f"{fake_registry.host}/x:v1", check=False)
    assert p.returncode == 1 and b"unauthorized" in p.stderr
    # ~/.docker/config.json linked from elsewhere (a dotfiles checkout), with a mode of
    # its own and a file named config.json.tmp beside it.
    dot = hull.home / ".docker"
    dot.mkdir()
    real = tmp_path / "dotfiles-docker-config.json"
    real.write_text('{"auths": {}, "psFormat": "table {{.ID}}"}')
    real.chmod(0o640)
    (dot / "config.json").symlink_to(real)
    (dot / "config.json.tmp").write_text("mine")
    hull.run("login", "-u", "alice", "-p", "pw", fake_registry.host)
    assert (dot / "config.json").is_symlink()
    cfg = json.loads(real.read_text())
    assert fake_registry.host in cfg["auths"] and cfg["psFormat"] == "table {{.ID}}"
    assert real.stat().st_mode & 0o777 == 0o640
    assert (dot / "config.json.tmp").read_text() == "mine"
    assert sorted(p.name for p in dot.iterdir()) == ["config.json", "config.json.tmp"]
    hull.run("pull", f"{fake_registry.host}/x:v1")


def test_basic_auth_registry(hull, auth_registry, tmp_path):
    img = Image([BASE])
    ref = push(auth_registry, tmp_path, "secret/img:v1", img)
    p = hull.run("pull", ref, check=False)
    assert p.returncode == 1 and b"unauthorized" in p.stderr, p.stderr
    p = hull.run("login", "-u", auth_registry.user, "-p", "wrong", auth_registry.host, check=False)
    assert p.returncode == 1 and b"unauthorized" in p.stderr
    out = hull.out("login", "-u", auth_registry.user, "--password-stdin", auth_registry.host,
                   input=auth_registry.password.encode())
    assert "Login Succeeded" in out
    assert (hull.home / ".docker/config.json").stat().st_mode & 0o777 == 0o600
    hull.run("pull", ref)
    assert inspect(hull, ref)["Id"] == img.id
    assert "Removing login credentials" in hull.out("logout", auth_registry.host)


def test_not_found_errors(hull, registry, fake_registry):
    p = hull.run("pull", f"{registry.host}/no/such:tag", check=False)
    assert p.returncode == 1
    assert b"not found" in p.stderr and b"no/such" in p.stderr
    p = hull.run("pull", "UPPER/case", check=False)
    assert p.returncode == 1 and b"lowercase" in p.stderr


def test_unsupported_media_type(hull, fake_registry):
    img = Image([BASE])
    m = json.loads(img.manifest)
    m["layers"][0]["mediaType"] = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
    img.manifest = json.dumps(m).encode()
    fake_registry.add("helm/x", "v1", img)
    p = hull.run("pull", f"{fake_registry.host}/helm/x:v1", check=False)
    assert p.returncode == 1 and b"unsupported layer media type" in p.stderr


def test_dropped_connection_resumes_with_range(hull, fake_registry):
    img = Image([BASE, [("big", os.urandom(200000))]], compression="none")
    fake_registry.add("flaky/img", "v1", img)
    digest = img.layer_descs[1]["digest"]
    fake_registry.flaky.add(digest)
    fake_registry.status_once["/manifests/v1"] = 503
    hull.run("pull", f"{fake_registry.host}/flaky/img:v1")
    assert fake_registry.ranges and fake_registry.ranges[0].startswith("bytes=")
    assert int(fake_registry.ranges[0].split("=")[1].split("-")[0]) > 0
    assert inspect(hull, f"{fake_registry.host}/flaky/img:v1")["Id"] == img.id


def test_rate_limited(hull, fake_registry):
    img = Image([BASE])
    fake_registry.add("busy/img", "v1", img)
    fake_registry.always_status["/manifests/v1"] = 429
    p = hull.run("pull", f"{fake_registry.host}/busy/img:v1", check=False)
    assert p.returncode == 1 and b"toomanyrequests" in p.stderr, p.stderr


BAD_PLATFORMS = ["windows", "linux/", "a/b/c/d", "", "linux/amd64/", "/amd64", "linux/am d64",
                 "linux/\x1b[31m"]


def _shown(platform):
    """The platform as an error message quotes it: control characters escaped."""
    return json.dumps(platform).replace("\\u001b", "\\x1b")


@pytest.mark.parametrize("platform", BAD_PLATFORMS)
def test_invalid_platform_refused_before_any_request(hull, platform):
    """A bad --platform is named and refused before the store opens and before any
    request: nothing listens on the port, so a request would end in a connection error
    (it did: a platform was looked at only in an index, after the manifest came)."""
    ref = f"127.0.0.1:{free_port()}/some/image:1"
    p = hull.run("pull", "--platform", platform, ref, check=False)
    err = p.stderr.decode(errors="replace")
    assert p.returncode == 1, err
    assert f"invalid platform {_shown(platform)}" in err, err
    assert "connect" not in err.lower() and "\x1b" not in err, err
    assert not Path(hull.root).exists()


def test_invalid_platform_sends_no_request(hull, fake_registry):
    fake_registry.add("one/img", "v1", Image([BASE]))
    p = hull.run("pull", "--platform", "windows", f"{fake_registry.host}/one/img:v1",
                 check=False)
    assert p.returncode == 1 and b'invalid platform "windows"' in p.stderr, p.stderr
    assert fake_registry.requests == []
    # A valid one is still taken for an image that is not an index.
    hull.run("pull", "--platform", "LINUX/X86_64", f"{fake_registry.host}/one/img:v1")


@pytest.mark.parametrize("verb", ["create", "run"])
@pytest.mark.parametrize("platform,shown", [
    ("windows", 'invalid --platform "windows"'), ("linux/", 'invalid --platform "linux/"'),
    ("a/b/c/d", 'invalid --platform "a/b/c/d"'), ("linux/s390x", "s390x")])
def test_run_and_create_check_platform_before_pulling(hull, tmp_path, verb, platform, shown):
    """run and create pulled a missing image first and only then refused its platform."""
    ref = f"127.0.0.1:{free_port()}/some/image:1"
    p = hull.run("--run-root", str(tmp_path / "run"), verb, "--network", "none", "--platform",
                 platform, ref, "true", check=False, env={"HULL_DEFAULT_NETWORK": "none"})
    err = p.stderr.decode(errors="replace")
    assert p.returncode == 125, err
    assert shown in err and "connect" not in err.lower(), err


def test_docker_io_through_a_mirror(hull, registry, tmp_path):
    """HULL_REGISTRY_MIRROR serves docker.io names (docker's registry-mirrors): `busybox`
    is fetched from the mirror and stored as docker.io/library/busybox, so a host with
    no route to Docker Hub can still use short names."""
    img = Image([BASE])
    push(registry, tmp_path, "library/mirrored:v1", img)
    mirror = {"HULL_REGISTRY_MIRROR": registry.host}
    hull.run("pull", "mirrored:v1", env=mirror)
    info = inspect(hull, "docker.io/library/mirrored:v1")
    assert info["Id"] == img.id and info["RepoTags"] == ["mirrored:v1"], info
    # Other registries are not redirected: this one is not there.
    p = hull.run("pull", f"127.0.0.1:{free_port()}/library/mirrored:v1", env=mirror,
                 check=False)
    assert p.returncode == 1 and b"mirrored" in p.stderr, p.stderr
    # A mirror that is not a host[:port] is named before any request.
    p = hull.run("pull", "other:v1", env={"HULL_REGISTRY_MIRROR": "http://x/"}, check=False)
    assert p.returncode == 1 and b"HULL_REGISTRY_MIRROR" in p.stderr, p.stderr


def test_platform_checked_against_a_single_platform_image(hull, registry, tmp_path):
    """A single-platform image names its platform only in its config: --platform
    linux/arm64 of an amd64 image stored it as if it matched."""
    img = Image([BASE], arch="amd64")
    ref = push(registry, tmp_path, "single/arch:v1", img)
    p = hull.run("pull", "--platform", "linux/arm64", ref, check=False)
    err = p.stderr.decode()
    assert p.returncode == 1, err
    assert "the image is linux/amd64, not the linux/arm64 asked for" in err, err
    assert images_json(hull) == [] and hull.blobs() == [] and hull.layers() == []
    hull.run("pull", "--platform", "linux/amd64", ref)
    assert inspect(hull, ref)["Architecture"] == "amd64"
    # With the config stored now (read from the store, not fetched): the same answer.
    p = hull.run("pull", "--platform", "linux/arm64", ref, check=False)
    assert p.returncode == 1 and b"not the linux/arm64" in p.stderr, p.stderr


def test_rmi_by_digest_or_tag_removes_that_name_first(hull, registry, tmp_path):
    img = Image([[("d", "by-digest")]])
    ref = push(registry, tmp_path, "dig/img:v1", img)
    hull.run("pull", ref)
    inspect = lambda name: json.loads(hull.out("image", "inspect", name))[0]
    [rd] = inspect(ref)["RepoDigests"]
    hull.run("tag", ref, "other:1")
    # docker: `rmi NAME@DIGEST` untags that digest; the image keeps its tags
    assert hull.out("rmi", rd).splitlines() == [f"Untagged: {rd}"]
    j = inspect(img.id)
    assert j["RepoDigests"] == [] and sorted(j["RepoTags"]) == sorted([ref, "other:1"])
    # the last tag of a repository takes that repository's digests with it
    hull.run("pull", ref)
    assert inspect(ref)["RepoDigests"] == [rd]
    assert hull.out("rmi", ref).splitlines() == [f"Untagged: {ref}", f"Untagged: {rd}"]
    j = inspect("other:1")
    assert j["RepoDigests"] == [] and j["RepoTags"] == ["other:1"]
    # the image goes with its last name
    assert hull.out("rmi", "other:1").splitlines() == ["Untagged: other:1",
                                                        f"Deleted: {img.id}"]
    assert hull.layers() == [] and hull.blobs() == []


def test_pull_all_tags(hull, registry, tmp_path):
    a, b = Image([[("a", "all-1")]]), Image([[("b", "all-2")]])
    push(registry, tmp_path, "all/img:v1", a)
    push(registry, tmp_path, "all/img:v2", b)
    push(registry, tmp_path, "all/img:v2b", b)
    name = f"{registry.host}/all/img"
    p = hull.run("pull", "-a", f"{name}:v1", check=False)
    assert p.returncode == 1 and b"--all-tags" in p.stderr, p.stderr
    out = hull.out("pull", "--all-tags", name).splitlines()
    assert "Using default tag: latest" not in out
    assert [l for l in out if "Pulling from" in l] == \
        ["v1: Pulling from all/img", "v2: Pulling from all/img", "v2b: Pulling from all/img"]
    assert out[-2:] == [f"Status: Downloaded newer image for {name}", name], out
    rows = {(r["Tag"], r["ID"]) for r in images_json(hull) if r["Repository"] == name}
    assert rows == {("v1", a.id[7:19]), ("v2", b.id[7:19]), ("v2b", b.id[7:19])}
    assert hull.out("pull", "-a", "-q", name) == name + "\n"
    out = hull.out("pull", "-a", name).splitlines()
    assert out[-2] == f"Status: Image is up to date for {name}", out


def test_images_shows_a_repository_known_only_by_digest(hull, registry, tmp_path):
    img = Image([[("r", "rows")]])
    ref = push(registry, tmp_path, "rows/img:v1", img)
    hull.run("pull", ref)
    [rd] = json.loads(hull.out("image", "inspect", ref))[0]["RepoDigests"]
    hull.run("rmi", ref)
    hull.run("pull", rd)  # a repo digest, no tag
    hull.run("tag", rd, "other:1")
    repo, digest = rd.split("@")
    # docker: a row per tag, then one per repository the image has only a digest in
    rows = {(r["Repository"], r["Tag"]) for r in images_json(hull)}
    assert rows == {("other", "1"), (repo, "<none>")}, rows
    table = [l.split()[:3] for l in hull.out("images", "--digests").splitlines()[1:]]
    assert sorted(table) == sorted([["other", "1", "<none>"], [repo, "<none>", digest]])
    assert hull.out("images", "-q").split() == [img.id[7:19]]
