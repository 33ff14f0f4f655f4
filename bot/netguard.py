"""The SSRF guard: a source URL cannot reach the bot's own network unless feeds.yaml says so.

What it does: refuses any fetch whose host is, or resolves to, an address that is not on the
public internet: loopback, private (RFC 1918, unique local fc00::/7), link-local (169.254/16,
fe80::/10), carrier-grade NAT (100.64/10), unspecified (0.0.0.0, ::), multicast, other reserved
ranges, and cloud metadata endpoints (169.254.169.254, fd00:ec2::254, "metadata.google.internal").
IPv6 forms that embed an IPv4 address (v4-mapped ::ffff:a.b.c.d, 6to4 2002::/16, NAT64
64:ff9b::/96) are judged by the IPv4 address inside. A host listed in feeds.yaml's top-level
`allow_private_hosts:` (by the name as written in the URL, or by the IP literal) is let through.

It works at two points, both installed by `bot.http.make_client(allow_private_hosts=...)`:
- a request event hook (`NetGuard.__call__`), which httpx runs before EVERY request it sends,
  including each redirect hop: it resolves the host and refuses the request with
  `BlockedAddressError` ("refused to fetch <url>: 10.0.0.5 is a private address") before any
  connection is made when any address the name resolves to is refused;
- the connection itself (`GuardedBackend`, the network backend of the client's connection
  pool): it resolves the host again, checks every address, and connects to one of the addresses
  it checked, never to a name. The websocket of the Jetstream source does the same through
  `open_websocket_socket`.

The DNS rebinding window (a name that resolves to a public address when checked and to a private
one when connected) is closed for direct connections: the socket is opened to the very address
that was checked, so a second, different answer is never used. TLS still verifies the
certificate against the host name of the URL (the connection pool passes the name as SNI).

What it does not do: guard requests that go through an HTTP(S) proxy from the environment
(HTTPS_PROXY etc.): the request hook still checks what the name resolves to here, but the proxy
resolves it again and connects itself, so the proxy's own rules are the last word there (and
when this host cannot resolve the name at all, only the proxy can judge it). It does not restrict
ports or schemes (httpx accepts http and https only), and it does not apply to clients made
without an allow list (`make_client()` with no argument, which unit tests of single adapters use):
the worker (`bot.scheduler.Runner`) always makes a guarded one.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOW_TODO = "add the host to allow_private_hosts in feeds.yaml if this is intended"

# Instance metadata services hand out cloud credentials; a feed URL pointing there is the classic
# SSRF. Most are link-local or private anyway; listing them gives the message a clearer name.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, ...
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "100.100.100.200",  # Alibaba Cloud
    )
)
METADATA_NAMES = frozenset({"metadata.google.internal", "metadata.goog"})

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_PRIVATE = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
# NAT64 (RFC 6052): on an IPv6-only network every IPv4 host is reached through this prefix, so an
# address in it is as public or private as the IPv4 address it carries.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class BlockedAddressError(httpx.ConnectError):
    """A fetch the guard refused before connecting. It is a `ConnectError` so every adapter that
    already handles connection failures reports it per source instead of crashing."""

    def __init__(self, target: str, reason: str) -> None:
        self.target = target
        self.reason = reason
        # What a source shows as the cause; the hint on what to do comes with `ALLOW_TODO`.
        self.cause = f"refused to fetch {target}: {reason}"
        super().__init__(f"{self.cause} ({ALLOW_TODO})")


def normalize_host(host: str) -> str:
    """The form hosts are compared in: lower case, no brackets or trailing dot, IPs canonical."""
    name = host.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    name = name.rstrip(".")
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name


def classify(address: IPAddress) -> str | None:
    """What kind of non-public address this is ('private', 'loopback', ...), or None if public."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is None and address in _NAT64:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None:
            return classify(inner)
    if address in METADATA_ADDRESSES:
        return "cloud metadata"
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address in _CGNAT:
        return "carrier-grade NAT"
    if any(address in network for network in _PRIVATE):
        return "private"
    if not address.is_global:
        # Documentation, benchmarking, 240/4, broadcast, Teredo, ...: nothing a feed lives on.
        return "reserved"
    return None


def _with_article(kind: str) -> str:
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def _shown(address: IPAddress) -> str:
    """An address for a message; an IPv6 form that embeds IPv4 shows the IPv4 inside."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is None and address in _NAT64:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None:
            return f"{address} ({inner})"
    return str(address)


def display_url(url: str | httpx.URL) -> str:
    """The URL for a message: no user:password and no query (either may carry a secret)."""
    parts = urlsplit(str(url))
    netloc = parts.netloc.rpartition("@")[2]
    query = "?…" if parts.query else ""
    return f"{parts.scheme}://{netloc}{parts.path or '/'}{query}"


class NetGuard:
    """Decides whether a host may be fetched; also the httpx request hook (see the module doc)."""

    def __init__(self, allow_private_hosts: Iterable[str] = ()) -> None:
        self.allowed: frozenset[str] = frozenset()
        self.update(allow_private_hosts)

    def update(self, allow_private_hosts: Iterable[str]) -> None:
        """Replace the allow list (a reloaded feeds.yaml applies without a new client)."""
        names: set[str] = set()
        for entry in allow_private_hosts:
            name = normalize_host(entry)
            if not name:
                continue
            names.add(name)
            # The connection pool sees the ASCII (IDNA) form of a name written in Unicode.
            with contextlib.suppress(UnicodeError):
                names.add(name.encode("idna").decode("ascii"))
        self.allowed = frozenset(names)

    def allows_host(self, host: str) -> bool:
        """True when feeds.yaml lists this host (as written in the URL) in allow_private_hosts."""
        return normalize_host(host) in self.allowed

    def refusal(self, host: str, port: int) -> str | None:
        """Why `host` may not be fetched ("10.0.0.5 is a private address"), or None if it may.

        Resolves names; every address must be public. Raises `OSError` when the name does not
        resolve (the caller decides what that means).
        """
        if self.allows_host(host):
            return None
        name = normalize_host(host)
        if name in METADATA_NAMES:
            return f"{name} is a cloud metadata host"
        for address in self.resolve(name, port):
            kind = classify(address)
            if kind is not None:
                if str(address) == name:
                    return f"{_shown(address)} is {_with_article(kind)} address"
                return f"{name} resolves to {_shown(address)}, {_with_article(kind)} address"
        return None

    @staticmethod
    def resolve(host: str, port: int) -> list[IPAddress]:
        """Every address `host` resolves to, in the resolver's order, without repeats."""
        found: list[IPAddress] = []
        for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
            # Strip an IPv6 zone ("fe80::1%eth0"): the class of the address is what matters.
            address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            if address not in found:
                found.append(address)
        return found

    def checked_addresses(self, host: str, port: int) -> list[IPAddress]:
        """The addresses to connect to for `host`, each one checked; raises `BlockedAddressError`
        if any is refused, `OSError` if the name does not resolve."""
        addresses = self.resolve(normalize_host(host), port)
        for address in addresses:
            kind = classify(address)
            if kind is not None:
                raise BlockedAddressError(
                    f"{host} (port {port})", f"{_shown(address)} is {_with_article(kind)} address"
                )
        return addresses

    def check_url(self, url: str | httpx.URL) -> None:
        """Raise `BlockedAddressError` if `url` may not be fetched. A name that does not resolve
        passes: the connection then fails with its own clear error (or a proxy resolves it)."""
        parsed = httpx.URL(str(url)) if not isinstance(url, httpx.URL) else url
        host = parsed.host
        if not host:
            return  # httpx refuses a URL without a host itself
        port = parsed.port or (443 if parsed.scheme in ("https", "wss") else 80)
        # The name as written (Unicode) and as sent (IDNA) may both be in the allow list.
        if self.allows_host(host) or self.allows_host(parsed.raw_host.decode("ascii")):
            return
        try:
            reason = self.refusal(host, port)
        except (OSError, UnicodeError):
            return
        if reason is not None:
            raise BlockedAddressError(display_url(parsed), reason)

    def __call__(self, request: httpx.Request) -> None:
        """The httpx "request" event hook: runs before every request, each redirect hop too."""
        self.check_url(request.url)

    def connect(self, host: str, port: int, timeout: float | None) -> socket.socket:
        """A TCP socket to one of the checked addresses of `host` (the first that answers)."""
        last: OSError | None = None
        for address in self.checked_addresses(host, port):
            try:
                return socket.create_connection((str(address), port), timeout)
            except OSError as exc:
                last = exc
        raise last or OSError(f"{host} resolves to no address")


class GuardedBackend(httpcore.SyncBackend):
    """The connection pool's network backend: connects only to addresses the guard checked.

    The host it gets is the URL's (ASCII) host for direct connections; TLS is started on the
    returned stream with the host name as SNI by the pool, so certificates are verified as usual.
    """

    def __init__(self, guard: NetGuard) -> None:
        self.guard = guard

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        if self.guard.allows_host(host):
            return super().connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            addresses = self.guard.checked_addresses(host, port)
        except OSError as exc:  # the name does not resolve: the same error as an unguarded pool
            raise httpcore.ConnectError(str(exc)) from exc
        last: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        raise last or httpcore.ConnectError(f"{host} resolves to no address")


def guard_connections(client: httpx.Client, guard: NetGuard) -> None:
    """Make `client`'s direct connections go through `GuardedBackend`.

    httpx takes no network backend as an argument, and passing our own transport would turn off
    the proxy settings from the environment, so the backend is set on the pool of the client's
    default transport (proxied requests use their own transports, untouched). If a future
    httpx/httpcore renames these attributes this fails loudly at start (and
    tests/test_netguard.py fails) instead of silently leaving the guard out.
    """
    transport = getattr(client, "_transport", None)
    pool = getattr(transport, "_pool", None)
    if not isinstance(pool, httpcore.ConnectionPool) or not hasattr(pool, "_network_backend"):
        raise RuntimeError(
            "cannot install the SSRF guard: this httpx/httpcore version has no connection pool "
            "network backend to replace — use httpx 0.27/0.28 with httpcore 1.x"
        )
    pool._network_backend = GuardedBackend(guard)


def guard_of(client: httpx.Client | None) -> NetGuard | None:
    """The guard `make_client` installed in `client`, if any (the Jetstream websocket uses it)."""
    if client is None:
        return None
    for hook in client.event_hooks.get("request", []):
        if isinstance(hook, NetGuard):
            return hook
    return None


def open_websocket_socket(guard: NetGuard, url: str, timeout: float) -> socket.socket | None:
    """Check a ws(s):// URL and open its TCP connection (to a checked address unless the host is
    allowed by name). websockets never follows a redirect on a socket it was given, so a
    websocket endpoint cannot redirect past the guard either.

    Returns None when a proxy from the environment applies: websockets then connects through it
    by itself, and only the resolution check here has been made (see the module doc).
    Raises `BlockedAddressError`, or `OSError` when the connection fails.
    """
    from websockets.uri import parse_uri

    guard.check_url(url)
    uri = parse_uri(url)
    if _websocket_proxy(uri) is not None:
        return None
    if guard.allows_host(uri.host):
        sock = socket.create_connection((uri.host, uri.port), timeout)
    else:
        sock = guard.connect(uri.host, uri.port, timeout)
    # Blocking again, as websockets leaves the sockets it opens: a timeout left on the socket
    # would end a quiet stream in websockets' reader thread. The handshake has its own deadline.
    sock.settimeout(None)
    return sock


def _websocket_proxy(uri: Any) -> str | None:
    """The proxy websockets would use for `uri` (websockets 15+ reads the environment)."""
    try:
        from websockets.proxy import get_proxy
    except ImportError:  # websockets 14 connects directly
        return None
    proxy: str | None = get_proxy(uri)
    return proxy
