"""Readers of /proc text files. Each takes its root so recorded trees can be tests."""

from __future__ import annotations

from socklab.errors import NotFound, SocklabError

__all__ = ["read_sysctl", "sysctl_path"]


def sysctl_path(key: str, proc_root: str = "/proc") -> str:
    """The file behind a sysctl key, dotted (``net.ipv4.ip_forward``) or slashed."""
    rel = key.strip("/") if "/" in key else key.replace(".", "/")
    return f"{proc_root}/sys/{rel}"


def read_sysctl(key: str, proc_root: str = "/proc") -> str:
    """The raw text of one sysctl value, without the trailing newline."""
    path = sysctl_path(key, proc_root)
    try:
        with open(path) as f:
            return f.read().rstrip("\n")
    except FileNotFoundError as exc:
        raise NotFound(f"sysctl {key}: no such key") from exc
    except OSError as exc:
        raise SocklabError(f"sysctl {key}: {exc.strerror}") from exc
