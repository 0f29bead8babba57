"""`hull` as an unprivileged user (issue 7's rootless bullet, brief "rootless"): run, logs,
exec, stop, kill, rm, ps, wait, inspect, images, import and pull, --network
none|host|container:NAME and the default pasta network with -p forwarding, each for uid
65534 (single id mapping) and for a user with an /etc/subuid range (conftest.py)."""
import gzip
import hashlib
import io
import json
import os
import re
import signal
import subprocess
import tarfile
import tempfile
import shutil
import time
from pathlib import Path

import pytest

from .conftest import _alive


def names(user):
    out = user.hull("ps", "-a", "--format", "{{.Names}}", check=True).stdout
    return out.split()


def assert_nothing_left(user, cid=None, timeout=5):
    """No runtime state, netns file, pasta record or container dir; no mount of the
    user's store in the pause process's mount namespace (cid: that container's). The
    monitor of a `run --rm` removes its runtime state, overlay and directory after the
    CLI returned (docs/engine.md): given `timeout` seconds."""
    deadline = time.time() + timeout
    while True:
        try:
            return _assert_nothing_left(user)
        except AssertionError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)


def _assert_nothing_left(user):
    for d in ("runtime", "netns", "pasta"):
        p = user.run_root / d
        # .cache: the runtime's compiled seccomp filters, kept on purpose.
        left = [e.name for e in p.iterdir() if e.name != ".cache"] if p.exists() else []
        assert not left, f"{p}: {left}"
    cdir = user.root / "containers"
    left = [e.name for e in cdir.iterdir()] if cdir.exists() else []
    assert not left, f"{cdir}: {left}"
    mounts = user.mounts_in_pause()
    assert str(user.root / "containers") not in mounts, mounts
    assert str(user.run_root / "netns") not in mounts, mounts


def pasta_pids(user):
    pid = user.pause_pid()
    ours = os.readlink(f"/proc/{pid}/ns/user")
    found = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            if (os.readlink(p / "ns" / "user") == ours and
                    (p / "comm").read_text().strip().startswith("pas") and _alive(int(p.name))):
                found.append(int(p.name))
        except OSError:
            pass
    return found


def test_run_rm_echo_exit_code_and_uid(user, image):
    p = user.hull("run", "--rm", image, "sh", "-c", "echo hello; id -u", check=True)
    assert p.stdout.split() == ["hello", "0"]
    # The pause process holds the namespace: root inside is the user outside.
    pid = user.pause_pid()
    uid_map = Path(f"/proc/{pid}/uid_map").read_text().split()
    assert uid_map[:3] == ["0", str(user.uid), "1"]
    if user.kind == "subuid":
        assert len(uid_map) >= 6, "the /etc/subuid range is mapped through newuidmap"
    else:
        assert len(uid_map) == 3
    p = user.hull("run", "--rm", image, "sh", "-c", "exit 3")
    assert p.returncode == 3, p.stderr
    p = user.hull("run", "--rm", image, "/no/such/program")
    assert p.returncode == 127, p.stderr
    assert_nothing_left(user)


def test_supplementary_groups(user, image):
    """Where the user namespace allows setgroups (an /etc/subgid range through newgidmap),
    the primary gid leads the supplementary groups as with root; with one mapping the
    kernel denies setgroups: the process keeps the groups it has, and --group-add, which
    cannot be honoured, is a clear error (it was setgroups' bare EPERM)."""
    def groups(p):
        assert p.returncode == 0, p.stderr
        return re.search(r"Groups:([^\n]*)", p.stdout).group(1).split()

    assert "Groups:" in user.hull("run", "--rm", image, "cat", "/proc/self/status",
                                  check=True).stdout
    p = user.hull("run", "--rm", "--group-add", "10", image, "cat", "/proc/self/status")
    if user.kind == "subuid":
        assert groups(user.hull("run", "--rm", image, "cat", "/proc/self/status")) == ["0"]
        assert groups(p) == ["0", "10"]
    else:
        assert p.returncode == 125, p.stderr
        assert "--group-add" in p.stderr and "setgroups" in p.stderr, p.stderr
    assert_nothing_left(user)


def test_detached_logs_exec_ps_inspect_stop_wait_rm(user, image):
    name = f"rl-d-{user.kind}"
    cid = user.hull("run", "-d", "--name", name, image, "sh", "-c",
                    "echo started; exec sleep 1000", check=True).stdout.strip()
    assert len(cid) == 64
    for _ in range(50):
        if "started" in user.hull("logs", name).stdout:
            break
        time.sleep(0.05)
    assert user.hull("logs", name, check=True).stdout == "started\n"
    # "started" comes before `exec sleep`: pid 1 is sleep a moment later.
    info = json.loads(user.hull("inspect", name, check=True).stdout)
    pid = (info[0] if isinstance(info, list) else info)["State"]["Pid"]
    deadline = time.time() + 10
    while Path(f"/proc/{pid}/comm").read_text().strip() != "sleep":
        assert time.time() < deadline, "the container's sh never exec'd sleep"
        time.sleep(0.05)
    p = user.hull("exec", name, "sh", "-c", "echo in-exec; cat /proc/1/comm", check=True)
    assert p.stdout.split() == ["in-exec", "sleep"]
    ps = user.hull("ps", check=True).stdout
    assert name in ps and "Up" in ps
    info = json.loads(user.hull("inspect", name, check=True).stdout)
    info = info[0] if isinstance(info, list) else info
    assert info["State"]["Running"] is True
    user.hull("stop", "-t", "1", name, check=True)
    assert user.hull("wait", name, check=True).stdout.strip() in ("137", "143")
    assert "Exited" in user.hull("ps", "-a", check=True).stdout
    user.hull("rm", name, check=True)
    assert name not in names(user)
    assert_nothing_left(user)


def test_kill_and_rm_force(user, image):
    name = f"rl-k-{user.kind}"
    user.hull("run", "-d", "--name", name, image, "sleep", "1000", check=True)
    user.hull("kill", name, check=True)
    assert user.hull("wait", name, check=True).stdout.strip() == "137"
    user.hull("rm", name, check=True)
    user.hull("run", "-d", "--name", name, image, "sleep", "1000", check=True)
    user.hull("rm", "-f", name, check=True)
    assert name not in names(user)
    assert_nothing_left(user)


def test_images_lists_the_users_own_store(user, image):
    out = user.hull("images", check=True).stdout
    assert "rl-busybox" in out
    # Stored under the user's XDG data dir, owned by the user.
    assert (user.root / "images.db").exists()
    assert os.stat(user.root).st_uid == user.uid


def test_pause_process_is_reused(user, image):
    user.hull("ps", check=True)
    first = user.pause_pid()
    assert first
    assert Path(f"/proc/{first}/comm").read_text().strip() == "hull-pause"
    user.hull("run", "--rm", "--network", "none", image, "true", check=True)
    user.hull("ps", check=True)
    assert user.pause_pid() == first


def pause_processes(user):
    found = []
    for p in Path("/proc").iterdir():
        try:
            if (p.name.isdigit() and p.stat().st_uid == user.uid and
                    (p / "comm").read_text().strip() == "hull-pause" and _alive(int(p.name)) and
                    f"HOME={user.home}".encode() in (p / "environ").read_bytes().split(b"\0")):
                found.append(int(p.name))
        except OSError:
            pass
    return found


def test_concurrent_first_invocations_share_one_pause_process(user, image):
    old = user.pause_pid()
    if old:  # no container runs between tests: ending it loses nothing
        os.kill(old, signal.SIGKILL)
        for _ in range(100):
            if not _alive(old):
                break
            time.sleep(0.02)
    procs = [user.popen("ps", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(6)]
    outs = [p.communicate(timeout=60) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    assert len(pause_processes(user)) == 1, pause_processes(user)
    assert pause_processes(user) == [user.pause_pid()]
    # The store is on disk: the new namespace runs the same images.
    user.hull("run", "--rm", "--network", "none", image, "true", check=True)


def test_memory_limit_without_delegation_is_a_clear_error(user, image):
    before = names(user)
    for flags, named in ((["-m", "64m"], "-m/--memory"), (["--pids-limit", "10"], "--pids-limit"),
                         (["--cpus", "0.5"], "--cpus")):
        p = user.hull("run", "--rm", *flags, image, "true")
        assert p.returncode == 125, p.stderr
        assert named in p.stderr and "cgroup" in p.stderr, p.stderr
    assert names(user) == before
    assert_nothing_left(user)


def test_update_limits_without_delegation_is_a_clear_error(user, image):
    # As run refuses them; a restart policy needs no cgroup.
    user.hull("create", "--name", "upd", "--network", "none", image, "true", check=True)
    p = user.hull("update", "-m", "64m", "upd")
    assert p.returncode == 1 and "cgroup" in p.stderr and "rootless" in p.stderr, p.stderr
    user.hull("update", "--restart", "always", "upd", check=True)
    policy = user.hull("inspect", "-f", "{{.HostConfig.RestartPolicy.Name}}", "upd", check=True)
    assert policy.stdout.strip() == "always"
    user.hull("rm", "upd", check=True)
    assert_nothing_left(user)


def test_bridge_and_user_networks_are_a_clear_error(user, image):
    for net in ("bridge", "mynet"):
        p = user.hull("run", "--rm", "--network", net, image, "true")
        assert p.returncode == 125, p.stderr
        assert f"--network {net}" in p.stderr and "pasta" in p.stderr and "root" in p.stderr
    p = user.hull("network", "create", "mynet")
    assert p.returncode == 1 and "need root" in p.stderr and "pasta" in p.stderr, p.stderr
    assert_nothing_left(user)


def test_network_none_host_and_container(user, image, testns):
    p = user.hull("run", "--rm", "--network", "none", image, "sh", "-c",
                  "ls /sys/class/net", check=True)
    assert p.stdout.split() == ["lo"]
    # (Not /sys/class/net: with the host's network sysfs cannot be mounted in a user
    # namespace and /sys is the pause process's bind, which shows the netns it was
    # mounted from.)
    p = user.hull("run", "--rm", "--network", "host", image, "ip", "-o", "link", check=True)
    assert "rlv0" in p.stdout  # the test netns' own interface
    name = f"rl-net-{user.kind}"
    user.hull("run", "-d", "--name", name, "--network", "none", "--cap-add", "NET_ADMIN",
              image, "sh", "-c", "ip addr add 10.9.9.9/32 dev lo && exec sleep 1000", check=True)
    try:
        for _ in range(50):
            p = user.hull("run", "--rm", "--network", f"container:{name}", image, "ip", "-o",
                          "addr", check=True)
            if "10.9.9.9" in p.stdout:
                break
            time.sleep(0.05)
        assert "10.9.9.9" in p.stdout, p.stdout
    finally:
        user.hull("rm", "-f", name)
    assert_nothing_left(user)


def test_pid_ipc_uts_join(user, image, testns):
    """--pid, --ipc and --uts container:NAME rootless: every container's namespaces belong
    to the pause process's user namespace, where hull has CAP_SYS_ADMIN, so a joiner can
    enter them; the runtime joins them on a short-lived thread that clones the program
    (the monitor itself could not setns back to the host's, which the initial user
    namespace owns). Checked from inside both containers."""
    name = f"rl-donor-{user.kind}"
    user.hull("run", "-d", "--name", name, "--network", "none", "--ipc", "shareable",
              "-h", "donorhost", image, "sh", "-c",
              "echo from-donor > /dev/shm/donor-file && exec sleep 1000", check=True)
    try:
        def link(ref, kind):
            return user.hull("exec", ref, "readlink", f"/proc/self/ns/{kind}",
                             check=True).stdout.strip()
        want = {k: link(name, k) for k in ("pid", "ipc", "uts")}
        p = user.hull("run", "--rm", "--network", "none", "--pid", f"container:{name}",
                      "--ipc", f"container:{name}", "--uts", f"container:{name}", image,
                      "sh", "-c", "for k in pid ipc uts; do readlink /proc/self/ns/$k; done; "
                      "echo $$; hostname; cat /dev/shm/donor-file; ps -o args", check=True)
        lines = p.stdout.splitlines()
        assert lines[:3] == [want["pid"], want["ipc"], want["uts"]], (p.stdout, want)
        assert lines[3] != "1" and lines[4] == "donorhost", p.stdout
        assert lines[5] == "from-donor" and "sleep 1000" in p.stdout, p.stdout
        # A detached joiner: exec into it, and the donor sees its process.
        joiner = f"rl-joiner-{user.kind}"
        user.hull("run", "-d", "--name", joiner, "--network", "none", "--pid",
                  f"container:{name}", image, "sleep", "2000", check=True)
        assert link(joiner, "pid") == want["pid"]
        ps = user.hull("exec", name, "ps", "-o", "args", check=True).stdout
        assert "sleep 2000" in ps, ps
        user.hull("rm", "-f", joiner, check=True)
        assert names(user) == [name]
    finally:
        user.hull("rm", "-f", name)
    assert_nothing_left(user)


def test_pid_join_by_start_restart_policy_and_the_donors_end(user, image, testns):
    """The other ways into a donor's pid namespace rootless: a created joiner's start, the
    monitor's relaunch of a restart policy (each from a sealed copy of hull, which must
    find the user's stores again), and the kernel's SIGKILL of the joiner when the donor's
    init ends (137, as with root)."""
    name = f"rl-piddonor-{user.kind}"
    user.hull("run", "-d", "--name", name, "--network", "none", image, "sleep", "1000",
              check=True)
    try:
        user.hull("create", "--name", "rl-late", "--network", "none", "--pid",
                  f"container:{name}", image, "sleep", "1000", check=True)
        user.hull("start", "rl-late", check=True)
        ps = user.hull("exec", "rl-late", "ps", "-o", "args", check=True).stdout
        assert "sleep 1000" in ps and ps.count("sleep 1000") == 2, ps
        user.hull("run", "-d", "--name", "rl-again", "--network", "none", "--restart",
                  "on-failure:2", "--pid", f"container:{name}", image, "sh", "-c",
                  "ps -o args | grep -q '^sleep 1000' && exit 3", check=True)
        for _ in range(200):
            st = json.loads(user.hull("inspect", "rl-again", check=True).stdout)[0]
            if st["RestartCount"] == 2 and st["State"]["Status"] == "exited":
                break
            time.sleep(0.1)
        assert st["RestartCount"] == 2 and st["State"]["ExitCode"] == 3, st["State"]
        assert st["State"]["Error"] == "", st["State"]
        user.hull("stop", "-t", "1", name, check=True)
        p = user.hull("wait", "rl-late", check=True)
        assert p.stdout.strip() == "137", p
    finally:
        user.hull("rm", "-f", "rl-again", "rl-late", name)
    assert_nothing_left(user)


def test_pasta_publishes_a_port(user, image, testns):
    port = 18090 if user.kind == "nobody" else 18091
    name = f"rl-web-{user.kind}"
    user.hull("run", "-d", "--name", name, "-p", f"{port}:80", image, "httpd", "-f", "-p",
              "80", "-h", "/www", check=True)
    try:
        body = None
        for _ in range(50):
            r = testns.wget(f"http://127.0.0.1:{port}/index.html")
            if r.returncode == 0:
                body = r.stdout
                break
            time.sleep(0.1)
        assert body == "hello from rootless\n"
        # From the namespace's routable address too, as a remote client would come.
        assert testns.wget(f"http://192.0.2.2:{port}/index.html").stdout == body
        assert f"0.0.0.0:{port}->80/tcp" in user.hull("ps", check=True).stdout
        # The container has the host's address and route, copied by pasta.
        p = user.hull("exec", name, "ip", "-o", "-4", "addr", check=True)
        assert "192.0.2.2" in p.stdout
        assert len(pasta_pids(user)) == 1
    finally:
        user.hull("rm", "-f", name, check=True)
    for _ in range(50):
        if not pasta_pids(user):
            break
        time.sleep(0.05)
    assert not pasta_pids(user), "pasta outlived its container"
    assert testns.wget(f"http://127.0.0.1:{port}/index.html", timeout=1).returncode != 0
    assert_nothing_left(user)


def test_run_rm_with_a_published_port_leaves_nothing(user, image, testns):
    p = user.hull("run", "--rm", "-p", "18095:80/udp", image, "sh", "-c", "ip -o link | wc -l",
                  check=True)
    assert int(p.stdout) >= 2  # lo and pasta's interface
    assert not pasta_pids(user)
    assert_nothing_left(user)


def _tar_with_owner(uid):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        data = b"owned\n"
        info = tarfile.TarInfo("etc/owned-file")
        info.size, info.mode, info.uid, info.gid = len(data), 0o644, uid, uid
        t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_layer_file_of_an_unmapped_id_is_a_clear_error(user, image, tmp_path):
    d = Path(tempfile.mkdtemp(prefix="hull-rl-tar-"))
    try:
        os.chmod(d, 0o755)
        bad = d / "bad.tar"
        bad.write_bytes(_tar_with_owner(3000000))  # beyond any mapping made here
        os.chmod(bad, 0o644)
        p = user.hull("import", str(bad), "rl-bad:1")
        assert p.returncode == 1
        assert "etc/owned-file" in p.stderr and "3000000" in p.stderr, p.stderr
        assert "potentially insufficient UIDs or GIDs" in p.stderr, p.stderr
        assert "rl-bad" not in user.hull("images", check=True).stdout
        tmp = user.root / "tmp"
        assert not (tmp.exists() and list(tmp.iterdir())), list(tmp.iterdir())
        # uid 1000: outside a single mapping, inside a /etc/subuid one.
        ok = d / "ok.tar"
        ok.write_bytes(_tar_with_owner(1000))
        os.chmod(ok, 0o644)
        p = user.hull("import", str(ok), "rl-owned:1")
        if user.kind == "nobody":
            assert p.returncode == 1 and "uid 1000" in p.stderr, p.stderr
        else:
            assert p.returncode == 0, p.stderr
            user.hull("rmi", "rl-owned:1", check=True)
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---- pull from a registry on 127.0.0.1 (Debian's docker-registry, skopeo to push) ----

def _sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def _layer(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                t.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _oci_layout(path, tars):
    blobs = path / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    (path / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')

    def put(b):
        (blobs / _sha(b)[7:]).write_bytes(b)
        return _sha(b)

    layers = []
    for t in tars:
        z = gzip.compress(t, mtime=0)
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                       "digest": put(z), "size": len(z)})
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "config": {"Cmd": ["sh"], "Env": ["PATH=/bin:/usr/bin"]},
                      "rootfs": {"type": "layers", "diff_ids": [_sha(t) for t in tars]}}).encode()
    man = json.dumps({"schemaVersion": 2,
                      "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                 "digest": put(cfg), "size": len(cfg)},
                      "layers": layers}).encode()
    d = put(man)
    (path / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d,
         "size": len(man), "annotations": {"org.opencontainers.image.ref.name": "1"}}]}))


def _registry_in(testns, prefix, tls=None):
    """docker-registry on 127.0.0.1 of the test netns (where hull runs); tls(tmp): its
    http.tls section, given the registry's directory."""
    if not (shutil.which("docker-registry") and shutil.which("skopeo")):
        pytest.skip("docker-registry and skopeo are needed for the pull test")
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    # The netns is ours alone, but the plain and the TLS registry live in it together:
    # a port one of them holds would send the other's clients to it.
    listening = subprocess.run(["nsenter", f"--net={testns.path}", "ss", "-Htln"],
                               capture_output=True, text=True, check=True).stdout
    while True:
        port = 5000 + int.from_bytes(os.urandom(2), "little") % 1000
        if f":{port} " not in listening:
            break
    (tmp / "storage").mkdir()
    http = {"addr": f"127.0.0.1:{port}"}
    if tls:
        http["tls"] = tls(tmp)
    (tmp / "config.yml").write_text(json.dumps({
        "version": 0.1, "log": {"level": "error", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(tmp / "storage")}}, "http": http}))
    proc = subprocess.Popen(["nsenter", f"--net={testns.path}", "docker-registry", "serve",
                             str(tmp / "config.yml")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if tls:  # busybox wget speaks no TLS
                up = testns.sh(f"curl -sk https://127.0.0.1:{port}/v2/").returncode == 0
            else:
                up = testns.wget(f"http://127.0.0.1:{port}/v2/", timeout=1).returncode == 0
            if up:
                break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"docker-registry on 127.0.0.1:{port} in the netns never answered")
        yield f"127.0.0.1:{port}", tmp
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def registry(testns):
    yield from _registry_in(testns, "hull-rl-reg-")


def _make_server_cert(tmp):
    """A CA (tmp/push/ca.crt, also skopeo's --dest-cert-dir) and a certificate for
    127.0.0.1 from it."""
    def ossl(*args):
        subprocess.run(["openssl", *args], cwd=tmp, check=True, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    ossl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj",
         "/CN=hull rootless test ca", "-addext", "basicConstraints=critical,CA:TRUE")
    ossl("req", *ec, "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=127.0.0.1")
    (tmp / "ext").write_text("subjectAltName=IP:127.0.0.1\n")
    ossl("x509", "-req", "-in", "srv.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
         "-CAcreateserial", "-out", "srv.crt", "-days", "2", "-extfile", "ext")
    (tmp / "push").mkdir()
    shutil.copy(tmp / "ca.crt", tmp / "push" / "ca.crt")
    return {"certificate": str(tmp / "srv.crt"), "key": str(tmp / "srv.key")}


@pytest.fixture(scope="module")
def tls_registry(testns):
    yield from _registry_in(testns, "hull-rl-tls-", tls=_make_server_cert)


def test_pull_from_a_local_registry_with_an_opaque_directory(user, busybox_tar, registry,
                                                            testns):
    host, tmp = registry
    layout = tmp / f"layout-{user.kind}"
    base = busybox_tar.read_bytes()
    lower = _layer([("etc/sub", None), ("etc/sub/old", b"old\n"), ("etc/gone", b"x\n")])
    upper = _layer([("etc/sub", None), ("etc/sub/.wh..wh..opq", b""), ("etc/sub/new", b"new\n"),
                    ("etc/.wh.gone", b"")])
    _oci_layout(layout, [base, lower, upper])
    ref = f"{host}/rl/opaque:{user.kind}"
    p = subprocess.run(["nsenter", f"--net={testns.path}", "skopeo", "copy", "--quiet",
                        "--dest-tls-verify=false",
                        f"oci:{layout}:1", f"docker://{ref}"], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    # The pull goes to 127.0.0.1 from the pause process's (host) network namespace.
    user.hull("pull", ref, check=True)
    # Overlay in the user namespace (userxattr) reads the opaque mark unpack wrote as
    # user.overlay.opaque: the lower layer's file is hidden.
    p = user.hull("run", "--rm", "--network", "none", ref, "ls", "/etc/sub", check=True)
    assert p.stdout.split() == ["new"]
    # A whiteout (a 0:0 character device, which a user namespace may make) hides a file.
    p = user.hull("run", "--rm", "--network", "none", ref, "ls", "/etc/gone")
    assert p.returncode != 0 and "No such file" in p.stderr, (p.stdout, p.stderr)
    user.hull("rmi", ref, check=True)


def test_publish_all_picks_free_host_ports(user, busybox_tar, testns):
    user.hull("import", "-c", "EXPOSE 80", str(busybox_tar), "rl-web:1", check=True)
    name = f"rl-P-{user.kind}"
    user.hull("run", "-d", "--name", name, "-P", "rl-web:1", "httpd", "-f", "-p", "80", "-h",
              "/www", check=True)
    try:
        out = user.hull("port", name, check=True).stdout
        assert out.startswith("80/tcp -> "), out
        port = int(out.split()[-1].rsplit(":", 1)[1])
        assert port > 0
        body = None
        for _ in range(50):
            r = testns.wget(f"http://127.0.0.1:{port}/index.html")
            if r.returncode == 0:
                body = r.stdout
                break
            time.sleep(0.1)
        assert body == "hello from rootless\n"
    finally:
        user.hull("rm", "-f", name, check=True)
        user.hull("rmi", "rl-web:1")
    assert_nothing_left(user)


def test_pull_from_a_tls_registry_with_the_users_certs_d(user, tls_registry, testns):
    """Rootless hull finds a registry's CA in ~/.config/hull/certs.d/HOST:PORT/ (as rootless
    podman in ~/.config/containers/certs.d), and names that place when it is missing."""
    host, tmp = tls_registry
    layout = tmp / f"layout-{user.kind}"
    _oci_layout(layout, [_layer([("etc", None), ("etc/tls", b"yes\n")])])
    ref = f"{host}/rl/tls:{user.kind}"
    p = subprocess.run(["nsenter", f"--net={testns.path}", "skopeo", "copy", "--quiet",
                        "--dest-cert-dir", str(tmp / "push"),
                        f"oci:{layout}:1", f"docker://{ref}"], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    certs = user.home / ".config" / "hull" / "certs.d" / host
    p = user.hull("pull", ref)
    assert p.returncode == 1 and "speaks TLS" in p.stderr, p.stderr
    assert f"{certs}/ca.crt" in p.stderr, p.stderr
    certs.mkdir(parents=True)
    shutil.copy(tmp / "ca.crt", certs / "ca.crt")
    for d in (user.home / ".config", user.home / ".config" / "hull", certs.parent, certs,
              certs / "ca.crt"):
        os.chown(d, user.uid, user.gid)
    try:
        user.hull("pull", ref, check=True)
        user.hull("rmi", ref, check=True)
    finally:
        shutil.rmtree(user.home / ".config", ignore_errors=True)


def test_users_hull_json(user):
    """Rootless hull reads ~/.config/hull/hull.json ($XDG_CONFIG_HOME unset here), not
    /etc/hull/hull.json: a bad key there stops the command naming that file; a good file is
    what `hull info` shows."""
    d = user.home / ".config" / "hull"
    d.mkdir(parents=True)
    cfg = d / "hull.json"
    cfg.write_text('{"default-registry": "reg.example:5000", "insecure-registries": '
                   '["10.0.0.0/8"], "bogus": 1}')
    for p in (user.home / ".config", d, cfg):
        os.chown(p, user.uid, user.gid)
    try:
        p = user.hull("images")
        assert p.returncode == 125, p.stderr
        assert f'{cfg}: unknown key "bogus"' in p.stderr, p.stderr
        cfg.write_text('{"default-registry": "reg.example:5000", "insecure-registries": '
                       '["10.0.0.0/8"]}')
        p = user.hull("info", check=True)
        assert f"Config File: {cfg}\n" in p.stdout, p.stdout
        assert "Default Registry: reg.example:5000\n" in p.stdout, p.stdout
        assert "Insecure Registries:\n 10.0.0.0/8\n" in p.stdout, p.stdout
    finally:
        shutil.rmtree(user.home / ".config", ignore_errors=True)


def test_cp_diff_export(user, image):
    """cp both ways (running, then stopped: the overlay mounted detached in the user's
    namespace), diff and export, as the unprivileged user: files in the container are its
    root's (the user outside), files copied out the user's."""
    src = user.home / "cpsrc"
    src.write_text("to the container\n")
    os.chown(src, user.uid, user.gid)
    user.hull("run", "-d", "--name", "rlcp", "-v", "rlvol:/data", image, "sleep", "1000",
              check=True)
    user.hull("exec", "rlcp", "sh", "-c", "echo vol > /data/v", check=True)
    user.hull("cp", str(src), "rlcp:/tmp/in", check=True)
    p = user.hull("exec", "rlcp", "sh", "-c", "cat /tmp/in; stat -c %u:%g /tmp/in", check=True)
    assert p.stdout.split() == ["to", "the", "container", "0:0"], p.stdout
    out = user.home / "out"
    user.hull("cp", "rlcp:/tmp/in", str(out), check=True)
    assert out.read_text() == "to the container\n"
    assert (out.stat().st_uid, out.stat().st_gid) == (user.uid, user.gid)
    user.hull("stop", "-t", "0", "rlcp", check=True)
    user.hull("cp", str(src), "rlcp:/tmp/stopped", check=True)
    user.hull("cp", "rlcp:/tmp/stopped", str(user.home / "out2"), check=True)
    user.hull("cp", "rlcp:/data/v", str(user.home / "out3"), check=True)
    assert (user.home / "out3").read_text() == "vol\n"
    user.hull("cp", str(src), "rlcp:/data/w", check=True)
    assert (user.home / "out2").read_text() == "to the container\n"
    changes = user.hull("diff", "rlcp", check=True).stdout.splitlines()
    assert "A /tmp/stopped" in changes and "A /data/w" not in changes, changes
    user.hull("export", "-o", str(user.home / "x.tar"), "rlcp", check=True)
    with tarfile.open(user.home / "x.tar") as t:
        assert t.extractfile("tmp/stopped").read() == b"to the container\n"
    user.hull("rm", "-f", "rlcp", check=True)
    user.hull("volume", "rm", "rlvol", check=True)
    assert_nothing_left(user)
