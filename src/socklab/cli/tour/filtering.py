"""Tour section: packet filtering (course 1.3.1), Netfilter seen through nftables.

Done in a scratch network namespace made for the section (and gone after it):
a server on loopback, a connect that works; a rule that drops the server's
port, added as ``socklab filter add`` does, with the ``nft`` and ``iptables``
lines that do the same; a connect that now times out (short timeout: the SYN
is dropped, nothing answers); the rule's counter gone up; ``filter trace``
naming the rule, as the kernel reports it; the rule removed by its
description; the connect working again. Without root the section explains and
is skipped.
"""

from __future__ import annotations

import socket

from socklab.cli.tour import Tour
from socklab.errors import NetworkError, Timeout
from socklab.filter import read, rules, trace
from socklab.stack import change
from socklab.stack.change import in_new_namespace
from socklab.talk.client import connect  # socklab.connect, socklab.listen: traced sockets
from socklab.talk.net import listen

TIMEOUT = 5.0  # a connect that must work
DROPPED = 1.0  # a connect whose SYN is dropped: the first retransmission comes after 1 s


def section(t: Tour) -> None:
    _ = t._
    t.say(_("Netfilter is the kernel's packet filter: at fixed points of a packet's way "
            "through the stack (the hooks: prerouting, input, forward, output, postrouting), "
            "the rules of the chains attached there see each packet and give a verdict: "
            "accept, drop (the packet vanishes, the sender is not told) or reject (the sender "
            "gets an ICMP error or a TCP reset). nftables writes those rules today; iptables "
            "is its older grammar. Adding a rule needs CAP_NET_ADMIN: the tour does it in a "
            "network namespace of its own, so this machine's rules are never touched."))
    in_new_namespace(lambda: _steps(t))
    t.next_steps("socklab filter", "socklab lab up lab4")


def _connect(t: Tour, port: int, timeout: float) -> None:
    """connect() to the server, accept the connection and close both (traced)."""
    t.role(t._("client"))
    with t.traced():
        client = connect(f"tcp:127.0.0.1:{port}", timeout=timeout)
        client.close()


def _steps(t: Tour) -> None:
    _ = t._
    change.link_set("lo", up=True)  # a new namespace's loopback starts down
    t.role(_("listening"))
    with t.traced():
        server = listen("tcp:127.0.0.1:0")
    try:
        port = int(server.getsockname()[1])
        t.fact(_("server listens on"), f"127.0.0.1:{port}")
        _connect(t, port, TIMEOUT)
        t.fact("connect", _("connected: no rule stands in the way"))
        _accept_all(server)
        t.say(_("A rule in the input chain that drops TCP packets to the server's port, "
                "with a counter. socklab writes it in nftables' grammar, in its own table "
                "(inet socklab: IPv4 and IPv6), and shows the nft and iptables lines that do "
                "the same."))
        rule = rules.spec("drop", "input", proto="tcp", dport=str(port), counter=True)
        handle = rules.add(rule)
        t.fact("socklab", f"socklab filter add drop -p tcp --dport {port} --counter",
               _("handle {handle}").format(handle=handle))
        t.lines(rules.explain(rule))
        t.say(_("Now connect() sends its SYN, the input hook drops it, and nothing answers: "
                "TCP sends the SYN again, and again, until the caller gives up. A drop looks "
                "like a machine that is off; a reject would be refused at once."))
        try:
            _connect(t, port, DROPPED)
        except Timeout as exc:
            t.fact("connect", _("timed out"), str(exc))
        else:
            raise NetworkError("tour: connect through a drop rule", None,
                               "it connected: the rule did not drop the SYN")
        packets = _packets(handle)
        t.fact(_("the rule's counter"), _("{packets} packet(s)").format(packets=packets),
               _("the SYN and its retransmissions"))
        t.say(_("Which rule did it? filter trace asks the kernel: it marks the packets of "
                "one flow (meta nftrace), sends one probe, and reads the kernel's trace "
                "events, each naming a chain, a rule and its verdict."))
        # the current namespace is the section's own scratch one: host=True means "here"
        found = trace.trace(trace.flow("tcp", "127.0.0.1", port), host=True)
        t.lines([f"socklab filter trace tcp 127.0.0.1 {port}",
                 *("  " + step.describe() for step in found.steps)],
                data=found.steps)
        decisive = found.decisive
        named = decisive.event.handle if decisive is not None else None
        t.fact(_("verdict"), found.verdict or "?",
               _("decided by rule [{handle}], the one added above").format(handle=named)
               if named == handle else
               _("decided by {where}").format(where=decisive.describe() if decisive else "?"))
        t.fact(_("the rule's counter"),
               _("{packets} packet(s)").format(packets=_packets(handle)),
               _("the probe counted too"))
        gone = rules.delete_matching(f"tcp dport {port} drop")
        t.fact("socklab", f"socklab filter del tcp dport {port} drop",
               _("rule [{handle}] removed, found by its description").format(
                   handle=gone.handle))
        _connect(t, port, TIMEOUT)
        t.fact("connect", _("connected again"))
        _accept_all(server)
    finally:
        with t.traced():
            server.close()


def _accept_all(server: socket.socket) -> None:
    """Take the connections queued on the listener (they were closed by the client)."""
    server.setblocking(False)
    for _ in range(8):  # bounded: the section makes two connections
        try:
            conn, _peer = server.accept()
        except BlockingIOError:
            return
        conn.close()


def _packets(handle: int) -> int:
    """The packets counted by rule ``handle`` of socklab's table, as nft lists them."""
    for table in read.ruleset().tables:
        if (table.family, table.name) == ("inet", rules.DEFAULT_TABLE):
            for chain in table.chains:
                for r in chain.rules:
                    if r.handle == handle:
                        return r.packets or 0
    raise NetworkError("tour: read the rule's counter", None, f"rule {handle} is gone")
