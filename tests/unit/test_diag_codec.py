"""sock_diag replies decoded from bytes built here: no kernel involved."""

import errno
import socket
import struct

import pytest

from socklab.kernel import netlink
from socklab.socktable import diag
from socklab.socktable.model import row_of


def inet_reply(state=1, sport=8080, dport=40000, src="127.0.0.1", dst="127.0.0.2", rq=3, wq=4,
               uid=1000, inode=4242, family=socket.AF_INET):
    def addr(ip):
        return socket.inet_pton(family, ip).ljust(16, b"\0")

    body = diag.INET_DIAG_MSG.pack(family, state, 0, 0, socket.htons(sport), socket.htons(dport),
                                   addr(src), addr(dst), 0, 77, 0, rq, wq, uid, inode)
    body += netlink.attr(8, b"\0")  # INET_DIAG_SHUTDOWN, as the kernel adds
    return netlink.message(diag.SOCK_DIAG_BY_FAMILY, netlink.NLM_F_MULTI, body)


def done(code=0):
    return netlink.message(netlink.NLMSG_DONE, netlink.NLM_F_MULTI, struct.pack("=i", -code))


def test_inet_chunk_decodes_each_socket_and_stops_at_done():
    chunk = inet_reply() + inet_reply(state=10, sport=22, dport=0, dst="0.0.0.0") + done()
    buf = memoryview(bytearray(chunk) + bytearray(256))
    recs, finished = diag.inet_chunk_decoder("tcp")(buf, len(chunk))
    assert finished
    a, b = recs
    assert (a.state, a.local(), a.peer(), a.recv_q, a.send_q, a.uid, a.inode, a.cookie) == (
        "ESTAB", "127.0.0.1:8080", "127.0.0.2:40000", 3, 4, 1000, 4242, 77)
    assert (b.state, b.local(), b.peer()) == ("LISTEN", "127.0.0.1:22", "0.0.0.0:*")


def test_ipv6_and_short_final_chunk():
    chunk = inet_reply(family=socket.AF_INET6, src="::1", dst="fe80::1")
    recs, finished = diag.inet_chunk_decoder("tcp")(memoryview(bytearray(chunk)), len(chunk))
    assert not finished and recs[0].local() == "[::1]:8080" and recs[0].peer_address == "fe80::1"
    tail = done()  # alone in its chunk, shorter than a socket message
    recs, finished = diag.inet_chunk_decoder("tcp")(memoryview(bytearray(tail)), len(tail))
    assert finished and recs == []


OWNERS = {inode: f"owner of {inode}" for inode in range(4000, 4100, 2)}  # odd ones: none


def rows_and_records(chunk, family=socket.AF_INET):
    """The rows, and row_of() of the records, of one chunk; the records read in
    runs are checked against those read one message at a time, and the rows
    with a text by inode (sockets -tanp) against the records' inodes."""
    buf = memoryview(bytearray(chunk) + bytearray(64))
    rows = diag.inet_row_decoder("tcp", family)(buf, len(chunk))
    recs, finished = diag.inet_chunk_decoder("tcp")(buf, len(chunk))
    one_by_one = diag._inet_messages("tcp", False, {socket.AF_INET: {}, socket.AF_INET6: {}}, None)
    assert (recs, finished) == one_by_one(buf, len(chunk))
    owned = diag.inet_row_decoder("tcp", family, by_inode=OWNERS)(buf, len(chunk))
    assert owned == ([(*row_of(r), OWNERS.get(r.inode, "")) for r in recs], finished)
    return rows, ([row_of(r) for r in recs], finished)


def test_rows_are_the_rows_of_the_records():
    """inet_row_decoder (iter_unpack over equal-length messages) gives exactly
    row_of() of what the record decoder gives, in every shape of chunk."""
    same = [inet_reply(sport=1000 + i, dport=0 if i % 3 else 5000 + i, state=1 + i % 12,
                       rq=i, wq=2 * i, inode=4000 + i) for i in range(20)]
    rows, expected = rows_and_records(b"".join(same) + done())
    assert rows == expected and expected[1] is True
    assert rows[0][0] == ("tcp", "ESTAB", 0, 0, "127.0.0.1:1000", "127.0.0.2:5000")
    # no DONE yet: more chunks follow
    rows, expected = rows_and_records(b"".join(same))
    assert rows == expected and expected[1] is False
    # a socket with one attribute more (or less, as TIME-WAIT ones) starts a new run
    body = bytearray(inet_reply(sport=7))
    extra = netlink.attr(15, b"\1\0")  # INET_DIAG_SOCKOPT-sized, 8 bytes
    body[0:4] = struct.pack("=I", len(body) + len(extra))
    mixed = b"".join(same[:3]) + bytes(body) + extra + b"".join(same[3:6]) + done()
    rows, expected = rows_and_records(mixed)
    assert rows == expected and len(rows[0]) == 7 and rows[0][3][4] == "127.0.0.1:7"
    short = bytearray(same[9][:-8])  # no SHUTDOWN attribute
    short[0:4] = struct.pack("=I", len(short))
    rows, expected = rows_and_records(same[0] + bytes(short) * 3 + same[1] + done())
    assert rows == expected and len(rows[0]) == 5 and rows[0][1][4] == "127.0.0.1:1009"
    # an odd length (not a multiple of 4) is left to the record decoder
    odd = bytearray(same[2][:-3])
    odd[0:4] = struct.pack("=I", len(odd))
    rows, expected = rows_and_records(same[0] + bytes(odd) + b"\0" * 3 + same[1])
    assert rows == expected and len(rows[0]) == 3
    # IPv6, in brackets
    six = inet_reply(family=socket.AF_INET6, src="::1", dst="fe80::1", dport=0, inode=4002)
    rows, expected = rows_and_records(six + six + done(), socket.AF_INET6)
    assert rows == expected and rows[0][0][4:] == ("[::1]:8080", "[fe80::1]:*")
    # the DONE alone, and a DONE carrying an error
    assert rows_and_records(done()) == (([], True), ([], True))
    with pytest.raises(OSError) as exc:
        diag.inet_row_decoder("tcp", socket.AF_INET)(memoryview(bytearray(
            same[0] + done(errno.EPERM))), len(same[0]) + 20)
    assert exc.value.errno == errno.EPERM


def test_dump_error_in_done_is_raised():
    chunk = done(errno.ENOENT)
    with pytest.raises(OSError) as exc:
        diag.inet_chunk_decoder("raw")(memoryview(bytearray(chunk)), len(chunk))
    assert exc.value.errno == errno.ENOENT


def test_unix_reply_with_name_peer_and_queues():
    body = diag.UNIX_DIAG_MSG.pack(socket.AF_UNIX, socket.SOCK_STREAM, 1, 99, 5)
    body += netlink.attr(diag.UNIX_DIAG_NAME, b"/run/x.sock\0")
    body += netlink.attr(diag.UNIX_DIAG_PEER, struct.pack("=I", 100))
    body += netlink.attr(diag.UNIX_DIAG_RQLEN, struct.pack("=II", 1, 2))
    rec = diag.decode_unix(memoryview(body), 0, len(body))
    assert (rec.netid, rec.state, rec.local_address, rec.peer_inode, rec.recv_q, rec.send_q) == (
        "u_str", "ESTAB", "/run/x.sock", 100, 1, 2)
    body = diag.UNIX_DIAG_MSG.pack(socket.AF_UNIX, socket.SOCK_DGRAM, 7, 98, 5)
    body += netlink.attr(diag.UNIX_DIAG_NAME, b"\0abstract")
    rec = diag.decode_unix(memoryview(body), 0, len(body))
    assert (rec.netid, rec.state, rec.local_address, rec.peer_inode) == (
        "u_dgr", "UNCONN", "@abstract", 0)


def test_requests_have_the_kernel_layout():
    req = diag.inet_request(socket.AF_INET6, socket.IPPROTO_TCP, states=1 << 10, ext=2)
    assert len(req) == 56
    family, proto, ext, pad, states = struct.unpack_from("=BBBBI", req)
    assert (family, proto, ext, pad, states) == (socket.AF_INET6, 6, 2, 0, 1 << 10)
    assert len(diag.unix_request()) == 24
    msg = netlink.message(20, netlink.NLM_F_REQUEST | netlink.NLM_F_DUMP, req)
    assert list(netlink.messages(msg)) == [(20, 0x301, 16, 72)]


def test_port_bytecode_layout():
    assert diag.port_bytecode(None, None) == b""
    assert diag.port_bytecode((0, 65535), None) == b""  # every port: no test at all
    code = diag.port_bytecode((80, 80), (1024, 65535))
    ops = [diag.BC_OP.unpack_from(code, i) for i in range(0, len(code), 4)]
    # S_GE 80, S_LE 80, D_GE 1024; on failure each jumps 4 bytes past the end
    assert ops == [(2, 8, 28), (0, 0, 80), (3, 8, 20), (0, 0, 80), (4, 8, 12), (0, 0, 1024)]
