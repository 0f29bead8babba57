"""hull pull and login against TLS registries: docker-registry with a certificate for
127.0.0.1 from a CA made here (openssl), one that also wants a client certificate
(http.tls.clientcas), one behind htpasswd. The certificates reach hull through --cert-dir
or the certs.d layout (/etc/hull/certs.d/HOST:PORT/), as docker's and podman's do."""
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from .conftest import (Image, Registry, start_registry, stop_registry, write_htpasswd,
                       write_layout)

BASE = [("bin/", None), ("bin/sh", "#!/bin/true\n"), ("etc/", None), ("etc/os", "tls\n")]


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


class Pki:
    """A CA, a server certificate for IP 127.0.0.1 and a client certificate from it, and
    a second CA that vouches for neither (the wrong CA), with its own client certificate."""

    def __init__(self, d):
        self.d = Path(d)
        for ca in ("ca", "wrong-ca"):
            openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", f"{ca}.key", "-out", f"{ca}.crt", "-days", "2",
                    "-subj", f"/CN=hull test {ca}", "-addext",
                    "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=keyCertSign",
                    cwd=d)
        (self.d / "server.ext").write_text("subjectAltName=IP:127.0.0.1\n")
        self._leaf("server", "ca", "127.0.0.1", "server.ext")
        self._leaf("client", "ca", "hull client")
        self._leaf("stranger", "wrong-ca", "stranger")

    def _leaf(self, name, ca, cn, ext=None):
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=self.d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
                "-CAcreateserial", "-out", f"{name}.crt", "-days", "2",
                *(["-extfile", ext] if ext else []), cwd=self.d)

    def cert_dir(self, path, **files):
        """A directory with files named as given: cert_dir(p, **{"ca.crt": "ca.crt"})."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        for dest, src in files.items():
            shutil.copy(self.d / src, path / dest)
        return path


CA = {"ca.crt": "ca.crt"}
CLIENT = {"ca.crt": "ca.crt", "client.cert": "client.crt", "client.key": "client.key"}


@pytest.fixture(scope="module")
def pki():
    d = tempfile.mkdtemp(prefix="hull-pki-")
    yield Pki(d)
    shutil.rmtree(d, ignore_errors=True)


def _tls_registry(pki, prefix, client_certs=False, htpasswd=False):
    """A TLS docker-registry (client_certs: it wants one signed by the CA), until the
    module ends."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    tls = {"certificate": str(pki.d / "server.crt"), "key": str(pki.d / "server.key")}
    if client_certs:
        tls["clientcas"] = [str(pki.d / "ca.crt")]
    user = password = ht = None
    if htpasswd:
        user, password = "tlsuser", "tls-pass"
        ht = write_htpasswd(tmp / "htpasswd", user, password)
    port, proc = start_registry(tmp, htpasswd=ht, tls=tls)
    certs = pki.cert_dir(tmp / "push-certs", **(CLIENT if client_certs else CA))
    try:
        yield Registry(port, proc, tmp, user, password, cert_dir=certs)
    finally:
        stop_registry(proc)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def tls_registry(pki):
    yield from _tls_registry(pki, "hull-reg-tls-")


@pytest.fixture(scope="module")
def mtls_registry(pki):
    yield from _tls_registry(pki, "hull-reg-mtls-", client_certs=True)


@pytest.fixture(scope="module")
def tls_auth_registry(pki):
    yield from _tls_registry(pki, "hull-reg-tls-auth-", htpasswd=True)


@pytest.fixture
def etc_certs_d():
    """/etc/hull/certs.d, made for the test if missing and then removed; each test adds
    only its own registry's directory (a port no one else uses) and removes it."""
    made = [p for p in (Path("/etc/hull"), Path("/etc/hull/certs.d")) if not p.exists()]
    Path("/etc/hull/certs.d").mkdir(parents=True, exist_ok=True)
    added = []
    yield added
    for p in added:
        shutil.rmtree(p, ignore_errors=True)
    for p in reversed(made):
        try:
            p.rmdir()
        except OSError:
            pass


def push(registry, tmp_path, name, img=None):
    img = img or Image([BASE])
    layout = write_layout(tmp_path / f"layout-{name.replace('/', '_').replace(':', '_')}",
                          {"t": img})
    return registry.push(layout, "t", name), img


def pulled(hull, img):
    return hull.out("images", "-q").strip() == img.id[7:19]


def stored_nothing(hull):
    return hull.blobs() == [] and hull.layers() == [] and hull.tmp_entries() == []


def fails(hull, *args):
    p = hull.run(*args, check=False)
    assert p.returncode == 1, (p.stdout, p.stderr)  # docker's status for pull and login
    return p.stderr.decode()


def test_pull_with_the_ca_in_cert_dir(hull, tls_registry, pki, tmp_path):
    ref, img = push(tls_registry, tmp_path, "tls/one:v1")
    certs = pki.cert_dir(tmp_path / "certs", **CA)
    out = hull.out("pull", "--cert-dir", str(certs), ref)
    assert "Pull complete" in out, out
    assert pulled(hull, img)
    assert hull.tmp_entries() == []


@pytest.mark.parametrize("which,files", [("tls_registry", CA), ("mtls_registry", CLIENT)])
def test_pull_with_certs_in_etc_hull_certs_d(hull, request, which, files, pki, tmp_path,
                                             etc_certs_d):
    reg = request.getfixturevalue(which)
    ref, img = push(reg, tmp_path, f"certsd/{which.split('_')[0]}:v1")
    d = Path("/etc/hull/certs.d") / reg.host
    etc_certs_d.append(d)
    pki.cert_dir(d, **files)
    # A loopback registry with a certs.d entry is spoken to in TLS (as podman does), and
    # a client certificate there is sent.
    hull.run("pull", "-q", ref)
    assert pulled(hull, img)


def test_untrusted_certificate_is_a_clear_error_and_stores_nothing(hull, tls_registry, pki,
                                                                   tmp_path):
    ref, _ = push(tls_registry, tmp_path, "tls/untrusted:v1")
    # --tls-verify asks for TLS on loopback too, with no CA for it: where to put one.
    err = fails(hull, "pull", "--tls-verify", ref)
    assert f"TLS certificate of registry {tls_registry.host} is not trusted" in err, err
    assert "unable to get local issuer certificate" in err, err
    assert f"/etc/hull/certs.d/{tls_registry.host}/ca.crt" in err, err
    assert "--tls-verify=false" in err, err
    assert stored_nothing(hull)
    # An empty --cert-dir: the hint names it.
    empty = pki.cert_dir(tmp_path / "empty")
    err = fails(hull, "pull", "--cert-dir", str(empty), ref)
    assert f"is not trusted" in err and f"{empty}/ca.crt" in err, err
    assert stored_nothing(hull)


def test_wrong_ca_is_a_clear_error_and_stores_nothing(hull, tls_registry, pki, tmp_path):
    ref, _ = push(tls_registry, tmp_path, "tls/wrongca:v1")
    wrong = pki.cert_dir(tmp_path / "wrong", **{"ca.crt": "wrong-ca.crt"})
    err = fails(hull, "pull", "--cert-dir", str(wrong), ref)
    assert f"TLS certificate of registry {tls_registry.host} is not trusted" in err, err
    assert f"nor by those in {wrong} (*.crt)" in err, err
    assert stored_nothing(hull)


def test_tls_verify_false_and_insecure_registry_skip_verification(hull, tls_registry,
                                                                   tmp_path):
    ref, img = push(tls_registry, tmp_path, "tls/noverify:v1")
    hull.run("pull", "-q", "--tls-verify=false", ref)
    assert pulled(hull, img)
    hull.run("rmi", ref)
    hull.run("pull", "-q", "--insecure-registry", tls_registry.host, ref)
    assert pulled(hull, img)


@pytest.mark.parametrize("entries,name", [
    (["{host}"], "{host}"),                        # host:port as written in the name
    (["10.0.0.0/8", "127.0.0.0/8"], "{host}"),     # an address in a range
    (["127.0.0.0/8"], "localhost:{port}"),          # a name whose address is in a range
    (["https://{host}/"], "{host}"),                # docker drops the scheme too
])
def test_insecure_registries_in_hull_json(hull, tls_registry, tmp_path, entries, name):
    """hull.json's insecure-registries (docker's daemon.json key): https without
    verification, as --insecure-registry. Without it the loopback TLS registry gets plain
    HTTP and says so."""
    host, port = tls_registry.host, tls_registry.port
    _, img = push(tls_registry, tmp_path, "tls/cfg:v1")
    ref = f"{name.format(host=host, port=port)}/tls/cfg:v1"
    cfg = tmp_path / "hull.json"
    cfg.write_text(json.dumps({"insecure-registries": [e.format(host=host) for e in entries]}))
    hull.run("--config", str(cfg), "pull", "-q", ref)
    assert pulled(hull, img)
    hull.run("rmi", ref)
    assert "spoke plain HTTP" in fails(hull, "pull", ref)


def test_insecure_registry_flag_adds_to_hull_json(hull, tls_registry, tmp_path):
    """--insecure-registry adds to the file's list (and takes a CIDR range now); a bad one is
    named before any request."""
    ref, img = push(tls_registry, tmp_path, "tls/cfgflag:v1")
    cfg = tmp_path / "hull.json"
    cfg.write_text(json.dumps({"insecure-registries": ["other.example:5000"]}))
    hull.run("--config", str(cfg), "pull", "-q", "--insecure-registry", "127.0.0.0/8", ref)
    assert pulled(hull, img)
    err = fails(hull, "--config", str(cfg), "pull", "--insecure-registry", "127.0.0.0/99", ref)
    assert '--insecure-registry: insecure registry "127.0.0.0/99"' in err, err


def test_plain_http_to_a_tls_registry_says_so(hull, tls_registry, tmp_path):
    ref, _ = push(tls_registry, tmp_path, "tls/plain:v1")
    # Loopback without a certs.d entry: plain HTTP, which the registry answers with a 400.
    err = fails(hull, "pull", ref)
    assert f"registry {tls_registry.host} speaks TLS but hull spoke plain HTTP" in err, err
    assert f"/etc/hull/certs.d/{tls_registry.host}/ca.crt" in err, err
    assert "HTTP 400" not in err, err
    assert stored_nothing(hull)


def test_tls_to_a_plain_registry_says_so_and_tls_verify_false_falls_back(hull, registry, pki,
                                                                          tmp_path):
    ref, img = push(registry, tmp_path, "plain/tlsclient:v1")
    certs = pki.cert_dir(tmp_path / "certs", **CA)
    err = fails(hull, "pull", "--cert-dir", str(certs), ref)
    assert f"registry {registry.host} does not speak TLS" in err, err
    assert f"hull used https because of {certs}" in err, err
    assert "--tls-verify=false" in err, err
    assert stored_nothing(hull)
    # Unverified: https first, then plain HTTP when the registry answers in it (docker's
    # and podman's way with insecure registries).
    hull.run("pull", "-q", "--tls-verify=false", ref)
    assert pulled(hull, img)


def test_client_certificate(hull, mtls_registry, pki, tmp_path):
    ref, img = push(mtls_registry, tmp_path, "mtls/one:v1")
    # Without a client certificate: refused at once (a TLS alert is not retried).
    ca_only = pki.cert_dir(tmp_path / "ca-only", **CA)
    start = time.monotonic()
    err = fails(hull, "pull", "--cert-dir", str(ca_only), ref)
    assert time.monotonic() - start < 3.0  # retries would sleep 0.2+0.4+0.8+1.6 s
    assert f"registry {mtls_registry.host} wants a TLS client certificate" in err, err
    assert f"put it in {ca_only} as NAME.cert with its key as NAME.key" in err, err
    assert stored_nothing(hull)
    # One the registry's CA did not sign.
    stranger = pki.cert_dir(tmp_path / "stranger", **{"ca.crt": "ca.crt",
                                                      "me.cert": "stranger.crt",
                                                      "me.key": "stranger.key"})
    err = fails(hull, "pull", "--cert-dir", str(stranger), ref)
    assert f"refused the TLS client certificate {stranger}/me.cert" in err, err
    assert stored_nothing(hull)
    # A .cert without its .key: named before any request.
    nokey = pki.cert_dir(tmp_path / "nokey", **{"ca.crt": "ca.crt", "client.cert": "client.crt"})
    err = fails(hull, "pull", "--cert-dir", str(nokey), ref)
    assert f"client certificate {nokey}/client.cert has no key client.key" in err, err
    assert stored_nothing(hull)
    # With it: the pull works.
    both = pki.cert_dir(tmp_path / "client", **CLIENT)
    hull.run("pull", "-q", "--cert-dir", str(both), ref)
    assert pulled(hull, img)


def test_login_to_a_tls_registry(hull, tls_auth_registry, pki, tmp_path):
    r = tls_auth_registry
    ref, img = push(r, tmp_path, "tlsauth/one:v1")
    certs = pki.cert_dir(tmp_path / "certs", **CA)
    err = fails(hull, "login", "-u", r.user, "-p", r.password, r.host)
    assert f"registry {r.host} speaks TLS but hull spoke plain HTTP" in err, err
    err = fails(hull, "login", "--cert-dir", str(certs), "-u", r.user, "-p", "wrong", r.host)
    assert "unauthorized" in err, err
    out = hull.out("login", "--cert-dir", str(certs), "-u", r.user, "-p", r.password, r.host)
    assert "Login Succeeded" in out
    assert "Login Succeeded" in hull.out("login", "--tls-verify=false", "-u", r.user, "-p",
                                         r.password, r.host)
    # The stored credentials over TLS.
    hull.run("pull", "-q", "--cert-dir", str(certs), ref)
    assert pulled(hull, img)


def test_insecure_registry_without_a_port_falls_back_to_port_80(hull, tmp_path):
    """--insecure-registry HOST without a port: nothing answers https on 443, so hull
    speaks plain HTTP on port 80, as docker does. Port 80 is that of a network namespace
    made here, with only its loopback up."""
    ns = f"hulltls-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    nsenter = ["nsenter", f"--net=/run/netns/{ns}"]
    proc = None
    try:
        subprocess.run(nsenter + ["ip", "link", "set", "lo", "up"], check=True)
        (tmp_path / "storage").mkdir()
        (tmp_path / "config.yml").write_text(json.dumps({
            "version": 0.1, "log": {"level": "error", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(tmp_path / "storage")}},
            "http": {"addr": "127.0.0.1:80"}}))
        proc = subprocess.Popen(nsenter + ["docker-registry", "serve",
                                           str(tmp_path / "config.yml")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if subprocess.run(nsenter + ["curl", "-sf", "http://127.0.0.1/v2/"],
                              capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        img = Image([BASE])
        layout = write_layout(tmp_path / "layout", {"t": img})
        subprocess.run(nsenter + ["skopeo", "copy", "--quiet", "--dest-tls-verify=false",
                                  f"oci:{layout}:t", "docker://127.0.0.1/port80/img:v1"],
                       check=True, capture_output=True, timeout=120)
        p = subprocess.run(nsenter + [hull.binary, "--root", str(hull.root), "pull", "-q",
                                      "--insecure-registry", "127.0.0.1",
                                      "127.0.0.1/port80/img:v1"],
                           capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, HOME=str(hull.home)))
        assert p.returncode == 0, p.stderr
        assert pulled(hull, img)
    finally:
        if proc:
            stop_registry(proc)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
