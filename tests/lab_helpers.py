"""Helpers for the lab tests: unique lab names, what a lab leaves behind."""

from __future__ import annotations

import os
import re
import secrets

from socklab.kernel import netns as knetns
from socklab.lab import shipped
from socklab.lab.topology import Lab, parse


def unique_name() -> str:
    """A lab name no parallel test run shares (pid + random), 12 characters at most."""
    return f"t{os.getpid() % 100000:05d}{secrets.token_hex(3)}"


def renamed(text: str, name: str) -> str:
    return re.sub(r'(?m)^name = "[a-z0-9]+"', f'name = "{name}"', text, count=1)


def shipped_copy(lab: str) -> Lab:
    """A shipped lab under a unique name."""
    return parse(renamed(shipped.text(lab), unique_name()), f"{lab}.toml")


def leftovers(name: str) -> list[str]:
    """Namespaces, state file and processes of lab ``name`` still there."""
    out = [ns for ns in knetns.named() if ns == f"sl-{name}" or ns.startswith(f"sl-{name}-")]
    if os.path.exists(f"/run/socklab/labs/{name}.json"):
        out.append("state file")
    return out


def alive(pids: list[int]) -> list[int]:
    out = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(") ", 1)[1].startswith("Z"):
                    continue
        except OSError:
            continue
        out.append(pid)
    return out
