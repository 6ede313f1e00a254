"""Names of socket levels, options and protocols: each from its own table.

Rule: a number is named from the table of its context (option 2 at SOL_SOCKET
is SO_REUSEADDR, never a CAN or J1939 option of the same value), and the
tables agree with the Linux headers they were written from.
"""

import re
import socket
from pathlib import Path

import pytest

from socklab.kernel import sockconst

SOL_ICMPV6, SOL_RAW, SOL_PACKET, SOL_NETLINK = 58, 255, 263, 270

KNOWN = [
    (socket.SOL_SOCKET, 1, "SOL_SOCKET", "SO_DEBUG"),
    (socket.SOL_SOCKET, 2, "SOL_SOCKET", "SO_REUSEADDR"),
    (socket.SOL_SOCKET, 3, "SOL_SOCKET", "SO_TYPE"),
    (socket.SOL_SOCKET, 4, "SOL_SOCKET", "SO_ERROR"),
    (socket.SOL_SOCKET, 8, "SOL_SOCKET", "SO_RCVBUF"),
    (socket.SOL_SOCKET, 13, "SOL_SOCKET", "SO_LINGER"),
    (socket.SOL_SOCKET, 15, "SOL_SOCKET", "SO_REUSEPORT"),
    (socket.SOL_SOCKET, 25, "SOL_SOCKET", "SO_BINDTODEVICE"),
    (socket.SOL_SOCKET, 26, "SOL_SOCKET", "SO_ATTACH_FILTER"),
    (socket.SOL_SOCKET, 29, "SOL_SOCKET", "SO_TIMESTAMP_OLD"),
    (socket.SOL_SOCKET, 33, "SOL_SOCKET", "SO_RCVBUFFORCE"),
    (socket.IPPROTO_IP, 2, "SOL_IP", "IP_TTL"),
    (socket.IPPROTO_IP, 11, "SOL_IP", "IP_RECVERR"),
    (socket.IPPROTO_IP, 12, "SOL_IP", "IP_RECVTTL"),
    (socket.IPPROTO_IPV6, 16, "SOL_IPV6", "IPV6_UNICAST_HOPS"),
    (socket.IPPROTO_IPV6, 25, "SOL_IPV6", "IPV6_RECVERR"),
    (socket.IPPROTO_IPV6, 26, "SOL_IPV6", "IPV6_V6ONLY"),
    (socket.IPPROTO_IPV6, 51, "SOL_IPV6", "IPV6_RECVHOPLIMIT"),
    (socket.IPPROTO_TCP, 1, "SOL_TCP", "TCP_NODELAY"),
    (socket.IPPROTO_TCP, 13, "SOL_TCP", "TCP_CONGESTION"),
    (SOL_ICMPV6, 1, "SOL_ICMPV6", "ICMPV6_FILTER"),
    (SOL_RAW, 1, "SOL_RAW", "ICMP_FILTER"),
    (SOL_PACKET, 1, "SOL_PACKET", "PACKET_ADD_MEMBERSHIP"),
    (SOL_PACKET, 8, "SOL_PACKET", "PACKET_AUXDATA"),
    (SOL_NETLINK, 11, "SOL_NETLINK", "NETLINK_EXT_ACK"),
    (SOL_NETLINK, 12, "SOL_NETLINK", "NETLINK_GET_STRICT_CHK"),
]


@pytest.mark.parametrize(("level", "option", "level_name", "option_name"), KNOWN)
def test_known_levels_and_options(level, option, level_name, option_name):
    assert sockconst.level_name(level) == level_name
    assert sockconst.option_name(level, option) == option_name


def test_unknown_numbers_stay_numbers():
    assert sockconst.level_name(9999) == "9999"
    assert sockconst.option_name(socket.SOL_SOCKET, 9999) == "9999"
    assert sockconst.option_name(9999, 1) == "1"
    assert sockconst.protocol_name(socket.AF_INET, 9999) == "9999"
    assert sockconst.protocol_name(socket.AF_UNIX, 0) == "0"
    assert sockconst.protocol_name(socket.AF_PACKET, socket.htons(0x1234)) == "htons(0x1234)"


# Python's names that are not SOL_SOCKET/SOL_IP/SOL_IPV6/SOL_TCP options, or
# aliases of the name strace prints for the same number
NOT_OPTIONS = ("SO_J1939_", "SO_VM_SOCKETS_", "IP_DEFAULT_MULTICAST_", "IP_MAX_MEMBERSHIPS",
               "IPV6_RTHDR_TYPE_")
ALIASES = {"SO_RCVTIMEO": "SO_RCVTIMEO_OLD", "SO_SNDTIMEO": "SO_SNDTIMEO_OLD",
           "SO_TIMESTAMP": "SO_TIMESTAMP_OLD", "SO_TIMESTAMPNS": "SO_TIMESTAMPNS_OLD",
           "SO_TIMESTAMPING": "SO_TIMESTAMPING_OLD", "IP_RECVRETOPTS": "IP_RETOPTS",
           "IPV6_JOIN_GROUP": "IPV6_ADD_MEMBERSHIP", "IPV6_LEAVE_GROUP": "IPV6_DROP_MEMBERSHIP"}


def test_python_option_constants_get_their_own_names():
    """Every SO_/IP_/IPV6_/TCP_ option Python knows is shown, at its level,
    under its own name (or the alias strace prints), never as an option of
    another protocol that has the same number (SO_J1939_PROMISC for
    SO_REUSEADDR: what looking the value up in the socket module gave)."""
    prefixes = {"SO_": socket.SOL_SOCKET, "IP_": socket.IPPROTO_IP,
                "IPV6_": socket.IPPROTO_IPV6, "TCP_": socket.IPPROTO_TCP}
    checked = 0
    for name in dir(socket):
        prefix = next((p for p in prefixes if name.startswith(p)), None)
        if prefix is None or name.startswith(NOT_OPTIONS):
            continue
        shown = sockconst.option_name(prefixes[prefix], getattr(socket, name))
        assert shown == ALIASES.get(name, name)
        checked += 1
    assert checked > 50


@pytest.mark.parametrize(("family", "proto", "name"), [
    (socket.AF_INET, 0, "IPPROTO_IP"),
    (socket.AF_INET, 1, "IPPROTO_ICMP"),
    (socket.AF_INET, 6, "IPPROTO_TCP"),
    (socket.AF_INET, 17, "IPPROTO_UDP"),
    (socket.AF_INET, 255, "IPPROTO_RAW"),
    (socket.AF_INET6, 58, "IPPROTO_ICMPV6"),
    (socket.AF_NETLINK, 0, "NETLINK_ROUTE"),
    (socket.AF_NETLINK, 4, "NETLINK_SOCK_DIAG"),
    (socket.AF_PACKET, socket.htons(3), "htons(ETH_P_ALL)"),
    (socket.AF_PACKET, socket.htons(0x0800), "htons(ETH_P_IP)"),
    (socket.AF_PACKET, socket.htons(0x86DD), "htons(ETH_P_IPV6)"),
])
def test_protocols_are_named_by_family(family, proto, name):
    assert sockconst.protocol_name(family, proto) == name


INCLUDE = Path("/usr/include")
# (table, header, how its names start)
HEADERS = [
    (sockconst.SOL_SOCKET, "asm-generic/socket.h", ("SO_",)),
    (sockconst.SOL_IP, "linux/in.h", ("IP_", "MCAST_")),
    (sockconst.SOL_IPV6, "linux/in6.h linux/in.h", ("IPV6_", "MCAST_")),
    (sockconst.SOL_TCP, "linux/tcp.h", ("TCP_",)),
    (sockconst.SOL_UDP, "linux/udp.h", ("UDP_",)),
    (sockconst.OPTIONS[SOL_ICMPV6], "linux/icmpv6.h", ("ICMPV6_",)),
    (sockconst.OPTIONS[SOL_RAW], "linux/icmp.h", ("ICMP_",)),
    (sockconst.SOL_PACKET, "linux/if_packet.h", ("PACKET_",)),
    (sockconst.SOL_NETLINK, "linux/netlink.h", ("NETLINK_",)),
    (sockconst.NETLINK, "linux/netlink.h", ("NETLINK_",)),
    (sockconst.IPPROTO, "linux/in.h linux/in6.h", ("IPPROTO_",)),
    (sockconst.ETH_P, "linux/if_ether.h", ("ETH_P_",)),
]


def _defines(headers: str) -> set[tuple[str, int]]:
    found = set()
    for rel in headers.split():
        text = (INCLUDE / rel).read_text()
        for name, value in re.findall(r"^#define\s+(\w+)\s+(0x[0-9A-Fa-f]+|\d+)\b", text, re.M):
            found.add((name, int(value, 0)))
        for name, value in re.findall(r"^\s+(IPPROTO_\w+)\s*=\s*(\d+),", text, re.M):
            found.add((name, int(value)))
    return found


@pytest.mark.parametrize(("table", "headers", "prefixes"), HEADERS,
                         ids=[h for _t, h, _p in HEADERS])
def test_tables_agree_with_the_linux_headers(table, headers, prefixes):
    """Each (value, name) is a ``#define name value`` of its header, and every
    number the header names for the table's options is in the table."""
    if not all((INCLUDE / rel).exists() for rel in headers.split()):
        pytest.skip(f"needs the Linux UAPI headers ({headers}: package linux-libc-dev)")
    defined = _defines(headers)
    for value, name in table.items():
        assert name.startswith(prefixes) and (name, value) in defined, (value, name)


def test_no_socket_option_of_the_headers_is_forgotten():
    """Every SOL_SOCKET option and IP protocol the headers define is named."""
    for rel in ("asm-generic/socket.h", "linux/in.h"):
        if not (INCLUDE / rel).exists():
            pytest.skip(f"needs the Linux UAPI headers ({rel}: package linux-libc-dev)")
    so = {v for n, v in _defines("asm-generic/socket.h") if n.startswith("SO_")}
    assert so == set(sockconst.SOL_SOCKET)
    ipproto = {v for n, v in _defines("linux/in.h") if n.startswith("IPPROTO_")}
    assert ipproto <= set(sockconst.IPPROTO)
