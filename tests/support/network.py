"""Tests open no connection beyond loopback: Python sockets are refused anything else.

CI runs on a closed network, where a connection out is a refused connection (or a timeout) in
every run, and an open network is no excuse for a test to depend on one. So, for the whole test
session, a Python-level `connect` to an address that is not loopback (or a Unix socket) fails at
once with `OutsideConnectionRefused`, naming the address, the way a closed network would fail
it, only sooner and louder. Browsers and subprocesses are outside Python's sockets: Chromium is
held to loopback by `tests.support.browser`, and the CLI subprocesses the tests start talk only
to the 127.0.0.1 servers the tests run.
"""

from __future__ import annotations

import ipaddress
import socket

_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex


class OutsideConnectionRefused(ConnectionRefusedError):
    """A test tried to reach beyond 127.0.0.1."""


def is_loopback(address) -> bool:
    """Whether a socket address stays on this machine (loopback, unspecified, a Unix path)."""
    if not isinstance(address, tuple):
        return True  # AF_UNIX (a path) and the like
    host = str(address[0]).split("%", 1)[0]
    if host in ("localhost", "ip6-localhost", ""):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False  # a host name: it would be resolved, and reached, outside
    return ip.is_loopback or ip.is_unspecified


def _check(sock: socket.socket, address) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address):
        raise OutsideConnectionRefused(
            f"tests may not connect beyond 127.0.0.1, and this one tried {address!r}; serve what "
            f"it needs on loopback (see tests/support/)")


def _guarded_connect(self, address):
    _check(self, address)
    return _connect(self, address)


def _guarded_connect_ex(self, address):
    _check(self, address)
    return _connect_ex(self, address)


def refuse_outside_loopback() -> None:
    """Installs the guard for the rest of the process (idempotent)."""
    socket.socket.connect = _guarded_connect
    socket.socket.connect_ex = _guarded_connect_ex
