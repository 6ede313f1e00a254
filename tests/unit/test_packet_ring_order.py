"""The ring reader goes on from the oldest block the kernel handed over when that is
not the block it expected (kernel/packet.oldest_ready): after the ring froze, the
kernel was seen holding the next block while the three after it were user space's,
and the reader then spun on a poll() that answered at once."""

from __future__ import annotations

import struct

from socklab.kernel.packet import TP_STATUS_USER, oldest_ready

BLOCK = 4096


def ring(blocks: list[tuple[int, int]]) -> bytearray:
    """A ring of (block_status, seq_num) blocks laid out as tpacket_block_desc."""
    data = bytearray(BLOCK * len(blocks))
    for index, (status, seq) in enumerate(blocks):
        struct.pack_into("=I", data, index * BLOCK + 8, status)
        struct.pack_into("=Q", data, index * BLOCK + 24, seq)
    return data


def test_the_oldest_block_handed_over_comes_first():
    # what the kernel held: blocks 0-4 its own (4 being filled), 5-7 ours (with
    # TP_STATUS_LOSING), the reader's pointer on 4
    seen = ring([(0, 9), (0, 10), (0, 11), (0, 12), (0, 13), (5, 6), (5, 7), (5, 8)])
    assert oldest_ready(memoryview(seen), BLOCK, 8) == 5


def test_order_is_by_sequence_number_not_by_index():
    seen = ring([(TP_STATUS_USER, 21), (0, 22), (TP_STATUS_USER | 32, 19), (TP_STATUS_USER, 20)])
    assert oldest_ready(memoryview(seen), BLOCK, 4) == 2


def test_no_block_handed_over():
    assert oldest_ready(memoryview(ring([(0, 1), (0, 2)])), BLOCK, 2) is None
