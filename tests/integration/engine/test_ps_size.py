"""`hull ps -s`: docker's SIZE column, "12B (virtual 4.26MB)": the bytes of the files the
container wrote (its writable layer) and, in parentheses, those plus its image's."""
import json
import re

from .test_lifecycle import wait_for
from .test_start_path import import_image


def sizes(hull, *args):
    return hull("ps", "-a", *args, "--format", "{{.Names}} {{.Size}}").stdout


def test_ps_size_as_docker(hull):
    import_image(hull, "sized:1")
    image_size = hull("images", "--format", "{{.Size}}", "sized:1").stdout.strip()
    hull("run", "-d", "--name", "writer", "sized:1", "sh", "-c",
         "head -c 12 /dev/zero > /twelve; ln /twelve /same; sync; sleep 1000")
    hull("create", "--name", "fresh", "sized:1", "true")
    # The writable layer: 12 bytes (a hard link counted once); virtual adds the image.
    assert wait_for(lambda: "writer 12B " in sizes(hull, "-s")), sizes(hull, "-s")
    line = [l for l in sizes(hull, "-s").splitlines() if l.startswith("writer ")][0]
    assert re.fullmatch(r"writer 12B \(virtual (\S+)\)", line), line
    assert line.endswith(f"(virtual {image_size})"), (line, image_size)
    # Created, never started: nothing written yet.
    assert f"fresh 0B (virtual {image_size})" in sizes(hull, "-s")
    # docker's default table grows a SIZE column with -s, only then.
    table = hull("ps", "-s").stdout.splitlines()
    assert table[0].split()[-1] == "SIZE" and table[1].endswith(line[len("writer "):]), table
    assert "SIZE" not in hull("ps").stdout.splitlines()[0]
    # A template that shows .Size asks for sizes (unless --size=false); json only with -s.
    assert "writer 12B (virtual" in sizes(hull)
    assert "writer 0B\n" in sizes(hull, "--size=false")
    rows = [json.loads(l) for l in hull("ps", "--format", "json").stdout.splitlines()]
    assert rows[0]["Size"] == "0B", rows
    rows = [json.loads(l) for l in hull("ps", "-s", "--format", "json").stdout.splitlines()]
    assert rows[0]["Size"] == line[len("writer "):], rows
    # Stopped, the layer is still there and still counted.
    hull("stop", "-t", "0", "writer")
    assert line in sizes(hull, "-s")
    hull("rm", "writer", "fresh")
    hull("rmi", "sized:1")


def test_ps_size_of_a_rootfs_directory(hull):
    # --rootfs DIR is written in place: no layer of its own, the directory is the whole.
    hull.run("-d", "--name", "dir", "--", "sleep", "1000")
    line = sizes(hull, "-s").strip()
    assert re.fullmatch(r"dir 0B \(virtual [0-9.]+[kM]B\)", line), line
    hull("rm", "-f", "dir")


def test_inspect_size_as_docker(hull):
    # inspect -s: docker's SizeRw (the writable layer's bytes) and SizeRootFs (those and
    # the image's), the sizes ps -s shows; without -s the fields are absent.
    import_image(hull, "sized:2")
    hull("run", "-d", "--name", "big", "sized:2", "sh", "-c",
         "head -c 100000 /dev/zero > /blob; sync; sleep 1000")
    hull("create", "--name", "idle", "sized:2", "true")
    inspect_s = lambda ref: json.loads(hull("inspect", "-s", ref).stdout)[0]
    assert wait_for(lambda: inspect_s("big")["SizeRw"] >= 100000), inspect_s("big")
    j = inspect_s("big")
    idle = json.loads(hull("inspect", "--size", "idle").stdout)[0]
    assert idle["SizeRw"] == 0 and idle["SizeRootFs"] > 0, idle
    # The whole is the layer and the image (the created container's whole is the image).
    assert j["SizeRootFs"] == j["SizeRw"] + idle["SizeRootFs"], (j["SizeRootFs"], j["SizeRw"])
    plain = hull.inspect("big")
    assert "SizeRw" not in plain and "SizeRootFs" not in plain
    assert hull("inspect", "-s", "-f", "{{.SizeRw}}", "big").stdout.strip() == str(j["SizeRw"])
    # Several at once, an unknown one among them: the others still shown, exit 1.
    p = hull("inspect", "-s", "big", "nosuch", "idle", check=False)
    assert p.returncode == 1 and "nosuch" in p.stderr
    assert [o["Name"] for o in json.loads(p.stdout)] == ["/big", "/idle"]
    hull("rm", "-f", "big", "idle")
    hull("rmi", "sized:2")
