"""Who may call the devnet's control endpoints (/devnet/fund, faults, oracle, advance, save, status).

These endpoints carry no signature: anything that reaches them can mint balances, inject faults
or write the state file. Being reachable from loopback only is not enough, because a web page
the user visits can make the *browser* send a request to 127.0.0.1 — a "simple" cross-site
POST (text/plain, no preflight), or a request to a hostile domain that DNS-rebinds to
127.0.0.1. So a control request must look like what a local program sends, not a browser:

- no `Origin` header at all (browsers add one to every cross-site and every POST request;
  curl, urllib, http.client and perp itself never do);
- a `Host` header naming a loopback address or `localhost` *with the devnet's own port*
  (a rebound hostile domain arrives with its own name in Host);
- `Content-Type: application/json` (a browser can only send it after a CORS preflight, which
  the devnet never grants).

`control_refusal` returns why a request is refused, or None when it may proceed.
"""

from __future__ import annotations

import ipaddress

LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost", "ip6-loopback"})


def is_loopback_name(host: str) -> bool:
    """A literal loopback address (127.0.0.0/8, ::1) or a name that always means this host."""
    name = host.strip().lower()
    if name in LOOPBACK_NAMES:
        return True
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def split_host_header(value: str) -> tuple[str, int] | None:
    """`Host` as (name, port); the port defaults to 80 as HTTP says. None if malformed."""
    value = value.strip()
    if not value:
        return None
    if value.startswith("["):  # [v6]:port
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[: end + 1], value[end + 1 :]
        if not rest:
            return name, 80
        if not rest.startswith(":"):
            return None
        port_text = rest[1:]
    else:
        name, sep, port_text = value.rpartition(":")
        if not sep:
            return value, 80
        if ":" in name:  # a bare IPv6 address without brackets is not a valid Host
            return None
    if not port_text.isdigit() or len(port_text) > 5:
        return None
    return name, int(port_text)


def control_refusal(headers: dict[str, str], port: int | None) -> tuple[int, str] | None:
    """(HTTP status, reason) when a control request must be refused; None when it is allowed.

    `headers` has lower-cased names; `port` is the port the devnet listens on.
    """
    if "origin" in headers:
        return 403, "control endpoints refuse browser requests (an Origin header was sent)"
    host = split_host_header(headers.get("host", ""))
    if host is None or not is_loopback_name(host[0]) or (port is not None and host[1] != port):
        return 403, f"control endpoints need a Host header of a loopback address with port {port}"
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        return 415, "control endpoints need Content-Type: application/json"
    return None
