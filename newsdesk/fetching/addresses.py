"""Which URLs and addresses the fetcher may reach (no server-side request forgery).

A URL must be http or https, without user name or password. Its host name is resolved here, every
address it resolves to is checked, and the connection is then made to one of those checked
addresses (never resolved a second time), so a name that answers differently on the next lookup
(DNS rebinding) cannot slip through. Addresses inside the machine or its networks are refused:
loopback, private, link-local, multicast, reserved, unspecified, shared (CGNAT 100.64/10), the
same hidden in IPv6 (IPv4-mapped, 6to4, Teredo, NAT64), and cloud metadata services.
NEWSAPP_FETCH_ALLOW_PRIVATE lets the tests and closed networks reach private addresses; metadata
services stay refused even then (no feed lives there, and they hand out credentials)."""

import ipaddress
import logging
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.utils.encoding import iri_to_uri

from newsdesk.fetching import conf
from newsdesk.fetching.errors import FetchError, Refused

logger = logging.getLogger("newsdesk.fetching")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean...
        "fd00:ec2::254",  # AWS over IPv6
        "169.254.170.2",  # AWS ECS task credentials
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure's wire server (a public address, reachable only from inside)
    )
)
ALLOW_SETTING = (
    "NEWSAPP_FETCH_ALLOW_PRIVATE=true or its host:port is in NEWSAPP_FETCH_PRIVATE_HOSTS "
    "(tests and closed networks only)"
)
SHARED = ipaddress.ip_network("100.64.0.0/10")
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


@dataclass(frozen=True)
class Target:
    """One URL taken apart for a request."""

    url: str
    scheme: str
    host: str  # ASCII (IDNA), lower case, IPv6 without brackets
    port: int
    path: str  # path and query, as sent in the request line

    @property
    def host_key(self) -> str:
        # The unit of politeness (per-host limits, robots.txt): one server, one port.
        return f"{self.host}:{self.port}"

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.host_header}"


def refuse(reason: str, url: str, *, level: int = logging.WARNING) -> Refused:
    logger.log(level, "Refused %s: %s", url, reason)
    return Refused(reason)


def target_parse(url: str) -> Target:
    """The URL checked for its form (not yet its addresses): FetchError if malformed, Refused if the
    scheme or embedded credentials are not allowed."""
    if any(ch in url for ch in "\r\n\t\x00 "):
        raise FetchError(f"malformed URL: {url[:200]!r}")
    url = url.split("#", 1)[0]
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise FetchError(f"malformed URL: {url[:200]!r} ({error})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise refuse(f"scheme {scheme or 'missing'!r} is not http or https", url)
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        # Logged without them: a password in a feed's link is not copied into the logs.
        hidden = parts._replace(netloc=f"…@{parts.netloc.rpartition('@')[2]}").geturl()
        raise refuse("URLs with a user name or password are not fetched", hidden)
    host = parts.hostname or ""
    if not host:
        raise FetchError(f"URL without a host: {url[:200]!r}")
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise FetchError(f"host name {host!r} is not valid") from None
    # Feeds link pages by IRIs (/café): sent percent-encoded as UTF-8, existing escapes kept.
    path = iri_to_uri(parts.path or "/")
    if parts.query:
        path = f"{path}?{iri_to_uri(parts.query)}"
    port = port or (443 if scheme == "https" else 80)
    return Target(url=url, scheme=scheme, host=host, port=port, path=path)


def blocked_reason(address: IPAddress, *, private_ok: bool = False) -> str | None:
    """Why this address may not be reached ("a loopback address"), or None. An IPv6 address is also
    judged by any IPv4 address it carries (IPv4-mapped, 6to4, Teredo, NAT64). `private_ok`: only
    cloud metadata is refused (the host:port is one of NEWSAPP_FETCH_PRIVATE_HOSTS)."""
    for candidate in [*_embedded(address), address]:
        kind = _kind(candidate, private_ok=private_ok)
        if kind:
            article = "an" if kind[0] in "aeiou" else "a"
            if candidate == address:
                return f"{article} {kind} address"
            return f"an IPv6 address carrying {candidate}, {article} {kind} address"
    return None


def _embedded(address: IPAddress) -> list[IPAddress]:
    found: list[IPAddress] = []
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            found.append(address.ipv4_mapped)
        if address.sixtofour:
            found.append(address.sixtofour)
        if address.teredo:
            found.append(address.teredo[1])
        if any(address in network for network in NAT64):
            found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        # IPv4-compatible (::a.b.c.d, deprecated but still routed by some stacks).
        if int(address) >> 32 == 0 and int(address) > 1:
            found.append(ipaddress.IPv4Address(int(address)))
    return found


def _kind(address: IPAddress, *, private_ok: bool) -> str | None:
    if address in METADATA:
        return "cloud metadata"
    if private_ok or conf.allow_private():
        return None
    checks = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address.version == 4 and address in SHARED, "shared (CGNAT)"),
        (address.is_reserved, "reserved"),
        (address.is_private, "private"),  # Python's list: RFC 1918, ULA, documentation, benchmarking...
        (not address.is_global, "non-public"),
    )
    return next((kind for blocked, kind in checks if blocked), None)


def addresses_resolve(target: Target) -> list[IPAddress]:
    """Every address the host resolves to, all checked: one refused address refuses the host, since
    which one a later connection would use is not ours to choose."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise FetchError(f"cannot resolve {target.host}: {error}") from None
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        try:
            address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        except ValueError:
            raise refuse(f"{target.host} resolves to {sockaddr[0]!r}, not an address", target.url) from None
        if address not in found:
            found.append(address)
    if not found:
        raise FetchError(f"{target.host} resolves to no address")
    private_ok = f"{target.host}:{target.port}".lower() in conf.private_hosts()
    for address in found:
        reason = blocked_reason(address, private_ok=private_ok)
        if reason:
            literal = target.host == str(address) or target.host == address.compressed
            where = f"{target.host} is" if literal else f"{target.host} resolves to {address},"
            # Said on the feed's record: an operator reads why, and whether a setting changes it.
            unless = "never fetched" if "cloud metadata" in reason else f"not fetched unless {ALLOW_SETTING}"
            raise refuse(f"{where} {reason}: {unless}", target.url)
    return found
