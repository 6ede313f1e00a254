"""Every ``net.*`` sysctl of a namespace, the per-device ones read from rtnetlink.

A namespace of 300 interfaces has 40,000 files under /proc/sys/net, nearly all
of them per device: ``net.ipv4.conf.DEV.*``, ``net.ipv6.conf.DEV.*``,
``net.ipv4.neigh.DEV.*`` and ``net.ipv6.neigh.DEV.*``. The kernel gives the
same values in two dumps: the link dump's ``IFLA_AF_SPEC`` (``IFLA_INET_CONF``,
``IFLA_INET6_CONF``: arrays indexed by ``IPV4_DEVCONF_*`` of ``<linux/ip.h>``
and ``DEVCONF_*`` of ``<linux/ipv6.h>``) and the neighbour tables' dump
(``RTM_GETNEIGHTBL``, ``NDTPA_*`` of ``<linux/neighbour.h>``).

Rules:

1. The result is what reading /proc/sys/net would give, key for key and text
   for text (tests/netns/test_snapshot_sysctl.py compares them on every key):
   a per-device file is taken from netlink only when it is in the tables
   below and in the directory of one device of its kind, read from its files
   (the kernel makes every device's directory from one template); the others
   (new keys of a newer kernel, ``stable_secret``, ``unres_qlen`` when it
   cannot be told) are read from their files. ``all``, ``default`` and the
   global keys are read from /proc.
2. Units as /proc shows them: netlink gives times in milliseconds; the files
   of ``proc_dointvec_jiffies`` show seconds, those of
   ``proc_dointvec_userhz_jiffies`` hundredths (USER_HZ), the ``_ms`` ones
   milliseconds. IPv4 values print signed (``proc_dointvec``), the unsigned
   IPv6 ones (``proc_douintvec``) unsigned.
3. Deprecated keys (:data:`socklab.stack.sysctl.DEPRECATED`) are left out, as
   the /proc reader leaves them out.
"""

from __future__ import annotations

import socket
import struct

from socklab.kernel import netlink, procfs
from socklab.stack import rtnl, sysctl

__all__ = ["net_sysctls"]

IFLA_EXT_MASK = 29
RTEXT_FILTER_SKIP_STATS = 1 << 3
IFLA_AF_SPEC = 26
IFLA_INET_CONF = 1
IFLA_INET6_CONF = 2
RTM_NEWNEIGHTBL, RTM_GETNEIGHTBL = 64, 66
NDTMSG = struct.Struct("=B3x")
NDTA_NAME, NDTA_PARMS = 1, 6
NDTPA_IFINDEX = 1
U64 = struct.Struct("=Q")

# IPV4_DEVCONF_* (1-based; <linux/ip.h>) as /proc/sys/net/ipv4/conf/DEV names them
IPV4_CONF = (
    "forwarding", "mc_forwarding", "proxy_arp", "accept_redirects", "secure_redirects",
    "send_redirects", "shared_media", "rp_filter", "accept_source_route", "bootp_relay",
    "log_martians", "tag", "arp_filter", "medium_id", "disable_xfrm", "disable_policy",
    "force_igmp_version", "arp_announce", "arp_ignore", "promote_secondaries", "arp_accept",
    "arp_notify", "accept_local", "src_valid_mark", "proxy_arp_pvlan", "route_localnet",
    "igmpv2_unsolicited_report_interval", "igmpv3_unsolicited_report_interval",
    "ignore_routes_with_linkdown", "drop_unicast_in_l2_multicast", "drop_gratuitous_arp",
    "bc_forwarding", "arp_evict_nocarrier",
)
# DEVCONF_* (0-based; <linux/ipv6.h>) as /proc/sys/net/ipv6/conf/DEV names them; None:
# no file shows it as netlink does (stable_secret is an address, read from its file)
IPV6_CONF: tuple[str | None, ...] = (
    "forwarding", "hop_limit", "mtu", "accept_ra", "accept_redirects", "autoconf",
    "dad_transmits", "router_solicitations", "router_solicitation_interval",
    "router_solicitation_delay", "use_tempaddr", "temp_valid_lft", "temp_prefered_lft",
    "regen_max_retry", "max_desync_factor", "max_addresses", "force_mld_version",
    "accept_ra_defrtr", "accept_ra_pinfo", "accept_ra_rtr_pref", "router_probe_interval",
    "accept_ra_rt_info_max_plen", "proxy_ndp", "optimistic_dad", "accept_source_route",
    "mc_forwarding", "disable_ipv6", "accept_dad", "force_tllao", "ndisc_notify",
    "mldv1_unsolicited_report_interval", "mldv2_unsolicited_report_interval",
    "suppress_frag_ndisc", "accept_ra_from_local", "use_optimistic", "accept_ra_mtu", None,
    "use_oif_addrs_only", "accept_ra_min_hop_limit", "ignore_routes_with_linkdown",
    "drop_unicast_in_l2_multicast", "drop_unsolicited_na", "keep_addr_on_down",
    "router_solicitation_max_interval", "seg6_enabled", "seg6_require_hmac", "enhanced_dad",
    "addr_gen_mode", "disable_policy", "accept_ra_rt_info_min_plen", "ndisc_tclass",
    "rpl_seg_enabled", "ra_defrtr_metric", "ioam6_enabled", "ioam6_id", "ioam6_id_wide",
    "ndisc_evict_nocarrier", "accept_untracked_na", "accept_ra_min_lft",
    "ra_honor_pio_life",  # DEVCONF_RA_HONOR_PIO_LIFE (Linux 6.9; after the headers here)
)
# rule 2: milliseconds in netlink, seconds in /proc (proc_dointvec_jiffies)
IPV6_SECONDS = frozenset({"router_solicitation_interval", "router_solicitation_delay",
                          "router_probe_interval", "router_solicitation_max_interval"})
IPV6_UNSIGNED = frozenset({"ioam6_id", "ioam6_id_wide", "ra_defrtr_metric",
                           "accept_ra_min_lft"})
# NDTPA_* -> (file name, divisor from milliseconds; 0: a count, shown as it is)
NEIGH: dict[int, tuple[str, int]] = {
    4: ("base_reachable_time_ms", 1), 5: ("retrans_time_ms", 1),
    6: ("gc_stale_time", 1000), 7: ("delay_first_probe_time", 1000),
    9: ("app_solicit", 0), 10: ("ucast_solicit", 0), 11: ("mcast_solicit", 0),
    12: ("anycast_delay", 10), 13: ("proxy_delay", 10), 14: ("proxy_qlen", 0),
    15: ("locktime", 10), 16: ("unres_qlen_bytes", 0), 17: ("mcast_resolicit", 0),
    19: ("interval_probe_time_ms", 1),
}
NEIGH_TABLES = {"arp_cache": "ipv4", "ndisc_cache": "ipv6"}

Values = dict[str, str]  # file name -> text, in one directory


def _conf_of(buf: memoryview, start: int, end: int) -> tuple[str, Values, Values] | None:
    """(device, IPv4 conf, IPv6 conf) of one RTM_NEWLINK message (rules 1 and 2)."""
    found = netlink.attrs(buf, start + rtnl.IFINFOMSG.size, end)
    if rtnl.IFLA_IFNAME not in found:
        return None
    lo, hi = found[rtnl.IFLA_IFNAME]
    name = bytes(buf[lo:hi]).split(b"\0", 1)[0].decode(errors="surrogateescape")
    v4: Values = {}
    v6: Values = {}
    if IFLA_AF_SPEC in found:
        families = netlink.attrs(buf, *found[IFLA_AF_SPEC])
        if socket.AF_INET in families:
            inner = netlink.attrs(buf, *families[socket.AF_INET])
            if IFLA_INET_CONF in inner:
                lo, hi = inner[IFLA_INET_CONF]
                n = min((hi - lo) // 4, len(IPV4_CONF))
                values = struct.unpack_from(f"={n}i", buf, lo)
                v4 = dict(zip(IPV4_CONF, map(str, values), strict=False))
        if socket.AF_INET6 in families:
            inner = netlink.attrs(buf, *families[socket.AF_INET6])
            if IFLA_INET6_CONF in inner:
                lo, hi = inner[IFLA_INET6_CONF]
                n = min((hi - lo) // 4, len(IPV6_CONF))
                for key, value in zip(IPV6_CONF, struct.unpack_from(f"={n}i", buf, lo),
                                      strict=False):
                    if key is None:
                        continue
                    if key in IPV6_SECONDS:
                        value //= 1000
                    elif key in IPV6_UNSIGNED:
                        value &= 0xFFFFFFFF
                    v6[key] = str(value)
    return name, v4, v6


def _neigh_of(buf: memoryview, start: int, end: int) -> tuple[str, int, Values] | None:
    """(``ipv4``/``ipv6``, device index or 0 for the defaults, values) of one
    RTM_NEWNEIGHTBL message."""
    found = netlink.attrs(buf, start + NDTMSG.size, end)
    if NDTA_NAME not in found or NDTA_PARMS not in found:
        return None
    lo, hi = found[NDTA_NAME]
    family = NEIGH_TABLES.get(bytes(buf[lo:hi]).split(b"\0", 1)[0].decode(errors="replace"))
    if family is None:
        return None
    parms = netlink.attrs(buf, *found[NDTA_PARMS])
    index = 0
    if NDTPA_IFINDEX in parms:
        index = int(netlink.fixed(buf, parms[NDTPA_IFINDEX], rtnl.U32, "NDTPA_IFINDEX")[0])
    values: Values = {}
    for attr, (key, divisor) in NEIGH.items():
        if attr not in parms:
            continue
        lo, hi = parms[attr]
        if hi - lo >= 8:
            value = int(U64.unpack_from(buf, lo)[0])
        elif hi - lo >= 4:
            value = int(rtnl.U32.unpack_from(buf, lo)[0])
        else:
            continue
        values[key] = str(value // divisor if divisor > 1 else value)
    return family, index, values


def _dumped(nl: netlink.NetlinkSocket) -> tuple[dict[str, tuple[Values, Values]],
                                                dict[tuple[str, str], Values]]:
    """Per device: the IPv4 and IPv6 conf; per (family, device): the neighbour parms."""
    conf: dict[str, tuple[Values, Values]] = {}
    names: dict[int, str] = {}
    request = rtnl.link_request() + netlink.attr(IFLA_EXT_MASK,
                                                 rtnl.U32.pack(RTEXT_FILTER_SKIP_STATS))
    for buf, mtype, start, end in nl.dump(rtnl.RTM_GETLINK, request):
        if mtype != rtnl.RTM_NEWLINK:
            continue
        got = _conf_of(buf, start, end)
        if got is not None:
            conf[got[0]] = (got[1], got[2])
            names[int(rtnl.IFINFOMSG.unpack_from(buf, start)[2])] = got[0]
    neigh: dict[tuple[str, str], Values] = {}
    for buf, mtype, start, end in nl.dump(RTM_GETNEIGHTBL, NDTMSG.pack(socket.AF_UNSPEC)):
        if mtype != RTM_NEWNEIGHTBL:
            continue
        parms = _neigh_of(buf, start, end)
        if parms is not None and parms[1] in names:
            neigh[parms[0], names[parms[1]]] = parms[2]
    return conf, neigh


def net_sysctls(proc_root: str = "/proc") -> dict[str, str]:
    """Every readable ``net.*`` key of the calling thread's namespace and its text, as
    reading /proc/sys/net would give them (rule 1), sorted by path. Raises OSError
    when rtnetlink cannot be read (the caller reads /proc instead)."""
    with netlink.NetlinkSocket(netlink.NETLINK_ROUTE) as nl:
        conf, neigh = _dumped(nl)
    dirs: dict[str, Values] = {}
    for dev, (v4, v6) in conf.items():
        if v4:
            dirs[f"net/ipv4/conf/{dev}"] = v4
        if v6:
            dirs[f"net/ipv6/conf/{dev}"] = v6
    for (family, dev), values in neigh.items():
        dirs[f"net/{family}/neigh/{dev}"] = values
    # one device of each kind is read from its files: the template of the others (the
    # kernel makes every device's directory from one table; "default" is no template:
    # neigh/default exists in the first namespace only)
    model: dict[str, str] = {}
    for path in dirs:
        model.setdefault(path.rpartition("/")[0], path)
    for path in model.values():
        del dirs[path]
    rest = procfs.read_sysctl_subtree("net", proc_root, skip=dirs)
    found = dict(rest)
    # every file, readable or not (stable_secret is unreadable until set)
    templates = {kind: procfs.sysctl_names(path, proc_root) for kind, path in model.items()}
    # (path, key, text): sorted by path as the /proc walk sorts, the keys made once a
    # directory (38,000 keys with 300 interfaces)
    out = [(path, sysctl.path_to_key(path), text) for path, text in rest
           if path.rpartition("/")[2] not in sysctl.DEPRECATED]
    leftover: list[str] = []
    for kind, names in sorted(templates.items()):  # each run in order: a cheap sort below
        ref = model[kind]
        ref_qlen = found.get(f"{ref}/unres_qlen"), found.get(f"{ref}/unres_qlen_bytes")
        named = [(name, name.replace(".", "/")) for name in names
                 if name not in sysctl.DEPRECATED]
        # a directory's files sort as "DEV/" does: eth0's before eth0.5's ('/' > '.')
        for path in sorted((p for p in dirs if p.rpartition("/")[0] == kind),
                           key=lambda p: p + "/"):
            values = dirs[path]
            get = values.get
            head = path + "/"
            key = sysctl.path_to_key(path) + "."
            for name, leaf in named:
                text = get(name)
                if text is None and name == "unres_qlen" and ref_qlen[0] is not None \
                        and get("unres_qlen_bytes") == ref_qlen[1]:
                    # the same bytes give the same count (bytes / SKB_TRUESIZE(ETH_FRAME_LEN))
                    text = ref_qlen[0]
                if text is None:
                    leftover.append(head + name)
                else:
                    out.append((head + name, key + leaf, text))
    out += [(path, sysctl.path_to_key(path), text)
            for path, text in procfs.read_sysctl_files(leftover, proc_root)]
    out.sort()
    return {key: text for _path, key, text in out}
