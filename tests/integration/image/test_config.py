"""hull.json, the engine's configuration file (--config FILE or HULL_CONFIG): the default
registry of short names, registry-mirrors for docker.io, data-root, what `hull info` shows,
and the errors of a bad file. Against the session's docker-registry on 127.0.0.1 and the
fake registry; docker.io itself stays the closed port HULL_REGISTRY_MIRROR names."""
import json
import os
import subprocess

import pytest

from .conftest import Image, write_layout

BASE = [("bin/", None), ("bin/sh", "#!/bin/true\n"), ("etc/", None), ("etc/os", "cfg\n")]


def push(registry, tmp_path, name, img=None):
    img = img or Image([BASE])
    layout = write_layout(tmp_path / f"layout-{name.replace('/', '_').replace(':', '_')}",
                          {"t": img})
    return registry.push(layout, "t", name), img


def config(tmp_path, text, name="hull.json"):
    """A configuration file: text as is, or a dict as JSON."""
    p = tmp_path / name
    p.write_text(text if isinstance(text, str) else json.dumps(text))
    return str(p)


def image_id(hull, name, *pre, env=None):
    p = hull.run(*pre, "image", "inspect", "-f", "{{.Id}}", name, check=False, env=env)
    return p.stdout.decode().strip() if p.returncode == 0 else None


def test_default_registry_names_short_names(hull, registry, tmp_path):
    """A short name is the default registry's; library/ is docker.io's rule only. The
    verbs that take a name resolve it there too (inspect, tag, images, rmi)."""
    _, img = push(registry, tmp_path, "cfgshort:v1")
    push(registry, tmp_path, "library/cfglib:v1")
    cfg = config(tmp_path, {"default-registry": registry.host})
    out = hull.out("--config", cfg, "pull", "cfgshort:v1")
    assert out.strip().splitlines()[-1] == f"{registry.host}/cfgshort:v1", out
    assert image_id(hull, f"{registry.host}/cfgshort:v1") == img.id
    assert image_id(hull, "cfgshort:v1", "--config", cfg) == img.id
    # HULL_CONFIG names the file as --config does.
    assert image_id(hull, "cfgshort:v1", env={"HULL_CONFIG": cfg}) == img.id
    # Without the file the short name is docker.io's, which has no such image.
    assert image_id(hull, "cfgshort:v1") is None
    rows = [json.loads(l) for l in
            hull.out("--config", cfg, "images", "--format", "json", "cfgshort").splitlines()]
    assert [(r["Repository"], r["Tag"]) for r in rows] == [(f"{registry.host}/cfgshort", "v1")]
    hull.run("--config", cfg, "tag", "cfgshort:v1", "cfgshort:v2")
    assert image_id(hull, f"{registry.host}/cfgshort:v2") == img.id
    hull.run("--config", cfg, "rmi", "cfgshort:v2")
    assert image_id(hull, f"{registry.host}/cfgshort:v2") is None
    # No library/ in front: library/cfglib is there, cfglib is not.
    p = hull.run("--config", cfg, "pull", "cfglib:v1", check=False)
    assert p.returncode == 1 and f"{registry.host}/cfglib".encode() in p.stderr, p.stderr
    hull.run("--config", cfg, "pull", "-q", "library/cfglib:v1")
    assert image_id(hull, f"{registry.host}/library/cfglib:v1")


def test_default_registry_for_create(hull, registry, tmp_path):
    """create (and run, the same code) pulls a missing short name from the default
    registry."""
    _, img = push(registry, tmp_path, "cfgrun/create:v1")
    cfg = config(tmp_path, {"default-registry": registry.host})
    run_root = str(tmp_path / "run")
    p = hull.run("--config", cfg, "--run-root", run_root, "create", "--network", "none",
                 "--name", "cfg-create", "cfgrun/create:v1", check=False)
    try:
        assert p.returncode == 0, p.stderr.decode()
        assert image_id(hull, f"{registry.host}/cfgrun/create:v1") == img.id
        c = json.loads(hull.out("--run-root", run_root, "inspect", "cfg-create"))[0]
        assert c["Image"] == img.id, c
    finally:
        hull.run("--run-root", run_root, "rm", "-f", "cfg-create", check=False)


def test_registry_mirrors_are_tried_in_order_before_docker_io(hull, registry, fake_registry,
                                                             tmp_path):
    """docker.io names go to each registry-mirrors URL in turn: the first (the fake
    registry, without the image) answers 404 and the next one has it. Names stay
    docker.io's."""
    _, img = push(registry, tmp_path, "library/cfgmirror:v1")
    cfg = config(tmp_path, {"registry-mirrors": [f"http://{fake_registry.host}/",
                                                 f"http://{registry.host}"]})
    hull.run("--config", cfg, "pull", "-q", "cfgmirror:v1")
    assert image_id(hull, "docker.io/library/cfgmirror:v1") == img.id
    info = json.loads(hull.out("image", "inspect", "cfgmirror:v1"))[0]
    assert info["RepoTags"] == ["cfgmirror:v1"], info
    assert ("GET", "/v2/library/cfgmirror/manifests/v1") in fake_registry.requests
    # Another registry's names are not mirrored.
    fake_registry.requests.clear()
    other, _ = push(registry, tmp_path, "cfg/other:v1")
    hull.run("--config", cfg, "pull", "-q", other)
    assert fake_registry.requests == []


def test_hull_registry_mirror_stands_for_docker_io_after_the_mirrors(hull, registry,
                                                                     fake_registry, tmp_path):
    """HULL_REGISTRY_MIRROR takes docker.io's place, after the file's mirrors: so with it
    set, nothing ever reaches docker.io (the test suites rely on that)."""
    _, img = push(registry, tmp_path, "library/cfgenv:v1")
    cfg = config(tmp_path, {"registry-mirrors": [f"http://{fake_registry.host}"]})
    hull.run("--config", cfg, "pull", "-q", "cfgenv:v1",
             env={"HULL_REGISTRY_MIRROR": registry.host})
    assert image_id(hull, "docker.io/library/cfgenv:v1") == img.id
    assert ("GET", "/v2/library/cfgenv/manifests/v1") in fake_registry.requests
    # All fail: the last error, and the mirrors' after it.
    p = hull.run("--config", cfg, "pull", "cfgnone:v1",
                 env={"HULL_REGISTRY_MIRROR": fake_registry.host}, check=False)
    err = p.stderr.decode()
    assert p.returncode == 1, err
    assert f"registry mirrors tried first: http://{fake_registry.host}: " in err, err


def test_data_root_is_the_default_store(hull, registry, tmp_path):
    """"data-root" is --root's default; --root (and HULL_ROOT) still win."""
    ref, img = push(registry, tmp_path, "cfg/dataroot:v1")
    store = tmp_path / "data-root"
    cfg = config(tmp_path, {"data-root": str(store)})
    env = dict(os.environ, HOME=str(hull.home), HULL_CONFIG=cfg)
    env.pop("HULL_ROOT", None)
    p = subprocess.run([hull.binary, "pull", "-q", ref], env=env, capture_output=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    assert (store / "blobs/sha256" / img.id[7:]).exists()
    p = subprocess.run([hull.binary, "--run-root", str(tmp_path / "run"), "info"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and f"Hull Root Dir: {store}\n" in p.stdout, p
    # --root wins: that store has no image.
    assert image_id(hull, ref, "--config", cfg) is None


def test_info_shows_the_registries(hull, tmp_path):
    cfg = config(tmp_path, {"default-registry": "reg.example:5000",
                            "insecure-registries": ["myreg:5000", "10.0.0.0/8"],
                            "registry-mirrors": ["https://mirror.example"]})
    out = hull.out("--config", cfg, "--run-root", str(tmp_path / "run"), "info",
                   env={"HULL_REGISTRY_MIRROR": "127.0.0.1:9"})
    assert f"Config File: {cfg}\n" in out, out
    assert "Default Registry: reg.example:5000\n" in out, out
    assert ("Insecure Registries:\n myreg:5000\n 10.0.0.0/8\n 127.0.0.0/8\n ::1/128\n"
            "Registry Mirrors:\n https://mirror.example/\n"
            " 127.0.0.1:9 (HULL_REGISTRY_MIRROR: in place of docker.io)\n") in out, out
    # No file given and none at the default path of this test's HOME... as root the
    # default is /etc/hull/hull.json; the defaults are docker's.
    out = hull.out("--run-root", str(tmp_path / "run"), "info")
    assert "Default Registry: docker.io\n" in out, out


BAD = [
    ('{\n  "default-registry": "x",\n  oops\n}', ["malformed JSON at byte 32", "line 3, column 3"]),
    ('{"registry-mirror": ["http://m"]}', ['unknown key "registry-mirror"']),
    ('{"insecure-registries": "myreg:5000"}',
     ['"insecure-registries" must be an array of strings, not a string']),
    ('{"insecure-registries": ["10.0.0.0/33"]}',
     ['"insecure-registries"[0]: insecure registry "10.0.0.0/33"', 'prefix "33" is not 0-32']),
    ('{"insecure-registries": ["bad host"]}', ['insecure registry "bad host" is not host[:port]']),
    ('{"default-registry": "reg..example"}', ['"default-registry" "reg..example" is not host']),
    ('{"registry-mirrors": ["mirror.example"]}', ['is not an http:// or https:// URL']),
    ('{"data-root": 7}', ['"data-root" must be a string, not a number']),
]


@pytest.mark.parametrize("verb", ["pull", "run", "create", "images"])
@pytest.mark.parametrize("text,wants", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_config_is_named_and_nothing_runs(hull, tmp_path, verb, text, wants):
    """A bad file stops every command before it acts, naming the file and what is wrong:
    exit 125, as hull's other errors before a verb runs (and run's and create's)."""
    cfg = config(tmp_path, text)
    args = {"pull": ["pull", "busybox"], "images": ["images"],
            "run": ["run", "--rm", "--network", "none", "busybox", "true"],
            "create": ["create", "--network", "none", "busybox", "true"]}[verb]
    p = hull.run("--config", cfg, "--run-root", str(tmp_path / "run"), *args, check=False)
    err = p.stderr.decode()
    assert p.returncode == 125, err
    assert err.startswith(f"{cfg}: "), err
    for w in wants:
        assert w in err, err
    assert not (tmp_path / "root").exists()  # the store was not even opened


def test_config_file_given_must_exist(hull, tmp_path):
    missing = str(tmp_path / "nope.json")
    for pre, env in ((["--config", missing], None), ([], {"HULL_CONFIG": missing})):
        p = hull.run(*pre, "images", check=False, env=env)
        assert p.returncode == 125, p.stderr
        assert f"configuration file {missing}: no such file or directory" in p.stderr.decode()
    # Not a regular file: refused, a FIFO without hanging.
    os.mkfifo(tmp_path / "fifo")
    for path in (str(tmp_path), str(tmp_path / "fifo")):
        p = hull.run("--config", path, "images", check=False)
        assert p.returncode == 125 and b"is not a regular file" in p.stderr, p.stderr
    # An empty HULL_CONFIG is unset: the default file, which need not exist.
    hull.run("images", env={"HULL_CONFIG": ""})
