"""hull run/create flags, each checked from inside the container or in the spec."""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile

import pytest


def out(p):
    return p.stdout.strip()


def test_env_flags(hull, tmp_path):
    envfile = tmp_path / "env"
    envfile.write_text("# comment\nFROM_FILE=1\nOVERRIDE=file\n")
    hull.env["FROM_CALLER"] = "caller-value"
    p = hull.run("-e", "A=1", "-e", "FROM_CALLER", "-e", "NOT_SET_ANYWHERE",
                 "--env-file", str(envfile), "-e", "OVERRIDE=flag", "--", "env")
    env = dict(l.split("=", 1) for l in p.stdout.splitlines() if "=" in l)
    assert env["A"] == "1"
    assert env["FROM_CALLER"] == "caller-value"
    assert "NOT_SET_ANYWHERE" not in env
    assert env["FROM_FILE"] == "1"
    assert env["OVERRIDE"] == "flag"
    assert env["PATH"].startswith("/usr/local/sbin")
    assert "HOSTNAME" in env


def test_env_file_as_docker(hull, tmp_path):
    """--env-file read as docker reads it: CRLF line ends and a byte order mark are not
    part of the names and values, leading blanks go, a value keeps its trailing blanks,
    and a name with a blank in it is an error naming the file and line."""
    envfile = tmp_path / "env"
    envfile.write_bytes(b"\xef\xbb\xbfFIRST=1\r\nCRLF=value\r\n  INDENTED=x\n"
                        b"SPACES=  kept  \n\t# comment\n\nFROM_CALLER\r\n")
    hull.env["FROM_CALLER"] = "caller"
    p = hull.run("--env-file", str(envfile), "--", "env")
    env = dict(l.split("=", 1) for l in p.stdout.split("\n") if "=" in l)
    assert env["FIRST"] == "1"
    assert env["CRLF"] == "value"
    assert env["INDENTED"] == "x"
    assert env["SPACES"] == "  kept  "
    assert env["FROM_CALLER"] == "caller"
    bad = tmp_path / "bad"
    bad.write_text("GOOD=1\nexport BAD=1\n")
    p = hull.run("--env-file", str(bad), "--", "true", check=False)
    assert p.returncode == 125, p.stderr
    assert "export BAD" in p.stderr and "line 2" in p.stderr
    assert hull.ids() == []


def test_workdir_entrypoint_hostname(hull):
    assert out(hull.run("-w", "/tmp", "--", "pwd")) == "/tmp"
    assert out(hull.run("--entrypoint", "/bin/echo", "--", "hi", "there")) == "hi there"
    assert out(hull.run("-h", "box", "--", "hostname")) == "box"
    assert out(hull.run("-h", "box", "--", "cat", "/etc/hostname")) == "box"
    # The default host name is the short id.
    cid = out(hull.create("--", "hostname"))
    # wait on a container never started returns at once with 0 (docker's "not-running").
    assert out(hull("wait", cid, timeout=10)) == "0"
    p = hull("start", "-a", cid)
    assert out(p) == cid[:12]
    hull("rm", cid)


def test_user_from_image_passwd(hull):
    assert out(hull.run("-u", "daemon", "--", "id", "-u")) == "1"
    assert out(hull.run("-u", "daemon", "--", "id", "-g")) == "1"
    assert out(hull.run("-u", "1234:4321", "--", "id")) .startswith("uid=1234 gid=4321")
    assert out(hull.run("-u", "nobody:tty", "--", "id", "-g")) == "5"
    p = hull.run("-u", "nosuchuser", "--", "true", check=False)
    assert p.returncode != 0
    assert "nosuchuser" in p.stderr
    assert hull.ids() == []


def groups_of(status):
    uid = int(re.search(r"Uid:\s+(\d+)", status).group(1))
    gid = int(re.search(r"Gid:\s+(\d+)", status).group(1))
    groups = sorted(int(g) for g in re.search(r"Groups:([^\n]*)", status).group(1).split())
    return uid, gid, groups


def users_rootfs(hull, tmp_path):
    """The test rootfs with alice (1000) in groups staff (50) and extra (60), daemon in staff,
    root in wheel (10)."""
    rootfs = tmp_path / "rootfs"
    shutil.copytree(hull.rootfs, rootfs, symlinks=True)
    rootfs.chmod(0o755)  # a mkdtemp copy: other users could not reach /proc
    with open(rootfs / "etc" / "passwd", "a") as f:
        f.write("alice:x:1000:1000:alice:/home/alice:/bin/sh\n")
    with open(rootfs / "etc" / "group", "a") as f:
        f.write("alice:x:1000:\nstaff:x:50:alice,daemon\nextra:x:60:alice\nwheel:x:10:root\n")
    return rootfs


def test_user_groups_as_docker(hull, tmp_path):
    """-u as docker resolves it (runc's GetExecUser): a uid without a passwd entry gets gid
    0; a uid with one is that user, /etc/group memberships included; a group given
    replaces the memberships; no -u is uid 0's entry, memberships included. The primary
    gid is always among the supplementary groups (moby since 23.0.3: without it, a file
    whose group is denied access could be read once the process left that group). The
    same for exec, with -u or without."""
    rootfs = users_rootfs(hull, tmp_path)

    def user(*flags):
        p = hull("run", "--rm", *flags, "--rootfs", str(rootfs), "cat", "/proc/self/status")
        return groups_of(p.stdout)

    assert user() == (0, 0, [0, 10])
    assert user("-u", "1234") == (1234, 0, [0])
    assert user("-u", "1234:4321") == (1234, 4321, [4321])
    assert user("-u", "alice") == (1000, 1000, [50, 60, 1000])
    assert user("-u", "1000") == (1000, 1000, [50, 60, 1000])
    assert user("-u", "1") == (1, 1, [1, 50])
    assert user("-u", "alice:staff") == (1000, 50, [50])
    assert user("-u", "1000:60") == (1000, 60, [60])
    hull("run", "-d", "--name", "grp", "--rootfs", str(rootfs), "sleep", "1000")
    p = hull("exec", "-u", "1000", "grp", "cat", "/proc/self/status")
    assert groups_of(p.stdout) == (1000, 1000, [50, 60, 1000])
    p = hull("exec", "-u", "4321", "grp", "cat", "/proc/self/status")
    assert groups_of(p.stdout) == (4321, 0, [0])
    p = hull("exec", "grp", "cat", "/proc/self/status")
    assert groups_of(p.stdout) == (0, 0, [0, 10])
    hull("rm", "-f", "grp")
    # create, then start: resolved when the container starts, the same way.
    img = hull("create", "-u", "alice", "--rootfs", str(rootfs), "cat", "/proc/self/status")
    assert groups_of(hull("start", "-a", img.stdout.strip()).stdout) == (1000, 1000,
                                                                        [50, 60, 1000])
    hull("rm", img.stdout.strip())


def test_group_add(hull, tmp_path):
    """--group-add NAME|GID (docker's): a name of the image's /etc/group or any number,
    added to the user's groups in run, start and exec; an unknown name is an error."""
    rootfs = users_rootfs(hull, tmp_path)
    p = hull("run", "--rm", "--group-add", "staff", "--group-add", "4242", "--rootfs",
             str(rootfs), "cat", "/proc/self/status")
    assert groups_of(p.stdout) == (0, 0, [0, 10, 50, 4242])
    p = hull("run", "--rm", "-u", "alice", "--group-add", "tty", "--rootfs", str(rootfs),
             "cat", "/proc/self/status")
    assert groups_of(p.stdout) == (1000, 1000, [5, 50, 60, 1000])
    hull("run", "-d", "--name", "ga", "--group-add", "extra", "--rootfs", str(rootfs),
         "sleep", "1000")
    p = hull("exec", "-u", "daemon", "ga", "cat", "/proc/self/status")
    assert groups_of(p.stdout) == (1, 1, [1, 50, 60])
    hull("rm", "-f", "ga")
    p = hull("run", "--rm", "--group-add", "nosuchgroup", "--rootfs", str(rootfs), "true",
             check=False)
    assert p.returncode == 125 and "nosuchgroup" in p.stderr
    assert hull.ids() == []


def test_generated_files(hull):
    hosts = hull.run("--", "cat", "/etc/hosts").stdout
    assert "localhost" in hosts
    resolv = hull.run("--", "cat", "/etc/resolv.conf").stdout
    assert "nameserver" in resolv
    assert not re.search(r"nameserver\s+127\.", resolv)
    mounts = hull.run("--", "cat", "/proc/mounts").stdout
    assert re.search(r"shm /dev/shm tmpfs \S*size=65536k", mounts), mounts
    mounts = hull.run("--shm-size", "128m", "--", "cat", "/proc/mounts").stdout
    assert re.search(r"/dev/shm tmpfs \S*size=131072k", mounts), mounts


def test_volumes_and_mounts(hull, tmp_path):
    (tmp_path / "f").write_text("from-host\n")
    assert out(hull.run("-v", f"{tmp_path}:/data", "--", "cat", "/data/f")) == "from-host"
    hull.run("-v", f"{tmp_path}:/data", "--", "sh", "-c", "echo new > /data/g")
    assert (tmp_path / "g").read_text() == "new\n"
    p = hull.run("-v", f"{tmp_path}:/data:ro", "--", "sh", "-c", "echo x > /data/h", check=False)
    assert p.returncode != 0
    assert not (tmp_path / "h").exists()
    assert out(hull.run("--mount", f"type=bind,source={tmp_path},target=/m,readonly", "--",
                        "cat", "/m/f")) == "from-host"
    # Named volumes outlive their container.
    hull.run("-v", "vol1:/v", "--", "sh", "-c", "echo kept > /v/x")
    assert out(hull.run("-v", "vol1:/v", "--", "cat", "/v/x")) == "kept"
    assert os.path.exists(os.path.join(hull.root, "volumes", "vol1", "_data", "x"))
    mounts = hull.run("--tmpfs", "/scratch:size=1m", "--", "cat", "/proc/mounts").stdout
    assert re.search(r"tmpfs /scratch tmpfs \S*size=1024k", mounts), mounts
    mounts = hull.run("--mount", "type=tmpfs,target=/t2", "--", "cat", "/proc/mounts").stdout
    assert " /t2 tmpfs " in mounts


def test_mount_paths_as_docker(hull, tmp_path):
    """A relative bind source is the caller's directory, as docker's CLI makes it (`-v
    .:/src`, `-v ./data:/data`, `--mount type=bind,src=..`); a destination is cleaned
    ("/d/" is "/d"); "/" is refused as a destination."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "f").write_text("in-data\n")
    (tmp_path / "top").write_text("at-top\n")

    def run_in(cwd, *args):
        p = hull.popen("run", "--rm", *args, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, cwd=cwd)
        o, e = p.communicate(timeout=60)
        assert p.returncode == 0, e
        return o

    assert run_in(tmp_path, "-v", ".:/src", "-v", "./data:/data:ro", *hull.image,
                  "cat", "/src/top", "/data/f") == "at-top\nin-data\n"
    assert run_in(tmp_path / "data", "--mount", "type=bind,src=..,dst=/up,readonly",
                  *hull.image, "cat", "/up/top") == "at-top\n"
    assert hull.ids() == []
    mounts = hull.run("-v", f"{tmp_path}/data/:/d/", "--tmpfs", "/t/", "--mount",
                      "type=tmpfs,dst=/m//n/", "--", "sh", "-c",
                      "cat /d/f; cat /proc/mounts").stdout
    assert mounts.startswith("in-data\n")
    assert " /t tmpfs " in mounts and " /m/n tmpfs " in mounts
    for args in (["-v", f"{tmp_path}:/"], ["--tmpfs", "/"],
                 ["--mount", f"type=bind,src={tmp_path},dst=//"]):
        p = hull.run(*args, "--", "true", check=False)
        assert p.returncode == 125 and "can't be \"/\"" in p.stderr, (args, p.stderr)
    assert hull.ids() == []


def test_mount_order_as_docker(hull, tmp_path):
    """Mounts go parent first, as docker sorts them: a volume on /etc keeps the generated
    /etc/hostname on top of it, and -v a:/x/y -v b:/x keeps /x/y visible."""
    (tmp_path / "etc").mkdir()
    (tmp_path / "inner").mkdir()
    (tmp_path / "inner" / "f").write_text("inner\n")
    (tmp_path / "outer").mkdir()
    p = hull.run("-h", "box", "-v", f"{tmp_path}/etc:/etc", "-v", f"{tmp_path}/inner:/x/y",
                 "-v", f"{tmp_path}/outer:/x", "--", "sh", "-c", "cat /etc/hostname /x/y/f")
    assert p.stdout == "box\ninner\n"


def test_volume_filled_from_image(hull, tmp_path):
    """A new (empty) volume gets what the image has at its destination, owner, mode and
    symlinks included, as docker fills it; :nocopy and volume-nocopy leave it empty; a
    volume with content is not filled again."""
    rootfs = tmp_path / "rootfs"
    shutil.copytree(hull.rootfs, rootfs, symlinks=True)
    rootfs.chmod(0o755)
    data = rootfs / "srv" / "data"
    data.mkdir(parents=True)
    (data / "seed").write_text("from-image\n")
    os.symlink("/etc/shadow", data / "link")
    os.link(data / "seed", data / "seed2")  # hardlinks and xattrs kept, as docker's copy
    os.setxattr(data / "seed", "user.origin", b"image")
    os.chown(data, 1, 1)
    data.chmod(0o750)
    img = ["--rootfs", str(rootfs)]
    p = hull("run", "--rm", "-v", "v1:/srv/data", *img, "sh", "-c",
             "cat /srv/data/seed; stat -c '%u:%g %a' /srv/data; readlink /srv/data/link")
    assert p.stdout == "from-image\n1:1 750\n/etc/shadow\n"
    vol = os.path.join(hull.root, "volumes", "v1", "_data")
    assert os.readlink(os.path.join(vol, "link")) == "/etc/shadow"
    assert os.stat(os.path.join(vol, "seed")).st_ino == os.stat(os.path.join(vol, "seed2")).st_ino
    assert os.getxattr(os.path.join(vol, "seed2"), "user.origin") == b"image"
    with open(os.path.join(vol, "seed"), "w") as f:
        f.write("changed\n")
    assert hull("run", "--rm", "-v", "v1:/srv/data", *img, "cat", "/srv/data/seed").stdout == \
        "changed\n"
    assert hull("run", "--rm", "-v", "v2:/srv/data:nocopy", *img, "ls", "/srv/data").stdout == ""
    assert hull("run", "--rm", "--mount", "type=volume,src=v3,dst=/srv/data,volume-nocopy", *img,
                "ls", "/srv/data").stdout == ""
    assert hull("run", "--rm", "-v", "/srv/data", *img, "cat", "/srv/data/seed").stdout == \
        "from-image\n"
    # From an image's overlay too.
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    hull("import", "-", "seeded:1", stdin=tar.stdout)
    tar.wait()
    assert hull("run", "--rm", "-v", "v4:/srv/data", "seeded:1", "cat", "/srv/data/seed").stdout == \
        "from-image\n"
    vol = os.path.join(hull.root, "volumes", "v4", "_data")
    assert os.stat(os.path.join(vol, "seed")).st_ino == os.stat(os.path.join(vol, "seed2")).st_ino
    assert hull.ids() == []


def test_volume_fill_that_fails_leaves_the_volume_empty(hull, tmp_path):
    # Deeper than the copy goes: the fill fails, and the volume is as empty as before, so
    # the next container's fill (from a shallower image) is not skipped.
    rootfs = tmp_path / "rootfs"
    shutil.copytree(hull.rootfs, rootfs, symlinks=True)
    rootfs.chmod(0o755)
    deep = rootfs / "srv" / "data" / "seed"
    deep.parent.mkdir(parents=True)
    deep.write_text("x\n")
    (rootfs / "srv" / "data" / "deep").mkdir()
    os.makedirs(str(rootfs / "srv" / "data" / "deep") + "/d" * 300)
    p = hull("run", "--rm", "-v", "vf:/srv/data", "--rootfs", str(rootfs), "true", check=False)
    assert p.returncode == 125 and "deeper than 256" in p.stderr, p
    vol = os.path.join(hull.root, "volumes", "vf", "_data")
    assert os.listdir(vol) == []
    shutil.rmtree(rootfs / "srv" / "data" / "deep")
    assert hull("run", "--rm", "-v", "vf:/srv/data", "--rootfs", str(rootfs), "cat",
                "/srv/data/seed").stdout == "x\n"
    assert hull.ids() == []


def test_read_only_rootfs(hull):
    p = hull.run("--read-only", "--", "touch", "/newfile", check=False)
    assert p.returncode != 0
    assert "Read-only file system" in p.stderr + p.stdout
    # /dev/shm and the tmpfs stay writable.
    hull.run("--read-only", "--tmpfs", "/w", "--", "touch", "/w/x", "/dev/shm/y")


CAP_DEFAULT = 0xa80425fb  # docker's 14 default capabilities


def capeff(text):
    return int(re.search(r"CapEff:\s+([0-9a-f]+)", text).group(1), 16)


def test_capabilities(hull):
    status = hull.run("--", "cat", "/proc/self/status").stdout
    assert capeff(status) == CAP_DEFAULT
    assert capeff(hull.run("--cap-drop", "ALL", "--", "cat", "/proc/self/status").stdout) == 0
    eff = capeff(hull.run("--cap-add", "SYS_ADMIN", "--cap-drop", "chown", "--",
                          "cat", "/proc/self/status").stdout)
    assert eff & (1 << 21)
    assert not eff & 1
    eff = capeff(hull.run("--privileged", "--", "cat", "/proc/self/status").stdout)
    assert eff & (1 << 21) and eff & (1 << 16) and eff & (1 << 12)
    eff = capeff(hull.run("--cap-add", "ALL", "--", "cat", "/proc/self/status").stdout)
    assert eff & (1 << 21)
    p = hull.run("--cap-add", "BOGUS", "--", "true", check=False)
    assert p.returncode == 125 and "BOGUS" in p.stderr


def test_seccomp_and_nnp(hull):
    status = hull.run("--", "cat", "/proc/self/status").stdout
    assert re.search(r"Seccomp:\s+2", status)
    assert re.search(r"NoNewPrivs:\s+0", status)
    status = hull.run("--security-opt", "seccomp=unconfined", "--security-opt",
                      "no-new-privileges", "--", "cat", "/proc/self/status").stdout
    assert re.search(r"Seccomp:\s+0", status)
    assert re.search(r"NoNewPrivs:\s+1", status)
    # A user namespace is refused by the default profile, allowed without it.
    p = hull.run("--", "unshare", "-U", "true", check=False)
    assert p.returncode != 0
    hull.run("--security-opt", "seccomp=unconfined", "--", "unshare", "-U", "true")
    # mount: denied by the profile even with CAP_SYS_ADMIN's absence masked... with the
    # capability the profile allows it.
    p = hull.run("--", "mount", "-t", "tmpfs", "t", "/tmp", check=False)
    assert p.returncode != 0
    hull.run("--cap-add", "SYS_ADMIN", "--", "mount", "-t", "tmpfs", "t", "/tmp")
    # Masked paths.
    assert out(hull.run("--", "cat", "/proc/kcore", check=False)) == ""
    p = hull.run("--", "sh", "-c", "echo 1 > /proc/sys/kernel/panic", check=False)
    assert p.returncode != 0


def test_ulimit(hull):
    p = hull.run("--ulimit", "nofile=1000:2000", "--", "sh", "-c", "ulimit -n; ulimit -Hn")
    assert p.stdout.split() == ["1000", "2000"]
    assert hull.run("--ulimit", "nofile=5:1", "--", "true", check=False).returncode == 125


def host_ns(kind):
    return os.stat(f"/proc/self/ns/{kind}").st_ino


def test_namespace_modes(hull):
    ino = lambda text: int(re.search(r"\[(\d+)\]", text).group(1))
    for kind, flag in (("pid", "--pid"), ("ipc", "--ipc"), ("uts", "--uts")):
        inside = ino(hull.run(flag, "host", "--", "readlink", f"/proc/self/ns/{kind}").stdout)
        assert inside == host_ns(kind), kind
        inside = ino(hull.run("--", "readlink", f"/proc/self/ns/{kind}").stdout)
        assert inside != host_ns(kind), kind
    assert out(hull.run("--uts", "host", "--", "hostname")) == socket.gethostname()
    assert out(hull.run("--", "sh", "-c", "echo $$")) == "1"


def test_network_modes(hull):
    assert out(hull.run("--network", "none", "--", "ls", "/sys/class/net")) == "lo"
    inside = set(hull.run("--network", "host", "--", "ls", "/sys/class/net").stdout.split())
    assert inside == set(os.listdir("/sys/class/net"))


def test_sysctl(hull):
    p = hull.run("--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "kernel.shmmni=1000", "--",
                 "cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shmmni")
    assert p.stdout.split() == ["1", "1000"]
    assert hull.run("--sysctl", "kernel.panic=1", "--", "true", check=False).returncode == 125
    p = hull.run("--network", "host", "--sysctl", "net.ipv4.ip_forward=1", "--", "true",
                 check=False)
    assert p.returncode == 125


def test_resources_in_spec(hull):
    cid = out(hull.create("-m", "64m", "--memory-swap", "128m", "--cpus", "1.5",
                          "--cpu-shares", "512", "--cpuset-cpus", "0", "--pids-limit", "20",
                          "--", "true"))
    r = hull.spec(cid)["linux"]["resources"]
    assert r["memory"]["limit"] == 64 << 20
    assert r["memory"]["swap"] == 128 << 20
    assert r["cpu"]["quota"] == 150000 and r["cpu"]["period"] == 100000
    assert r["cpu"]["shares"] == 512
    assert r["cpu"]["cpus"] == "0"
    assert r["pids"]["limit"] == 20
    hull("rm", cid)


def test_inspect_host_config_limits(hull):
    """inspect shows the limits where docker's HostConfig has them, so `inspect -f
    '{{.HostConfig.Memory}}'` works: Memory, MemorySwap, NanoCpus, CpuShares, CpusetCpus,
    PidsLimit (null when unset), ReadonlyRootfs, ShmSize."""
    cid = out(hull.create("-m", "64m", "--memory-swap", "128m", "--cpus", "1.5",
                          "--cpu-shares", "512", "--cpuset-cpus", "0", "--pids-limit", "20",
                          "--read-only", "--shm-size", "128m", "--", "true"))
    hc = hull.inspect(cid)["HostConfig"]
    assert (hc["Memory"], hc["MemorySwap"], hc["NanoCpus"], hc["CpuShares"], hc["CpusetCpus"],
            hc["PidsLimit"], hc["ReadonlyRootfs"], hc["ShmSize"]) == \
        (64 << 20, 128 << 20, 1500000000, 512, "0", 20, True, 128 << 20)
    assert out(hull("inspect", "-f", "{{.HostConfig.Memory}}", cid)) == str(64 << 20)
    hull("rm", cid)
    cid = out(hull.create("--", "true"))
    hc = hull.inspect(cid)["HostConfig"]
    assert (hc["Memory"], hc["NanoCpus"], hc["PidsLimit"], hc["ReadonlyRootfs"], hc["ShmSize"]) \
        == (0, 0, None, False, 64 << 20)
    hull("rm", cid)


def test_config_flags_in_inspect(hull):
    cid = out(hull.create("--name", "cfg", "--stop-signal", "SIGUSR1", "--stop-timeout", "3",
                          "--restart", "on-failure:4", "-l", "a=b", "-l", "c",
                          "--log-opt", "max-size=10k", "--log-opt", "max-file=2", "--", "true"))
    j = hull.inspect("cfg")
    assert j["Id"] == cid
    assert j["Name"] == "/cfg"
    assert j["Config"]["StopSignal"] == "SIGUSR1"
    assert j["Config"]["StopTimeout"] == 3
    assert j["Config"]["Labels"] == {"a": "b", "c": ""}
    assert j["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 4}
    assert j["HostConfig"]["LogConfig"]["Config"]["max-file"] == "2"
    assert j["State"]["Status"] == "created"
    assert out(hull("inspect", "-f", "{{.State.Status}}", cid[:8])) == "created"
    hull("rm", "cfg")


def test_inspect_format_as_docker(hull):
    """inspect -f with the Go template forms docker users write (index, range, if, json,
    printf), values printed as Go prints them."""
    hull.run("--name", "fmt", "-l", "app=db", "-l", "com.example.tier=back", "-e", "FOO=bar",
             "--", "sh", "-c", "exit 3", check=False)
    f = lambda t: hull("inspect", "-f", t, "fmt").stdout
    assert f("{{.State.ExitCode}}") == "3\n"
    assert f("{{.Config.Cmd}}") == "[sh -c exit 3]\n"
    assert f("{{.Config.Labels}}") == "map[app:db com.example.tier:back]\n"
    assert f('{{index .Config.Labels "com.example.tier"}}') == "back\n"
    assert "FOO=bar\n" in f("{{range .Config.Env}}{{println .}}{{end}}")
    assert f("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}} {{end}}") == \
        "app=db com.example.tier=back \n"
    assert f("{{if .State.Running}}up{{else}}down{{end}}") == "down\n"
    assert f('{{printf "%-7s|" .State.Status}}') == "exited |\n"
    assert f("{{json .Config.Labels}}") == '{"app":"db","com.example.tier":"back"}\n'
    p = hull("inspect", "-f", "{{.Nope}}", "fmt", check=False)
    assert p.returncode != 0 and "Nope" in p.stderr
    hull("rm", "fmt")


def test_log_rotation(hull):
    hull.run("--name", "chatty", "--log-opt", "max-size=2k", "--log-opt", "max-file=2", "--",
             "sh", "-c", "i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); done")
    cid = hull.inspect("chatty")["Id"]
    log = os.path.join(hull.root, "containers", cid, f"{cid}-json.log")
    assert os.path.exists(log) and os.path.exists(log + ".1")
    assert not os.path.exists(log + ".2")
    assert os.path.getsize(log) <= 2048 and os.path.getsize(log + ".1") <= 2048
    lines = hull("logs", "chatty").stdout.splitlines()
    assert lines[-1] == "line-299"
    assert len(lines) < 300
    hull("rm", "chatty")


def test_exit_codes(hull, init_binary):
    assert hull.run("--", "false", check=False).returncode == 1
    assert hull.run("--", "sh", "-c", "exit 3", check=False).returncode == 3
    p = hull.run("--", "no-such-program", check=False)
    assert p.returncode == 127, p.stderr
    assert "not found" in p.stderr
    p = hull.run("--", "/etc/passwd", check=False)
    assert p.returncode == 126, p.stderr
    # PID 1 ignores its own SIGKILL: the program killed is a child of the shell.
    assert hull.run("--", "sh", "-c", "sh -c 'kill -9 $$'; exit $?", check=False).returncode == 137
    assert hull.run("--init", "--", "sh", "-c", "kill -9 $$", check=False).returncode == 137
    assert hull.ids() == []


@pytest.mark.parametrize("args,needle", [
    (["--bogus-flag"], "bogus"),
    (["-m", "12q"], "12q"),
    (["-m", "1k"], "minimum"),
    (["-v", "/no/such/dir:/x"], "/no/such/dir"),
    (["-v", "a:b:c:d"], "a:b:c:d"),
    (["--mount", "type=bind,target=/x"], "source"),
    (["--restart", "sometimes"], "sometimes"),
    (["--pull", "sometimes"], "sometimes"),
    (["--platform", "linux/s390x"], "s390x"),
    (["--stop-signal", "SIGNOPE"], "SIGNOPE"),
    (["--log-opt", "max-size=x"], "max-size"),
    (["--cpus", "abc"], "--cpus"),
    (["--pid", "container"], "--pid"),
    # endless input is refused, not read until memory runs out
    (["--env-file", "/dev/zero"], "--env-file: read /dev/zero: more than 64 MiB"),
    (["--security-opt", "seccomp=/dev/zero"], "seccomp: read /dev/zero: more than 64 MiB"),
])
def test_bad_input_creates_nothing(hull, args, needle):
    p = hull.run(*args, "--", "true", check=False)
    assert p.returncode == 125, p.stderr
    assert needle in p.stderr
    assert hull.ids() == []
    assert os.listdir(os.path.join(hull.root, "containers")) == []


def test_unknown_image_and_name_in_use(hull):
    # On a loopback registry that is not there: a bare name would ask docker.io, and the
    # tests send nothing off this machine (not even a DNS query).
    p = hull("run", "127.0.0.1:9/no-such-image-here", "true", check=False)
    assert p.returncode == 125 and "no-such-image-here" in p.stderr
    p = hull("run", "--pull", "never", "no-such-image-here", "true", check=False)
    assert p.returncode == 125 and "no-such-image-here" in p.stderr
    hull.create("--name", "taken", "--", "true")
    p = hull.run("--name", "taken", "--", "true", check=False)
    assert p.returncode == 125 and "already in use" in p.stderr
    assert len(hull.ids()) == 1
    hull("rm", "taken")


def test_init(hull, init_binary):
    p = hull.run("--init", "--", "sh", "-c", "echo $$; tr '\\0' ' ' < /proc/1/cmdline")
    pid, cmdline = p.stdout.splitlines()
    assert pid != "1"
    assert cmdline.startswith("/dev/init -- sh")
    # Signals reach the program through the init; orphans are reaped.
    hull.run("-d", "--init", "--name", "ini", "--", "sh", "-c",
             "(sleep 1000 &); trap 'exit 9' TERM; while true; do sleep 0.1; done")
    # The init forwards TERM to sh, which dies of it (143) unless its trap is already in.
    import signal
    import time
    from helpers import procstatus
    from .conftest import children
    init = hull.inspect("ini")["State"]["Pid"]
    deadline = time.time() + 10
    while not any(procstatus.traps(c, signal.SIGTERM) for c in children(init)):
        assert time.time() < deadline, "sh under the init never trapped TERM"
        time.sleep(0.05)
    hull("stop", "-t", "5", "ini")
    assert hull.inspect("ini")["State"]["ExitCode"] == 9
    hull("rm", "ini")


def test_bridge_network_in_a_test_netns(hull):
    """--network bridge through src/net, with hull itself inside a throwaway netns so the
    bridge, veth and nft rules never touch the host's network."""
    import subprocess
    import uuid
    ns = "hull-engine-" + uuid.uuid4().hex[:8]
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["nsenter", f"--net=/run/netns/{ns}", "ip", "link", "set", "lo", "up"], check=True)
        def h(*args, check=True):
            p = subprocess.run(["nsenter", f"--net=/run/netns/{ns}", HULL_PATH(), *args], env=hull.env,
                               capture_output=True, text=True, timeout=60)
            assert not check or p.returncode == 0, p.stderr
            return p
        p = h("run", "--rm", "--network", "bridge", *hull.image, "ip", "-4", "-o", "addr")
        assert "eth0" in p.stdout, p.stdout
        h("run", "-d", "--name", "web", "--network", "bridge", *hull.image,
          "httpd", "-f", "-p", "80", "-h", "/etc")
        ip = json.loads(h("inspect", "web").stdout)[0]["NetworkSettings"]["IPAddress"]
        assert ip
        p = h("run", "--rm", "--network", "bridge", *hull.image, "wget", "-q", "-O", "-",
              f"http://{ip.split('/')[0]}/hostname")
        assert p.stdout.strip() == json.loads(h("inspect", "web").stdout)[0]["Config"]["Hostname"]
        h("rm", "-f", "web")
        links = subprocess.run(["nsenter", f"--net=/run/netns/{ns}", "ip", "-o", "link"],
                               capture_output=True, text=True).stdout
        assert "veth" not in links
    finally:
        subprocess.run(["nsenter", f"--net=/run/netns/{ns}", HULL_PATH(), "system", "prune", "-f"],
                       env=hull.env, capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], check=False)


def HULL_PATH():
    from .conftest import HULL
    return HULL
