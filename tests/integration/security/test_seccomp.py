"""seccomp actions, live: ERRNO with errnoRet, KILL, LOG, and NOTIFY with a listener
that receives the notify fd and the container state over a unix socket and answers the
container's system calls."""

import array
import fcntl
import json
import os
import socket
import struct
import threading

from .conftest import cid

MKDIRS = ["mkdir", "mkdirat"]


def seccomp(*rules, default="SCMP_ACT_ALLOW", **extra):
    return {"defaultAction": default, "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": list(rules), **extra}


def run(rt, bundle):
    return rt.run("run", "--bundle", str(bundle.path), cid())


def test_errno_with_errno_ret(rt, make_bundle):
    b = make_bundle(["sh", "-c", "mkdir /dev/shm/x; echo rc=$?"])
    b.config["linux"]["seccomp"] = seccomp(
        {"names": MKDIRS, "action": "SCMP_ACT_ERRNO", "errnoRet": 33})
    b.save()
    r = run(rt, b)
    assert r.returncode == 0, r.stderr
    # errno 33 is EDOM: the kernel never saw the call.
    assert "Numerical argument out of domain" in r.stdout + r.stderr
    assert "rc=1" in r.stdout


def test_default_errno_ret(rt, make_bundle):
    b = make_bundle(["sh", "-c", "mkdir /dev/shm/x; echo rc=$?"])
    b.config["linux"]["seccomp"] = seccomp(
        {"names": MKDIRS, "action": "SCMP_ACT_ERRNO"}, defaultErrnoRet=1)
    b.save()
    r = run(rt, b)
    assert r.returncode == 0, r.stderr
    assert "rc=1" in r.stdout


def test_kill(rt, make_bundle):
    b = make_bundle(["/bin/uname"])
    b.config["linux"]["seccomp"] = seccomp({"names": ["uname"], "action": "SCMP_ACT_KILL"})
    b.save()
    r = run(rt, b)
    assert r.returncode == 128 + 31, (r.returncode, r.stderr)  # SIGSYS


def test_kill_process(rt, make_bundle):
    b = make_bundle(["/bin/uname"])
    b.config["linux"]["seccomp"] = seccomp(
        {"names": ["uname"], "action": "SCMP_ACT_KILL_PROCESS"})
    b.save()
    assert run(rt, b).returncode == 128 + 31


def test_log_allows_the_call(rt, make_bundle):
    b = make_bundle(["sh", "-c", "mkdir /dev/shm/x && echo made"])
    b.config["linux"]["seccomp"] = seccomp({"names": MKDIRS, "action": "SCMP_ACT_LOG"})
    b.save()
    r = run(rt, b)
    assert r.returncode == 0, r.stderr
    assert "made" in r.stdout


def test_argument_condition(rt, make_bundle):
    # chmod to 0700 is refused with EPERM; any other mode goes through.
    b = make_bundle(["sh", "-c", "touch /dev/shm/a /dev/shm/b; chmod 700 /dev/shm/a; echo a=$?; "
                                 "chmod 755 /dev/shm/b; echo b=$?"])
    rules = []
    for name, mode_arg in (("chmod", 1), ("fchmodat", 2), ("fchmodat2", 2)):
        rules.append({"names": [name], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
                      "args": [{"index": mode_arg, "value": 0o700, "op": "SCMP_CMP_EQ"}]})
    b.config["linux"]["seccomp"] = seccomp(*rules)
    b.save()
    r = run(rt, b)
    assert "a=1" in r.stdout and "b=0" in r.stdout, r.stdout + r.stderr


# struct seccomp_notif (80 bytes) and seccomp_notif_resp (24 bytes), linux/seccomp.h.
NOTIF_RECV = 0xC0502100
NOTIF_SEND = 0xC0182101


class Listener:
    """A seccomp agent: takes the notify fd and state, answers mkdir with success without
    running it (so the directory must not exist afterwards)."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        self.message = None
        self.notified = []
        self.error = None
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        try:
            conn, _ = self.sock.accept()
            fds = array.array("i")
            data = b""
            msg, anc, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(4 * fds.itemsize))
            data += msg
            for level, typ, cdata in anc:
                if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                    fds.frombytes(cdata[:len(cdata) - len(cdata) % fds.itemsize])
            conn.settimeout(0.5)
            try:
                while True:
                    more = conn.recv(65536)
                    if not more:
                        break
                    data += more
            except socket.timeout:
                pass
            self.message = json.loads(data)
            notify_fd = fds[0]
            while True:
                buf = bytearray(80)
                fcntl.ioctl(notify_fd, NOTIF_RECV, buf)
                nid, pid, flags, nr = struct.unpack_from("=QIIi", buf)
                self.notified.append((pid, nr))
                # val 0, error 0, flags 0: the call "succeeds" without running.
                fcntl.ioctl(notify_fd, NOTIF_SEND, struct.pack("=QqiI", nid, 0, 0, 0))
        except OSError as e:
            if e.errno != 2:  # ENOENT: the container is gone
                self.error = e

    def close(self):
        self.sock.close()


def test_notify_listener_gets_fd_and_state(rt, make_bundle, tmp_path):
    listener = Listener(str(tmp_path / "agent.sock"))
    b = make_bundle(["sh", "-c", "mkdir /dev/shm/notified && echo said-ok; "
                                 "[ -d /dev/shm/notified ] && echo exists || echo absent"])
    b.config["linux"]["seccomp"] = seccomp(
        {"names": MKDIRS, "action": "SCMP_ACT_NOTIFY"},
        listenerPath=listener.path, listenerMetadata="hull-test-meta")
    b.save()
    c = cid()
    r = rt.run("run", "--bundle", str(b.path), c, timeout=30)
    listener.close()
    assert r.returncode == 0, r.stderr
    assert "said-ok" in r.stdout and "absent" in r.stdout, r.stdout
    m = listener.message
    assert m["fds"] == ["seccompFd"] and m["metadata"] == "hull-test-meta"
    assert m["state"]["id"] == c and m["state"]["bundle"] == str(b.path)
    assert m["pid"] == m["state"]["pid"] > 0
    assert listener.notified, "no notification reached the agent"
