"""hull attach and --detach-keys of run, start and attach, as docker's: a terminal (or
stdio) attached to a running container's main process through its monitor's attach.sock."""
import fcntl
import os
import signal
import struct
import subprocess
import termios
import time

from .test_lifecycle import detach_with, hull_on_a_pty, wait_for


def exit_status(pid):
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status), status
    return os.WEXITSTATUS(status)


def running(hull, ref):
    return hull.inspect(ref)["State"]["Running"]


def test_attach_tty_custom_keys_and_exit_code(hull):
    hull.run("-dit", "--name", "at", "--", "sh")
    pid, fd, read_until = hull_on_a_pty(hull, "attach", "--detach-keys", "ctrl-a,x", "at")
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 77, 0, 0))
    os.write(fd, b"stty size; echo mark-$((40+2))\r")
    assert read_until(b"mark-42")
    # The caller's window size reached the container's pty.
    assert read_until(b"33 77")
    # One attach at a time: a second is refused while this one holds the terminal.
    p = hull("attach", "at", check=False)
    assert p.returncode == 1 and "attached" in p.stderr, p
    # The default keys are plain input now; ctrl-a then x detaches.
    os.write(fd, b"\x10\x11echo mark-$((50+1))\r")
    assert read_until(b"mark-51")
    detach_with(pid, fd, b"\x01x")
    assert running(hull, "at")
    # Attached again (default keys): the program's exit is attach's status.
    pid, fd, read_until = hull_on_a_pty(hull, "attach", "at")
    os.write(fd, b"echo mark-$((60+3))\r")
    assert read_until(b"mark-63")
    os.write(fd, b"exit 5\r")
    assert exit_status(pid) == 5
    os.close(fd)
    assert not running(hull, "at")
    assert hull.inspect("at")["State"]["ExitCode"] == 5
    # Stopped: docker's refusal, 1.
    p = hull("attach", "at", check=False)
    assert p.returncode == 1
    assert "You cannot attach to a stopped container, start it first" in p.stderr, p
    hull("rm", "at")


def test_attach_output_stdin_and_signals(hull):
    # -d without -t or -i: what the program writes from now on (not the log before).
    hull.run("-d", "--name", "tick", "--", "sh", "-c",
             "trap 'exit 7' TERM; i=0; while :; do echo tick-$i; i=$((i+1)); sleep 0.1; done")
    mon = hull.inspect("tick")["State"]["MonitorPid"]
    assert wait_for(lambda: os.path.realpath(f"/proc/{mon}/exe").endswith("hull-monitor"))
    # Counted once the monitor serves attach.sock (it opens it, and its directory, after
    # the exec).
    cid = hull.inspect("tick")["Id"]
    assert wait_for(lambda: os.path.exists(f"{hull.root}/containers/{cid}/attach.sock"))
    fds_before = len(os.listdir(f"/proc/{mon}/fd"))
    p = hull.popen("attach", "--sig-proxy=false", "tick", stdin=subprocess.DEVNULL,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = p.stdout.readline()
    assert first.startswith("tick-"), first
    n = int(first.split("-")[1])
    assert p.stdout.readline() == f"tick-{n + 1}\n"
    # --sig-proxy=false: SIGINT ends the CLI only; the container goes on.
    p.send_signal(signal.SIGINT)
    p.wait(timeout=10)
    assert running(hull, "tick")
    # The monitor let go of every fd of that attach (it outlives many).
    assert wait_for(lambda: len(os.listdir(f"/proc/{mon}/fd")) == fds_before), \
        os.listdir(f"/proc/{mon}/fd")
    # Signals proxied (the default without -t): SIGTERM reaches the program's trap, and
    # attach exits with its status.
    p = hull.popen("attach", "tick", stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().startswith("tick-")
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=10) == 7
    assert hull.inspect("tick")["State"]["ExitCode"] == 7
    # -di: the attached stdin goes to the program's stdin; --no-stdin keeps it out.
    hull.run("-di", "--name", "cat", "--", "cat")
    p = hull.popen("attach", "--sig-proxy=false", "cat", stdin=subprocess.PIPE,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    p.stdin.write("through attach\n")
    p.stdin.flush()
    assert p.stdout.readline() == "through attach\n"
    p.send_signal(signal.SIGINT)
    p.wait(timeout=10)
    p = hull.popen("attach", "--no-stdin", "--sig-proxy=false", "cat", stdin=subprocess.PIPE,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    p.stdin.write("not forwarded\n")
    p.stdin.flush()
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    p.wait(timeout=10)
    assert running(hull, "cat")
    assert hull("logs", "cat").stdout == "through attach\n"
    hull("rm", "-f", "tick", "cat")


def test_attach_refusals(hull):
    p = hull("attach", "nonesuch", check=False)
    assert p.returncode == 1 and "no such container" in p.stderr, p
    hull.create("--name", "cr", "--", "true")
    p = hull("attach", "cr", check=False)
    assert p.returncode == 1
    assert "You cannot attach to a stopped container, start it first" in p.stderr, p
    for bad in ["ctrl-", "ctrl-A", "ab", "ctrl-p,,ctrl-q", ",".join("a" * 17)]:
        p = hull("attach", "--detach-keys", bad, "cr", check=False)
        assert p.returncode == 1 and "detach keys" in p.stderr, (bad, p)
        p = hull("start", "-ai", "--detach-keys", bad, "cr", check=False)
        assert p.returncode == 1 and "detach keys" in p.stderr, (bad, p)
        # run: a flag error, 125, and nothing created.
        p = hull.run("--detach-keys", bad, "--", "true", check=False)
        assert p.returncode == 125 and "detach keys" in p.stderr, (bad, p)
    assert hull.ids() == [hull.inspect("cr")["Id"]]
    assert not hull.inspect("cr")["State"]["Running"]
    hull("rm", "cr")


def test_run_it_detach_keys(hull):
    pid, fd, read_until = hull_on_a_pty(hull, "run", "-it", "--detach-keys", "ctrl-a,x",
                                        "--name", "rk", *hull.image, "sh")
    os.write(fd, b"echo mark-$((40+2))\r")
    assert read_until(b"mark-42")
    # ctrl-p ctrl-q no longer detaches; a ctrl-a not followed by x goes on as typed.
    os.write(fd, b"\x10\x11\x01echo mark-$((50+1))\r")
    assert read_until(b"mark-51")
    detach_with(pid, fd, b"\x01x")
    assert running(hull, "rk")
    hull("rm", "-f", "rk")


def test_start_ai_detach_keys(hull):
    hull.create("-it", "--name", "sk", "--", "sh")
    # ctrl-@ is byte 0.
    pid, fd, read_until = hull_on_a_pty(hull, "start", "-ai", "--detach-keys", "ctrl-@,d", "sk")
    os.write(fd, b"echo mark-$((40+2))\r")
    assert read_until(b"mark-42")
    detach_with(pid, fd, b"\x00d")
    assert running(hull, "sk")
    hull("rm", "-f", "sk")
