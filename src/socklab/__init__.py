"""socklab: the Linux network stack and the BSD sockets API, made real from Python.

The public API is re-exported here. Only the exception tree is imported
eagerly; everything else loads on first use (PEP 562), so that
``import socklab`` and ``socklab --help`` stay fast.
"""

from __future__ import annotations

from socklab.errors import (
    BadAddress,
    BadInput,
    Malformed,
    MissingPrivilege,
    NetworkError,
    NotFound,
    SocklabError,
    Timeout,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~3 ms)
if TYPE_CHECKING:  # what __getattr__ below loads, as the type checker sees it
    from socklab.kernel import netns as netns
    from socklab.kernel.sock import socket as socket
    from socklab.kernel.sock import socketpair as socketpair

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "socket": "socklab.kernel.sock",
    "socketpair": "socklab.kernel.sock",
    "trace": "socklab.trace",
    "tracing": "socklab.trace",
    "netns": "socklab.kernel.netns",
    "sockets": "socklab.socktable.table",
    "links": "socklab.stack.read",
    "addresses": "socklab.stack.read",
    "routes": "socklab.stack.read",
    "rules": "socklab.stack.read",
    "neighbours": "socklab.stack.read",
    "route_get": "socklab.stack.read",
    "explain_route": "socklab.stack.read",
    "sysctl": "socklab.stack.sysctl",
    "change": "socklab.stack.change",
    "snapshot": "socklab.stack.snapshot",
    "connect": "socklab.talk.client",
    "listen": "socklab.talk.net",
    "Endpoint": "socklab.talk.endpoint",
    "parse_endpoint": "socklab.talk.endpoint",
    "Server": "socklab.talk.serve",
    "relay": "socklab.talk.pump",
    "aio": "socklab.talk.aio",
    "SocketRecord": "socklab.socktable.model",
    # "module:name": the function, where the module has the same name
    "ping": "socklab.probe.ping:ping",
    "traceroute": "socklab.probe.traceroute:traceroute",
    "scan": "socklab.probe.scan:scan",
    "ruleset": "socklab.filter.read",
    "filter_trace": "socklab.filter.trace",
    "filter_add": "socklab.filter.rules",
    "filter_del": "socklab.filter.rules",
    "ipsec_policies": "socklab.ipsec.read",
    "ipsec_states": "socklab.ipsec.read",
    "sniff": "socklab.capture.sniffer",
    "Lab": "socklab.lab",
}

__all__ = [
    "BadAddress",
    "BadInput",
    "Endpoint",
    "Lab",
    "Malformed",
    "MissingPrivilege",
    "NetworkError",
    "NotFound",
    "Server",
    "SocketRecord",
    "SocklabError",
    "Timeout",
    "addresses",
    "aio",
    "change",
    "connect",
    "explain_route",
    "filter_add",
    "filter_del",
    "filter_trace",
    "ipsec_policies",
    "ipsec_states",
    "links",
    "listen",
    "neighbours",
    "netns",
    "parse_endpoint",
    "ping",
    "relay",
    "route_get",
    "routes",
    "rules",
    "ruleset",
    "scan",
    "snapshot",
    "sniff",
    "socket",
    "socketpair",
    "sockets",
    "sysctl",
    "trace",
    "traceroute",
    "tracing",
]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'socklab' has no attribute {name!r}")
    import importlib

    module, _, attr = module.partition(":")
    mod = importlib.import_module(module)
    if attr:
        value = getattr(mod, attr)
    else:
        value = mod if module.rsplit(".", 1)[-1] == name else getattr(mod, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
