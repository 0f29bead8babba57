"""Parsing /proc/<pid>/status and capability masks as seen from inside a container."""

CAPS = [
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID",
    "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN",
    "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE",
    "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME",
    "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
    "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ",
    "PERFMON", "BPF", "CHECKPOINT_RESTORE",
]


def cap_mask(names) -> int:
    m = 0
    for n in names:
        m |= 1 << CAPS.index(n.removeprefix("CAP_"))
    return m


def parse_status(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            out[k.strip()] = v.strip()
    return out


def caps(status: dict[str, str]) -> dict[str, int]:
    return {k: int(status[k], 16) for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}


def names(mask: int) -> list[str]:
    return [CAPS[i] for i in range(len(CAPS)) if mask >> i & 1]


def traps(pid: int, sig: int, comm: str = "sh") -> bool:
    """Whether process pid runs comm (a shell) and has a handler for signal sig: its `trap`
    is installed. A container's pid 1 drops a signal it has no handler for, so a test that
    signals a trapping shell waits for this first. Checked through SigCgt, after the exec:
    a runtime's init may handle the signal itself before it execs the program."""
    try:
        with open(f"/proc/{pid}/comm") as f:
            if f.read().rstrip("\n") != comm:
                return False
        with open(f"/proc/{pid}/status") as f:
            mask = int(parse_status(f.read())["SigCgt"], 16)
    except (OSError, KeyError):
        return False
    return bool(mask >> (sig - 1) & 1)
