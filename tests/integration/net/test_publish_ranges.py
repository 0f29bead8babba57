"""-p port ranges as docker takes them, end to end inside the test's network namespace:
equal ranges pair up (tcp answers on every port of the range; udp datagrams reach a
server in the container's netns), a host range for one container port picks the first
free port of it, and malformed forms fail with exit 125 naming the input."""
import json
import subprocess

import pytest

from .conftest import wait_http

# Two httpd in one container, on 90 and 91, each saying which port it is.
TWO_HTTPD = ("for p in 90 91; do mkdir -p /tmp/w$p && echo port-$p > /tmp/w$p/index.html && "
             "httpd -p $p -h /tmp/w$p; done; exec sleep 1000")
HTTPD_80 = "mkdir -p /tmp/w && echo ranged > /tmp/w/index.html && exec httpd -f -p 80 -h /tmp/w"



def container_pid(hull, name):
    info = json.loads(hull("inspect", name).stdout)
    info = info[0] if isinstance(info, list) else info
    return info["State"]["Pid"]


def test_tcp_range_pairs_every_port(hull, testns):
    hull.run("-d", "--name", "web", "-p", "127.0.0.1:18090-18091:90-91", "--",
             "sh", "-c", TWO_HTTPD)
    assert wait_http(testns, "http://127.0.0.1:18090/") == "port-90\n"
    assert wait_http(testns, "http://127.0.0.1:18091/") == "port-91\n"
    port = hull("port", "web").stdout
    assert "90/tcp -> 127.0.0.1:18090" in port and "91/tcp -> 127.0.0.1:18091" in port, port
    ps = hull("ps").stdout
    assert "127.0.0.1:18090->90/tcp" in ps and "127.0.0.1:18091->91/tcp" in ps, ps


def test_udp_range_reaches_the_container(hull, testns):
    hull.run("-d", "--name", "dns", "-p", "127.0.0.1:19000-19001:90-91/udp", "--",
             "sleep", "1000")
    port = hull("port", "dns").stdout
    assert "90/udp -> 127.0.0.1:19000" in port and "91/udp -> 127.0.0.1:19001" in port, port
    # busybox has no udp server: a python echo server in the container's own netns
    # (entered from outside) stands in for the container's program.
    pid = container_pid(hull, "dns")
    server = subprocess.Popen(
        ["nsenter", f"--net=/proc/{pid}/ns/net", "/usr/bin/python3", "-c",
         "import socket, select, sys\n"
         "socks = []\n"
         "for p in (90, 91):\n"
         "    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
         "    s.bind(('0.0.0.0', p)); socks.append(s)\n"
         "print('ready', flush=True)\n"
         "for _ in range(2):\n"
         "    r, _, _ = select.select(socks, [], [], 20)\n"
         "    for s in r:\n"
         "        data, peer = s.recvfrom(100)\n"
         "        s.sendto(b'echo-%d:' % s.getsockname()[1] + data, peer)\n"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline().strip() == "ready"
        for host_port, ctr_port in ((19000, 90), (19001, 91)):
            out = testns.cmd(
                "/usr/bin/python3", "-c",
                "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                "s.settimeout(5); "
                f"s.sendto(b'ping', ('127.0.0.1', {host_port})); print(s.recv(100).decode())")
            assert out.stdout.strip() == f"echo-{ctr_port}:ping", (out.stdout, out.stderr)
    finally:
        server.kill()
        server.wait()


def test_host_range_for_one_port_picks_the_first_free(hull, testns):
    holder = testns.popen("/usr/bin/python3", "-c",
                          "import socket,time; s=socket.socket(); "
                          "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
                          "s.bind(('127.0.0.1', 18095)); s.listen(); print('ok', flush=True); "
                          "time.sleep(60)", stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        hull.run("-d", "--name", "ra", "-p", "127.0.0.1:18095-18097:80", "--",
                 "sh", "-c", HTTPD_80)
        out = hull("port", "ra", "80").stdout.strip()
        assert out == "127.0.0.1:18096", out  # 18095 is held by a process
        assert wait_http(testns, "http://127.0.0.1:18096/") == "ranged\n"
        # The next container gets the next port; then the range is exhausted.
        hull.run("-d", "--name", "rb", "-p", "127.0.0.1:18095-18097:80", "--", "sleep", "1000")
        assert hull("port", "rb", "80").stdout.strip() == "127.0.0.1:18097"
        p = hull.run("-d", "--name", "rc", "-p", "127.0.0.1:18095-18097:80", "--",
                     "sleep", "1000", check=False)
        hull.started.append("rc")
        assert p.returncode == 125, p
        assert "18095-18097" in p.stderr and "in use" in p.stderr, p.stderr
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("spec,says", [
    ("8000-8002:80-81", "differ in size"),
    ("127.0.0.1:80", "is an address, not a host port"),
    ("80-70:80-70", "ends before it starts"),
    ("70000:80", "host port \"70000\""),
    ("80/sctp", "protocol \"sctp\""),
    ("1.2.3.999:80:80", "host address \"1.2.3.999\""),
])
def test_malformed_publish_is_a_clear_error(hull, testns, spec, says):
    p = hull.run("--rm", "-p", spec, "--", "true", check=False)
    assert p.returncode == 125, p
    assert says in p.stderr and spec in p.stderr, p.stderr
    assert hull("ps", "-a", "-q").stdout == ""
    assert not [l for l in testns.links() if l.startswith("hull")]
