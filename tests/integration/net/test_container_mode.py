"""--network container:NAME as docker does it: the joiner shares NAME's network namespace
and also NAME's /etc/hosts, /etc/hostname and /etc/resolv.conf (the same files, so
updates of NAME's hosts reach it) and NAME's hostname. Flags that would write those files
conflict, as in docker. Runs inside the test's network namespace (conftest.py)."""
import json
import re
import time

import pytest

FILES = "/etc/hosts /etc/hostname /etc/resolv.conf"


def files_of(hull, name):
    out = hull("exec", name, "sh", "-c",
               f"for f in {FILES}; do echo \"== $f $(stat -c %i $f)\"; cat $f; done; "
               "echo \"== uname $(hostname)\"").stdout
    return out


def test_joiner_shares_hosts_hostname_resolv_conf(hull, testns):
    hull("network", "create", "app")
    hull.run("-d", "--name", "base", "--network", "app", "--hostname", "basehost",
             "--add-host", "db:10.1.2.3", "--dns", "10.0.0.53", "--", "sleep", "1000")
    hull.run("-d", "--name", "side", "--network", "container:base", "--", "sleep", "1000")
    base, side = files_of(hull, "base"), files_of(hull, "side")
    # Same contents and the same inodes (one file bind-mounted into both), same hostname.
    assert side == base, f"base:\n{base}\nside:\n{side}"
    assert "== uname basehost" in side
    assert re.search(r"^10\.1\.2\.3\s+db$", side, re.M), side
    assert "nameserver 10.0.0.53" in side
    own = hull.run("--rm", "--network", "container:base", "--", "sh", "-c", "echo $HOSTNAME")
    assert own.stdout.strip() == "basehost"

    # A peer joining base's network is written into base's hosts file: side sees it too.
    hull.run("-d", "--name", "peer", "--network", "app", "--", "sleep", "1000")
    for _ in range(20):
        hosts = hull("exec", "side", "cat", "/etc/hosts").stdout
        if re.search(r"\speer(\s|$)", hosts):
            break
        time.sleep(0.1)
    assert re.search(r"\speer(\s|$)", hosts), hosts
    assert hosts == hull("exec", "base", "cat", "/etc/hosts").stdout


def test_chained_joiner_uses_the_first_containers_files(hull):
    hull.run("-d", "--name", "base", "--hostname", "root1", "--", "sleep", "1000")
    hull.run("-d", "--name", "mid", "--network", "container:base", "--", "sleep", "1000")
    hull.run("-d", "--name", "last", "--network", "container:mid", "--", "sleep", "1000")
    assert files_of(hull, "last") == files_of(hull, "base")


def test_joiner_with_default_hostname_takes_the_targets(hull):
    hull.run("-d", "--name", "base", "--", "sleep", "1000")
    want = hull("exec", "base", "hostname").stdout
    out = hull.run("--rm", "--network", "container:base", "--",
                   "sh", "-c", "hostname; cat /etc/hostname").stdout
    assert out == want + want, (out, want)


@pytest.mark.parametrize("flags,docker", [
    (["--dns", "10.0.0.53"], "dns and the network mode"),
    (["--dns-search", "example.test"], "dns search and the network mode"),
    (["--dns-option", "ndots:2"], "dns options and the network mode"),
    (["--add-host", "db:10.1.2.3"], "custom host-to-IP mapping and the network mode"),
    (["--hostname", "other"], "hostname and the network mode"),
    (["-h", "other"], "hostname and the network mode"),
    (["-p", "8080:80"], "port publishing and the container type network mode"),
    (["--publish", "80"], "port publishing and the container type network mode"),
    (["-P"], "port publishing and the container type network mode"),
    (["--mac-address", "02:42:ac:11:00:99"], "mac-address and the network mode"),
])
def test_flags_that_conflict_with_a_shared_network(hull, flags, docker):
    """docker's refusals (moby's runconfig errors, word for word), with the flag given;
    both run and create, nothing made."""
    hull.run("-d", "--name", "base", "--", "sleep", "1000")
    ids = hull("ps", "-aq").stdout
    flag = "--hostname" if flags[0] == "-h" else "--publish-all" if flags[0] == "-P" else (
        "--publish" if flags[0] == "-p" else flags[0])
    for verb in ("run", "create"):
        p = hull(verb, "--network", "container:base", *flags, *hull.image, "true", check=False)
        assert p.returncode == 125, p
        assert f"conflicting options: {docker} ({flag}" in p.stderr, p.stderr
        assert "--network container:base" in p.stderr, p.stderr
        assert hull("ps", "-aq").stdout == ids


def test_exec_and_inspect_of_a_joiner_show_the_owners_hostname(hull):
    """docker sets the joiner's Config.Hostname to the owner's: exec's $HOSTNAME and
    inspect agree with `hostname` inside; a HOSTNAME given with -e is kept."""
    hull.run("-d", "--name", "base", "--hostname", "basehost", "--", "sleep", "1000")
    hull.run("-d", "--name", "side", "--network", "container:base", "--", "sleep", "1000")
    out = hull("exec", "side", "sh", "-c", "echo $HOSTNAME; hostname").stdout
    assert out == "basehost\nbasehost\n", out
    cfg = json.loads(hull("inspect", "side").stdout)[0]["Config"]
    assert cfg["Hostname"] == "basehost", cfg
    assert "HOSTNAME=basehost" in cfg["Env"], cfg["Env"]

    hull.run("-d", "--name", "own", "--network", "container:base", "-e", "HOSTNAME=mine",
             "--", "sleep", "1000")
    out = hull("exec", "own", "sh", "-c", "echo $HOSTNAME; hostname").stdout
    assert out == "mine\nbasehost\n", out
