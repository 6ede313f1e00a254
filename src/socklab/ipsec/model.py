"""IPsec's state in the kernel as socklab shows it: policies (SPD) and SAs (SAD).

Names follow ``ip xfrm``: a policy's direction is in, out or fwd, its action
allow or block; a template or SA's protocol is esp, ah, comp (or the number),
its mode transport, tunnel, ro, in_trigger or beet.
"""

from __future__ import annotations

from typing import NamedTuple


class Selector(NamedTuple):
    """Which packets a policy or SA is for (``struct xfrm_selector``)."""

    family: str  # inet, inet6, or the number
    src: str  # address/prefix
    dst: str
    proto: int  # 0 is any
    sport: int
    sport_mask: int
    dport: int
    dport_mask: int
    ifindex: int
    user: int


class Lifetime(NamedTuple):
    """Limits (``struct xfrm_lifetime_cfg``; 2**64-1 is "no limit", as ip shows it)."""

    soft_bytes: int
    hard_bytes: int
    soft_packets: int
    hard_packets: int
    soft_add_seconds: int
    hard_add_seconds: int
    soft_use_seconds: int
    hard_use_seconds: int


class Current(NamedTuple):
    """What was used so far (``struct xfrm_lifetime_cur``): times are Unix seconds."""

    bytes: int
    packets: int
    add_time: int
    use_time: int


class Template(NamedTuple):
    """A transform a policy asks for (``struct xfrm_user_tmpl``)."""

    family: str
    src: str
    dst: str
    proto: str
    spi: int
    reqid: int
    mode: str
    share: int
    optional: bool  # ip xfrm's "level use"; False is "level required"
    aalgos: int
    ealgos: int
    calgos: int


class Policy(NamedTuple):
    selector: Selector
    dir: str
    action: str
    priority: int
    policy_index: int  # the kernel's index (ip xfrm's "index"; a NamedTuple has .index)
    flags: int
    share: int
    lifetime: Lifetime
    current: Current
    templates: tuple[Template, ...]
    mark: tuple[int, int] | None  # value, mask
    if_id: int | None


class Algorithm(NamedTuple):
    """An SA's algorithm; ``key`` is None unless keys were asked for (``--show-keys``)."""

    kind: str  # auth, auth-trunc, enc, aead, comp
    name: str
    key_bits: int
    extra_bits: int | None  # truncation length (auth-trunc) or ICV length (aead)
    key: bytes | None


class Stats(NamedTuple):
    replay_window: int
    replay: int
    integrity_failed: int


class SA(NamedTuple):
    """A security association (``struct xfrm_usersa_info`` and its attributes)."""

    family: str
    src: str
    dst: str
    proto: str
    spi: int
    mode: str
    reqid: int
    seq: int
    replay_window: int
    flags: int
    selector: Selector
    lifetime: Lifetime
    current: Current
    stats: Stats
    algorithms: tuple[Algorithm, ...]
    mark: tuple[int, int] | None
    if_id: int | None
