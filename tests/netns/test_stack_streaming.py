"""links(), addresses() and neighbours() stream as the kernel dumps them: iterating
a big dump holds a few chunks, not the dump (tracemalloc's peak, in a namespace
of 4,000 interfaces, 30,000 addresses and 30,000 neighbour entries)."""

from __future__ import annotations

import subprocess
import tracemalloc
from collections.abc import Callable, Iterable

import pytest

from socklab.errors import NotFound
from socklab.stack import read

pytestmark = pytest.mark.privileged

PAIRS, PER_DEV, NEIGHBOURS = 2000, 30, 30_000


@pytest.fixture(scope="module")
def big():
    from conftest import make_netns

    lines = [f"link add a{i} type veth peer name b{i}" for i in range(PAIRS)]
    lines += ["link set a1 up"]
    # 30 addresses on each of 1,000 interfaces (an interface's list is walked per add)
    lines += [f"addr add 10.{i // 65536}.{i // 256 % 256}.{i % 256}/32 dev a{i // PER_DEV}"
              for i in range(1000 * PER_DEV)]
    lines += [f"neigh add 172.{16 + i // 65536}.{i // 256 % 256}.{i % 256} lladdr "
              f"02:00:00:{i // 65536:02x}:{i // 256 % 256:02x}:{i % 256:02x} dev a1 nud permanent"
              for i in range(NEIGHBOURS)]
    with make_netns("big") as ns:
        subprocess.run(["ip", "-n", ns.name, "-batch", "-"], input="\n".join(lines),
                       text=True, check=True)
        yield ns


def _peaks(fn: Callable[[], Iterable[object]]) -> tuple[int, int, int]:
    """(items, traced peak while iterating and dropping, traced peak holding the list)."""
    tracemalloc.start()
    try:
        count = sum(1 for _ in fn())
        streamed = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        held = list(fn())
        kept = tracemalloc.get_traced_memory()[1]
        del held
    finally:
        tracemalloc.stop()
    return count, streamed, kept


@pytest.mark.parametrize("what,least", [("links", 2 * PAIRS + 1), ("addresses", 1000 * PER_DEV),
                                        ("neighbours", NEIGHBOURS)])
def test_a_big_dump_streams_in_flat_memory(big, what, least):
    fn = {"links": read.links, "addresses": read.addresses,
          "neighbours": lambda: read.neighbours("a1")}[what]
    count, streamed, held = big.run(_peaks, fn)
    assert count >= least
    # a few chunks and the prefetching receivers' buffers (3 x 8 x 64 KiB), not the dump
    assert streamed < 4 << 20
    assert streamed * 2 < held


def test_the_kernel_filters_by_interface_and_a_missing_one_fails_at_the_call(big):
    def run() -> tuple[int, int, int]:
        mine = list(read.addresses("a7"))
        assert {a.ifname for a in mine} == {"a7"}
        neigh = list(read.neighbours("a1", "inet"))
        assert {n.dev for n in neigh} == {"a1"}
        with pytest.raises(NotFound):
            read.addresses("nosuchdev")  # raised by the call, before any iteration
        with pytest.raises(NotFound):
            read.neighbours("nosuchdev")
        with pytest.raises(NotFound):
            read.links("nosuchdev")
        return len(mine), len(neigh), len(list(read.neighbours("a2")))

    assert big.run(run) == (PER_DEV, NEIGHBOURS, 0)
