"""Exit statuses of the verbs that list, inspect and remove images, networks and volumes
(and tag, port, image prune), as docker's CLI has them: a request that fails exits 1 (the daemon refused it: no such image, an
unknown filter, a bad template); only what the CLI's own flag parser refuses (an
unknown flag, a --filter without '=', a --label with no key) exits 125. run and create
keep 125 for every error of the engine."""
from .test_start_path import import_image


def status(hull, *args):
    p = hull(*args, check=False)
    assert p.stderr.strip(), (args, p.stderr)
    return p.returncode


def test_ps_exit_status_as_docker(hull):
    assert status(hull, "ps", "-f", "colour=red") == 1
    assert status(hull, "ps", "-a", "-f", "status=sleepy") == 1
    assert status(hull, "ps", "-f", "name=(") == 1
    assert status(hull, "ps", "--format", "{{.Nope") == 1
    assert status(hull, "ps", "-f", "colour") == 125
    assert status(hull, "ps", "--no-such-flag") == 125
    assert status(hull, "ps", "-n", "many") == 125


def test_images_and_rmi_exit_status_as_docker(hull):
    for ls in (["images"], ["image", "ls"]):
        assert status(hull, *ls, "-f", "colour=red") == 1
        assert status(hull, *ls, "-f", "dangling=maybe") == 1
        assert status(hull, *ls, "-f", "before=no-such-image") == 1
        assert status(hull, *ls, "--format", "{{.Nope") == 1
        assert status(hull, *ls, "-f", "dangling") == 125
        assert status(hull, *ls, "--no-such-flag") == 125
    for rm in (["rmi"], ["image", "rm"]):
        assert status(hull, *rm, "no-such-image") == 1
        assert status(hull, *rm, "--no-such-flag", "x") == 125
    # In use by a container: refused with 1; the other images named are still removed.
    import_image(hull, "used:1")
    import_image(hull, "spare:1")
    hull("create", "--name", "user", "used:1", "true")
    p = hull("rmi", "used:1", "spare:1", check=False)
    assert p.returncode == 1 and "used" in p.stderr, p
    assert "spare:1" not in hull("images", "--format", "{{.Repository}}:{{.Tag}}").stdout
    hull("rm", "user")
    hull("rmi", "used:1")


def test_network_exit_status_as_docker(hull):
    # None of these reaches the host's network: each fails on the records alone.
    assert status(hull, "network", "inspect", "no-such-net") == 1
    assert status(hull, "network", "rm", "no-such-net") == 1
    assert status(hull, "network", "ls", "-f", "colour=red") == 1
    assert status(hull, "network", "ls", "-f", "type=odd") == 1
    assert status(hull, "network", "ls", "--format", "{{.Nope") == 1
    assert status(hull, "network", "connect", "no-such-net", "no-such-container") == 1
    assert status(hull, "network", "disconnect", "no-such-net", "no-such-container") == 1
    assert status(hull, "network", "ls", "-f", "colour") == 125
    assert status(hull, "network", "create", "--label", "=x", "n") == 125
    assert status(hull, "network", "ls", "--no-such-flag") == 125
    assert "n" not in hull("network", "ls", "--format", "{{.Name}}").stdout.split()


def test_volume_tag_port_inspect_prune_exit_status_as_docker(hull):
    assert status(hull, "volume", "inspect", "no-such-vol") == 1
    assert status(hull, "volume", "rm", "no-such-vol") == 1
    assert status(hull, "volume", "ls", "-f", "colour=red") == 1
    assert status(hull, "volume", "create", "-d", "nfs", "v1") == 1
    assert status(hull, "volume", "ls", "-f", "colour") == 125
    assert status(hull, "volume", "prune", "-f", "--filter", "label") == 125
    assert status(hull, "tag", "no-such-image", "x:1") == 1
    assert status(hull, "port", "no-such-container") == 1
    assert status(hull, "inspect", "no-such-thing") == 1
    assert status(hull, "image", "inspect", "no-such-image") == 1
    assert status(hull, "image", "prune", "-f", "--filter", "colour=red") == 1
    assert status(hull, "image", "prune", "-f", "--filter", "colour") == 125
    assert status(hull, "tag", "--no-such-flag", "a", "b") == 125


def test_pull_import_load_save_exit_status_as_docker(hull, tmp_path):
    # None of these reaches a registry: a bad name, a missing file, an unknown image.
    assert status(hull, "pull", "UPPER/case") == 1
    assert status(hull, "import", str(tmp_path / "missing.tar"), "x:1") == 1
    assert status(hull, "load", "-i", str(tmp_path / "missing.tar")) == 1
    assert status(hull, "save", "-o", str(tmp_path / "out.tar"), "no-such-image") == 1
    assert status(hull, "pull", "--no-such-flag", "busybox") == 125


def test_run_and_create_keep_125(hull):
    assert status(hull, "run", "--pull", "never", "no-such-image-here") == 125
    assert status(hull, "create", "--pull", "never", "no-such-image-here") == 125
    assert status(hull, "run", "--no-such-flag", *hull.image) == 125
