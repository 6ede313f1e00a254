"""Linux capabilities of this process, read from ``/proc/self/status``.

Used to explain a refusal before or after it happens; the kernel's answer
(EPERM) stays the authority.
"""

from __future__ import annotations

import os

__all__ = ["CAPABILITIES", "effective", "has"]

# Bit numbers from <linux/capability.h>.
CAPABILITIES = {
    "CAP_NET_BIND_SERVICE": 10,
    "CAP_NET_BROADCAST": 11,
    "CAP_NET_ADMIN": 12,
    "CAP_NET_RAW": 13,
    "CAP_SYS_ADMIN": 21,
}


def effective(proc_root: str = "/proc") -> int:
    """The effective capability mask of this process (0 when unreadable)."""
    try:
        with open(f"{proc_root}/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return 0


def has(capability: str, proc_root: str = "/proc") -> bool:
    """True when the process holds ``capability`` (``"CAP_NET_RAW"``)."""
    return bool(effective(proc_root) >> CAPABILITIES[capability] & 1)


def is_root() -> bool:
    return os.geteuid() == 0
