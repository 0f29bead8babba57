"""`hull volume create|ls|inspect|rm|prune` as docker's local driver, and the life of
anonymous volumes: `rm -v` and `run --rm` remove them (docker's "and its anonymous
volumes"), named ones stay; a volume in use is not removed."""
import json
import os


def names(hull, *flags):
    return hull("volume", "ls", "-q", *flags).stdout.split()


def test_create_ls_inspect_rm(hull):
    assert hull("volume", "create", "data1").stdout.strip() == "data1"
    # Again: the same volume, no error (docker's).
    assert hull("volume", "create", "data1").stdout.strip() == "data1"
    hull("volume", "create", "--label", "tier=db", "-l", "keep", "data2")
    anon = hull("volume", "create").stdout.strip()
    assert len(anon) == 64
    assert set(names(hull)) == {"data1", "data2", anon}

    table = hull("volume", "ls").stdout.splitlines()
    assert table[0].split() == ["DRIVER", "VOLUME", "NAME"]
    assert "local" in table[1]

    [d1, d2] = json.loads(hull("volume", "inspect", "data1", "data2").stdout)
    assert d1["Name"] == "data1" and d1["Driver"] == "local" and d1["Scope"] == "local"
    assert d1["Mountpoint"] == os.path.join(hull.root, "volumes", "data1", "_data")
    assert os.path.isdir(d1["Mountpoint"])
    assert d1["Labels"] is None
    assert d2["Labels"] == {"tier": "db", "keep": ""}
    assert d1["CreatedAt"].endswith("Z")
    [a] = json.loads(hull("volume", "inspect", anon).stdout)
    assert a["Labels"] == {"com.docker.volume.anonymous": ""}
    assert hull("volume", "inspect", "-f", "{{.Name}} {{.Driver}}", "data2").stdout == \
        "data2 local\n"

    # Filters: label, label!, name (a regular expression), dangling.
    assert names(hull, "--filter", "label=tier=db") == ["data2"]
    # Label values must all hold (docker's MatchKVList), unlike other keys' values.
    assert names(hull, "-f", "label=tier=db", "-f", "label=keep") == ["data2"]
    assert names(hull, "-f", "label=tier=db", "-f", "label=nosuch") == []
    p = hull("volume", "ls", "-f", "dangling=true", "-f", "dangling=false", check=False)
    assert p.returncode == 1 and "true and false both given" in p.stderr
    assert set(names(hull, "--filter", "label!=tier")) == {"data1", anon}
    assert names(hull, "-f", "name=^data1$") == ["data1"]
    assert len(names(hull, "-f", "dangling=true")) == 3
    p = hull("volume", "ls", "-f", "bogus=1", check=False)
    assert p.returncode == 1 and "bogus" in p.stderr

    # rm: each name, an error for one missing but the others still removed, exit 1.
    p = hull("volume", "rm", "data1", "nosuchvol", "data2", check=False)
    assert p.returncode == 1
    assert p.stdout.split() == ["data1", "data2"]
    assert "nosuchvol" in p.stderr and "no such volume" in p.stderr
    assert not os.path.exists(os.path.join(hull.root, "volumes", "data1"))
    assert hull("volume", "rm", "-f", "nosuchvol").returncode == 0
    hull("volume", "rm", anon)
    assert names(hull) == []
    p = hull("volume", "inspect", "data1", check=False)
    assert p.returncode == 1 and "data1" in p.stderr


def test_bad_names_and_options(hull):
    for bad, why in (("x", "too short"), ("_ab", "invalid characters"),
                     ("a b", "invalid characters"), ("a@b", "invalid characters")):
        p = hull("volume", "create", bad, check=False)
        assert p.returncode == 1 and why in p.stderr, (bad, p.stderr)
    p = hull("run", "--rm", "-v", "x:/data", *hull.image, "true", check=False)
    assert p.returncode == 125 and "too short" in p.stderr
    p = hull("volume", "create", "-d", "nfs", "v1", check=False)
    assert p.returncode == 1 and "nfs" in p.stderr
    p = hull("volume", "create", "-o", "type=tmpfs", "v1", check=False)
    assert p.returncode == 1 and "--opt" in p.stderr
    assert names(hull) == []
    assert hull.ids() == []


def test_in_use_volume_is_not_removed(hull):
    hull("create", "--name", "user1", "-v", "shared:/data", *hull.image, "true")
    p = hull("volume", "rm", "shared", check=False)
    assert p.returncode == 1 and "in use" in p.stderr
    cid = hull.inspect("user1")["Id"]
    assert cid in p.stderr
    assert names(hull, "-f", "dangling=false") == ["shared"]
    # prune -a spares it too, while a container (even a stopped one) mounts it.
    assert "shared" not in hull("volume", "prune", "-a", "-f").stdout
    hull("rm", "user1")
    assert names(hull, "-f", "dangling=true") == ["shared"]
    hull("volume", "rm", "shared")


def test_rm_v_and_run_rm_remove_anonymous_volumes_only(hull):
    # A named volume whose name looks like an anonymous one (64 hex digits) stays.
    lookalike = "ab" * 32
    hull("run", "--name", "c1", "-v", "/anon", "-v", "named1:/named", "-v", f"{lookalike}:/l",
         *hull.image, "sh", "-c", "echo x > /anon/f; echo y > /named/f")
    anon = [m["Name"] for m in hull.inspect("c1")["Mounts"] if m["Destination"] == "/anon"][0]
    assert set(names(hull)) == {anon, "named1", lookalike}
    hull("rm", "-v", "c1")
    assert set(names(hull)) == {"named1", lookalike}
    assert not os.path.exists(os.path.join(hull.root, "volumes", anon))

    # Without -v the anonymous volume stays (docker's).
    hull("run", "--name", "c2", "-v", "/anon", *hull.image, "true")
    [anon2] = [n for n in names(hull) if n not in ("named1", lookalike)]
    hull("rm", "c2")
    assert anon2 in names(hull)

    # run --rm removes its anonymous volumes as it removes the container.
    p = hull("run", "--rm", "-v", "/scratch", "-v", "named1:/named", *hull.image, "cat",
             "/named/f")
    assert p.stdout == "y\n"
    assert set(names(hull)) == {"named1", lookalike, anon2}

    # volume prune: unused anonymous volumes only; -a all unused ones.
    p = hull("volume", "prune", "-f")
    assert p.stdout.splitlines()[:2] == ["Deleted Volumes:", anon2]
    assert p.stdout.splitlines()[-1].startswith("Total reclaimed space: ")
    assert set(names(hull)) == {"named1", lookalike}
    p = hull("volume", "prune", "-f", "--filter", "label=nosuch", "-a")
    assert set(names(hull)) == {"named1", lookalike}
    p = hull("volume", "prune", "-a", "-f")
    assert "named1" in p.stdout and "Total reclaimed space: 2B" in p.stdout
    assert names(hull) == []


def test_system_prune_volumes(hull):
    """system prune --volumes: the unused anonymous volumes too; named ones stay."""
    hull("run", "--name", "s1", "-v", "/anon", "-v", "kept1:/k", *hull.image, "true")
    [anon] = [n for n in names(hull) if n != "kept1"]
    p = hull("system", "prune", "-f")
    assert "Deleted Volumes" not in p.stdout and anon in names(hull)
    hull("create", "--name", "s2", "-v", f"{anon}:/again", *hull.image, "true")
    hull("system", "prune", "-f", "--volumes")  # s2 is removed first, then the volume
    assert names(hull) == ["kept1"]
    hull("volume", "rm", "kept1")
