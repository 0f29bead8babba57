"""Hostile config.json, generated: a valid config (resources, sysctl, devices, seccomp,
bind and tmpfs mounts, rlimits) with 1-4 random changes each (wrong types, huge and
negative numbers, traversal paths, NUL and lone surrogates, deleted keys, duplicated
list entries, truncated text). `create` of each must either succeed (and `delete
--force` then succeed) or fail with an exit code of 1-125 and a message; never die by a
signal or hang, never leave a state dir, mount, process or cgroup, never change the
host's sysctls, mounts or network namespace. The seed is fixed, so a failure reproduces.

Never changed, to keep the host safe whatever a bug does: root.path, the mount namespace,
cgroupsPath (a fresh one per case) and hooks (they run host programs)."""

import copy
import json
import os
import random
import subprocess

import pytest

from helpers import oci

CASES = 300
VALUES = [0, -1, 1, 2**31, 2**63 - 1, 2**63, 2**64, -2**63, 1e308, 0.5, "", "x",
          "../../../etc", "/", "/proc/self/fd/0", "a" * 5000, "\u0000", "\udcff", None, [], {},
          True, False, [1, 2], {"k": "v"}, "SCMP_ACT_KILL", "rw", "CAP_SYS_ADMIN", "-1",
          "99999999999999999999", "../../../proc/sys/kernel/hostname",
          "kernel/../../kernel/hostname", "kernel.hostname", "net.ipv4.ip_forward\n1", "1\n0",
          "max", "-1 100000", "0-1,7", "8:0 100", "/dev/sda", "b", "u", "p",
          "SCMP_CMP_MASKED_EQ", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", 4294967295, 65536]
HOST_FILES = ["/proc/sys/kernel/hostname", "/proc/sys/kernel/domainname",
              "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shmmax",
              "/proc/sys/kernel/pid_max"]


def rich_config(ctr, src):
    c = copy.deepcopy(ctr.config)
    lin = c.setdefault("linux", {})
    lin.setdefault("resources", {}).update({
        "memory": {"limit": 67108864, "swap": 134217728},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"},
        "pids": {"limit": 64}})
    lin["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shmmax": "100000"}
    lin["devices"] = [{"path": "/dev/fuzz0", "type": "c", "major": 1, "minor": 3,
                       "fileMode": 438, "uid": 0, "gid": 0}]
    lin["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["kexec_load", "mount"], "action": "SCMP_ACT_ERRNO",
                      "errnoRet": 1},
                     {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
                      "args": [{"index": 0, "value": 255, "op": "SCMP_CMP_NE"}]}]}
    c.setdefault("mounts", []).extend([
        {"destination": "/data", "type": "bind", "source": str(src), "options": ["rbind", "ro"]},
        {"destination": "/tmpx", "type": "tmpfs", "source": "tmpfs",
         "options": ["size=1m", "mode=700"]}])
    p = c["process"]
    p.setdefault("rlimits", []).append({"type": "RLIMIT_NPROC", "hard": 100, "soft": 50})
    p["oomScoreAdj"] = 100
    p.setdefault("user", {"uid": 0, "gid": 0}).update({"additionalGids": [1, 2], "umask": 18})
    c["annotations"] = {"a": "b"}
    return c


def paths(o, p=()):
    yield p
    if isinstance(o, dict):
        for k, v in o.items():
            yield from paths(v, p + (k,))
    elif isinstance(o, list):
        for i, v in enumerate(o):
            yield from paths(v, p + (i,))


def get(o, p):
    for k in p:
        o = o[k]
    return o


def protected(c, p):
    if not p or p[0] == "hooks" or p[:2] in (("root", "path"), ("linux", "cgroupsPath")):
        return True
    if p in (("root",), ("linux",), ("linux", "namespaces")):
        return True
    if len(p) >= 3 and p[:2] == ("linux", "namespaces"):
        ns = get(c, p[:3])
        return isinstance(ns, dict) and ns.get("type") == "mount"
    return False


def mutate(rnd, c):
    for _ in range(rnd.randint(1, 4)):
        p = rnd.choice([p for p in paths(c) if not protected(c, p)])
        parent, k, v = get(c, p[:-1]), p[-1], get(c, p)
        op = rnd.random()
        if op < 0.6:
            parent[k] = copy.deepcopy(rnd.choice(VALUES))
        elif op < 0.75:
            del parent[k]
        elif op < 0.85 and isinstance(parent, list):
            parent.append(copy.deepcopy(v))
        elif isinstance(v, str):
            parent[k] = v + rnd.choice(["/..", "\n", ",", "=", "/x" * 300, " "])
        else:
            parent[k] = [v] if rnd.random() < 0.5 else {"v": v}
    return c


def host_view(own_tmp):
    out = []
    for f in HOST_FILES:
        try:
            with open(f) as fh:
                out.append(fh.read())
        except OSError as e:
            out.append(str(e))
    out.append(oci.host_mounts([own_tmp]))
    out.append(os.readlink("/proc/self/ns/net"))
    return out


@pytest.mark.hull_only
def test_generated_hostile_configs(make_container, tmp_path, tmp_path_factory):
    ctr = make_container()
    src = tmp_path / "src"
    src.mkdir()
    base = rich_config(ctr, src)
    rnd = random.Random(20261202)
    own_tmp = tmp_path_factory.getbasetemp()
    before = host_view(own_tmp)
    outcomes = {"created": 0, "refused": 0}
    for n in range(CASES):
        ctr.id = f"{ctr.id.split('-fz')[0]}-fz{n}"
        c = mutate(rnd, copy.deepcopy(base))
        c["linux"]["cgroupsPath"] = f"/hull-fuzz/{ctr.id}"
        text = json.dumps(c)
        if rnd.random() < 0.08:
            cut = rnd.randint(0, len(text))
            text = text[:cut] + rnd.choice(["", "}", "\x00", "\xff", "{" * 2000])
        with open(ctr.bundle / "config.json", "w", encoding="utf-8",
                  errors="surrogatepass") as f:
            f.write(text)
        try:
            r = ctr.create(write=False)
        except subprocess.TimeoutExpired:
            pytest.fail(f"case {n}: create hung; config: {text[:2000]}")
        case = f"case {n} (exit {r.returncode}, stderr {r.stderr.strip()[-300:]!r}); " \
               f"config: {text[:2000]}"
        if r.returncode == 0:
            outcomes["created"] += 1
            d = ctr.delete(force=True)
            assert d.returncode == 0, f"delete --force failed: {d.stderr}; {case}"
        else:
            outcomes["refused"] += 1
            assert 0 < r.returncode <= 125, case
            assert r.stderr.strip(), f"no message; {case}"
        left = ctr.leftovers()
        assert not left, f"left behind {left}; {case}"
        assert host_view(own_tmp) == before, f"the host changed; {case}"
    # The generator reaches both outcomes (a change can be harmless, as a new annotation).
    assert outcomes["created"] > 10 and outcomes["refused"] > CASES / 2, outcomes
