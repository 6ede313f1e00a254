"""Packet capture: decoders, pcap files, the filter compiler and the sniffer.

Everything here is pure but :mod:`socklab.capture.sniffer`, which drives the
PF_PACKET socket of :mod:`socklab.kernel.packet` and the files of
:mod:`socklab.kernel.files`:

- :mod:`.decode`: bytes in, frozen records out (Ethernet, Linux cooked, ARP,
  IPv4, IPv6, ICMP, ICMPv6, TCP, UDP); only :class:`~socklab.errors.Malformed` escapes.
- :mod:`.text`: one line per packet as ``tcpdump -n`` prints it.
- :mod:`.pcap`: the pcap file format (headers and records as bytes).
- :mod:`.bpf`: filter expressions (pcap's words) compiled to classic BPF, and a
  small BPF interpreter that runs the same program in Python.
"""
