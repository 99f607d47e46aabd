"""Where a webhook may send: the SSRF guard, and a connection pinned to the checked address.

A webhook URL is refused unless it is ``http``/``https`` with a host whose *every* resolved
address is public: no loopback, private (RFC 1918, ``fc00::/7``), link-local (cloud metadata
at 169.254.169.254 and ``fd00:ec2::254`` included), shared, multicast, reserved or unspecified
address. An IPv6 address that carries an IPv4 one (mapped, compatible, translated, NAT64's
well-known prefix, 6to4) is judged as the IPv4 address it reaches: on a NAT64 network
``64:ff9b::a9fe:a9fe`` is 169.254.169.254. NAT64's local-use prefix is never public.
The check runs when the webhook is saved and again at every send, and the send connects to
the very address it checked (no second DNS lookup that a rebinding resolver could answer
differently).
"""

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class WebhookUrlError(ValueError):
    """A refused URL; ``code`` names why (``scheme``, ``host``, ``resolve``, ``private``)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line
    address: str  # the checked address the connection goes to


# IPv6 prefixes whose last 32 bits are an IPv4 address a packet may end up at: IPv4-mapped,
# IPv4-compatible (deprecated), IPv4-translated (SIIT) and NAT64's well-known prefix.
_EMBEDS_IPV4_LAST = tuple(ipaddress.IPv6Network(n) for n in (
    "::ffff:0:0/96", "::/96", "::ffff:0:0:0/96", "64:ff9b::/96",
))  # fmt: skip
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: a network's own translator


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in network for network in _EMBEDS_IPV4_LAST):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_is_public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if address in _NAT64_LOCAL:
            return False
        address = _embedded_ipv4(address) or address
    return address.is_global and not address.is_multicast


def _resolve(host: str, port: int) -> list[Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise WebhookUrlError("resolve", f"The host {host!r} does not resolve ({exc}).") from exc
    # The scope of a link-local IPv6 address (``%eth0``) is not part of the address.
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def webhook_target(url: str, *, allow_private: bool) -> Target:
    """The checked target of ``url``, or ``WebhookUrlError``. Resolves the host (DNS)."""
    if not url.isascii() or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise WebhookUrlError("host", "The URL has spaces, control or non-ASCII characters "
                              "(write an international domain name in its xn-- form).")  # fmt: skip
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookUrlError("host", f"Not a valid URL ({exc}).") from exc
    if parts.scheme not in ("http", "https"):
        raise WebhookUrlError("scheme", "Only http and https URLs are allowed.")
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise WebhookUrlError("host", "The URL needs a host, and no user name or password.")
    if port == 0:  # urlsplit reads ":0" as a port; a connection would go to the default one
        raise WebhookUrlError("host", "Port 0 is not a port a receiver can listen on.")
    port = port or (443 if parts.scheme == "https" else 80)
    addresses = _resolve(parts.hostname, port)
    if not addresses:
        raise WebhookUrlError("resolve", f"The host {parts.hostname!r} has no address.")
    if not allow_private:
        refused = [str(a) for a in addresses if not address_is_public(a)]
        if refused:
            raise WebhookUrlError(
                "private",
                f"The host {parts.hostname!r} resolves to a non-public address "
                f"({', '.join(sorted(set(refused)))}); webhooks only go to public hosts.",
            )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, path, str(addresses[0]))


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to the checked address, with the certificate checked against the host name."""

    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout,
                         context=ssl.create_default_context())  # fmt: skip
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def pinned_connection(target: Target, *, timeout: float) -> http.client.HTTPConnection:
    """A connection to ``target.address``, sending ``Host: target.host``."""
    if target.scheme == "https":
        return _PinnedHTTPSConnection(target, timeout)
    connection = http.client.HTTPConnection(target.address, target.port, timeout=timeout)
    return connection
