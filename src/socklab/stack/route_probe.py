"""``route get``'s candidates in a table too big to read, asked of the kernel.

The kernel filters a route dump by table, protocol, type and device, never by
prefix (``ip_valid_fib_dump_req()`` refuses a ``rtm_dst_len``), so reading the
routes whose prefix contains one address means reading the whole table: a
second or more for a million routes. What the kernel does answer at once is a
lookup: ``RTM_GETROUTE`` with ``RTM_F_FIB_MATCH`` gives the route that wins for
an address, as the rules lead to it. Rules:

1. The winner is the kernel's own answer for the destination: the longest
   usable prefix of table T (the rules' walk stopped there).
2. The routes of T shorter than a length k that contain the destination are
   the routes containing any address y that shares the destination's first k
   bits and differs at bit k. The kernel's answer for such a y, when it comes
   from T and contains the destination, is the longest of them (lengths
   between it and k hold none); it is then the next candidate, and the search
   goes on below its length.
3. An answer that does not contain the destination (a more specific route of
   a neighbouring prefix covers y), comes from another table, or is an error
   (a blackhole, unreachable or prohibit route covers y) says nothing of T:
   another y just beside the route that answered is tried, up to
   :data:`TRIES` per length; then the length is reported as not seen.
   "Network is unreachable" proves that no usable route of T contains y.
4. A probe is only asked when the rules treat y as they treat the destination
   (the same rules match): otherwise its answer would come through another
   walk, and the lengths left are reported as not seen.
5. A lookup sees one route per prefix (the one the kernel picks: lowest
   metric), and never a throw route: the explanation says so.
"""

from __future__ import annotations

import errno
import ipaddress
from collections.abc import Callable

from socklab.stack.model import Route

__all__ = ["TRIES", "Probed", "probe_candidates", "ranges"]

TRIES = 3  # addresses tried per prefix length before it is reported as not seen

Answer = Route | int  # the route the kernel picks for an address, or the errno it gives


class Probed:
    """What the probes found: the candidates, and what they could not see (a plain
    class: dataclasses would import inspect, 7 ms of every route get)."""

    __slots__ = ("asked", "routes", "unseen")

    def __init__(self, routes: list[Route] | None = None, asked: list[str] | None = None,
                 unseen: list[int] | None = None) -> None:
        self.routes = routes if routes is not None else []
        self.asked = asked if asked is not None else []  # "y (/k): answer", in order
        self.unseen = unseen if unseen is not None else []  # lengths not seen, descending


def _network(route: Route) -> tuple[int, int] | None:
    """(network as a number, prefix length) of a route, or None for "?/24"."""
    if route.dst == "default":
        return 0, 0
    try:
        net = ipaddress.ip_network(route.dst if "/" in route.dst
                                   else f"{route.dst}/{route.dst_len}", strict=False)
    except ValueError:
        return None
    return int(net.network_address), net.prefixlen


def _contains(route: Route, address: int, bits: int) -> bool:
    found = _network(route)
    if found is None:
        return False
    net, length = found
    return length == 0 or (net ^ address) >> (bits - length) == 0


def probe_candidates(dst: str, winner: Route, table: str, probe: Callable[[str], Answer],
                     same_walk: Callable[[str], bool], budget: int | None = None) -> Probed:
    """The routes of ``table`` whose prefix contains ``dst``, one per prefix, from
    kernel lookups (module rules). ``winner`` is the kernel's answer for ``dst``;
    ``probe(address)`` asks the kernel (RTM_F_FIB_MATCH); ``same_walk(address)`` says
    whether the rules treat that address as ``dst`` (rule 4). At most ``budget``
    probes (2 per bit of the address by default)."""
    ip = ipaddress.ip_address(dst)
    bits = ip.max_prefixlen
    want = int(ip)
    make = ipaddress.IPv4Address if bits == 32 else ipaddress.IPv6Address
    left = 2 * bits if budget is None else budget
    out = Probed(routes=[winner])
    k = winner.dst_len - 1
    while k >= 0:
        if left <= 0:
            out.unseen += range(k, -1, -1)
            out.asked.append(f"(no more lookups: /{k} to /0 not seen)")
            break
        y = want ^ (1 << (bits - 1 - k))  # the first k bits of dst, then the other bit
        half = y >> (bits - 1 - k)  # the first k + 1 bits every y of this length keeps
        found: Route | None = None
        done = False
        low, high = y, y  # the addresses of this half the answers so far covered
        for _ in range(TRIES):
            if bits == 32 and y in (0, 0xFFFFFFFF):  # this host, the limited broadcast
                y ^= 1 if k < 31 else 0
            if y >> (bits - 1 - k) != half:
                break  # the answers covered every address of this half
            text = str(make(y))
            if not same_walk(text):
                out.asked.append(f"{text} (/{k}): the rules treat it apart, not asked")
                break
            left -= 1
            answer = probe(text)
            if isinstance(answer, int):
                if answer == errno.ENETUNREACH:  # no usable route of any table holds y
                    out.asked.append(f"{text} (/{k}): network unreachable")
                    done = True
                    break
                name = errno.errorcode.get(answer, str(answer))
                out.asked.append(f"{text} (/{k}): an error route or rule ({name})")
                break
            if answer.table != table:
                out.asked.append(f"{text} (/{k}): {answer.dst} of table {answer.table}")
                break
            if _contains(answer, want, bits):
                out.asked.append(f"{text} (/{k}): {answer.dst}, a candidate")
                found = answer
                break
            out.asked.append(f"{text} (/{k}): {answer.dst}, not a candidate")
            covered = _network(answer)
            if covered is None or covered[1] <= k + 1:
                break  # it covers every y of this length
            net, length = covered
            low, high = min(low, net), max(high, net + (1 << (bits - length)) - 1)
            y = high + 1 if (high + 1) >> (bits - 1 - k) == half else low - 1
        if done:
            break
        if found is not None:
            out.routes.append(found)
            k = found.dst_len - 1
            continue
        out.unseen.append(k)
        k -= 1
    return out


def ranges(lengths: list[int]) -> str:
    """Descending prefix lengths as ranges: ``[23, 22, 21, 9]`` -> ``/21-/23, /9``."""
    spans: list[tuple[int, int]] = []
    for n in sorted(lengths):
        if spans and spans[-1][1] == n - 1:
            spans[-1] = (spans[-1][0], n)
        else:
            spans.append((n, n))
    return ", ".join(f"/{a}" if a == b else f"/{a}-/{b}" for a, b in spans)
