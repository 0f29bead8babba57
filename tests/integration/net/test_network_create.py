"""`network create`'s docker flags (--ip-range, --internal, --label, -o) and what
`network inspect` shows of them. Runs hull inside a throwaway network namespace
(conftest.py)."""
import json
import re


def inspect(hull, name):
    return json.loads(hull("network", "inspect", name).stdout)[0]


def test_create_ip_range_labels_and_options(hull, testns):
    hull("network", "create", "--subnet", "10.204.0.0/24", "--ip-range", "10.204.0.128/25",
         "--gateway", "10.204.0.1", "--label", "team=web", "--label", "solo",
         "-o", "com.docker.network.bridge.name=hulltestbr", "-o",
         "com.docker.network.driver.mtu=1400", "app")
    n = inspect(hull, "app")
    assert n["IPAM"]["Config"] == [{"Subnet": "10.204.0.0/24", "Gateway": "10.204.0.1",
                                    "IPRange": "10.204.0.128/25"}], n["IPAM"]
    assert n["Labels"] == {"team": "web", "solo": ""}, n["Labels"]
    assert n["Options"]["com.docker.network.bridge.name"] == "hulltestbr", n["Options"]
    assert n["Options"]["com.docker.network.driver.mtu"] == "1400", n["Options"]
    assert n["Internal"] is False and n["Scope"] == "local" and n["EnableIPv6"] is False, n
    assert "hulltestbr" in testns.links()
    assert " mtu 1400 " in testns.cmd("ip", "-o", "link", "show", "hulltestbr").stdout
    out = hull.run("--rm", "--network", "app", "--", "sh", "-c",
                   "ip -o -4 addr show eth0; cat /sys/class/net/eth0/mtu").stdout
    ip = re.search(r"inet 10\.204\.0\.(\d+)/24", out)
    assert ip and int(ip.group(1)) >= 128, out
    assert out.splitlines()[-1] == "1400", out
    hull("network", "rm", "app")
    assert "hulltestbr" not in testns.links()


def test_create_refuses_what_it_cannot_do(hull, testns):
    # docker's CLI: 1 for what its daemon refuses, 125 for what its flag parser does.
    for args, words, code in [
            (["-o", "com.docker.network.bridge.enable_icc=false"], "enable_icc", 1),
            (["--ip-range", "10.205.1.0/24"], "needs --subnet", 1),
            (["--subnet", "10.205.0.0/24", "--ip-range", "10.206.0.0/25"], "not inside", 1),
            (["-o", "com.docker.network.driver.mtu=big"], "MTU", 1),
            (["--label", "=x"], "--label", 125)]:
        p = hull("network", "create", *args, "bad", check=False)
        assert p.returncode == code and words in p.stderr, (args, p.stderr)
    assert "bad" not in hull("network", "ls").stdout
    assert not [l for l in testns.links() if l.startswith("hull")], testns.links()


def test_internal_network_has_no_way_out(hull, testns):
    hull("network", "create", "--internal", "--subnet", "10.207.0.0/24", "inner")
    assert inspect(hull, "inner")["Internal"] is True
    hull.run("-d", "--name", "web", "--network", "inner", "-p", "18086:80", "--",
             "sh", "-c", "mkdir -p /w && echo hi > /w/index.html && exec httpd -f -p 80 -h /w")
    out = hull.run("--rm", "--network", "inner", "--", "sh", "-c",
                   "ip route; for i in 1 2 3 4 5 6 7 8 9 10; do "
                   "wget -q -O - http://web/ && break; sleep 0.2; done").stdout
    assert "default" not in out, out
    assert "hi" in out, out
    table = testns.cmd("nft", "list", "table", "ip", "hull").stdout
    assert "10.207.0.0/24" not in table or "masquerade" not in [
        l for l in table.splitlines() if "10.207.0.0/24" in l][0], table
    assert "dport 18086" not in table, table
    bridge = inspect(hull, "inner")["Options"]["com.docker.network.bridge.name"]
    assert f'iifname "{bridge}" oifname != "{bridge}" drop' in table, table


def test_ls_filters_format_and_no_trunc(hull):
    ids = {}
    for name, extra in [("front", ["--label", "tier=web"]), ("back", ["--label", "tier=db"]),
                        ("other", ["--internal"])]:
        ids[name] = hull("network", "create", *extra, name).stdout.strip()
    hull("network", "ls")  # makes the default network's row
    # docker's default table: NETWORK ID, NAME, DRIVER, SCOPE, ids cut to 12.
    lines = hull("network", "ls").stdout.splitlines()
    assert lines[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"], lines
    assert any(l.split()[:2] == [ids["front"][:12], "front"] for l in lines), lines
    whole = hull("network", "ls", "--no-trunc", "-q").stdout.split()
    assert ids["front"] in whole and ids["back"] in whole, whole

    def names(*args):
        return sorted(hull("network", "ls", *args, "--format", "{{.Name}}").stdout.split())

    assert names() == ["back", "bridge", "front", "host", "none", "other"]
    assert names("-f", "name=^b") == ["back", "bridge"]
    assert names("-f", "name=ron") == ["front"]
    assert names("-f", "name=front", "-f", "name=back") == ["back", "front"]
    assert names("-f", "id=" + ids["back"][:6]) == ["back"]
    assert names("-f", "label=tier") == ["back", "front"]
    assert names("-f", "label=tier=db") == ["back"]
    # Label values must all hold (docker's MatchKVList), unlike other keys' values.
    assert names("-f", "label=tier", "-f", "label=tier=db") == ["back"]
    assert names("-f", "label=tier=web", "-f", "label=tier=db") == []
    assert names("-f", "type=builtin") == ["bridge", "host", "none"]
    assert names("-f", "type=custom", "-f", "name=o") == ["front", "other"]
    assert names("-f", "driver=bridge", "-f", "dangling=true") == ["back", "front", "other"]
    assert hull("network", "ls", "-q", "-f", "name=^front$").stdout == ids["front"][:12] + "\n"
    table = hull("network", "ls", "-f", "label=tier=web", "--format",
                 "table {{.Name}}\t{{.Labels}}\t{{.Internal}}").stdout.splitlines()
    assert [l.split() for l in table] == [["NAME", "LABELS", "INTERNAL"],
                                          ["front", "tier=web", "false"]], table
    row = json.loads(hull("network", "ls", "-f", "name=other", "--format", "json").stdout)
    assert row["Name"] == "other" and row["Internal"] == "true" and row["Scope"] == "local"
    assert row["ID"] == ids["other"][:12], row
    bad = hull("network", "ls", "-f", "colour=red", check=False)
    assert bad.returncode == 1 and "colour" in bad.stderr, bad.stderr


def test_predefined_host_and_none_networks(hull):
    """docker's predefined networks: host and none are listed beside bridge (driver host
    and null, sorted by name), inspect shows them without addresses, and none of the
    three can be removed, pruned or connected to."""
    rows = [l.split() for l in hull("network", "ls").stdout.splitlines()[1:]]
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("bridge", "bridge", "local"), ("host", "host", "local"), ("none", "null", "local")]
    [host, none] = json.loads(hull("network", "inspect", "host", "none").stdout)
    assert host["Driver"] == "host" and none["Driver"] == "null"
    assert host["IPAM"]["Config"] == [] and host["Options"] == {} and host["Containers"] == {}
    assert len(host["Id"]) == 64 and host["Id"] != none["Id"]
    assert host["Created"] == inspect(hull, "bridge")["Created"]
    # By id prefix, as any network.
    assert hull("network", "inspect", "-f", "{{.Name}}", host["Id"][:12]).stdout == "host\n"
    for name in ("host", "none", "bridge"):
        p = hull("network", "rm", name, check=False)
        assert p.returncode == 1 and f"{name} is a pre-defined network and cannot be removed" \
            in p.stderr, p.stderr
    assert hull("network", "prune", "-f").stdout == ""
    assert sorted(hull("network", "ls", "--format", "{{.Name}}").stdout.split()) == \
        ["bridge", "host", "none"]
    p = hull("network", "create", "host", check=False)
    assert p.returncode == 1 and "reserved" in p.stderr
