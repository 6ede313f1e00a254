"""Tour section: IPsec (course 1.3.2), the kernel's xfrm framework.

The machine's security policies (SPD) and security associations (SAD), read
through socklab's xfrm codec: usually none, and the section says what they
would mean. Then, in a scratch network namespace made for the section, one
host's half of a transport-mode ESP pair: its two policies added and read
back, and its two SAs attempted; a kernel without ESP refuses them, and the
section shows the kernel's own error. Keys are lab keys, never printed.
Without CAP_NET_ADMIN (the kernel answers xfrm requests only then) the
section is skipped; without xfrm in the kernel it says so.
"""

from __future__ import annotations

import errno
import socket

import socklab as ksock  # socklab.socket: the traced socket
from socklab.cli.cmd_ipsec import policy_lines, sa_lines
from socklab.cli.tour import Tour
from socklab.errors import NetworkError
from socklab.ipsec import manual, read
from socklab.stack import change
from socklab.stack.change import in_new_namespace

LOCAL, REMOTE = "10.99.0.1", "10.99.0.2"  # in the scratch namespace only
SPI_OUT, SPI_IN = 0x1000, 0x1001
ENC_KEY, AUTH_KEY = "0f" * 16, "1e" * 32  # lab keys: known to everyone who reads this


def section(t: Tour) -> None:
    _ = t._
    t.say(_("IPsec protects IP packets in the kernel itself: ESP encrypts and authenticates "
            "them, AH authenticates them. Linux calls it xfrm. Two tables hold it: the "
            "security policies (SPD) say which packets must be protected (a selector: "
            "addresses, protocol, ports; a direction: in, out, fwd), and the security "
            "associations (SAD) hold how: the SPI that names the association in each packet, "
            "the algorithms and the keys, agreed by IKE (strongSwan, libreswan) or set by "
            "hand."))
    try:
        policies = read.ipsec_policies()
        states = read.ipsec_states()
    except NetworkError as exc:
        if exc.errno != errno.EPROTONOSUPPORT:
            raise
        t.fact("xfrm", _("not in this kernel"), str(exc))
        t.next_steps("socklab ipsec --help")
        return
    t.fact(_("this machine's policies"), len(policies), "socklab ipsec policy")
    if policies:
        t.lines([line for p in policies for line in policy_lines(p)], data=policies)
    else:
        t.say(_("No policy: every packet goes in and out as it is. A policy \"dir out\" whose "
                "template asks for ESP would make the kernel encrypt the packets it selects, "
                "with the SA of the same reqid, before they leave; \"dir in\" would make it "
                "refuse those packets when they arrive in clear."))
    t.fact(_("this machine's security associations"), len(states), "socklab ipsec state")
    if states:
        t.lines([line for sa in states for line in sa_lines(sa)], data=states)
    else:
        t.say(_("No SA: nothing is protected. An SA would hold one direction of a "
                "conversation: its SPI, its ESP algorithms and keys, and its counters of "
                "bytes and packets."))
    t.say(_("Now one host's half of an ESP pair, keyed by hand as in a lab, in a network "
            "namespace of the tour's own: two policies (out and in) and two SAs, one per "
            "direction."))
    in_new_namespace(lambda: _scratch(t))
    t.next_steps("socklab ipsec", "socklab ipsec add 10.0.0.1 10.0.0.2 --spi-out 0x1000 "
                 "--spi-in 0x1001 --enc-key 0x... --auth-key 0x... -n")


def _one_datagram(t: Tour) -> None:
    """A veth (eth0, {LOCAL}/24) and one UDP datagram to REMOTE, with XfrmOutNoStates
    read before and after."""
    change.link_add("eth0", "veth", peer="peer0")
    change.addr_add(f"{LOCAL}/24", "eth0")
    change.link_set("peer0", up=True)
    change.link_set("eth0", up=True)
    before = read.xfrm_stats().get("XfrmOutNoStates")
    t.role(t._("sender"))
    with t.traced():
        s = ksock.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.sendto(b"in clear?", (REMOTE, 9))
        finally:
            s.close()
    after = read.xfrm_stats().get("XfrmOutNoStates")
    if before is not None and after is not None:
        t.fact("XfrmOutNoStates", f"{before} -> {after}",
               t._("dropped: no SA for the policy's template"))


def _scratch(t: Tour) -> None:
    _ = t._
    pair = manual.esp_pair(LOCAL, REMOTE, SPI_OUT, SPI_IN, ENC_KEY, AUTH_KEY)
    t.lines(manual.explain(pair))
    manual.add(pair, what=("policies",))
    policies = read.ipsec_policies()
    t.fact(_("policies added"), len(policies), "socklab ipsec policy")
    t.lines([line for p in policies for line in policy_lines(p)], data=policies)
    t.say(_("The policies alone already change the traffic: a packet from {local} to "
            "{remote} now needs an ESP SA of reqid 1, and none exists, so the kernel drops it "
            "(and asks a key manager, IKE, for one) instead of sending it in clear. The "
            "sender is not told; the kernel counts it in /proc/net/xfrm_stat.").format(
                local=LOCAL, remote=REMOTE))
    _one_datagram(t)
    try:
        manual.add(pair, what=("states",))
    except NetworkError as exc:
        if exc.errno != errno.EPROTONOSUPPORT:
            raise
        t.fact(_("SAs"), _("refused by this kernel"), str(exc))
        t.say(_("This kernel has xfrm policies but no ESP: the SA is refused, and socklab "
                "leaves nothing half made. On a kernel with the esp4 module both SAs would "
                "appear in socklab ipsec state, with their keys hidden."))
        return
    states = read.ipsec_states()
    t.fact(_("SAs added"), len(states), "socklab ipsec state")
    t.lines([line for sa in states for line in sa_lines(sa)], data=states)
