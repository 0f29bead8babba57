"""config.json `process`: args and PATH lookup, env, cwd, user, umask, rlimits, the five
capability sets, noNewPrivileges, oomScoreAdj, terminal and consoleSize."""

import pytest

from helpers import procstatus


def run_ok(ctr) -> str:
    r = ctr.run()
    assert r.returncode == 0, r
    return r.stdout


def test_args_path_lookup(ctr):
    ctr.set_args("echo", "a b", "c")  # echo found through PATH (/bin)
    assert run_ok(ctr) == "a b c\n"


def test_args_absolute_path(ctr):
    ctr.set_args("/bin/busybox", "echo", "abs")
    assert run_ok(ctr) == "abs\n"


def test_env(ctr):
    ctr.process["env"] += ["FOO=bar baz", "EMPTY=", "HULL_X=1"]
    ctr.set_args("env")
    env = run_ok(ctr).splitlines()
    assert "FOO=bar baz" in env and "EMPTY=" in env and "HULL_X=1" in env
    assert any(e.startswith("PATH=") for e in env)
    # nothing from the caller's environment leaks in
    assert not any(e.startswith("PYTEST_") for e in env)


def test_env_without_path_finds_no_bare_name(ctr):
    # no PATH in process.env: a bare name is not looked up in a default PATH (runc, crun)
    ctr.process["env"] = [e for e in ctr.process["env"] if not e.startswith("PATH=")]
    ctr.set_args("true")
    r = ctr.run()
    assert r.returncode != 0, r
    assert "not found in $PATH" in r.stderr, r
    assert not ctr.leftovers()
    ctr.set_args("/bin/true")  # an absolute path needs no PATH
    assert ctr.run().returncode == 0


def test_missing_cwd_is_refused(ctr):
    # process.cwd is REQUIRED (runtime-spec config.md); runc and crun refuse a config without
    del ctr.process["cwd"]
    r = ctr.create()
    assert r.returncode != 0, r
    if ctr.runtime.name != "crun":  # crun 1.8: "error loading config.json"
        assert "cwd" in r.stderr.lower(), r
    assert not ctr.leftovers()


def test_cwd(ctr):
    ctr.process["cwd"] = "/etc"
    ctr.sh("pwd; ls hostname")
    assert run_ok(ctr) == "/etc\nhostname\n"


def test_missing_cwd_is_created(ctr):
    ctr.process["cwd"] = "/does/not/exist"
    ctr.sh("pwd")
    assert run_ok(ctr) == "/does/not/exist\n"
    assert (ctr.rootfs / "does/not/exist").is_dir()


def test_user_uid_gid_additional_gids(ctr):
    ctr.process["user"] = {"uid": 1234, "gid": 2345, "additionalGids": [5, 100, 3000]}
    ctr.sh("id -u; id -g; grep -E '^(Uid|Gid|Groups):' /proc/self/status")
    out = run_ok(ctr).splitlines()
    assert out[0] == "1234" and out[1] == "2345"
    st = procstatus.parse_status("\n".join(out[2:]))
    assert st["Uid"].split() == ["1234"] * 4
    assert st["Gid"].split() == ["2345"] * 4
    assert sorted(map(int, st["Groups"].split())) == [5, 100, 3000]


def test_user_without_additional_gids_has_no_groups(ctr):
    # root's supplementary groups on the host must not stay with the container process
    ctr.process["user"] = {"uid": 1000, "gid": 1000}
    ctr.sh("grep '^Groups:' /proc/self/status")
    assert run_ok(ctr).split() == ["Groups:"]


def test_umask(ctr):
    ctr.process["user"]["umask"] = 0o027
    ctr.sh("umask; touch /f; stat -c %a /f")
    assert run_ok(ctr).split() == ["0027", "640"]


def test_rlimits(ctr):
    ctr.process["rlimits"] = [
        {"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456},
        {"type": "RLIMIT_CORE", "soft": 0, "hard": 4096},
        {"type": "RLIMIT_MSGQUEUE", "soft": 1000, "hard": 2000},
    ]
    ctr.sh("grep -E 'open files|core file|msgqueue' /proc/self/limits")
    lines = {" ".join(ln.split()[:-3]): ln.split()[-3:-1] for ln in run_ok(ctr).splitlines()}
    assert lines["Max open files"] == ["123", "456"]
    assert lines["Max core file size"] == ["0", "4096"]
    assert lines["Max msgqueue size"] == ["1000", "2000"]


CAPSETS = {
    "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE",
                 "CAP_SYS_CHROOT"],
    "permitted": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN"],
    "effective": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN"],
    "inheritable": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
    "ambient": ["CAP_NET_BIND_SERVICE"],
}


def _caps_inside(ctr, user):
    ctr.process["user"] = user
    ctr.process["capabilities"] = CAPSETS
    ctr.set_args("cat", "/proc/self/status")
    return procstatus.caps(procstatus.parse_status(run_ok(ctr)))


def test_capabilities_non_root(ctr):
    # For a non-root user without file caps, execve keeps inheritable, bounding and ambient,
    # and permitted = effective = ambient; raising ambient needs it in permitted and
    # inheritable beforehand, so all five sets must have been applied.
    c = _caps_inside(ctr, {"uid": 1000, "gid": 1000})
    m = {k: procstatus.cap_mask(v) for k, v in CAPSETS.items()}
    assert procstatus.names(c["CapBnd"]) == procstatus.names(m["bounding"])
    assert procstatus.names(c["CapInh"]) == procstatus.names(m["inheritable"])
    assert procstatus.names(c["CapAmb"]) == procstatus.names(m["ambient"])
    assert procstatus.names(c["CapPrm"]) == procstatus.names(m["ambient"])
    assert procstatus.names(c["CapEff"]) == procstatus.names(m["ambient"])


@pytest.mark.parametrize("nnp", [False, True])
def test_capabilities_root(ctr, nnp):
    # For uid 0, execve sets permitted = effective = bounding | inheritable; with
    # no_new_privs the kernel intersects that with the permitted set before execve.
    ctr.process["noNewPrivileges"] = nnp
    c = _caps_inside(ctr, {"uid": 0, "gid": 0})
    m = {k: procstatus.cap_mask(v) for k, v in CAPSETS.items()}
    assert procstatus.names(c["CapBnd"]) == procstatus.names(m["bounding"])
    assert procstatus.names(c["CapInh"]) == procstatus.names(m["inheritable"])
    assert procstatus.names(c["CapAmb"]) == procstatus.names(m["ambient"])
    want = m["bounding"] | m["inheritable"]
    if nnp:
        want &= m["permitted"]
    want = procstatus.names(want)
    assert procstatus.names(c["CapPrm"]) == want
    assert procstatus.names(c["CapEff"]) == want


def test_capabilities_dropped_are_enforced(ctr):
    # Without CAP_CHOWN, root cannot chown a file it does not own... nor its own to others.
    ctr.process["capabilities"] = {k: ["CAP_KILL"] for k in
                                   ("bounding", "permitted", "effective")}
    ctr.sh("touch /f; chown 1:1 /f && echo chowned; echo done")
    r = ctr.run()
    assert "chowned" not in r.stdout and "done" in r.stdout, r


def test_capabilities_absent_means_none(ctr):
    # No process.capabilities is five empty sets (runc, crun), not the runtime's own: uid 0
    # must not keep every capability the runtime holds
    ctr.process.pop("capabilities", None)
    ctr.set_args("cat", "/proc/self/status")
    c = procstatus.caps(procstatus.parse_status(run_ok(ctr)))
    assert c == {k: 0 for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}, c


@pytest.mark.parametrize("nnp", [True, False])
def test_no_new_privileges(ctr, nnp):
    ctr.process["noNewPrivileges"] = nnp
    ctr.sh("grep NoNewPrivs /proc/self/status")
    assert run_ok(ctr).split() == ["NoNewPrivs:", "1" if nnp else "0"]


def _lsm_enabled(lsm: str) -> bool:
    try:
        with open({"apparmor": "/sys/module/apparmor/parameters/enabled",
                   "selinux": "/sys/fs/selinux/enforce"}[lsm]) as f:
            return lsm == "selinux" or f.read().startswith("Y")
    except OSError:
        return False


@pytest.mark.parametrize("field,value,lsm", [
    ("apparmorProfile", "hull-itest-profile", "apparmor"),
    ("selinuxLabel", "system_u:system_r:container_t:s0", "selinux")])
def test_lsm_label_without_the_lsm_is_refused(ctr, field, value, lsm):
    # asked for confinement the host cannot give, runc and crun fail: the program must not
    # run unconfined
    if _lsm_enabled(lsm):
        pytest.skip(f"{lsm} is enabled on this host")
    ctr.process[field] = value
    ctr.set_args("sh", "-c", "echo RAN")
    r = ctr.run()
    assert r.returncode != 0 and "RAN" not in r.stdout, r
    if ctr.runtime.name == "hull":
        assert field in r.stderr and value in r.stderr, r
    assert not ctr.leftovers()


def test_oom_score_adj(ctr):
    ctr.process["oomScoreAdj"] = 517
    ctr.set_args("cat", "/proc/self/oom_score_adj")
    assert run_ok(ctr) == "517\n"


def test_terminal_console_socket(ctr, console):
    sock = console()
    ctr.process["terminal"] = True
    ctr.process["consoleSize"] = {"height": 33, "width": 111}
    ctr.sh("[ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-ttys; stty size; tty; "
           "echo console $(stat -L -c '%t:%T' /dev/console) stdin $(stat -L -c '%t:%T' "
           "/proc/self/fd/0)")
    ctr.create("--console-socket", sock.path).ok()
    sock.wait_master()
    ctr.start().ok()
    out = sock.read_until_eof()
    lines = [ln.strip() for ln in out.splitlines()]
    assert "all-ttys" in lines, out
    assert "33 111" in lines, out
    assert any(ln.startswith("/dev/") for ln in lines), out
    # /dev/console is the container's pty, not the host's console
    dev = next(ln.split() for ln in lines if ln.startswith("console "))
    assert dev[1] == dev[3] and dev[1] != "5:1", out
    ctr.wait_status("stopped")


def test_terminal_input(ctr, console):
    sock = console()
    ctr.process["terminal"] = True
    ctr.sh("read line; echo got:$line")
    ctr.create("--console-socket", sock.path).ok()
    ctr.start().ok()
    sock.write("hello\n")
    assert "got:hello" in sock.read_until_eof()
    ctr.wait_status("stopped")


def test_terminal_without_console_socket_fails(ctr):
    ctr.process["terminal"] = True
    r = ctr.create()
    assert r.returncode != 0, r
    assert "console" in r.stderr.lower(), r


@pytest.mark.skip_runtime("runc", reason="linux.personality is new in runc 1.2")
def test_personality_linux32(ctr):
    # the runtime-spec's linux.personality: LINUX32 makes uname report a 32-bit machine
    ctr.config["linux"]["personality"] = {"domain": "LINUX32"}
    ctr.set_args("uname", "-m")
    assert run_ok(ctr) == "i686\n"


@pytest.mark.hull_only
@pytest.mark.parametrize("value,field", [({"domain": "LINUX64"}, "domain"),
                                         ({"domain": "LINUX", "flags": ["x"]}, "flags")])
def test_personality_refused_with_the_field_named(ctr, value, field):
    ctr.config["linux"]["personality"] = value
    r = ctr.run()
    assert r.returncode != 0 and f"linux.personality.{field}" in r.stderr, r
    assert not ctr.leftovers()


def _keyrings_seen(ctr, *extra):
    """The keyrings named in the container's /proc/keys (unmasked for this)."""
    masked = ctr.config["linux"].get("maskedPaths", [])
    ctr.config["linux"]["maskedPaths"] = [p for p in masked if p != "/proc/keys"]
    ctr.sh("cat /proc/keys")
    r = ctr.run(*extra).ok()
    return [line.split()[-2].rstrip(":") for line in r.stdout.splitlines() if "keyring" in line]


def _own_keyrings(ctr, names):
    # runc names it "_ses.<id>", crun "<id>"
    return {f"_ses.{ctr.id}", ctr.id} & set(names)


def test_new_session_keyring_named_after_the_container(ctr):
    # runc and crun join a new session keyring: the container does not get the caller's
    # session keyring and the keys in it
    assert _own_keyrings(ctr, _keyrings_seen(ctr))


def test_no_new_keyring_keeps_the_callers(ctr):
    assert not _own_keyrings(ctr, _keyrings_seen(ctr, "--no-new-keyring"))


def test_exec_joins_the_containers_session_keyring(ctr):
    masked = ctr.config["linux"].get("maskedPaths", [])
    ctr.config["linux"]["maskedPaths"] = [p for p in masked if p != "/proc/keys"]
    ctr.start_running()
    r = ctr.exec("cat", "/proc/keys").ok()
    assert _own_keyrings(ctr, [line.split()[-2].rstrip(":") for line in r.stdout.splitlines()])
