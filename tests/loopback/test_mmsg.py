"""kernel/mmsg.py over real datagram sockets: many datagrams a call, both ways."""

import errno
import socket

import pytest

from socklab.kernel.mmsg import BatchReceiver, BatchSender


@pytest.fixture
def pair():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    yield a, b
    a.close()
    b.close()


def test_a_batch_sent_is_a_batch_received_in_order():
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        rx.bind(("127.0.0.1", 0))
        sender = BatchSender(tx, rx.getsockname(), 64, batch=8)
        packets = [bytes([i]) * (i + 1) for i in range(8)]
        assert sender.send(packets) == 8
        receiver = BatchReceiver(rx, 64, batch=16)
        got = []
        while len(got) < 8:
            for i, n in enumerate(receiver.receive()):  # blocks for the first, takes the rest
                got.append(bytes(receiver.slot(i)[:n]))
        assert got == packets
        with pytest.raises(BlockingIOError):
            receiver.receive(socket.MSG_DONTWAIT)
    finally:
        rx.close()
        tx.close()


def test_a_datagram_longer_than_a_slot_is_an_error_not_a_silent_cut(pair):
    a, b = pair
    b.send(b"x" * 100)
    with pytest.raises(OSError) as exc:
        BatchReceiver(a, 64, batch=4).receive()
    assert exc.value.errno == errno.EMSGSIZE
