"""Packet filtering (course 1.3.1): the nftables ruleset, rule changes, and packet traces."""
