"""Fixtures for the image tests: the hull binary, a fresh store per test, real
docker-registry instances on 127.0.0.1 (one open, one behind htpasswd Basic auth), OCI
layouts written here and pushed with skopeo, and a small fake registry for the cases a
real one will not produce (corrupt blobs, Bearer tokens, request counting)."""
import crypt
import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def _hull_bin():
    cands = []
    if os.environ.get("HULL_BIN"):
        cands.append(Path(os.environ["HULL_BIN"]))
    if os.environ.get("HULL_BUILD_DIR"):
        cands.append(Path(os.environ["HULL_BUILD_DIR"]) / "src/hull")
    cands += [REPO / "build/src/hull", Path("/usr/local/bin/hull")]
    for c in cands:
        if c.exists():
            return str(c)
    pytest.skip("hull binary not built")


@pytest.fixture(scope="session")
def hull_bin():
    if os.geteuid() != 0:
        pytest.skip("image tests run as root")
    return _hull_bin()


class Hull:
    def __init__(self, binary, root, home):
        self.binary, self.root, self.home = binary, root, home

    def run(self, *args, check=True, input=None, env=None):
        # docker.io names go to a closed loopback port unless a test names a mirror.
        e = dict(os.environ, HOME=str(self.home), HULL_REGISTRY_MIRROR="127.0.0.1:9")
        e.pop("DOCKER_CONFIG", None)
        if env:
            e.update(env)
        p = subprocess.run([self.binary, "--root", str(self.root), *args], input=input,
                           capture_output=True, env=e, timeout=300)
        if check and p.returncode != 0:
            raise AssertionError(f"hull {' '.join(args)} failed ({p.returncode}):\n"
                                 f"{p.stdout.decode(errors='replace')}\n"
                                 f"{p.stderr.decode(errors='replace')}")
        return p

    def out(self, *args, **kw):
        return self.run(*args, **kw).stdout.decode()

    def blobs(self):
        d = Path(self.root) / "blobs/sha256"
        return sorted(p.name for p in d.iterdir()) if d.exists() else []

    def layers(self):
        d = Path(self.root) / "layers"
        return sorted(p.name for p in d.iterdir()) if d.exists() else []

    def tmp_entries(self):
        d = Path(self.root) / "tmp"
        return sorted(p.name for p in d.iterdir()) if d.exists() else []


@pytest.fixture
def hull(hull_bin, tmp_path):
    root = tmp_path / "root"
    home = tmp_path / "home"
    home.mkdir()
    h = Hull(hull_bin, root, home)
    yield h
    # Nothing of a test's store may stay mounted.
    subprocess.run(["umount", "-R", str(tmp_path)], capture_output=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # answered (401 for the auth registry)
        except Exception:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def wait_tcp(port, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"127.0.0.1:{port} did not come up")


class Registry:
    def __init__(self, port, proc, tmp, user=None, password=None, cert_dir=None):
        self.port, self.proc, self.tmp = port, proc, tmp
        self.host = f"127.0.0.1:{port}"
        self.user, self.password = user, password
        self.cert_dir = cert_dir  # TLS: skopeo's --dest-cert-dir (CA, client certificate)

    def push(self, layout, tag, dest, fmt=None, all_platforms=False):
        """skopeo copy oci:LAYOUT:TAG docker://HOST/DEST."""
        cmd = ["skopeo", "copy", "--quiet"]
        cmd += ["--dest-cert-dir", str(self.cert_dir)] if self.cert_dir else \
            ["--dest-tls-verify=false"]
        if self.user:
            cmd += ["--dest-creds", f"{self.user}:{self.password}"]
        if fmt:
            cmd += ["--format", fmt]
        if all_platforms:
            cmd += ["--all"]
        cmd += [f"oci:{layout}:{tag}", f"docker://{self.host}/{dest}"]
        p = subprocess.run(cmd, capture_output=True, timeout=120)
        assert p.returncode == 0, p.stderr.decode()
        return f"{self.host}/{dest}"


def start_registry(tmp, htpasswd=None, tls=None):
    """docker-registry on 127.0.0.1; tls: its http.tls section (certificate, key,
    clientcas)."""
    port = free_port()
    storage = Path(tmp) / "storage"
    storage.mkdir()
    cfg = {
        "version": 0.1,
        "log": {"level": "error", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}"},
    }
    if tls:
        cfg["http"]["tls"] = tls
    if htpasswd:
        cfg["auth"] = {"htpasswd": {"realm": "hull-test", "path": str(htpasswd)}}
    cfg_path = Path(tmp) / "config.yml"
    cfg_path.write_text(json.dumps(cfg))  # YAML is a superset of JSON
    proc = subprocess.Popen(["docker-registry", "serve", str(cfg_path)],
                            stdout=subprocess.DEVNULL, stderr=open(Path(tmp) / "log", "w"))
    try:
        # A TLS registry may want a client certificate: only its port is awaited.
        wait_tcp(port) if tls else wait_http(f"http://127.0.0.1:{port}/v2/")
    except Exception:
        proc.kill()
        proc.wait()
        raise
    return port, proc


def stop_registry(proc):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def registry():
    tmp = tempfile.mkdtemp(prefix="hull-reg-")
    port, proc = start_registry(tmp)
    yield Registry(port, proc, tmp)
    stop_registry(proc)
    shutil.rmtree(tmp, ignore_errors=True)


def write_htpasswd(path, user, password):
    path.write_text(f"{user}:{crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))}\n")
    return path


@pytest.fixture(scope="session")
def auth_registry():
    tmp = tempfile.mkdtemp(prefix="hull-reg-auth-")
    user, password = "hulluser", "s3cret-pass"
    ht = write_htpasswd(Path(tmp) / "htpasswd", user, password)
    port, proc = start_registry(tmp, htpasswd=ht)
    yield Registry(port, proc, tmp, user, password)
    stop_registry(proc)
    shutil.rmtree(tmp, ignore_errors=True)


# ---- images written by the tests ----

def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def make_tar(entries):
    """entries: (name, content) for files; (name, None) for dirs; (name, '->target') for
    symlinks; (name, ('hard', target)) for hardlinks."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, content in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1700000000
            if content is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                t.addfile(info)
            elif isinstance(content, tuple):
                info.type, info.linkname = tarfile.LNKTYPE, content[1]
                t.addfile(info)
            elif isinstance(content, str) and content.startswith("->"):
                info.type, info.linkname = tarfile.SYMTYPE, content[2:]
                t.addfile(info)
            else:
                data = content.encode() if isinstance(content, str) else content
                info.size, info.mode = len(data), 0o644
                t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def compress(tar, how):
    if how == "gzip":
        return gzip.compress(tar, mtime=0), "application/vnd.oci.image.layer.v1.tar+gzip"
    if how == "zstd":
        p = subprocess.run(["zstd", "-q", "-c"], input=tar, capture_output=True, check=True)
        return p.stdout, "application/vnd.oci.image.layer.v1.tar+zstd"
    return tar, "application/vnd.oci.image.layer.v1.tar"


class Image:
    """An image in memory: blobs by digest, the manifest, its config."""

    def __init__(self, layers, compression="gzip", arch="amd64", cmd=("sh",), labels=None):
        self.blobs = {}
        self.layer_descs, diff_ids = [], []
        for entries in layers:
            tar = make_tar(entries)
            blob, media = compress(tar, compression)
            self.blobs[sha(blob)] = blob
            self.layer_descs.append({"mediaType": media, "digest": sha(blob), "size": len(blob)})
            diff_ids.append(sha(tar))
        cfg = {
            "created": "2024-01-02T03:04:05Z", "architecture": arch, "os": "linux",
            "config": {"Cmd": list(cmd), "Env": ["PATH=/bin"], "Labels": labels or {}},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }
        self.config = json.dumps(cfg).encode()
        self.blobs[sha(self.config)] = self.config
        self.id = sha(self.config)
        self.diff_ids = diff_ids
        self.manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": sha(self.config), "size": len(self.config)},
            "layers": self.layer_descs}).encode()
        self.blobs[sha(self.manifest)] = self.manifest
        self.arch = arch


def write_layout(path, images_by_tag, index_of=None):
    """An OCI layout at path. images_by_tag: {tag: Image}; index_of: {tag: [Image...]} for
    multi-platform indexes."""
    path = Path(path)
    (path / "blobs/sha256").mkdir(parents=True, exist_ok=True)
    (path / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    manifests = []

    def put(data):
        (path / "blobs/sha256" / sha(data)[7:]).write_bytes(data)

    for tag, img in (images_by_tag or {}).items():
        for b in img.blobs.values():
            put(b)
        manifests.append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                          "digest": sha(img.manifest), "size": len(img.manifest),
                          "annotations": {"org.opencontainers.image.ref.name": tag}})
    for tag, imgs in (index_of or {}).items():
        subs = []
        for img in imgs:
            for b in img.blobs.values():
                put(b)
            subs.append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                         "digest": sha(img.manifest), "size": len(img.manifest),
                         "platform": {"os": "linux", "architecture": img.arch}})
        idx = json.dumps({"schemaVersion": 2,
                          "mediaType": "application/vnd.oci.image.index.v1+json",
                          "manifests": subs}).encode()
        put(idx)
        manifests.append({"mediaType": "application/vnd.oci.image.index.v1+json",
                          "digest": sha(idx), "size": len(idx),
                          "annotations": {"org.opencontainers.image.ref.name": tag}})
    (path / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": manifests}))
    return str(path)


# ---- a fake registry for what a real one will not do ----

class FakeRegistry:
    """Serves images from memory. corrupt: digests whose bytes get flipped; token: require a
    Bearer token from /token (optionally only for user:password)."""

    def __init__(self):
        self.images = {}  # repo -> {ref: Image}
        self.corrupt = set()
        self.corrupt_at = {}      # digest -> offset of the byte flipped (corrupt: byte 0)
        self.ignore_range = set() # blobs answered 200 with every byte whatever Range asks
        self.flaky = set()       # blobs whose first GET drops the connection halfway
        self.status_once = {}    # path suffix -> status answered once (then normal)
        self.always_status = {}  # path suffix -> status answered every time
        self.ranges = []         # Range headers seen
        self.token_required = False
        self.creds = None
        self.requests = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.server.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def add(self, repo, ref, img):
        self.images.setdefault(repo, {})[ref] = img

    def blob_gets(self):
        return [p for m, p in self.requests if m == "GET" and "/blobs/" in p]

    def _handler(reg):
        import base64

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def send(self, code, body=b"", headers=None):
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def authorized(self):
                if not reg.token_required:
                    return True
                return self.headers.get("Authorization") == "Bearer good-token"

            def do_GET(self):
                with reg.lock:
                    reg.requests.append(("GET", self.path))
                if self.path.startswith("/token"):
                    if reg.creds:
                        want = "Basic " + base64.b64encode(
                            f"{reg.creds[0]}:{reg.creds[1]}".encode()).decode()
                        if self.headers.get("Authorization") != want:
                            return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}')
                    return self.send(200, json.dumps({"token": "good-token"}).encode(),
                                     {"Content-Type": "application/json"})
                if not self.authorized():
                    chal = (f'Bearer realm="http://{reg.host}/token",service="fake",'
                            f'scope="repository:x:pull"')
                    return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                                     {"WWW-Authenticate": chal})
                if self.path == "/v2/":
                    return self.send(200, b"{}")
                for suffix, code in list(reg.always_status.items()):
                    if self.path.endswith(suffix):
                        return self.send(code, b'{"errors":[{"code":"TOOMANYREQUESTS"}]}',
                                         {"Retry-After": "0"})
                for suffix, code in list(reg.status_once.items()):
                    if self.path.endswith(suffix):
                        del reg.status_once[suffix]
                        return self.send(code, b"")
                parts = self.path[4:].split("/")
                kind = parts[-2]
                ref = parts[-1]
                repo = "/".join(parts[:-2])
                imgs = reg.images.get(repo, {})
                if kind == "manifests":
                    img = imgs.get(ref) or next(
                        (i for i in imgs.values() if sha(i.manifest) == ref), None)
                    if not img:
                        return self.send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
                    return self.send(200, img.manifest, {
                        "Content-Type": "application/vnd.oci.image.manifest.v1+json",
                        "Docker-Content-Digest": sha(img.manifest)})
                if kind == "blobs":
                    for img in imgs.values():
                        if ref in img.blobs:
                            data = img.blobs[ref]
                            if ref in reg.corrupt or ref in reg.corrupt_at:
                                off = reg.corrupt_at.get(ref, 0)
                                data = data[:off] + bytes([data[off] ^ 0xFF]) + data[off + 1:]
                            rng = self.headers.get("Range")
                            if rng:
                                reg.ranges.append(rng)
                            if rng and ref not in reg.ignore_range:
                                start = int(rng.split("=")[1].split("-")[0])
                                return self.send(206, data[start:], {
                                    "Content-Range": f"bytes {start}-{len(data)-1}/{len(data)}"})
                            if ref in reg.flaky:
                                reg.flaky.discard(ref)
                                # Promise everything, send half, hang up.
                                self.send_response(200)
                                self.send_header("Content-Length", str(len(data)))
                                self.end_headers()
                                self.wfile.write(data[:len(data) // 2])
                                self.wfile.flush()
                                self.close_connection = True
                                return
                            return self.send(200, data,
                                             {"Content-Type": "application/octet-stream"})
                    return self.send(404, b'{"errors":[{"code":"BLOB_UNKNOWN"}]}')
                return self.send(404)

            do_HEAD = do_GET

        return H

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_registry():
    r = FakeRegistry()
    yield r
    r.close()
