"""root and mounts: bind/rbind, ro, tmpfs size/mode, flags, propagation, the special
filesystems, symlinked targets that point out of the rootfs, readonly root, masked and
read-only paths, sysctl, devices."""

import contextlib
import os
import subprocess

import pytest

from helpers import oci


def run_ok(ctr) -> str:
    r = ctr.run()
    assert r.returncode == 0, r
    return r.stdout


def mountinfo(text: str) -> dict[str, dict]:
    """mountpoint -> {fstype, opts (per-mount), super (per-sb), optional} (last wins)."""
    out = {}
    for line in text.splitlines():
        left, right = line.split(" - ", 1)
        f = left.split()
        r = right.split()
        out[f[4]] = {"fstype": r[0], "source": r[1], "opts": set(f[5].split(",")),
                     "super": set(r[2].split(",")), "optional": f[6:]}
    return out


def inside_mountinfo(ctr) -> dict[str, dict]:
    ctr.set_args("cat", "/proc/self/mountinfo")
    return mountinfo(run_ok(ctr))


@contextlib.contextmanager
def host_mount(*args):
    """mount(8) in the test's own mount namespace, unmounted afterwards."""
    target = args[-1]
    subprocess.run(["mount", *map(str, args)], check=True)
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(target)], check=True)


def test_bind_ro(ctr, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_text("host data\n")
    ctr.add_mount("/data", "bind", src, ["rbind", "ro"])
    ctr.sh("cat /data/f; touch /data/new 2>/dev/null && echo WROTE; "
           "grep ' /data ' /proc/self/mountinfo")
    out = run_ok(ctr).splitlines()
    assert out[0] == "host data"
    assert "WROTE" not in out
    assert "ro" in out[1].split()[5].split(",")
    assert sorted(os.listdir(src)) == ["f"]


def test_bind_rw_writes_reach_host(ctr, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    ctr.add_mount("/data", "none", src, ["bind"])
    ctr.sh("echo from-container > /data/out")
    run_ok(ctr)
    assert (src / "out").read_text() == "from-container\n"


def test_bind_file(ctr, tmp_path):
    src = tmp_path / "file"
    src.write_text("file content\n")
    ctr.add_mount("/etc/bound", "bind", src, ["bind", "ro"])
    ctr.set_args("cat", "/etc/bound")
    assert run_ok(ctr) == "file content\n"


def test_tmpfs_size_mode_and_invisible_from_host(ctr):
    ctr.add_mount("/scratch", "tmpfs", "tmpfs", ["size=1m", "mode=1770", "nosuid", "nodev"])
    ctr.sh("stat -c %a /scratch; echo secret > /scratch/s; "
           "dd if=/dev/zero of=/scratch/big bs=1k count=2048 2>/dev/null || echo FULL; "
           "grep ' /scratch ' /proc/self/mountinfo")
    out = run_ok(ctr).splitlines()
    assert out[0] == "1770"
    assert "FULL" in out
    mi = mountinfo(out[-1])["/scratch"]
    assert mi["fstype"] == "tmpfs"
    assert "size=1024k" in mi["super"]
    assert {"nosuid", "nodev"} <= mi["opts"]
    # the tmpfs lived only in the container's mount namespace
    assert os.listdir(ctr.rootfs / "scratch") == []


def test_tmpfs_tmpcopyup(ctr):
    # "tmpcopyup": the tmpfs starts with a copy of the directory it hides, owners, modes
    # and symlinks kept (runc, crun); what is written goes to the tmpfs only
    d = ctr.rootfs / "opt"
    (d / "sub").mkdir(parents=True)
    (d / "sub" / "f").write_text("from the image\n")
    os.chown(d / "sub" / "f", 7, 8)
    os.chmod(d / "sub" / "f", 0o604)
    os.symlink("sub/f", d / "link")
    ctr.add_mount("/opt", "tmpfs", "tmpfs", ["tmpcopyup"])
    ctr.sh("cat /opt/link; stat -c '%a %u %g' /opt/sub/f; readlink /opt/link; echo x > /opt/new;"
           " grep -c ' /opt .* - tmpfs ' /proc/self/mountinfo")
    assert run_ok(ctr).splitlines() == ["from the image", "604 7 8", "sub/f", "1"]
    assert not (d / "new").exists()


def test_mount_flags_noexec(ctr):
    ctr.add_mount("/scratch", "tmpfs", "tmpfs", ["noexec"])
    ctr.sh("cp /bin/busybox /scratch/bb; /scratch/bb true && echo EXECUTED; echo done")
    out = run_ok(ctr)
    assert "EXECUTED" not in out and "done" in out


def test_rbind_carries_submounts_bind_does_not(ctr, tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "under").write_text("")
    with host_mount("-t", "tmpfs", "tmpfs", src / "sub"):
        (src / "sub" / "on-tmpfs").write_text("")
        ctr.add_mount("/r", "bind", src, ["rbind"])
        ctr.add_mount("/b", "bind", src, ["bind"])
        ctr.sh("ls /r/sub; echo --; ls /b/sub")
        out = run_ok(ctr).split()
    assert out == ["on-tmpfs", "--", "under"]


def test_recursive_mount_attributes(ctr, tmp_path):
    # "rro", "rnosuid", "rnodev", "rnoexec" (mount_setattr with AT_RECURSIVE) reach every
    # mount of an rbind, the submounts too; "ro" alone makes only the top one read-only
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    with host_mount("-t", "tmpfs", "tmpfs", src / "sub"):
        ctr.add_mount("/r", "bind", src, ["rbind", "rro", "rnosuid", "rnodev", "rnoexec"])
        ctr.add_mount("/top", "bind", src, ["rbind", "ro"])
        ctr.sh("for f in /r/x /r/sub/x /top/sub/x; do touch $f 2>/dev/null && echo wrote $f;"
               " done; cat /proc/self/mountinfo")
        out = run_ok(ctr)
    wrote = [ln for ln in out.splitlines() if ln.startswith("wrote")]
    assert wrote == ["wrote /top/sub/x"], out
    mi = mountinfo("\n".join(ln for ln in out.splitlines() if " - " in ln))
    for mp in ("/r", "/r/sub"):
        assert {"ro", "nosuid", "nodev", "noexec"} <= mi[mp]["opts"], (mp, mi[mp])
    assert "ro" not in mi["/top/sub"]["opts"]


@pytest.mark.parametrize("prop,seen", [("rslave", True), ("rprivate", False)])
def test_bind_propagation(ctr, tmp_path, prop, seen):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    with host_mount("--bind", src, src):
        subprocess.run(["mount", "--make-shared", str(src)], check=True)
        ctr.add_mount("/prop", "bind", src, ["rbind", prop])
        ctr.config["linux"]["rootfsPropagation"] = "rslave"
        ctr.start_running("while [ ! -e /go ]; do sleep 0.05; done; "
                          "if [ -e /prop/sub/x ]; then echo seen; else echo unseen; fi > /res; "
                          "exec sleep 1000")
        # a mount made on the host after start reaches a slave, not a private mount
        with host_mount("-t", "tmpfs", "tmpfs", src / "sub"):
            (src / "sub" / "x").write_text("")
            (ctr.rootfs / "go").write_text("")
            oci.wait_for(lambda: (ctr.rootfs / "res").exists(), what="container check")
        ctr.delete(force=True)
    assert (ctr.rootfs / "res").read_text() == ("seen\n" if seen else "unseen\n")


@pytest.mark.skip_runtime("crun", reason="crun 1.8 leaves an rshared bind private")
def test_shared_propagation_tag(ctr, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    ctr.add_mount("/sh", "bind", src, ["rbind", "rshared"])
    ctr.add_mount("/pr", "bind", src, ["rbind", "rprivate"])
    mi = inside_mountinfo(ctr)
    assert any(o.startswith("shared:") for o in mi["/sh"]["optional"]), mi["/sh"]
    assert not any(o.startswith(("shared:", "master:")) for o in mi["/pr"]["optional"])


def test_special_filesystems(ctr):
    mi = inside_mountinfo(ctr)
    want = {"/proc": "proc", "/sys": "sysfs", "/dev/pts": "devpts", "/dev/mqueue": "mqueue",
            "/dev": "tmpfs", "/dev/shm": "tmpfs"}
    for mp, fs in want.items():
        assert mp in mi, f"{mp} not mounted: {sorted(mi)}"
        assert mi[mp]["fstype"] == fs, (mp, mi[mp])
    # devpts is a new instance: no host ptys visible
    ctr.set_args("ls", "/dev/pts")
    assert run_ok(ctr).split() == ["ptmx"]


def test_proc_is_the_containers(ctr):
    ctr.sh("ls /proc | grep -c '^[0-9]'")
    assert int(run_ok(ctr)) <= 3  # sh, ls, grep


@pytest.mark.parametrize("how", ["absolute", "relative", "nested"])
def test_mount_target_symlink_stays_inside(ctr, tmp_path, how):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "host-file").write_text("host\n")
    if how == "absolute":
        os.symlink(outside, ctr.rootfs / "evil")
        target = "/evil"
    elif how == "relative":
        os.symlink("../" * 30 + str(outside).lstrip("/"), ctr.rootfs / "evil")
        target = "/evil"
    else:  # a symlinked directory in the middle of the target path
        os.symlink(outside, ctr.rootfs / "evil")
        target = "/evil/deeper"
    before = oci.mounts_under(outside)
    ctr.add_mount(target, "tmpfs", "tmpfs", ["size=1m"])
    ctr.sh(f"echo from-container > {target}/x 2>/dev/null; cat /proc/self/mountinfo")
    try:
        r = ctr.run()
    finally:
        escaped = [m for m in oci.mounts_under(outside) if m not in before]
        for m in reversed(escaped):
            subprocess.run(["umount", "-l", m])
    assert not escaped, f"mounted on the host: {escaped}"
    # Either the runtime refuses, or it mounts inside the rootfs; never on the host dir.
    assert sorted(os.listdir(outside)) == ["host-file"], r
    assert oci.mounts_under(outside) == before
    if r.returncode == 0:
        mi = mountinfo(r.stdout)
        tmpfs_targets = [mp for mp, m in mi.items() if m["fstype"] == "tmpfs"
                         and "size=1024k" in m["super"]]
        assert tmpfs_targets, r.stdout
        # the mount landed at the symlink's target resolved inside the container's root
        assert all(mp.startswith(str(outside)) or mp.startswith(target)
                   for mp in tmpfs_targets), tmpfs_targets
        assert (ctr.rootfs / str(outside).lstrip("/")).is_dir() or how == "nested"


def test_bind_source_symlink_into_rootfs_is_followed_on_host(ctr, tmp_path):
    # the source is a host path and is resolved on the host (only targets are confined)
    real = tmp_path / "real"
    real.mkdir()
    (real / "f").write_text("via link\n")
    os.symlink(real, tmp_path / "link")
    ctr.add_mount("/m", "bind", tmp_path / "link", ["rbind"])
    ctr.set_args("cat", "/m/f")
    assert run_ok(ctr) == "via link\n"


def test_readonly_root(ctr):
    ctr.config["root"]["readonly"] = True
    ctr.sh("touch /x 2>&1; cat /proc/self/mountinfo; echo w > /dev/shm/ok && echo shm-ok")
    out = run_ok(ctr)
    assert "Read-only file system" in out, out
    assert not (ctr.rootfs / "x").exists()
    mi = mountinfo("\n".join(ln for ln in out.splitlines() if " - " in ln))
    assert "ro" in mi["/"]["opts"]
    assert "shm-ok" in out  # mounts on top stay writable


def test_masked_paths(ctr):
    if not os.listdir("/sys/firmware"):
        pytest.skip("host /sys/firmware is empty")
    masked_file = next((f for f in ("/proc/kcore", "/proc/timer_list", "/proc/keys")
                        if os.path.exists(f) and os.path.getsize(f) >= 0), None)
    with open(masked_file, "rb") as f:
        assert f.read(1), f"{masked_file} is empty on the host: pick another"
    ctr.config["linux"]["maskedPaths"] = [masked_file, "/sys/firmware", "/proc/no-such"]
    ctr.sh(f"wc -c < {masked_file}; ls -A /sys/firmware | wc -l; "
           "touch /sys/firmware/x 2>/dev/null && echo WROTE; echo done")
    out = run_ok(ctr).split()
    assert out[:2] == ["0", "0"], out
    assert "WROTE" not in out and "done" in out


def test_readonly_paths(ctr):
    ctr.config["linux"]["readonlyPaths"] = ["/proc/sys", "/proc/bus", "/no/such"]
    ctr.process["capabilities"] = {k: ["CAP_SYS_ADMIN", "CAP_KILL"] for k in
                                   ("bounding", "permitted", "effective")}
    ctr.sh("{ echo 1 > /proc/sys/kernel/hostname; } 2>&1; cat /proc/self/mountinfo")
    out = run_ok(ctr)
    assert "Read-only file system" in out, out
    mi = mountinfo("\n".join(ln for ln in out.splitlines() if " - " in ln))
    assert "ro" in mi["/proc/sys"]["opts"]
    assert "ro" in mi["/proc/bus"]["opts"]


def test_sysctl(ctr):
    paths = ["/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/msgmax",
             "/proc/sys/net/ipv4/conf/all/forwarding"]
    host = {p: open(p).read() for p in paths}
    ctr.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.msgmax": "12345",
                                     "net/ipv4/conf/all/forwarding": "1"}
    ctr.sh("cat " + " ".join(paths))
    try:
        out = run_ok(ctr).split()
        changed = [p for p in paths if open(p).read() != host[p]]
    finally:  # a runtime that wrote the host's knobs must not leave them changed
        for p, v in host.items():
            if open(p).read() != v:
                with open(p, "w") as f:
                    f.write(v)
    assert out == ["1", "12345", "1"]
    assert not changed, f"the container changed the host's {changed}"


def test_sysctl_outside_namespace_refused(ctr):
    # vm.* is host-global (no namespace has it): writing it from a container would change
    # the host, so it must be refused (runc and crun allow only namespaced sysctls)
    path = "/proc/sys/vm/swappiness"
    with open(path) as f:
        host = f.read()
    other = "17" if host.strip() != "17" else "18"
    ctr.config["linux"]["sysctl"] = {"vm.swappiness": other}
    try:
        r = ctr.run()
        with open(path) as f:
            now = f.read()
    finally:
        with open(path, "w") as f:
            f.write(host)
    assert now == host, "the container changed the host's vm.swappiness"
    assert r.returncode != 0, r
    assert "swappiness" in r.stderr, r
    assert not ctr.leftovers()


@pytest.mark.parametrize("hostname", ["itest", None])
def test_sysctl_kernel_hostname_refused(ctr, hostname):
    # runc and crun refuse it, with or without the hostname field: that field sets it
    if hostname is None:
        del ctr.config["hostname"]
    ctr.config["linux"]["sysctl"] = {"kernel.hostname": "other"}
    ctr.set_args("hostname")
    r = ctr.run()
    assert r.returncode != 0, r
    assert "kernel.hostname" in r.stderr, r
    assert not ctr.leftovers()


DEFAULT_DEVICES = {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8),
                   "urandom": (1, 9), "tty": (5, 0)}


def test_default_devices(ctr):
    ctr.sh("for d in null zero full random urandom tty; do stat -c '%n %F %t %T' /dev/$d; done;"
           " for l in fd stdin stdout stderr; do readlink /dev/$l; done; ls -d /dev/ptmx /dev/shm;"
           " { echo x > /dev/full; } 2>&1; head -c 4 /dev/zero | wc -c; echo ok > /dev/null")
    out = run_ok(ctr).splitlines()
    for ln in out[:6]:
        parts = ln.split()
        dev, maj, mnr = parts[0].removeprefix("/dev/"), parts[-2], parts[-1]
        assert "character special file" in ln, ln
        assert (int(maj, 16), int(mnr, 16)) == DEFAULT_DEVICES[dev], ln
    assert out[6:10] == ["/proc/self/fd", "/proc/self/fd/0", "/proc/self/fd/1",
                         "/proc/self/fd/2"]
    assert out[10:12] == ["/dev/ptmx", "/dev/shm"]
    assert "No space left on device" in out[12]
    assert out[13] == "4"


def test_no_host_devices(ctr):
    ctr.sh("ls /dev")
    names = set(run_ok(ctr).split())
    assert not names & {"sda", "vda", "nvme0n1", "mem", "kmsg", "loop0"}, names


def test_linux_devices(ctr):
    ctr.config["linux"]["devices"] = [
        {"path": "/dev/itest-null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o620,
         "uid": 7, "gid": 8},
        {"path": "/dev/itest-null2", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666},
        {"path": "/dev/sub/itest-zero", "type": "c", "major": 1, "minor": 5},
    ]
    res = ctr.config["linux"].setdefault("resources", {})
    res.setdefault("devices", []).extend([
        {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
        {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"}])
    ctr.sh("stat -c '%F %t %T %a %u %g' /dev/itest-null; echo x > /dev/itest-null2 && echo w-ok;"
           " head -c 3 /dev/sub/itest-zero | wc -c")
    out = run_ok(ctr).splitlines()
    assert out[0] == "character special file 1 3 620 7 8"
    assert out[1] == "w-ok"
    assert out[2] == "3"


def test_linux_devices_replace_a_default_device(ctr):
    # an entry at a default device's path is the one made (runc, crun): its numbers and mode
    ctr.config["linux"]["devices"] = [
        {"path": "/dev/full", "type": "c", "major": 1, "minor": 5, "fileMode": 0o640}]
    res = ctr.config["linux"].setdefault("resources", {})
    res.setdefault("devices", []).append(
        {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"})
    ctr.sh("stat -c '%t %T %a' /dev/full; echo x > /dev/full && echo w-ok")
    assert run_ok(ctr).splitlines() == ["1 5 640", "w-ok"]


def test_device_file_mode_drops_setuid_setgid_sticky(ctr):
    # runc and crun make no setuid or setgid device node (04755 -> 0755); the sticky bit stays
    ctr.config["linux"]["devices"] = [
        {"path": "/dev/itest-a", "type": "c", "major": 1, "minor": 3, "fileMode": 0o4755},
        {"path": "/dev/itest-b", "type": "c", "major": 1, "minor": 3, "fileMode": 0o7755}]
    ctr.sh("stat -c '%a' /dev/itest-a /dev/itest-b")
    assert run_ok(ctr) == "755\n1755\n"
