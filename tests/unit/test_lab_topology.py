"""Topology files: a good one read whole; a table of bad ones, each refused with the
line of the problem and the problem named."""

import pytest

from socklab.errors import BadInput
from socklab.lab import shipped
from socklab.lab.topology import parse

GOOD = '''\
name = "demo"
[nodes.h1]
interfaces.eth0.addresses = ["10.0.1.10/24", "fd00:1::10/64"]
interfaces.eth0.aliases = { "eth0:1" = "10.0.1.11/24" }
routes = [{ to = "default", via = "10.0.1.1" }]
[nodes.r1]
kind = "router"
interfaces.eth0.addresses = ["10.0.1.1/24"]
nat = ["eth1"]
filter = [{ action = "drop", hook = "forward", proto = "tcp", dport = 80 }]
[nodes.h2]
services = [{ listen = "tcp::80" }]
[[links]]
endpoints = ["h1:eth0", "r1:eth0"]
mtu = 1400
rate = "1mbit"
[switches.sw1]
ports = ["r1:eth1", "h2:eth0"]
'''


def test_a_good_file_is_read_whole():
    lab = parse(GOOD, "demo.toml")
    assert lab.namespaces() == ["sl-demo", "sl-demo-h1", "sl-demo-r1", "sl-demo-h2"]
    h1 = lab.nodes["h1"]
    assert h1.interfaces["eth0"].addresses == ["10.0.1.10/24", "fd00:1::10/64"]
    assert h1.interfaces["eth0"].aliases == [("eth0:1", "10.0.1.11/24")]
    assert lab.nodes["r1"].kind == "router" and lab.nodes["r1"].nat == ["eth1"]
    assert lab.nodes["r1"].rules[0].dport == "80"
    assert lab.links[0].mtu == 1400 and lab.links[0].rate == "1mbit"
    assert lab.switches["sw1"].ports == [("r1", "eth1"), ("h2", "eth0")]


def test_every_shipped_lab_parses():
    for name in shipped.names():
        assert parse(shipped.text(name), f"{name}.toml").name == name


ESP = ('local = "10.0.0.1", remote = "10.0.0.2", spi_out = 0x1001, spi_in = 0x1002, '
       'enc_key = "' + "0f" * 16 + '", auth_key = "' + "1e" * 32 + '"')
ESP_TEXT_SPI = ESP.replace("spi_in = 0x1002", 'spi_in = "x"')


def test_ipsec_keys_are_read():
    lab = parse(shipped.text("lab7"), "lab7.toml")
    (pair,) = lab.nodes["h1"].esp
    assert (pair.local, pair.remote, pair.spi_out, pair.spi_in) == \
        ("10.0.7.1", "10.0.7.2", 0x1001, 0x1002)
    (back,) = lab.nodes["h2"].esp
    assert (back.spi_out, back.spi_in) == (pair.spi_in, pair.spi_out)
    assert back.enc_key == pair.enc_key and len(pair.auth_key) == 32
    lab = parse('name = "x"\n[nodes.h1]\nipsec.policies = [{ src = "10.0.0.1", '
                'dst = "10.0.0.0/24", dir = "out", action = "block", proto = "icmp", '
                'priority = 5 }]\n', "x.toml")
    (pol,) = lab.nodes["h1"].policies
    assert (pol.selector.src, pol.selector.dst, pol.selector.proto) == \
        ("10.0.0.1/32", "10.0.0.0/24", 1)
    assert (pol.dir, pol.action, pol.priority, pol.templates) == ("out", "block", 5, ())


# (file text, line, words of the problem)
BAD = [
    ('name = "x"\n[nodes.h1\n', 2, "TOML syntax"),
    ('name = "x"\nnodes = 3\n', 2, "nodes must be a table"),
    ('[nodes.h1]\n', 1, "has no name"),
    ('name = "Bad Name"\n[nodes.h1]\n', 1, "lab name"),
    ('name = "x"\n', 1, "at least one node"),
    ('name = "x"\n[nodes.h1]\nkind = "switch"\n', 3, "kind 'switch'"),
    ('name = "x"\n[nodes.h1]\ncolour = "red"\n', 3, "unknown key 'colour'"),
    ('name = "x"\n[nodes.H1]\n', 2, "node name 'H1'"),
    ('name = "x"\n[nodes.h1]\n[nodes.h2]\n[[links]]\nendpoints = ["h1:eth0", "h3:eth0"]\n', 5,
     "no node 'h3'"),
    ('name = "x"\n[nodes.h1]\n[nodes.h2]\n[[links]]\nendpoints = ["h1:eth0"]\n', 5,
     "joins two endpoints"),
    ('name = "x"\n[nodes.h1]\n[nodes.h2]\n[[links]]\nendpoints = ["h1:eth0", "h2:eth0"]\n'
     '[[links]]\nendpoints = ["h1:eth0", "h2:eth1"]\n', 7, "used twice"),
    ('name = "x"\n[nodes.h1]\n[nodes.h2]\n[[links]]\nendpoints = ["h1:eth0", "h2:eth0"]\n'
     'mtu = 20\n', 6, "mtu 20"),
    ('name = "x"\n[nodes.h1]\n[nodes.h2]\n[[links]]\nendpoints = ["h1:eth0", "h2:eth0"]\n'
     'rate = "fast"\n', 6, "rate 'fast'"),
    ('name = "x"\n[nodes.h1]\n[nodes.h2]\n[[links]]\nendpoints = ["h1:eth0", "h2:eth0"]\n'
     '[nodes.h1.interfaces.eth0]\naddresses = ["10.0.0.300/24"]\n', 7, "address '10.0.0.300/24'"),
    ('name = "x"\n[nodes.h1]\ninterfaces.eth9.addresses = ["10.0.0.1/24"]\n', 3,
     "interface eth9 is on no link"),
    ('name = "x"\n[nodes.h1]\nroutes = [{ to = "10.0.0.1/8", via = "10.0.0.1" }]\n', 3,
     "route to '10.0.0.1/8'"),
    ('name = "x"\n[nodes.h1]\nroutes = [{ to = "default" }]\n', 3, "needs via or dev"),
    ('name = "x"\n[nodes.h1]\nsysctls = { "kernel.panic" = 1 }\n', 3, "only net.* keys"),
    ('name = "x"\n[nodes.h1]\nfilter = [{ action = "explode" }]\n', 3, "action 'explode'"),
    ('name = "x"\n[nodes.h1]\nservices = [{ listen = "unix:/tmp/s" }]\n', 3,
     "a tcp: or udp: endpoint"),
    ('name = "x"\n[nodes.h1]\nipsec = 3\n', 3, "ipsec (a table"),
    ('name = "x"\n[nodes.h1]\nipsec.colour = 1\n', 3, "unknown key 'colour'"),
    ('name = "x"\n[nodes.h1]\n[nodes.h2]\n[[links]]\nendpoints = ["h1:eth0", "h2:eth0"]\n'
     '[nodes.h1.interfaces.eth0]\naddresses = ["10.0.0.1/24"]\n[nodes.h1.ipsec]\n'
     f'esp = [{{ {ESP.replace("0x1001", "255")} }}]\n', 9, "0 to 255 are reserved"),
    ('name = "x"\n[nodes.h1]\n[nodes.h2]\n[[links]]\nendpoints = ["h1:eth0", "h2:eth0"]\n'
     '[nodes.h1.interfaces.eth0]\naddresses = ["10.0.0.9/24"]\n[nodes.h1.ipsec]\n'
     f'esp = [{{ {ESP} }}]\n', 9, "esp local 10.0.0.1: not an address of this node"),
    ('name = "x"\n[nodes.h1]\n[nodes.h2]\n[[links]]\nendpoints = ["h1:eth0", "h2:eth0"]\n'
     '[nodes.h1.interfaces.eth0]\naddresses = ["10.0.0.1/24"]\n[nodes.h1.ipsec]\n'
     f'esp = [{{ {ESP.replace("0f0f", "", 1)} }}]\n', 9, "encryption key"),
    ('name = "x"\n[nodes.h1]\n[nodes.h2]\n[[links]]\nendpoints = ["h1:eth0", "h2:eth0"]\n'
     '[nodes.h1.interfaces.eth0]\naddresses = ["10.0.0.1/24"]\n[nodes.h1.ipsec]\n'
     f'esp = [{{ {ESP_TEXT_SPI} }}]\n', 9,
     "esp spi_in must be a number"),
    ('name = "x"\n[nodes.h1]\nipsec.policies = [{ src = "10.0.0.1", dst = "10.0.0.2", '
     'dir = "sideways", action = "block" }]\n', 3, "dir 'sideways'"),
    ('name = "x"\n[nodes.h1]\nipsec.policies = [{ dst = "10.0.0.2", dir = "out", '
     'action = "block" }]\n', 3, "policy src must be a string"),
    ('name = "x"\n[nodes.h1]\nipsec.policies = [{ src = "10.0.0.1", dst = "fd00::2", '
     'dir = "out", action = "block" }]\n', 3, "different families"),
    ('name = "x"\n[nodes.h1]\nipsec.policies = [{ src = "10.0.0.1", dst = "10.0.0.2", '
     'dir = "out", action = "block", proto = "icmpv6" }]\n', 3, "icmpv6 with IPv4"),
    ('name = "x"\n[nodes.h1]\n\n[[exercises]]\nname = "e"\n'
     'checks = [{ kind = "ping", node = "h9", to = "10.0.0.1" }]\n', 6, "node 'h9'"),
    ('name = "x"\n[nodes.h1]\n\n[[exercises]]\nname = "e"\n'
     'checks = [{ kind = "port", node = "h1", to = "10.0.0.1", port = 80, expect = "ajar" }]\n',
     6, "expects 'ajar'"),
]


@pytest.mark.parametrize(("text", "line", "problem"), BAD)
def test_bad_files_name_the_line_and_the_problem(text, line, problem):
    with pytest.raises(BadInput) as info:
        parse(text, "bad.toml")
    message = str(info.value)
    assert message.startswith(f"bad.toml:{line}: "), message
    assert problem in message, message


def test_the_readme_example_parses():
    import pathlib
    import re

    readme = (pathlib.Path(__file__).parents[2] / "README.md").read_text()
    block = re.search(r"```toml\n(name = \"demo\".*?)```", readme, re.S)
    assert block is not None
    lab = parse(block.group(1), "README.md")
    assert set(lab.nodes) == {"h1", "r1", "srv"}
    assert [c.kind for c in lab.exercises["reach"].checks] == ["ping", "port", "route", "sysctl"]
