"""Options several commands share, declared once (no imports: parsers are built at start-up)."""

from __future__ import annotations

from typing import Any


def add_source_option(p: Any) -> None:
    """``--source`` for the stack commands (socklab.stack.read.SOURCES)."""
    p.add_argument("--source", choices=("auto", "netlink", "proc"), default="auto",
                   help="where to read: rtnetlink, or /proc/net and ioctls as net-tools "
                        "does (auto: netlink, the others when it cannot be opened)")
