"""Tour section: ping, the course's example of a raw socket (course 3.1).

Three echo requests to 127.0.0.1, and which socket type was opened and why:
an unprivileged ICMP datagram socket when net.ipv4.ping_group_range admits
the process's group, else the raw socket of the course (CAP_NET_RAW).
"""

from __future__ import annotations

from socklab.cli.tour import Tour
from socklab.probe import ping
from socklab.stack import sysctl as procfs  # read_sysctl


def section(t: Tour) -> None:
    _ = t._
    t.say(_("The course's ping opens socket(PF_INET, SOCK_RAW, IPPROTO_ICMP) and must be root. "
            "Linux also offers ICMP datagram sockets (SOCK_DGRAM, IPPROTO_ICMP) to the groups "
            "listed in net.ipv4.ping_group_range: no privilege, and the kernel hands each "
            "socket only its own replies. There is no ping server: the remote kernel answers."))
    t.fact("net.ipv4.ping_group_range", procfs.read_sysctl("net.ipv4.ping_group_range"))
    t.role(_("ICMP echo"))
    with t.traced():
        result = ping.ping("127.0.0.1", 3, interval=0.2, timeout=2)
    t.fact(_("socket opened"), result.socket_type, result.why)
    for r in result.replies:
        t.fact(f"icmp_seq={r.seq}",
               _("{count} bytes from {source}").format(count=r.bytes, source=r.source),
               f"ttl={r.ttl} time={r.rtt_ms:.3f} ms" if r.rtt_ms is not None else r.error or "")
    t.fact(_("statistics"), _("{sent} transmitted, {received} received, {loss}% loss").format(
        sent=result.transmitted, received=result.received, loss=f"{result.loss_percent:g}"))
    if t.saw("EAGAIN"):
        t.say(_("The EAGAIN lines are not errors: ping waits for each reply with a timeout, "
                "and a read that finds the socket's receive buffer empty returns EAGAIN "
                "(\"try again\"); ping then waits on poll() and reads again."))
    if result.socket_type == "raw":
        t.say(_("64 bytes sent, but a raw socket reads 84: it receives the whole IP packet, "
                "its 20-byte IP header included (raw(7)), where a datagram socket gets only "
                "the ICMP message (8 bytes of header and 56 of data). ping shows the ICMP "
                "size, 64, in both cases."))
    else:
        t.say(_("64 bytes each way: 8 bytes of ICMP header and 56 of data. An ICMP datagram "
                "socket gets only the ICMP message; the course's raw socket would read 84, "
                "the 20-byte IP header in front (raw(7)). ping shows the ICMP size either way."))
    t.next_steps("socklab ping -c 3 127.0.0.1", "socklab --trace ping -c 1 127.0.0.1")
