"""The allow-list every channel's link security uses."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from channels.access import allowed

NETWORKS = (ip_network("10.20.0.0/16"), ip_network("127.0.0.1/32"), ip_network("2001:db8::/32"))


@pytest.mark.parametrize(
    ("remote", "ok"),
    [
        ("10.20.3.4", True),
        ("10.21.0.1", False),
        ("127.0.0.1", True),
        ("::ffff:127.0.0.1", True),  # an IPv4 peer on a dual-stack socket
        ("::ffff:10.21.0.1", False),
        ("2001:db8::5", True),
        ("2001:db8::5%eth0", True),  # a scoped address as a socket may name it
        ("::1", False),
        ("not an address", False),
        ("", False),
        (None, False),
    ],
)
def test_only_listed_networks_are_allowed(remote: str | None, ok: bool) -> None:
    assert allowed(remote, NETWORKS) is ok
