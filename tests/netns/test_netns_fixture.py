"""The namespace fixture and socklab.kernel.netns: real namespaces, root only."""

import os
import socket

import pytest

from socklab.errors import NotFound
from socklab.kernel import netns as knetns

pytestmark = pytest.mark.privileged


def _ns_inode():
    return os.stat("/proc/thread-self/ns/net").st_ino


def test_code_runs_inside_the_namespace(netns):
    assert netns.run(_ns_inode) != _ns_inode()
    links = netns.ip("-o", "link")
    assert links.count("\n") == 1 and "lo:" in links and "UP" in links


def test_sockets_made_inside_stay_there(netns):
    def listen():
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen()
        return s

    server = netns.run(listen)
    try:
        port = server.getsockname()[1]
        ss = netns.exec("ss", "-Htln", f"sport = :{port}").stdout
        assert f"127.0.0.1:{port}" in ss
        client = netns.run(socket.create_connection, ("127.0.0.1", port), 5)
        conn, _ = server.accept()
        client.sendall(b"x")
        assert conn.recv(1) == b"x"
        conn.close()
        client.close()
    finally:
        server.close()


def test_entered_comes_back(netns):
    home = _ns_inode()
    import threading

    seen = {}

    def work():
        with knetns.entered(netns.name):
            seen["inside"] = _ns_inode()
        seen["after"] = _ns_inode()

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert seen["inside"] != home and seen["after"] == home
    assert netns.name in knetns.named()


def test_unknown_namespace_is_not_found():
    with pytest.raises(NotFound):
        knetns.path("socklab-definitely-absent")
