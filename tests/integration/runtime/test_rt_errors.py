"""Bad input: each case fails with a message naming the problem, exits non-zero, and
leaves nothing behind (the make_container teardown checks state dir, mounts, processes,
cgroups; these tests also check right after the failure, before any delete)."""

import json
import os
import re

import pytest


def assert_nothing_left(ctr):
    left = ctr.leftovers()
    assert not left, f"left behind after a failed command: {left}"


def not_found_re(runtime_name: str) -> str:
    # runc's phrase, which podman and containerd map to exit code 127; crun words it
    # "executable file `x` not found in $PATH".
    if runtime_name == "crun":
        return r"executable file .*not found in \$PATH"
    return re.escape("executable file not found in $PATH")


@pytest.mark.parametrize("verb", ["run", "create"])
def test_missing_program(ctr, verb):
    ctr.set_args("no-such-program-xyz")
    r = ctr.run() if verb == "run" else ctr.create()
    assert r.returncode != 0, r
    assert re.search(not_found_re(ctr.runtime.name), r.stderr), r
    assert "no-such-program-xyz" in r.stderr, r
    if verb == "create":
        # runc fails create itself; nothing may remain in any case
        assert ctr.cmd("state", ctr.id).returncode != 0
    assert_nothing_left(ctr)


def test_missing_program_absolute_path(ctr):
    ctr.set_args("/bin/no-such-program")
    r = ctr.run()
    assert r.returncode != 0, r
    assert "no such file or directory" in r.stderr.lower(), r
    assert_nothing_left(ctr)


def test_non_executable_program(ctr):
    f = ctr.rootfs / "bin" / "notexec"
    f.write_text("#!/bin/sh\necho should not run\n")
    os.chmod(f, 0o644)
    ctr.set_args("/bin/notexec")
    r = ctr.run()
    assert r.returncode != 0, r
    assert "permission denied" in r.stderr.lower(), r
    assert "should not run" not in r.stdout
    assert_nothing_left(ctr)


def test_program_in_path_not_executable(ctr):
    f = ctr.rootfs / "bin" / "notexec2"
    f.write_text("#!/bin/sh\n")
    os.chmod(f, 0o644)
    ctr.set_args("notexec2")
    r = ctr.run()
    assert r.returncode != 0, r
    assert re.search(r"permission denied|" + not_found_re(ctr.runtime.name), r.stderr,
                     re.I), r
    assert_nothing_left(ctr)


def test_malformed_json(ctr):
    ctr.write_config('{"ociVersion": "1.0.2", "process": {')
    r = ctr.run(write=False)
    assert r.returncode != 0, r
    if ctr.runtime.name != "runc":  # runc 1.1 says only "unexpected EOF"
        assert "config.json" in r.stderr or "json" in r.stderr.lower(), r
    assert_nothing_left(ctr)


@pytest.mark.skip_runtime("crun", reason="crun 1.8's parser ignores mistyped fields")
@pytest.mark.parametrize("field,edit", [
    ("args", lambda c: c["process"].__setitem__("args", "not-a-list")),
    ("uid", lambda c: c["process"]["user"].__setitem__("uid", "zero")),
    ("hostname", lambda c: c.__setitem__("hostname", 12)),
])
def test_wrong_type_names_the_field(ctr, field, edit):
    edit(ctr.config)
    r = ctr.run()
    assert r.returncode != 0, r
    assert field in r.stderr, r
    assert_nothing_left(ctr)


def test_unknown_namespace_type(ctr):
    ctr.namespaces().append({"type": "bogusns"})
    r = ctr.run()
    assert r.returncode != 0, r
    assert "bogusns" in r.stderr, r
    assert_nothing_left(ctr)


def test_missing_rootfs(ctr):
    ctr.config["root"]["path"] = "no-such-rootfs"
    r = ctr.run()
    assert r.returncode != 0, r
    assert "no-such-rootfs" in r.stderr, r
    assert_nothing_left(ctr)


def test_missing_config(ctr):
    r = ctr.cmd("run", "--bundle", ctr.bundle, ctr.id)  # never wrote config.json
    assert r.returncode != 0, r
    assert "config.json" in r.stderr, r
    assert_nothing_left(ctr)


def test_bad_mount_source(ctr, tmp_path):
    ctr.add_mount("/mnt", "bind", tmp_path / "no-such-dir", ["bind"])
    r = ctr.run()
    assert r.returncode != 0, r
    assert "no-such-dir" in r.stderr or "/mnt" in r.stderr, r
    assert_nothing_left(ctr)


def test_bad_mount_option(ctr):
    ctr.add_mount("/scratch", "tmpfs", "tmpfs", ["size=1m", "bogus_option_xyz"])
    r = ctr.run()
    assert r.returncode != 0, r
    assert "bogus_option_xyz" in r.stderr or "scratch" in r.stderr, r
    assert_nothing_left(ctr)


@pytest.mark.parametrize("dest", ["/", "//", "/."])
def test_mount_on_root_refused(ctr, tmp_path, dest):
    # a mount over / would be hidden by the rootfs itself; runc and crun refuse it
    (tmp_path / "src").mkdir()
    ctr.add_mount(dest, "bind", tmp_path / "src", ["bind"])
    r = ctr.run()
    assert r.returncode != 0, r
    assert_nothing_left(ctr)


def test_failure_after_mounts_cleans_up(ctr, tmp_path):
    # a late failure (bad program) after mounts were set up must undo them all
    src = tmp_path / "src"
    src.mkdir()
    ctr.add_mount("/mnt", "bind", src, ["rbind"])
    ctr.add_mount("/scratch", "tmpfs", "tmpfs", ["size=1m"])
    ctr.set_args("no-such-program-xyz")
    r = ctr.create()
    assert r.returncode != 0, r
    assert_nothing_left(ctr)


@pytest.mark.parametrize("verb", [["state"], ["start"], ["kill", "KILL"], ["delete"],
                                  ["exec", "true"]])
def test_unknown_id(ctr, verb):
    args = [verb[0], "no-such-ctr-" + ctr.id, *verb[1:]]
    if verb[0] == "exec":
        args = ["exec", "no-such-ctr-" + ctr.id, "true"]
    r = ctr.cmd(*args)
    assert r.returncode != 0, r
    assert "no-such-ctr-" + ctr.id in r.stderr or "not exist" in r.stderr, r


def test_duplicate_id(make_container):
    a = make_container()
    a.start_running()
    b = make_container(cid=a.id)
    b.root = a.root
    b.sh("echo second > /second; sleep 1000")
    r = b.create()
    assert r.returncode != 0, r
    assert a.id in r.stderr or "exist" in r.stderr, r
    st = a.state()  # the first is untouched
    assert st["status"] == "running"
    assert os.path.realpath(st["bundle"]) == os.path.realpath(a.bundle)
    assert not (b.rootfs / "second").exists()


@pytest.mark.parametrize("bad", ["", "../escape", "a/b", ".."])
def test_invalid_id(ctr, bad):
    ctr.write_config()
    r = ctr.cmd("create", "--bundle", ctr.bundle, bad)
    assert r.returncode != 0, r
    # nothing created outside --root, and nothing inside it
    assert not (ctr.root.parent / "escape").exists()
    assert [p for p in ctr.root.iterdir() if not p.name.startswith(".")] == []


@pytest.mark.hull_only
def test_log_format_json(ctr, tmp_path):
    log = tmp_path / "log.json"
    ctr.set_args("no-such-program-xyz")
    ctr.write_config()
    r = ctr.cmd("run", "--bundle", ctr.bundle, ctr.id,
                global_args=["--log", log, "--log-format", "json"])
    assert r.returncode != 0
    lines = [json.loads(ln) for ln in log.read_text().splitlines() if ln.strip()]
    errs = [ln for ln in lines if ln.get("level") == "error"]
    assert errs, lines
    assert "executable file not found in $PATH" in errs[-1]["msg"]
    assert "time" in errs[-1]
    assert_nothing_left(ctr)


def test_log_format_json_keeps_stderr_plain(ctr, tmp_path):
    # runc and crun: JSON lines in the --log file, the error as plain text on stderr (what a
    # person or podman shows)
    log = tmp_path / "log.json"
    r = ctr.cmd("state", "no-such-container", global_args=["--log", log, "--log-format", "json"])
    assert r.returncode != 0
    assert r.stderr.strip() and not r.stderr.lstrip().startswith("{"), r
    lines = [json.loads(ln) for ln in log.read_text().splitlines() if ln.strip()]
    assert any(ln.get("level") == "error" and ln.get("msg") for ln in lines), lines


@pytest.mark.hull_only
def test_systemd_cgroup_is_a_clear_error(ctr):
    ctr.write_config()
    r = ctr.cmd("create", "--bundle", ctr.bundle, ctr.id, global_args=["--systemd-cgroup"])
    assert r.returncode != 0
    assert "systemd" in r.stderr
    assert_nothing_left(ctr)


@pytest.mark.hull_only
def test_version_names_spec_version(ctr):
    r = ctr.cmd("--version").ok()
    assert "hull" in r.stdout.lower()
    assert re.search(r"spec:?\s*1\.\d+\.\d+", r.stdout), r


@pytest.mark.hull_only
def test_features_document(ctr):
    doc = json.loads(ctr.cmd("features").ok().stdout)
    assert doc["ociVersionMin"].startswith("1.0")
    assert doc["ociVersionMax"].startswith("1.2")
    nss = set(doc["linux"]["namespaces"])
    assert {"pid", "uts", "mount", "ipc", "network", "user", "cgroup", "time"} <= nss
    assert "CAP_SYS_ADMIN" in doc["linux"]["capabilities"]
    for opt in ("ro", "rbind", "nosuid", "rprivate", "rslave", "rshared"):
        assert opt in doc["mountOptions"], opt
    assert set(doc["hooks"]) >= {"prestart", "createRuntime", "createContainer",
                                 "startContainer", "poststart", "poststop"}


@pytest.mark.skip_runtime("crun", reason="crun 1.8 has no features command")
def test_features_apparmor_means_supported(ctr):
    # features.md: apparmor.enabled is true if the runtime supports it (compiled in),
    # whatever the host has; runc says true, and hull applies process.apparmorProfile
    doc = json.loads(ctr.cmd("features").ok().stdout)
    assert doc["linux"]["apparmor"]["enabled"] is True


@pytest.mark.hull_only
def test_spec_is_runnable_as_is(ctr, tmp_path):
    # `spec` output with only terminal turned off runs a shell in the rootfs
    d = tmp_path / "specdir"
    d.mkdir()
    cfg = ctr.runtime.spec(d)
    assert cfg["process"]["args"] == ["sh"]
    assert cfg["root"]["path"] == "rootfs"
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["sh", "-c", "echo from-spec; hostname"]
    cfg["process"]["env"].append(f"HULL_ITEST={ctr.id}")
    ctr.config = cfg
    r = ctr.run()
    assert r.returncode == 0, r
    assert r.stdout.splitlines()[0] == "from-spec"
