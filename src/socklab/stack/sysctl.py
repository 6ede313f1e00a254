"""sysctl (course 1.3.3): the kernel's tree of tunables, read, written and explained.

Keys and files (as procps ``sysctl`` spells them):

1. ``net.ipv4.ip_forward`` is the file ``/proc/sys/net/ipv4/ip_forward``.
2. A key may use ``/`` as separator instead (``net/ipv4/ip_forward``); the
   first separator in the key decides which one is used, and the other
   character is then an ordinary one: an interface named ``eth0.1`` is
   ``net.ipv4.conf.eth0/1.forwarding`` or ``net/ipv4/conf/eth0.1/forwarding``.
3. Values are typed: an integer, a list of integers (``ip_local_port_range``),
   or a string. A write is checked against the type of the value it replaces
   (:func:`check_value`): ``yes`` is no integer.
4. Listings (``sysctl -a``, a subtree, a glob) are procps' ``sysctl -a``: the
   entries of each directory in name order, subdirectories sorted in with the
   keys (``net.ipv4.conf`` between ``net.ipv4.cipso_rcvbuf`` and ``net.ipv4.fib_...``);
   write-only keys (no owner read bit, ``net.ipv4.route.flush``), the keys a read
   changes (``vm.stat_refresh``) and the deprecated ones are left out; reading one of
   them by its name still works.
5. A key names a place under ``/proc/sys`` and nothing else: no absolute path,
   no empty, ``.`` or ``..`` component, no control character, in any spelling
   (:func:`key_to_path` refuses them with :class:`BadInput`), and the file
   opened is checked again after the kernel resolved it
   (:func:`socklab.kernel.procfs.sysctl_file`): no symlink leads out.

The pure part is here; reading and writing the files is
:mod:`socklab.kernel.procfs`'s.
"""

from __future__ import annotations

import contextlib
import difflib
import fnmatch
import itertools
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass

from socklab.errors import BadInput, MissingPrivilege, NotFound, SocklabError
from socklab.kernel import procfs
from socklab.kernel.procfs import read_sysctl as read_sysctl  # one key's text, for the tour

__all__ = ["Explained", "Setting", "check_value", "explain", "key_to_path", "path_to_key",
           "read", "read_all", "typed", "write"]

Value = int | list[int] | str


@dataclass(frozen=True, slots=True)
class Setting:
    key: str
    value: Value
    text: str  # the raw text, as sysctl -n prints it
    old: str | None = None  # after a write: the text before it


@dataclass(frozen=True, slots=True)
class Explained:
    key: str
    what: str
    unit: str
    default: str
    bsd: str | None
    value: Value | None = None


def key_to_path(key: str) -> str:
    """``net.ipv4.conf.eth0/1.forwarding`` -> ``net/ipv4/conf/eth0.1/forwarding`` (rule 2).

    Raises BadInput for a key that does not name a place under /proc/sys (rule 5).
    Glob characters are kept: they are matched against names the tree lists.
    """
    text = key.strip()
    if not text:
        raise BadInput("sysctl: empty key (give a key such as net.ipv4.ip_forward)")
    bad = next((c for c in text if ord(c) < 0x20 or c == "\x7f" or "\udc80" <= c <= "\udcff"),
               None)
    if bad is not None:
        raise BadInput(f"sysctl {text!r}: a key holds no control character or undecodable "
                       f"byte ({bad!r})")
    if text.startswith("/"):
        raise BadInput(f"sysctl {text}: a key is relative to /proc/sys, not an absolute path "
                       f"(net.ipv4.ip_forward or net/ipv4/ip_forward)")
    dot, slash = text.find("."), text.find("/")
    if slash != -1 and (dot == -1 or slash < dot):
        # already a path; one trailing slash is the shell's completion of a directory
        parts = (text[:-1] if text.endswith("/") else text).split("/")
    else:
        parts = [part.replace("/", ".") for part in text.split(".")]
    for part in parts:
        if part in ("", ".", ".."):
            what = "an empty component" if not part else f"a {part!r} component"
            raise BadInput(f"sysctl {text}: {what} (a key names a place under /proc/sys, "
                           f"as net.ipv4.ip_forward)")
    return "/".join(parts)


def path_to_key(path: str) -> str:
    """``net/ipv4/conf/eth0.1/forwarding`` -> ``net.ipv4.conf.eth0/1.forwarding``."""
    return ".".join(part.replace(".", "/") for part in path.strip("/").split("/"))


def typed(text: str) -> Value:
    """An integer, a list of integers, or the string itself."""
    words = text.split()
    try:
        numbers = [int(w) for w in words]
    except ValueError:
        return text
    if len(numbers) == 1:
        return numbers[0]
    return numbers if numbers else text


def _is_pattern(key: str) -> bool:
    return any(c in key for c in "*?[")


def read(*keys: str, proc_root: str = "/proc") -> list[Setting]:
    """Settings for keys, globs (``net.ipv4.tcp_*``) or subtrees (``net.ipv4.conf.lo``);
    no key: all of ``net``. Raises NotFound (naming the closest keys) and
    SocklabError for a key that cannot be read."""
    out: list[Setting] = []
    for key in keys or ("net",):
        if _is_pattern(key):
            pattern = key_to_path(key)
            parts = pattern.split("/")
            fixed = itertools.takewhile(lambda part: not _is_pattern(part), parts[:-1])
            top = "/".join(fixed) or "."
            paths = [p for p in _listing(top, proc_root) if fnmatch.fnmatchcase(p, pattern)]
            if not paths:
                raise NotFound(f"sysctl {key}: no key matches")
            out += _read_many(paths, proc_root, quiet=True)
            continue
        path = key_to_path(key)
        kind = procfs.sysctl_kind(path, proc_root)
        if kind == "dir":
            out += _read_many(_listing(path, proc_root), proc_root, quiet=True)
        elif kind == "file":
            out += _read_many([path], proc_root, quiet=False)
        else:
            raise NotFound(_unknown(key, path, proc_root))
    return out


def read_all(proc_root: str = "/proc") -> list[Setting]:
    """Every readable setting of the tree (``sysctl -a``)."""
    return _read_many(_listing(".", proc_root), proc_root, quiet=True)


def _listing(path: str, proc_root: str) -> list[str]:
    """The files under ``path``, in procps' order (rule 4): each directory's entries
    by name, a subdirectory's keys where its name sorts (readdir of /proc/sys gives
    its entries in name order; procps walks them as they come)."""
    return sorted(procfs.sysctl_tree(path, proc_root), key=lambda p: p.split("/"))


# Left out of listings, as procps sysctl -a does (its --deprecated shows them);
# reading one by its name still works.
DEPRECATED = frozenset({"base_reachable_time", "retrans_time"})
# Never read in a listing: reading them has side effects (procps' VERBOTEN list;
# a read of vm.stat_refresh folds every CPU's counters, Documentation/admin-guide/sysctl/vm.rst)
VERBOTEN = frozenset({"stat_refresh"})


def _listed(path: str, proc_root: str) -> bool:
    """Whether a listing shows this key (rule 4): procps skips the deprecated and
    verboten names, and any file without the owner's read bit (ReadSetting)."""
    name = path.rsplit("/", 1)[-1]
    if name in DEPRECATED or name in VERBOTEN:
        return False
    return _owner_readable(path, proc_root)


def _owner_readable(path: str, proc_root: str) -> bool:
    """The file has its owner's read bit (False when it is gone)."""
    try:
        mode = os.stat(f"{proc_root}/sys/{path}").st_mode
    except OSError:  # gone since the tree was listed
        return False
    return bool(mode & stat.S_IRUSR)


def _read_many(paths: Iterable[str], proc_root: str, quiet: bool) -> list[Setting]:
    out = []
    for path in paths:
        if quiet and not _listed(path, proc_root):
            continue
        try:
            text = procfs.read_sysctl_path(path, proc_root)
        except BadInput:  # a symlink out of the tree (rule 4): never read
            if quiet:
                continue
            raise
        except OSError as exc:
            if quiet:  # as sysctl -a: write-only and refused keys are left out of listings
                continue
            if not _owner_readable(path, proc_root):
                raise BadInput(f"sysctl {path_to_key(path)}: a write-only key, it cannot be "
                               f"read (set it with -w)") from exc
            raise SocklabError(f"sysctl {path_to_key(path)}: cannot read: "
                               f"{exc.strerror or exc}") from exc
        out.append(Setting(path_to_key(path), typed(text), text))
    return out


def _unknown(key: str, path: str, proc_root: str) -> str:
    top = path.split("/", 1)[0]
    known = [path_to_key(p) for p in procfs.sysctl_tree(top, proc_root)] if top else []
    close = difflib.get_close_matches(path_to_key(path), known, n=3, cutoff=0.6)
    hint = f" (closest: {', '.join(close)})" if close else ""
    return f"sysctl {key}: no such key{hint}"


# units of EXPLAIN (below) that bound a value: unit -> (count, low, high, ordered)
_UNIT_BOUNDS: dict[str, tuple[int, int, int, bool]] = {
    "boolean": (1, 0, 1, False),
    "0/1/2": (1, 0, 2, False),
    "port": (1, 0, 65535, False),
    "two port numbers": (2, 1, 65535, True),
}


def check_value(key: str, current: str, value: str) -> str:
    """The value to write for ``key``, checked against the key's current value (rule 3):
    an integer key takes one integer (``yes`` is refused), a list of N integers takes
    N integers; what socklab explains bounds it further (a boolean is 0 or 1; the
    port range is two ordered ports). Strings pass as they are. Raises BadInput."""
    dotted = path_to_key(key_to_path(key))
    kind = typed(current)
    if isinstance(kind, str):
        return value
    words = value.replace("\t", " ").split()
    want = 1 if isinstance(kind, int) else len(kind)
    shape = "an integer" if want == 1 else f"{want} integers separated by blanks"
    try:
        numbers = [int(w, 10) for w in words]
    except ValueError:
        numbers = []
    if len(numbers) != want:
        raise BadInput(f"sysctl -w {dotted}={value}: expected {shape} (now: "
                       f"{current.strip()})")
    unit = next((u for pattern, _w, u, *_ in EXPLAIN if fnmatch.fnmatchcase(dotted, pattern)),
                None)
    if unit in _UNIT_BOUNDS:
        count, low, high, ordered = _UNIT_BOUNDS[unit]
        if count == want and not all(low <= n <= high for n in numbers):
            raise BadInput(f"sysctl -w {dotted}={value}: each value is {low} to {high} "
                           f"({unit})")
        if ordered and numbers != sorted(numbers):
            raise BadInput(f"sysctl -w {dotted}={value}: the first number is the low end "
                           f"of the range, the second the high end")
    return "\t".join(str(n) for n in numbers) if want > 1 else str(numbers[0])


def write(key: str, value: str, proc_root: str = "/proc") -> Setting:
    """``sysctl -w key=value``, the value checked first (:func:`check_value`); the
    Setting returned has the old text in ``old``. Raises NotFound, BadInput (value
    refused), MissingPrivilege (CAP_NET_ADMIN for net.*, else root)."""
    path = key_to_path(key)
    if _is_pattern(path):
        raise BadInput(f"sysctl -w {key}: a glob cannot be written; name one key")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise BadInput(f"sysctl -w {key}: the value is not valid UTF-8") from None
    if "\0" in value:
        raise BadInput(f"sysctl -w {key}: the value holds a NUL byte")
    if procfs.sysctl_kind(path, proc_root) != "file":
        raise NotFound(_unknown(key, path, proc_root))
    old: str | None = None
    with contextlib.suppress(OSError):  # write-only keys exist (and unreadable ones)
        old = procfs.read_sysctl_path(path, proc_root)
    if old is not None:
        value = check_value(path, old, value)
    try:
        procfs.write_sysctl_path(path, value, proc_root)
    except PermissionError as exc:
        cap = "CAP_NET_ADMIN" if path.startswith("net/") else "CAP_SYS_ADMIN"
        raise MissingPrivilege(f"sysctl -w {path_to_key(path)}", cap,
                               "run as root (in a lab namespace: socklab --netns NAME)") from exc
    except OSError as exc:
        raise BadInput(f"sysctl -w {path_to_key(path)}={value}: the kernel refused the value "
                       f"({exc.strerror or exc})") from exc
    text = procfs.read_sysctl_path(path, proc_root)
    return Setting(path_to_key(path), typed(text), text, old)


# key pattern -> (what it controls, unit, kernel default, BSD name)
EXPLAIN: list[tuple[str, str, str, str, str | None]] = [
    ("net.ipv4.ip_forward", "forward IPv4 packets between interfaces: router (1) or end host "
     "(0); writing it sets every conf.*.forwarding too", "boolean", "0",
     "net.inet.ip.forwarding"),
    ("net.ipv4.conf.*.forwarding", "forward IPv4 packets received on this interface",
     "boolean", "0", "net.inet.ip.forwarding (global only)"),
    ("net.ipv6.conf.*.forwarding", "forward IPv6 packets on this interface (also turns off "
     "router-advertisement learning)", "boolean", "0", "net.inet6.ip6.forwarding"),
    ("net.ipv4.conf.*.rp_filter", "reverse-path filter: drop packets whose source would not "
     "be routed back out the interface they came in on (1 strict, 2 loose, 0 off)",
     "0/1/2", "0 (distributions often set 1 or 2)", None),
    ("net.ipv4.conf.*.accept_redirects", "accept ICMP redirects that change the route to a "
     "host", "boolean", "1 (0 when forwarding)", "net.inet.icmp.drop_redirect (inverted)"),
    ("net.ipv4.conf.*.send_redirects", "send ICMP redirects when forwarding a packet back "
     "out its input interface", "boolean", "1", None),
    ("net.ipv4.icmp_echo_ignore_all", "do not answer ICMP echo requests: ping gets no reply",
     "boolean", "0", "net.inet.icmp.drop_echo? (no direct equivalent)"),
    ("net.ipv4.icmp_echo_ignore_broadcasts", "do not answer echo requests sent to broadcast "
     "or multicast addresses (smurf protection)", "boolean", "1",
     "net.inet.icmp.bmcastecho (inverted)"),
    ("net.ipv4.ip_local_port_range", "the range the kernel picks ephemeral ports from, for "
     "sockets that connect or send without bind() (course 2.2.1)", "two port numbers",
     "32768 60999", "net.inet.ip.portrange.first / .last"),
    ("net.ipv4.ip_unprivileged_port_start", "the lowest port a process without "
     "CAP_NET_BIND_SERVICE may bind", "port", "1024", "net.inet.ip.portrange.reservedhigh + 1"),
    ("net.ipv4.ping_group_range", "groups allowed to open unprivileged ICMP datagram "
     "sockets (SOCK_DGRAM, IPPROTO_ICMP): ping without CAP_NET_RAW", "two group ids",
     "1 0 (nobody)", None),
    ("net.ipv4.tcp_syncookies", "answer SYN floods with SYN cookies once the SYN queue "
     "overflows (1), always (2), never (0)", "0/1/2", "1", "net.inet.tcp.syncookies"),
    ("net.core.somaxconn", "upper bound of listen()'s backlog: the accept queue length",
     "connections", "4096", "kern.ipc.somaxconn"),
    ("net.ipv4.tcp_max_syn_backlog", "length of the queue of half-open connections "
     "(SYN received, handshake not done)", "connections", "depends on memory (128 to 4096+)",
     None),
    ("net.core.rmem_default", "default receive buffer of a socket (SO_RCVBUF)", "bytes",
     "212992", "net.inet.udp.recvspace (UDP)"),
    ("net.core.rmem_max", "largest receive buffer setsockopt(SO_RCVBUF) may ask for",
     "bytes", "212992", "kern.ipc.maxsockbuf"),
    ("net.core.wmem_default", "default send buffer of a socket (SO_SNDBUF)", "bytes",
     "212992", None),
    ("net.core.wmem_max", "largest send buffer setsockopt(SO_SNDBUF) may ask for", "bytes",
     "212992", "kern.ipc.maxsockbuf"),
    ("net.ipv4.tcp_rmem", "TCP receive buffer: minimum, default, maximum (autotuning range)",
     "bytes x3", "4096 131072 6291456", "net.inet.tcp.recvspace / recvbuf_max"),
    ("net.ipv4.tcp_wmem", "TCP send buffer: minimum, default, maximum (autotuning range)",
     "bytes x3", "4096 16384 4194304", "net.inet.tcp.sendspace / sendbuf_max"),
    ("net.ipv4.tcp_fin_timeout", "how long an orphaned connection stays in FIN-WAIT-2",
     "seconds", "60", "net.inet.tcp.finwait2_timeout (ms)"),
    ("net.ipv4.tcp_keepalive_time", "idle time before TCP keepalive probes start "
     "(SO_KEEPALIVE sockets)", "seconds", "7200", "net.inet.tcp.keepidle (ms)"),
    ("net.ipv4.tcp_tw_reuse", "reuse TIME-WAIT sockets for new outgoing connections when "
     "safe (1 always, 2 loopback only)", "0/1/2", "2", None),
    ("net.ipv4.tcp_congestion_control", "the congestion control algorithm of new TCP "
     "connections", "name", "cubic", "net.inet.tcp.cc.algorithm"),
    ("net.ipv4.ip_default_ttl", "TTL of outgoing IPv4 packets when the socket sets none "
     "(IP_TTL)", "hops", "64", "net.inet.ip.ttl"),
    ("net.ipv4.conf.*.arp_ignore", "which ARP requests to answer (0 any local address, "
     "1 only for addresses on the receiving interface ...)", "0-8", "0", None),
    ("net.ipv4.conf.*.proxy_arp", "answer ARP requests for addresses this host routes to",
     "boolean", "0", None),
    ("net.ipv6.conf.*.disable_ipv6", "turn IPv6 off on this interface", "boolean", "0", None),
]


def explain(key: str, proc_root: str = "/proc") -> Explained:
    """What a parameter controls, its unit, the kernel default and the BSD name, with
    its current value. Raises NotFound when socklab has no explanation for it."""
    dotted = path_to_key(key_to_path(key))
    for pattern, what, unit, default, bsd in EXPLAIN:
        if fnmatch.fnmatchcase(dotted, pattern):
            value: Value | None = None
            with contextlib.suppress(OSError):  # a key of another namespace or kernel
                value = typed(procfs.read_sysctl_path(key_to_path(dotted), proc_root))
            return Explained(dotted, what, unit, default, bsd, value)
    known = ", ".join(p for p, *_ in EXPLAIN[:6])
    raise NotFound(f"sysctl --explain {key}: socklab has no explanation for this key "
                   f"(it explains {known}, ...; 'socklab sysctl --explain-list' lists them)")
