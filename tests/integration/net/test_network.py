"""hull's networking end to end: user networks with names, published ports, the
--network modes, IPAM over many runs, port conflicts, and clean-up. Runs hull inside a
throwaway network namespace (conftest.py)."""
import json
import re
import socket
import subprocess
import time

import pytest

from .conftest import wait_http

HTTPD = "mkdir -p /tmp/www && echo hello-from-$(hostname) > /tmp/www/index.html && " \
        "exec httpd -f -p 80 -h /tmp/www"



def test_network_create_ls_inspect_rm(hull, testns):
    nid = hull("network", "create", "--subnet", "10.201.0.0/24", "app").stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", nid)
    ls = hull("network", "ls").stdout
    assert "app" in ls and nid[:12] in ls
    info = hull("network", "inspect", "app").stdout
    assert '"Gateway": "10.201.0.1"' in info and '"Subnet": "10.201.0.0/24"' in info
    bridge = re.search(r'"com.docker.network.bridge.name": "([^"]+)"', info).group(1)
    assert bridge in testns.links()
    # -f/--format as docker's (the flag was unknown): a line per network.
    fmt = "{{.Name}} {{.Driver}}"
    p = hull("network", "inspect", "-f", fmt, "app", "nosuchnet", check=False)
    assert p.returncode == 1 and p.stdout == "app bridge\n" and "nosuchnet" in p.stderr
    bad = hull("network", "create", "--subnet", "10.201.0.0/25", "other", check=False)
    assert bad.returncode != 0 and "overlaps" in bad.stderr
    hull("network", "rm", "app")
    assert bridge not in testns.links()
    assert "table ip hull" not in testns.nft_tables()


def test_inspect_host_and_none_list_their_running_containers(hull):
    """As docker's: the predefined host and none networks list the containers that run on
    them (hull records no endpoint for either: the records say which), with no address;
    a stopped one, or one of another mode, is not listed."""
    hull.run("-d", "--name", "h1", "--network", "host", "--", "sleep", "1000")
    hull.run("-d", "--name", "n1", "--network", "none", "--", "sleep", "1000")
    hull.run("-d", "--name", "j1", "--network", "container:n1", "--", "sleep", "1000")
    hull.run("-d", "--name", "h2", "--network", "host", "--", "true")
    hull("wait", "h2")
    hull("create", "--name", "h3", "--network", "host", *hull.image, "true")
    hull.started.append("h3")
    ids = {n: hull("inspect", "-f", "{{.Id}}", n).stdout.strip() for n in ("h1", "n1")}
    for net, name in (("host", "h1"), ("none", "n1")):
        info = json.loads(hull("network", "inspect", net).stdout)[0]
        assert list(info["Containers"]) == [ids[name]], info["Containers"]
        entry = info["Containers"][ids[name]]
        assert entry["Name"] == name and entry["IPv4Address"] == "", entry
        assert entry["MacAddress"] == "" and re.fullmatch(r"[0-9a-f]{64}", entry["EndpointID"])
        names = hull("network", "inspect", "-f",
                     "{{range .Containers}}{{.Name}} {{end}}", net).stdout
        assert names == f"{name} \n", names
    # Gone with its program: a stopped container is no member.
    hull("stop", "-t", "0", "h1")
    assert json.loads(hull("network", "inspect", "host").stdout)[0]["Containers"] == {}


def test_two_containers_reach_each_other_by_name(hull, testns):
    hull("network", "create", "app")
    hull.run("-d", "--name", "web", "--network", "app", "--network-alias", "www", "--",
             "sh", "-c", HTTPD)
    out, err = "", ""
    for _ in range(30):
        p = hull.run("--rm", "--network", "app", "--", "wget", "-q", "-O", "-", "http://web/",
                     check=False)
        out, err = p.stdout, p.stderr
        if p.returncode == 0:
            break
        time.sleep(0.2)
    assert out.startswith("hello-from-"), err
    alias = hull.run("--rm", "--network", "app", "--", "wget", "-q", "-O", "-", "http://www/")
    assert alias.stdout == out


def test_publish_on_localhost_answers_from_the_namespace(hull, testns):
    hull.run("-d", "--name", "web", "-p", "127.0.0.1:18080:80", "--", "sh", "-c", HTTPD)
    assert wait_http(testns, "http://127.0.0.1:18080/").startswith("hello-from-")
    ps = hull("ps").stdout
    assert "127.0.0.1:18080->80/tcp" in ps, ps


def test_publish_free_port_shown_by_hull_port(hull, testns):
    hull.run("-d", "--name", "web", "-p", "80", "--", "sh", "-c", HTTPD)
    out = hull("port", "web").stdout
    m = re.search(r"80/tcp -> 0\.0\.0\.0:(\d+)", out)
    assert m, out
    port = int(m.group(1))
    assert port != 0
    assert wait_http(testns, f"http://127.0.0.1:{port}/").startswith("hello-from-")
    ps = hull("ps").stdout
    assert f"0.0.0.0:{port}->80/tcp" in ps, ps


def test_network_none_has_only_lo(hull):
    out = hull.run("--rm", "--network", "none", "--", "ip", "-o", "link").stdout
    names = [l.split(":")[1].strip() for l in out.splitlines()]
    assert names == ["lo"], out
    assert "UP" in out


def test_network_container_shares_interfaces(hull):
    hull.run("-d", "--name", "base", "--", "sleep", "1000")
    base = hull("exec", "base", "ip", "-o", "-4", "addr", "show", "eth0").stdout
    ip = re.search(r"inet (\S+)", base).group(1)
    out = hull.run("--rm", "--network", "container:base", "--", "ip", "-o", "-4", "addr").stdout
    assert ip in out, out


def test_network_host_sees_the_namespace(hull, testns):
    # A veth pair: the dummy driver is not in every kernel (it is not here).
    made = testns.sh("ip link add hulltestva type veth peer name hulltestvb")
    assert made.returncode == 0, made.stderr
    try:
        out = hull.run("--rm", "--network", "host", "--", "ip", "-o", "link").stdout
        assert "hulltestva" in out and "hulltestvb" in out, out
        assert hull("ps", "-a", "-q").stdout == ""
    finally:
        testns.sh("ip link del hulltestva")


def test_network_container_must_be_running(hull):
    hull("create", "--name", "idle", *hull.image, "sleep", "1000")
    hull.started.append("idle")
    p = hull.run("--rm", "--network", "container:idle", "--", "true", check=False)
    assert p.returncode != 0
    assert "idle" in p.stderr and "not running" in p.stderr, p.stderr
    p = hull.run("--rm", "--network", "container:nosuch", "--", "true", check=False)
    assert p.returncode != 0 and "nosuch" in p.stderr, p.stderr


def test_network_container_survives_rm_of_the_joiner(hull, testns):
    hull.run("-d", "--name", "base", "--", "sleep", "1000")
    hull.run("-d", "--name", "side", "--network", "container:base", "--", "sleep", "1000")
    side = hull("exec", "side", "ip", "-o", "-4", "addr", "show", "eth0").stdout
    base = hull("exec", "base", "ip", "-o", "-4", "addr", "show", "eth0").stdout
    assert re.search(r"inet (\S+)", side).group(1) == re.search(r"inet (\S+)", base).group(1)
    hull("rm", "-f", "side")
    # The joiner's rm takes nothing of base's network away.
    again = hull("exec", "base", "ip", "-o", "-4", "addr", "show", "eth0").stdout
    assert re.search(r"inet (\S+)", again).group(1) == re.search(r"inet (\S+)", base).group(1)


@pytest.fixture
def exposing_image(hull, rootfs_dir, tmp_path):
    tar = tmp_path / "rootfs.tar"
    subprocess.run(["tar", "-C", rootfs_dir, "-cf", str(tar), "."], check=True)
    hull("import", "-c", "EXPOSE 80", "-c", "EXPOSE 5353/udp", "-c", "EXPOSE 9899/sctp",
         str(tar), "exposing:1")
    return "exposing:1"


def test_publish_all_maps_every_exposed_port(hull, testns, exposing_image):
    hull.started.append("web")
    started = hull("run", "-d", "--name", "web", "-P", exposing_image, "sh", "-c", HTTPD)
    # sctp, which docker's EXPOSE allows, is left out with a warning, not an error.
    assert "9899/sctp: sctp is not published" in started.stderr, started.stderr
    out = hull("port", "web").stdout
    assert "sctp" not in out, out
    m = re.search(r"80/tcp -> 0\.0\.0\.0:(\d+)", out)
    assert m and int(m.group(1)) != 0, out
    assert re.search(r"5353/udp -> 0\.0\.0\.0:[1-9]\d*", out), out
    port = int(m.group(1))
    assert wait_http(testns, f"http://127.0.0.1:{port}/").startswith("hello-from-")
    assert f"0.0.0.0:{port}->80/tcp" in hull("ps").stdout


def test_add_host_and_host_gateway(hull):
    hull("network", "create", "app")
    out = hull.run("--rm", "--network", "app", "--add-host", "db:10.1.2.3",
                   "--add-host", "gw:host-gateway", "--",
                   "sh", "-c", "cat /etc/hosts; ip route").stdout
    assert re.search(r"^10\.1\.2\.3\s+db$", out, re.M), out
    gateway = re.search(r"default via (\S+)", out).group(1)
    assert re.search(rf"^{re.escape(gateway)}\s+gw$", out, re.M), out
    none = hull.run("--rm", "--network", "none", "--add-host", "db:10.1.2.3", "--",
                    "cat", "/etc/hosts").stdout
    assert re.search(r"^10\.1\.2\.3\s+db$", none, re.M), none
    bad = hull.run("--rm", "--network", "none", "--add-host", "gw:host-gateway", "--", "true",
                   check=False)
    assert bad.returncode == 125 and "host-gateway" in bad.stderr, bad.stderr


def test_dns_flags_write_resolv_conf(hull):
    out = hull.run("--rm", "--network", "none", "--dns", "10.0.0.53", "--dns", "10.0.0.54",
                   "--dns-search", "example.test", "--dns-option", "ndots:2", "--",
                   "cat", "/etc/resolv.conf").stdout
    assert out.splitlines() == ["nameserver 10.0.0.53", "nameserver 10.0.0.54",
                                "search example.test", "options ndots:2"], out
    bad = hull.run("--rm", "--dns", "not-an-ip", "--", "true", check=False)
    assert bad.returncode == 125 and "not-an-ip" in bad.stderr, bad.stderr


def test_fixed_ip(hull):
    hull("network", "create", "--subnet", "10.203.0.0/24", "app")
    out = hull.run("--rm", "--network", "app", "--ip", "10.203.0.50", "--",
                   "ip", "-o", "-4", "addr", "show", "eth0").stdout
    assert "10.203.0.50/24" in out, out


def test_ipam_never_hands_out_an_address_twice(hull):
    hull("network", "create", "--subnet", "10.202.0.0/24", "app")
    hull.run("-d", "--name", "keep", "--network", "app", "--", "sleep", "1000")
    keep = hull("exec", "keep", "ip", "-o", "-4", "addr", "show", "eth0").stdout
    seen = {re.search(r"inet (\S+)", keep).group(1)}
    for i in range(50):
        out = hull.run("--rm", "--network", "app", "--", "ip", "-o", "-4", "addr", "show",
                       "eth0").stdout
        ip = re.search(r"inet (\S+)", out).group(1)
        assert ip not in seen, f"cycle {i}: {ip} handed out twice"
        seen.add(ip)


def test_port_in_use_is_a_clear_error_and_nothing_is_left(hull, testns):
    holder = testns.popen("python3", "-c",
                          "import socket,time; s=socket.socket(); "
                          "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
                          "s.bind(('127.0.0.1', 18081)); s.listen(); print('ok', flush=True); "
                          "time.sleep(60)", stdout=__import__("subprocess").PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        p = hull.run("-d", "--name", "busy", "-p", "127.0.0.1:18081:80", "--", "sleep", "100",
                     check=False)
        assert p.returncode == 125, p
        assert "18081" in p.stderr and "already in use" in p.stderr, p.stderr
        assert not [l for l in testns.links() if l.startswith("hull")]
        assert "table ip hull" not in testns.nft_tables()
        # As docker's: the container stays, Created, with nothing of its network; rm
        # removes it.
        assert hull("ps", "-a", "--format", "{{.Names}} {{.Status}}").stdout == "busy Created\n"
        hull("rm", "busy")
        assert not [l for l in testns.links() if l.startswith("hull")]
    finally:
        holder.kill()
        holder.wait()


def test_nothing_remains_after_rm_and_network_rm(hull, testns):
    hull("network", "create", "app")
    hull.run("-d", "--name", "ca", "--network", "app", "-p", "18085:80", "--", "sleep", "1000")
    hull.run("-d", "--name", "cb", "--", "sleep", "1000")
    assert any(l.startswith("hullv") for l in testns.links())
    assert testns.cmd("cat", "/proc/sys/net/ipv4/ip_forward").stdout.strip() == "1"
    hull("rm", "-f", "ca", "cb")
    hull("network", "rm", "app")
    assert not [l for l in testns.links() if l.startswith("hull")], testns.links()
    assert "table ip hull" not in testns.nft_tables()
    assert testns.cmd("cat", "/proc/sys/net/ipv4/ip_forward").stdout.strip() == "0"


def test_same_host_port_twice_is_already_allocated(hull, testns):
    hull.run("-d", "--name", "first", "-p", "18087:80", "--", "sleep", "1000")
    for flags in (["-p", "18087:81"], ["-p", "18088:80", "-p", "18088:81"]):
        p = hull.run("-d", "--name", "second", *flags, "--", "sleep", "1000", check=False)
        assert p.returncode == 125, p
        # docker's words, which scripts grep for.
        assert "port is already allocated" in p.stderr, p.stderr
        assert "Bind for 0.0.0.0:1808" in p.stderr, p.stderr
        # Kept as Created (docker's), without a veth or a port of its own.
        assert hull("inspect", "-f", "{{.State.Status}}", "second").stdout == "created\n"
        hull("rm", "second")
    veths = [l for l in testns.links() if l.startswith("hullv")]
    assert len(veths) == 1, veths
    table = testns.cmd("nft", "list", "table", "ip", "hull").stdout
    assert "dport 18088" not in table and table.count("dnat to") == 1, table


def test_mac_address_and_domainname(hull):
    hull("network", "create", "--subnet", "10.208.0.0/24", "app")
    out = hull.run("--rm", "--network", "app", "--mac-address", "02:42:AC:11:00:99",
                   "--hostname", "web", "--domainname", "example.test", "--",
                   "sh", "-c", "cat /sys/class/net/eth0/address /proc/sys/kernel/domainname; hostname; "
                   "cat /etc/hosts").stdout
    lines = out.splitlines()
    assert lines[:3] == ["02:42:ac:11:00:99", "example.test", "web"], out
    # docker's hosts line with a domain name: FQDN, then the short name.
    assert re.search(r"^10\.208\.0\.\d+\s+web\.example\.test web$", out, re.M), out
    for flags, words in [(["--mac-address", "02:42:ac:11:00"], "--mac-address"),
                         (["--mac-address", "03:42:ac:11:00:99"], "multicast"),
                         (["--network", "none", "--mac-address", "02:42:ac:11:00:99"],
                          "conflicting options")]:
        p = hull.run("--rm", *flags, "--", "true", check=False)
        assert p.returncode == 125 and words in p.stderr, (flags, p.stderr)
