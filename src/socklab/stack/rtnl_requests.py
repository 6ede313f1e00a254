"""rtnetlink change requests as bytes, and a request read back field by field. Pure, no socket.

The layouts (``IFINFOMSG``, ``IFADDRMSG``, ``RTMSG``, ``FIB_RULE_HDR``, ``NDMSG``,
``RTNEXTHOP``) and the attribute numbers are those :mod:`socklab.stack.rtnl`
decodes replies with: one table for both directions, so a request socklab
builds decodes back with the reply decoders (tests/unit/test_rtnl_requests.py
checks it with Hypothesis). Only the numbers the decoders never needed
(message types that delete, kind-specific link data) are declared here.

Rules:

1. A builder takes numbers and packed addresses (``inet_pton`` bytes), already
   checked by :mod:`socklab.stack.change`; it returns one message payload.
2. :func:`describe` reads a whole message (header included) back into
   ``(field, value)`` pairs named as in the kernel headers: what ``--dry-run``
   prints. It raises only :class:`~socklab.errors.BadInput` on bytes that do
   not parse.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Sequence
from typing import NamedTuple

from socklab.errors import BadInput
from socklab.kernel.netlink import (
    NLATTR,
    NLM_F_ACK,
    NLM_F_APPEND,
    NLM_F_CREATE,
    NLM_F_EXCL,
    NLM_F_REPLACE,
    NLM_F_REQUEST,
    NLMSGHDR,
    align,
    attr,
    message,
)
from socklab.stack import rtnl
from socklab.stack.rtnl import (
    FIB_RULE_HDR,
    IFADDRMSG,
    IFINFOMSG,
    NDMSG,
    RTMSG,
    RTNEXTHOP,
    U32,
)

__all__ = ["Nexthop", "Request", "addr_msg", "describe", "link_msg", "neigh_msg", "route_msg",
           "rule_msg", "veth_data", "vlan_data", "vxlan_data"]

# <linux/rtnetlink.h>: the DEL/SET messages (the NEW/GET ones are in rtnl)
RTM_DELLINK, RTM_SETLINK = 17, 19
RTM_DELADDR, RTM_DELROUTE, RTM_DELNEIGH, RTM_DELRULE = 21, 25, 29, 33
# <linux/if_link.h>
IFLA_INFO_DATA = 2
VETH_INFO_PEER = 1
IFLA_VXLAN_ID, IFLA_VXLAN_GROUP, IFLA_VXLAN_LINK, IFLA_VXLAN_LOCAL = 1, 2, 3, 4
IFLA_VXLAN_PORT = 15
IFLA_VXLAN_GROUP6, IFLA_VXLAN_LOCAL6 = 16, 17
IFLA_VLAN_ID = 1
IFF_PROMISC = 0x100
RTNH_F_ONLINK = 0x4
RT_TABLE_UNSPEC = 0


class Request(NamedTuple):
    """One rtnetlink request: its message type, its NLM_F_* modifiers and its payload."""

    msg_type: int
    flags: int
    payload: bytes


class Nexthop(NamedTuple):
    """One path of a multipath route (``nexthop via GW dev DEV weight W``)."""

    gateway: bytes | None  # packed address
    ifindex: int
    weight: int = 1


def _name(text: str) -> bytes:
    return text.encode() + b"\0"


def _u32(value: int) -> bytes:
    return U32.pack(value)


# -- builders -----------------------------------------------------------------

def link_msg(index: int, *, family: int = socket.AF_UNSPEC, flags: int = 0, change: int = 0,
             name: str | None = None, mtu: int | None = None, address: bytes | None = None,
             txqlen: int | None = None, master: int | None = None, link: int | None = None,
             kind: str | None = None, info_data: bytes | None = None) -> bytes:
    """An ``ifinfomsg`` with the attributes given (RTM_NEWLINK, RTM_SETLINK, RTM_DELLINK).

    ``flags``/``change``: the IFF_* bits to set and the mask of those to touch
    (``ip link set up`` is flags=IFF_UP, change=IFF_UP). ``master=0`` is ``nomaster``.
    """
    out = IFINFOMSG.pack(family, 0, index, flags, change)
    if name is not None:
        out += attr(rtnl.IFLA_IFNAME, _name(name))
    if mtu is not None:
        out += attr(rtnl.IFLA_MTU, _u32(mtu))
    if address is not None:
        out += attr(rtnl.IFLA_ADDRESS, address)
    if txqlen is not None:
        out += attr(rtnl.IFLA_TXQLEN, _u32(txqlen))
    if master is not None:
        out += attr(rtnl.IFLA_MASTER, _u32(master))
    if link is not None:
        out += attr(rtnl.IFLA_LINK, _u32(link))
    if kind is not None:
        info = attr(rtnl.IFLA_INFO_KIND, kind.encode())
        if info_data is not None:
            info += attr(IFLA_INFO_DATA, info_data)
        out += attr(rtnl.IFLA_LINKINFO, info)
    return out


def veth_data(peer: str, index: int = 0) -> bytes:
    """``IFLA_INFO_DATA`` of a veth: the peer, itself an ifinfomsg with a name (and an
    index, which the kernel takes when the device's own is given too)."""
    return attr(VETH_INFO_PEER, link_msg(index, name=peer))


def vxlan_data(vni: int, *, remote: bytes | None = None, local: bytes | None = None,
               dev: int | None = None, port: int | None = None) -> bytes:
    out = attr(IFLA_VXLAN_ID, _u32(vni))
    if remote is not None:
        out += attr(IFLA_VXLAN_GROUP if len(remote) == 4 else IFLA_VXLAN_GROUP6, remote)
    if local is not None:
        out += attr(IFLA_VXLAN_LOCAL if len(local) == 4 else IFLA_VXLAN_LOCAL6, local)
    if dev is not None:
        out += attr(IFLA_VXLAN_LINK, _u32(dev))
    if port is not None:
        out += attr(IFLA_VXLAN_PORT, struct.pack("!H", port))  # network byte order
    return out


def vlan_data(vid: int) -> bytes:
    return attr(IFLA_VLAN_ID, struct.pack("=H", vid))


def addr_msg(family: int, prefixlen: int, index: int, local: bytes, *, scope: int = 0,
             peer: bytes | None = None, broadcast: bytes | None = None,
             label: str | None = None) -> bytes:
    """An ``ifaddrmsg``: IFA_LOCAL and IFA_ADDRESS as ``ip addr add`` sends them
    (IFA_ADDRESS is the peer on a point-to-point link, else the address again)."""
    out = IFADDRMSG.pack(family, prefixlen, 0, scope, index)
    out += attr(rtnl.IFA_LOCAL, local) + attr(rtnl.IFA_ADDRESS, peer or local)
    if broadcast is not None:
        out += attr(rtnl.IFA_BROADCAST, broadcast)
    if label is not None:
        out += attr(rtnl.IFA_LABEL, _name(label))
    return out


_HEADS: dict[tuple[int, int], bytes] = {}


def _head(attr_type: int, size: int) -> bytes:
    """The 4-byte header of an attribute of ``size`` bytes, made once a (type, size): a
    batch of routes builds the same few headers ten thousand times."""
    got = _HEADS.get((attr_type, size))
    if got is None:
        got = _HEADS[attr_type, size] = NLATTR.pack(NLATTR.size + size, attr_type)
    return got


def _addr_attr(attr_type: int, packed: bytes) -> bytes:
    """An address attribute (4 or 16 bytes: no padding)."""
    return _head(attr_type, len(packed)) + packed if len(packed) in (4, 16) else \
        attr(attr_type, packed)


def route_msg(family: int, dst: bytes | None, dst_len: int, *, table: int = 254,
              protocol: int = 4, scope: int = 0, rtype: int = 1, flags: int = 0,
              gateway: bytes | None = None, oif: int | None = None,
              prefsrc: bytes | None = None, metric: int | None = None,
              nexthops: Sequence[Nexthop] = ()) -> bytes:
    """An ``rtmsg``. The table goes in the header when it fits a byte, and always in
    RTA_TABLE (tables above 255 exist only there)."""
    parts = [RTMSG.pack(family, dst_len, 0, 0, table if table < 256 else RT_TABLE_UNSPEC,
                        protocol, scope, rtype, flags),
             _head(rtnl.RTA_TABLE, 4), U32.pack(table)]
    if dst is not None:
        parts.append(_addr_attr(rtnl.RTA_DST, dst))
    if gateway is not None:
        parts.append(_addr_attr(rtnl.RTA_GATEWAY, gateway))
    if oif is not None:
        parts += (_head(rtnl.RTA_OIF, 4), U32.pack(oif))
    if prefsrc is not None:
        parts.append(_addr_attr(rtnl.RTA_PREFSRC, prefsrc))
    if metric is not None:
        parts += (_head(rtnl.RTA_PRIORITY, 4), U32.pack(metric))
    out = b"".join(parts)
    if nexthops:
        paths = b""
        for nh in nexthops:
            inner = attr(rtnl.RTA_GATEWAY, nh.gateway) if nh.gateway is not None else b""
            # rtnh_hops is the weight minus one (ip-route(8): "weight NUMBER")
            paths += RTNEXTHOP.pack(RTNEXTHOP.size + len(inner), 0, nh.weight - 1,
                                    nh.ifindex) + inner
        out += attr(rtnl.RTA_MULTIPATH, paths)
    return out


def rule_msg(family: int, *, action: int = 1, table: int = 0, priority: int | None = None,
             src: bytes | None = None, src_len: int = 0, dst: bytes | None = None,
             dst_len: int = 0, iif: str | None = None, oif: str | None = None,
             fwmark: int | None = None, fwmask: int | None = None) -> bytes:
    """A ``fib_rule_hdr`` (``ip rule``); action 1 is FR_ACT_TO_TBL (``lookup``)."""
    out = FIB_RULE_HDR.pack(family, dst_len if dst is not None else 0,
                            src_len if src is not None else 0, 0,
                            table if table < 256 else RT_TABLE_UNSPEC, 0, 0, action, 0)
    if table:
        out += attr(rtnl.FRA_TABLE, _u32(table))
    if priority is not None:
        out += attr(rtnl.FRA_PRIORITY, _u32(priority))
    if src is not None:
        out += attr(rtnl.FRA_SRC, src)
    if dst is not None:
        out += attr(rtnl.FRA_DST, dst)
    if iif is not None:
        out += attr(rtnl.FRA_IIFNAME, _name(iif))
    if oif is not None:
        out += attr(rtnl.FRA_OIFNAME, _name(oif))
    if fwmark is not None:
        out += attr(rtnl.FRA_FWMARK, _u32(fwmark))
    if fwmask is not None:
        out += attr(rtnl.FRA_FWMASK, _u32(fwmask))
    return out


def neigh_msg(family: int, index: int, dst: bytes, *, state: int = 0, flags: int = 0,
              lladdr: bytes | None = None) -> bytes:
    """An ``ndmsg`` (``ip neigh``): the NUD_* state, NDA_DST and NDA_LLADDR."""
    out = NDMSG.pack(family, index, state, flags, 0) + attr(rtnl.NDA_DST, dst)
    if lladdr is not None:
        out += attr(rtnl.NDA_LLADDR, lladdr)
    return out


# -- reading a request back (--dry-run) ---------------------------------------------

# message type -> (name, header struct, header field names, attribute table)
Fmt = str  # "str", "u32", "ip", "mac", "hex", "nested:<table>", "multipath", "be16"
_LINK_ATTRS: dict[int, tuple[str, Fmt]] = {
    rtnl.IFLA_ADDRESS: ("IFLA_ADDRESS", "mac"), rtnl.IFLA_IFNAME: ("IFLA_IFNAME", "str"),
    rtnl.IFLA_MTU: ("IFLA_MTU", "u32"), rtnl.IFLA_LINK: ("IFLA_LINK", "u32"),
    rtnl.IFLA_MASTER: ("IFLA_MASTER", "u32"), rtnl.IFLA_TXQLEN: ("IFLA_TXQLEN", "u32"),
    rtnl.IFLA_LINKINFO: ("IFLA_LINKINFO", "nested:linkinfo"),
}
_LINKINFO_ATTRS: dict[int, tuple[str, Fmt]] = {
    rtnl.IFLA_INFO_KIND: ("IFLA_INFO_KIND", "str"),
    IFLA_INFO_DATA: ("IFLA_INFO_DATA", "hex"),  # its table depends on the kind: see _nested
}
_KIND_DATA: dict[str, dict[int, tuple[str, Fmt]]] = {
    "veth": {VETH_INFO_PEER: ("VETH_INFO_PEER", "peer")},
    "vxlan": {IFLA_VXLAN_ID: ("IFLA_VXLAN_ID", "u32"), IFLA_VXLAN_GROUP: ("IFLA_VXLAN_GROUP",
                                                                          "ip"),
              IFLA_VXLAN_LINK: ("IFLA_VXLAN_LINK", "u32"),
              IFLA_VXLAN_LOCAL: ("IFLA_VXLAN_LOCAL", "ip"),
              IFLA_VXLAN_PORT: ("IFLA_VXLAN_PORT", "be16"),
              IFLA_VXLAN_GROUP6: ("IFLA_VXLAN_GROUP6", "ip"),
              IFLA_VXLAN_LOCAL6: ("IFLA_VXLAN_LOCAL6", "ip")},
    "vlan": {IFLA_VLAN_ID: ("IFLA_VLAN_ID", "u16")},
}
_ADDR_ATTRS: dict[int, tuple[str, Fmt]] = {
    rtnl.IFA_ADDRESS: ("IFA_ADDRESS", "ip"), rtnl.IFA_LOCAL: ("IFA_LOCAL", "ip"),
    rtnl.IFA_LABEL: ("IFA_LABEL", "str"), rtnl.IFA_BROADCAST: ("IFA_BROADCAST", "ip"),
}
_ROUTE_ATTRS: dict[int, tuple[str, Fmt]] = {
    rtnl.RTA_DST: ("RTA_DST", "ip"), rtnl.RTA_OIF: ("RTA_OIF", "u32"),
    rtnl.RTA_GATEWAY: ("RTA_GATEWAY", "ip"), rtnl.RTA_PRIORITY: ("RTA_PRIORITY", "u32"),
    rtnl.RTA_PREFSRC: ("RTA_PREFSRC", "ip"), rtnl.RTA_MULTIPATH: ("RTA_MULTIPATH",
                                                                  "multipath"),
    rtnl.RTA_TABLE: ("RTA_TABLE", "u32"),
}
_RULE_ATTRS: dict[int, tuple[str, Fmt]] = {
    rtnl.FRA_DST: ("FRA_DST", "ip"), rtnl.FRA_SRC: ("FRA_SRC", "ip"),
    rtnl.FRA_IIFNAME: ("FRA_IIFNAME", "str"), rtnl.FRA_OIFNAME: ("FRA_OIFNAME", "str"),
    rtnl.FRA_PRIORITY: ("FRA_PRIORITY", "u32"), rtnl.FRA_FWMARK: ("FRA_FWMARK", "hex32"),
    rtnl.FRA_FWMASK: ("FRA_FWMASK", "hex32"), rtnl.FRA_TABLE: ("FRA_TABLE", "u32"),
}
_NEIGH_ATTRS: dict[int, tuple[str, Fmt]] = {
    rtnl.NDA_DST: ("NDA_DST", "ip"), rtnl.NDA_LLADDR: ("NDA_LLADDR", "mac"),
}
_TABLES: dict[str, dict[int, tuple[str, Fmt]]] = {
    "link": _LINK_ATTRS, "linkinfo": _LINKINFO_ATTRS, "addr": _ADDR_ATTRS,
    "route": _ROUTE_ATTRS, "rule": _RULE_ATTRS, "neigh": _NEIGH_ATTRS,
}
_IFINFO_FIELDS = ("ifi_family", "ifi_type", "ifi_index", "ifi_flags", "ifi_change")
_RT_FIELDS = ("rtm_family", "rtm_dst_len", "rtm_src_len", "rtm_tos", "rtm_table",
              "rtm_protocol", "rtm_scope", "rtm_type", "rtm_flags")
_RULE_FIELDS = ("family", "dst_len", "src_len", "tos", "table", "res1", "res2", "action",
                "flags")
MESSAGES: dict[int, tuple[str, struct.Struct, tuple[str, ...], str]] = {
    rtnl.RTM_NEWLINK: ("RTM_NEWLINK", IFINFOMSG, _IFINFO_FIELDS, "link"),
    RTM_DELLINK: ("RTM_DELLINK", IFINFOMSG, _IFINFO_FIELDS, "link"),
    RTM_SETLINK: ("RTM_SETLINK", IFINFOMSG, _IFINFO_FIELDS, "link"),
    rtnl.RTM_NEWADDR: ("RTM_NEWADDR", IFADDRMSG, ("ifa_family", "ifa_prefixlen", "ifa_flags",
                                                  "ifa_scope", "ifa_index"), "addr"),
    RTM_DELADDR: ("RTM_DELADDR", IFADDRMSG, ("ifa_family", "ifa_prefixlen", "ifa_flags",
                                             "ifa_scope", "ifa_index"), "addr"),
    rtnl.RTM_NEWROUTE: ("RTM_NEWROUTE", RTMSG, _RT_FIELDS, "route"),
    RTM_DELROUTE: ("RTM_DELROUTE", RTMSG, _RT_FIELDS, "route"),
    rtnl.RTM_NEWRULE: ("RTM_NEWRULE", FIB_RULE_HDR, _RULE_FIELDS, "rule"),
    RTM_DELRULE: ("RTM_DELRULE", FIB_RULE_HDR, _RULE_FIELDS, "rule"),
    rtnl.RTM_NEWNEIGH: ("RTM_NEWNEIGH", NDMSG, ("ndm_family", "ndm_ifindex", "ndm_state",
                                                "ndm_flags", "ndm_type"), "neigh"),
    RTM_DELNEIGH: ("RTM_DELNEIGH", NDMSG, ("ndm_family", "ndm_ifindex", "ndm_state",
                                           "ndm_flags", "ndm_type"), "neigh"),
}
_NLM_FLAGS = ((NLM_F_REQUEST, "NLM_F_REQUEST"), (NLM_F_ACK, "NLM_F_ACK"),
              (NLM_F_REPLACE, "NLM_F_REPLACE"), (NLM_F_EXCL, "NLM_F_EXCL"),
              (NLM_F_CREATE, "NLM_F_CREATE"), (NLM_F_APPEND, "NLM_F_APPEND"))
_FAMILY_NAMES = {socket.AF_UNSPEC: "AF_UNSPEC", socket.AF_INET: "AF_INET",
                 socket.AF_INET6: "AF_INET6", socket.AF_BRIDGE: "AF_BRIDGE"}


# header fields whose numbers have names (the names ip prints)
_NUMBER_NAMES: dict[str, dict[int, str]] = {
    "rtm_protocol": rtnl.PROTOCOLS, "rtm_scope": rtnl.SCOPES, "ifa_scope": rtnl.SCOPES,
    "rtm_type": dict(enumerate(rtnl.ROUTE_TYPES)), "rtm_table": rtnl.TABLES,
    "table": rtnl.TABLES, "action": rtnl.RULE_ACTIONS,
}


def _value(fmt: Fmt, raw: bytes) -> str:
    if fmt == "str":
        return repr(raw.split(b"\0", 1)[0].decode(errors="replace"))
    if fmt in ("u32", "hex32") and len(raw) == 4:
        n = int(U32.unpack(raw)[0])
        return f"{n:#x}" if fmt == "hex32" else str(n)
    if fmt == "u16" and len(raw) == 2:
        return str(struct.unpack("=H", raw)[0])
    if fmt == "be16" and len(raw) == 2:
        return f"{struct.unpack('!H', raw)[0]} (network byte order)"
    if fmt == "ip" and len(raw) in (4, 16):
        return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)
    if fmt == "mac":
        return raw.hex(":")
    return raw.hex() or "(empty)"


def _attrs(raw: bytes, table: dict[int, tuple[str, Fmt]], indent: str,
           kind: str | None = None) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    off = 0
    while off + NLATTR.size <= len(raw):
        length, atype = NLATTR.unpack_from(raw, off)
        if length < NLATTR.size or off + length > len(raw):
            raise BadInput(f"netlink attribute at offset {off}: bad length {length}")
        body = raw[off + NLATTR.size:off + length]
        name, fmt = table.get(atype & 0x3FFF, (f"attribute {atype}", "hex"))
        if atype & 0x3FFF == IFLA_INFO_DATA and table is _LINKINFO_ATTRS and kind in _KIND_DATA:
            out.append((indent + name, f"{len(body)} bytes, {kind} data"))
            out += _attrs(body, _KIND_DATA[kind], indent + "  ")
        elif fmt.startswith("nested:"):
            out.append((indent + name, f"{len(body)} bytes, nested"))
            inner = _TABLES[fmt.split(":", 1)[1]]
            kinds = _attrs_raw(body).get(rtnl.IFLA_INFO_KIND)
            inner_kind = kinds.split(b"\0", 1)[0].decode(errors="replace") if kinds else None
            out += _attrs(body, inner, indent + "  ", inner_kind)
        elif fmt == "peer":
            out.append((indent + name, "the peer's ifinfomsg"))
            out += _header_and_attrs(body, IFINFOMSG, _IFINFO_FIELDS, _LINK_ATTRS,
                                     indent + "  ")
        elif fmt == "multipath":
            out.append((indent + name, f"{len(body)} bytes, one rtnexthop per path"))
            out += _multipath(body, indent + "  ")
        else:
            out.append((indent + name, _value(fmt, body)))
        off += align(length)
    return out


def _attrs_raw(raw: bytes) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    off = 0
    while off + NLATTR.size <= len(raw):
        length, atype = NLATTR.unpack_from(raw, off)
        if length < NLATTR.size:
            break
        out[atype & 0x3FFF] = raw[off + NLATTR.size:off + length]
        off += align(length)
    return out


def _multipath(raw: bytes, indent: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    off = 0
    while off + RTNEXTHOP.size <= len(raw):
        length, nh_flags, hops, index = RTNEXTHOP.unpack_from(raw, off)
        if length < RTNEXTHOP.size or off + length > len(raw):
            raise BadInput(f"rtnexthop at offset {off}: bad length {length}")
        out.append((indent + "rtnexthop",
                    f"rtnh_flags={nh_flags} rtnh_hops={hops} (weight {hops + 1}) "
                    f"rtnh_ifindex={index}"))
        out += _attrs(raw[off + RTNEXTHOP.size:off + length], _ROUTE_ATTRS, indent + "  ")
        off += align(length)
    return out


def _header_and_attrs(raw: bytes, header: struct.Struct, fields: tuple[str, ...],
                      table: dict[int, tuple[str, Fmt]], indent: str) -> list[tuple[str, str]]:
    if len(raw) < header.size:
        raise BadInput(f"netlink message: {len(raw)} bytes, shorter than its header")
    values = header.unpack_from(raw, 0)
    out = []
    for field, value in zip(fields, values, strict=True):
        text = str(value)
        if field.endswith("family"):
            text = _FAMILY_NAMES.get(value, str(value))
        elif field in ("ifi_flags", "ifi_change"):
            text = f"{value:#x}"
        elif field == "ndm_state":
            names = "|".join(n for bit, n in rtnl.NUD_STATES if value & bit)
            text = f"{value:#x} ({names or 'NONE'})"
        elif field in _NUMBER_NAMES and value in _NUMBER_NAMES[field]:
            text = f"{value} ({_NUMBER_NAMES[field][value]})"
        out.append((indent + field, text))
    return out + _attrs(raw[header.size:], table, indent)


def request_message(msg_type: int, flags: int, payload: bytes, seq: int) -> bytes:
    """The netlink message of a change request as it is sent (NLM_F_REQUEST|NLM_F_ACK
    and the request's own flags): what ``--dry-run`` decodes."""
    return message(msg_type, NLM_F_REQUEST | NLM_F_ACK | flags, payload, seq=seq)


def describe(message: bytes) -> list[tuple[str, str]]:
    """A netlink message read back, field by field: the ``nlmsghdr``, the family header,
    each attribute (nested ones indented). Raises BadInput on bytes that do not parse."""
    if len(message) < NLMSGHDR.size:
        raise BadInput("netlink message shorter than its header")
    length, mtype, flags, seq, pid = NLMSGHDR.unpack_from(message, 0)
    if length < NLMSGHDR.size or length > len(message):
        raise BadInput(f"netlink message: bad length {length}")
    if mtype not in MESSAGES:
        raise BadInput(f"netlink message type {mtype}: not a request socklab builds")
    name, header, fields, table = MESSAGES[mtype]
    flag_names = "|".join(n for bit, n in _NLM_FLAGS if flags & bit) or "0"
    out = [("nlmsg_len", str(length)), ("nlmsg_type", f"{name} ({mtype})"),
           ("nlmsg_flags", f"{flag_names} ({flags:#x})"), ("nlmsg_seq", str(seq)),
           ("nlmsg_pid", str(pid))]
    return out + _header_and_attrs(message[NLMSGHDR.size:length], header, fields,
                                   _TABLES[table], "")
