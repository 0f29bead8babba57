"""A --console-socket receiver: listens on a unix socket, accepts the runtime's
connection and takes the pty master fd it sends with SCM_RIGHTS."""

import array
import errno
import os
import select
import socket
import threading
import time
from pathlib import Path


class ConsoleSocket:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(self.path))
        self.sock.listen(1)
        self.master: int | None = None
        self.error: Exception | None = None
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        try:
            self.sock.settimeout(30)
            conn, _ = self.sock.accept()
            with conn:
                fds = array.array("i")
                msg, anc, _flags, _addr = conn.recvmsg(
                    4096, socket.CMSG_SPACE(fds.itemsize * 4))
                for level, kind, data in anc:
                    if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                        fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
                if len(fds) != 1:
                    raise AssertionError(f"expected one fd over SCM_RIGHTS, got {list(fds)}")
                self.master = fds[0]
        except Exception as e:  # reported by wait_master
            self.error = e

    def wait_master(self, timeout=10.0) -> int:
        self._thread.join(timeout)
        if self.error:
            raise self.error
        assert self.master is not None, "no pty master received on the console socket"
        return self.master

    def read_until_eof(self, timeout=10.0) -> str:
        """Reads the pty master until the slave side is closed (EIO) or timeout."""
        fd = self.wait_master()
        out = b""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            r, _, _ = select.select([fd], [], [], 0.1)
            if not r:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError as e:
                if e.errno == errno.EIO:
                    break
                raise
            if not chunk:
                break
            out += chunk
        return out.decode(errors="replace")

    def read_until(self, needle: str, timeout=10.0) -> str:
        fd = self.wait_master()
        out = b""
        end = time.monotonic() + timeout
        while needle.encode() not in out and time.monotonic() < end:
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                try:
                    out += os.read(fd, 4096)
                except OSError:
                    break
        return out.decode(errors="replace")

    def write(self, data: str):
        os.write(self.wait_master(), data.encode())

    def close(self):
        self.sock.close()
        if self.master is not None:
            os.close(self.master)
            self.master = None
