"""The session's guard: a Python socket may reach loopback, and nothing else."""

from __future__ import annotations

import socket
import urllib.request

import pytest

from tests.support import network


@pytest.mark.parametrize("address", [("192.0.2.1", 80), ("8.8.8.8", 53), ("example.com", 443)])
def test_a_connection_beyond_loopback_is_refused_at_once(address):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        with pytest.raises(network.OutsideConnectionRefused, match="beyond 127.0.0.1"):
            s.connect(address)
        with pytest.raises(network.OutsideConnectionRefused):
            s.connect_ex(address)


def test_http_clients_are_refused_too():
    with pytest.raises(OSError, match="beyond 127.0.0.1"):
        urllib.request.urlopen("http://192.0.2.1/", timeout=5)


def test_loopback_is_reached():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        for host in ("127.0.0.1", "localhost"):
            with socket.create_connection((host, server.getsockname()[1]), timeout=5):
                conn, _ = server.accept()
                conn.close()


def test_what_counts_as_loopback():
    assert network.is_loopback(("127.0.0.1", 1)) and network.is_loopback(("::1", 1, 0, 0))
    assert network.is_loopback(("127.3.4.5", 1)) and network.is_loopback(("0.0.0.0", 1))
    assert network.is_loopback("/tmp/socket")
    assert not network.is_loopback(("10.0.0.1", 1)) and not network.is_loopback(("pypi.org", 1))
