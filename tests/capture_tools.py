"""Helpers of the capture tests."""

from __future__ import annotations

import os
import time


def settle(path: str) -> None:
    """Wait (at most 10 s) until the file a capture writes stops growing: tcpdump
    drops what it has not read from its ring when SIGTERM comes, which on a busy
    machine can be the test's last packets."""
    last = -1
    for _ in range(40):
        size = os.path.getsize(path) if os.path.exists(path) else 0
        if size == last:
            return
        last = size
        time.sleep(0.25)
