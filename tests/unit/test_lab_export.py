"""The containerlab export: YAML that a YAML parser reads, with the structure
containerlab's published JSON schema (schemas/clab.schema.json in its repository)
requires. That schema is not vendored here; SCHEMA below restates, for the keys
socklab writes, the rules it sets: the root holds only name and topology (both
required), topology.nodes maps names to node configs whose kind is one of the
schema's kinds, image a string, exec a non-empty list of strings, no other key;
links are a non-empty list of {endpoints: at least two distinct NODE:IFACE strings}."""

import jsonschema
import pytest
import yaml

from socklab.lab import export, shipped
from socklab.lab.topology import parse

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "topology"],
    "properties": {
        "name": {"type": "string"},
        "topology": {
            "type": "object",
            "required": ["nodes"],
            "additionalProperties": False,
            "properties": {
                "nodes": {"type": "object", "patternProperties": {".*": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["kind"],
                    "properties": {
                        "kind": {"enum": ["linux", "bridge", "ovs-bridge", "host"]},
                        "image": {"type": "string"},
                        "exec": {"type": "array", "minItems": 1,
                                 "items": {"type": "string"}},
                    },
                }}},
                "links": {"type": "array", "minItems": 1, "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"endpoints": {
                        "type": "array", "minItems": 2, "uniqueItems": True,
                        "items": {"type": "string", "pattern": r"^\S+:\S+$"}}},
                }},
            },
        },
    },
}


@pytest.mark.parametrize("name", ["lab1", "lab2", "lab3", "lab4", "lab5", "lab6", "lab7"])
def test_export_follows_the_containerlab_schema(name):
    lab = parse(shipped.text(name), f"{name}.toml")
    doc = yaml.safe_load(export.containerlab(lab))
    jsonschema.validate(doc, SCHEMA)
    nodes = doc["topology"]["nodes"]
    assert set(lab.nodes) <= set(nodes)
    assert {f"sw-{s}" for s in lab.switches} == set(nodes) - set(lab.nodes)
    ends = [e for link in doc["topology"]["links"] for e in link["endpoints"]]
    # every interface of the lab is wired once, and eth0 is left to containerlab
    assert len(ends) == len(set(ends))
    assert sum(len(n.interfaces) for n in lab.nodes.values()) == \
        len([e for e in ends if not e.startswith("sw-")])
    assert not any(e.endswith(":eth0") for e in ends)


def test_export_carries_addresses_routes_and_forwarding():
    lab = parse(shipped.text("lab1"), "lab1.toml")
    nodes = yaml.safe_load(export.containerlab(lab))["topology"]["nodes"]
    assert "ip addr add 10.0.1.10/24 dev eth1" in nodes["h1"]["exec"]
    assert "ip route add default via 10.0.1.1" in nodes["h1"]["exec"]
    assert "sysctl -w net.ipv4.ip_forward=1" in nodes["r1"]["exec"]
    assert nodes["r1"]["exec"].index("sysctl -w net.ipv4.ip_forward=0") > \
        nodes["r1"]["exec"].index("sysctl -w net.ipv4.ip_forward=1")  # the lab's own wins


def test_export_carries_the_ipsec_pair():
    lab = parse(shipped.text("lab7"), "lab7.toml")
    nodes = yaml.safe_load(export.containerlab(lab))["topology"]["nodes"]
    states = [c for c in nodes["h1"]["exec"] if c.startswith("ip xfrm state add ")]
    assert [c.split()[4:10] for c in states] == [
        ["src", "10.0.7.1", "dst", "10.0.7.2", "proto", "esp"],
        ["src", "10.0.7.2", "dst", "10.0.7.1", "proto", "esp"]]
    assert "spi 0x00001001" in states[0] and "0x000102030405060708090a0b0c0d0e0f" in states[0]
    assert sum(c.startswith("ip xfrm policy add ") for c in nodes["h2"]["exec"]) == 2
