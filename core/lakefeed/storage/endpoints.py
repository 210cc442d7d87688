"""Which network endpoints connections may reach when ``lakefeed serve`` uses them.

The CLI and the Python API act for the person running them and reach any endpoint. The REST
service acts for API clients: unchecked, a client could store a connection whose custom
endpoint is the server's own loopback, the cloud metadata service (169.254.169.254) or a host
of the private network behind the server, and learn from the errors what answers there
(server-side request forgery). An :class:`EndpointPolicy` refuses every endpoint that resolves
to a loopback, link-local, private, unspecified or otherwise non-public address, unless the
operator allows it (``LAKEFEED_ALLOW_ENDPOINTS``, ``lakefeed serve --allow-endpoint``). The
server applies it when a connection is stored or changed, and again each time a session
connects, against the addresses the host resolves to at that moment.

The same policy keeps callers away from the server's own cloud identity: an auth spec marked
:attr:`~lakefeed.specs.AuthSpec.ambient` (a default credential chain, an assumed role, managed
identity: credentials the server finds in its environment, its files or its metadata service)
is refused unless the operator enables it (``LAKEFEED_ALLOW_AMBIENT_CREDENTIALS=1``), checked
at the same moments (:meth:`EndpointPolicy.check_credentials`). Even then such a connection
reaches only the vendor's own endpoints (:attr:`~lakefeed.specs.AuthSpec.vendor_hosts`, on
port 443) and those the operator lists: the server's token or signed requests would otherwise
go to any public host an API client names. That check reads names only, before any lookup.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lakefeed.errors import (
    AmbientCredentialsForbidden,
    AmbientEndpointForbidden,
    EndpointForbidden,
    InvalidRequest,
    StorageUnreachable,
)

if TYPE_CHECKING:
    from lakefeed.specs import AuthSpec

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: IPv6 prefix of NAT64 gateways (RFC 6052): the last 32 bits are an IPv4 address.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_LOOPBACK = ipaddress.IPv4Address("127.0.0.1")
_HOST_NAME = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?$")
ALLOW_VARIABLE = "LAKEFEED_ALLOW_ENDPOINTS"
AMBIENT_VARIABLE = "LAKEFEED_ALLOW_AMBIENT_CREDENTIALS"
#: The only port a vendor endpoint is accepted on for ambient credentials: https's.
VENDOR_PORT = 443


def shown(host: str, port: int) -> str:
    """``host:port``, with an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def ip_literal(host: str) -> IPAddress | None:
    """``host`` as an address when it is written as one in the standard form, else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one carries (IPv4-mapped, NAT64, 6to4), or the address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.sixtofour is not None:
            return address.sixtofour
    return address


def refusal(address: IPAddress) -> str | None:
    """Why a server must not reach ``address`` unless allowed (``"loopback"``, …), or None
    for a public address."""
    plain = _embedded_ipv4(address)
    for kind, matches in (
        ("unspecified", plain.is_unspecified),
        ("loopback", plain.is_loopback),
        ("link-local", plain.is_link_local),  # 169.254.169.254: cloud metadata services
        ("private", plain.is_private),
        ("multicast", plain.is_multicast),
        ("non-public", plain.is_reserved or not plain.is_global),
    ):
        if matches:
            return kind
    return None


@dataclass(frozen=True)
class AllowedEndpoint:
    """One allow-list entry: a host name, an address or a CIDR network, with an optional
    port (``minio.internal:9000``, ``127.0.0.1``, ``[::1]:10000``, ``10.0.0.0/8``)."""

    text: str
    name: str | None = None
    network: Network | None = None
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> AllowedEndpoint:
        raw = text.strip()
        bad = InvalidRequest(
            f"{raw!r} is not an endpoint to allow.",
            fix=f"Give {ALLOW_VARIABLE} (comma-separated) or --allow-endpoint a host, host:port, "
            "an address, [IPv6]:port or a CIDR network such as 10.0.0.0/8.",
        )
        if "/" in raw:
            try:
                return cls(raw, network=ipaddress.ip_network(raw))  # host bits set: a typo
            except ValueError:
                raise bad from None
        host, port_text = raw, ""
        if raw.startswith("["):
            host, closed, rest = raw[1:].partition("]")
            if not closed or (rest and not rest.startswith(":")):
                raise bad
            port_text = rest[1:]
        elif raw.count(":") == 1:
            host, port_text = raw.split(":")
        port = None
        if port_text or raw.endswith(":"):
            if not port_text.isdigit() or not 0 < int(port_text) < 65536:
                raise bad
            port = int(port_text)
        address = ip_literal(host)
        if address is not None:
            return cls(raw, network=ipaddress.ip_network(_embedded_ipv4(address)), port=port)
        if not _HOST_NAME.match(host):
            raise bad
        return cls(raw, name=_normal(host), port=port)

    def allows(self, host: str, port: int, address: IPAddress | None) -> bool:
        """Whether this entry covers ``host:port`` (by name) or ``address`` on ``port``."""
        if self.port is not None and self.port != port:
            return False
        if self.name is not None:
            return _normal(host) == self.name
        return address is not None and self.network is not None and address in self.network


def _normal(host: str) -> str:
    return host.strip("[]").lower().rstrip(".")


def vendor_host(host: str, patterns: Iterable[str]) -> bool:
    """Whether the host name ``host`` matches one of ``patterns``
    (:attr:`lakefeed.specs.AuthSpec.vendor_hosts`): a leading ``*.`` matches one or more
    labels, any other ``*`` characters inside one label; case and a final dot are ignored.
    An address never matches."""
    if ip_literal(host) is not None:
        return False
    labels = _normal(host).split(".")
    for pattern in patterns:
        wanted = _normal(pattern).split(".")
        if wanted[0] == "*":
            wanted = wanted[1:]
            if len(labels) <= len(wanted):
                continue
        elif len(labels) != len(wanted):
            continue
        tail = labels[len(labels) - len(wanted) :]
        if all(fnmatch.fnmatchcase(label, glob) for label, glob in zip(tail, wanted, strict=True)):
            return True
    return False


class EndpointPolicy:
    """Refuses endpoints on non-public addresses, except those in ``allowed``; and ambient
    auth specs unless ``ambient_credentials``."""

    def __init__(self, allowed: Iterable[str] = (), *, ambient_credentials: bool = False) -> None:
        self.allowed = tuple(AllowedEndpoint.parse(text) for text in allowed if text.strip())
        self.ambient_credentials = ambient_credentials

    def __repr__(self) -> str:
        return (
            f"EndpointPolicy({[entry.text for entry in self.allowed]!r}, "
            f"ambient_credentials={self.ambient_credentials!r})"
        )

    def check_credentials(
        self, auth: AuthSpec, *, source: str, endpoints: Iterable[tuple[str, int]]
    ) -> None:
        """Raise :class:`AmbientCredentialsForbidden` when ``auth`` acts with the server's own
        identity (:attr:`AuthSpec.ambient`) and the operator has not allowed that; and
        :class:`AmbientEndpointForbidden` when one of ``endpoints`` (the connection's, as
        :meth:`lakefeed.storage.SourceType.endpoints` lists them) would receive that identity
        and is neither the vendor's (:attr:`AuthSpec.vendor_hosts` on port 443) nor listed by
        the operator. No I/O: names are compared, never resolved."""
        if not auth.ambient:
            return
        if not self.ambient_credentials:
            raise AmbientCredentialsForbidden(
                f"The auth spec {auth.name!r} of {source} uses this server's own cloud "
                "credentials (its environment, credential files or metadata service), and the "
                f"server does not let API clients use them: {AMBIENT_VARIABLE} is not set to 1.",
                fix="Give the connection credentials of its own (another auth spec of the "
                f"connection spec); or, if every API client may act with the server's identity, "
                f"its operator can set {AMBIENT_VARIABLE}=1 on the server.",
            )
        for host, port in endpoints:
            if (port == VENDOR_PORT and vendor_host(host, auth.vendor_hosts)) or self._listed(
                host, port
            ):
                continue
            endpoint = shown(host.strip("[]"), port) if host else "(no host)"
            vendors = ", ".join(auth.vendor_hosts[:3]) or "none declared"
            if len(auth.vendor_hosts) > 3:  # all of them: "x-vendor-hosts" of the auth spec
                vendors += f" and {len(auth.vendor_hosts) - 3} more"
            raise AmbientEndpointForbidden(
                f"The endpoint {endpoint} of {source} would be sent this server's own cloud "
                f"identity (the auth spec {auth.name!r} signs in as the server), and it is "
                f"neither one of the vendor's endpoints ({vendors}; port {VENDOR_PORT}) nor "
                f"one the server's operator allows in {ALLOW_VARIABLE}.",
                fix="Leave the endpoint unset or use the vendor's own; or, if the server's "
                f"identity may be sent to {endpoint}, its operator can list it with "
                f"{ALLOW_VARIABLE}={endpoint} (or `lakefeed serve --allow-endpoint {endpoint}`).",
            )

    def _listed(self, host: str, port: int) -> bool:
        """Whether an allow-list entry names ``host:port``: a name entry by name, an address
        or network entry for an address written as one (or a localhost name); no lookup."""
        if not host:
            return False
        literal = ip_literal(host)
        name = _normal(host)
        if literal is None and (name == "localhost" or name.endswith(".localhost")):
            literal = _LOOPBACK
        address = None if literal is None else _embedded_ipv4(literal)
        return any(entry.allows(host, port, address) for entry in self.allowed)

    def check(self, endpoints: Iterable[tuple[str, int]], *, source: str, connecting: bool) -> None:
        """Raise :class:`EndpointForbidden` when one of ``endpoints`` has a refused address.

        Each host is resolved now and every address it resolves to must pass (one refused
        address refuses the endpoint). ``connecting``: a host that does not resolve is
        :class:`StorageUnreachable` (the client would resolve it again, maybe differently);
        otherwise, when a connection is only stored, it passes until it is used.
        """
        for host, port in endpoints:
            self._check(host, port, source=source, connecting=connecting)

    def _check(self, host: str, port: int, *, source: str, connecting: bool) -> None:
        if not host or any(e.name and e.allows(host, port, None) for e in self.allowed):
            return
        literal = ip_literal(host)
        name = _normal(host)
        if literal is not None:
            addresses = [literal]
        elif name == "localhost" or name.endswith(".localhost"):
            addresses = [_LOOPBACK]  # RFC 6761: localhost names are loopback, resolved or not
        else:
            addresses = _resolve(host, port, source, connecting)
        for address in addresses:
            reason = refusal(address)
            if reason is None:
                continue
            plain = _embedded_ipv4(address)
            if any(entry.allows(host, port, plain) for entry in self.allowed):
                continue
            # The address a name resolves to is not shown: it may be an internal one.
            endpoint = shown(host.strip("[]"), port)
            verb = "is" if literal else "resolves to"
            article = "an" if reason[0] in "aeiou" else "a"
            raise EndpointForbidden(
                f"The endpoint {endpoint} of {source} {verb} {article} {reason} address; "
                "this server does not let connections reach loopback, link-local, private or "
                "unspecified addresses unless its operator allows them.",
                fix=f"Use the storage's public endpoint; or, if the server is meant to reach "
                f"{endpoint}, its operator can allow it with {ALLOW_VARIABLE}={endpoint} (or "
                f"`lakefeed serve --allow-endpoint {endpoint}`).",
            )


def _resolve(host: str, port: int, source: str, connecting: bool) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        if not connecting:
            return []
        raise StorageUnreachable(
            f"Storage unreachable while connecting on {source}: the host name {host!r} "
            "does not resolve.",
            fix="Check the host or endpoint name, and the server's DNS.",
        ) from exc
    addresses = [ip_literal(str(sockaddr[0])) for *_, sockaddr in infos]
    if None in addresses or (connecting and not addresses):
        # Fail closed: an answer that cannot be checked is not connected to.
        raise EndpointForbidden(
            f"The host name {host!r} of {source} resolves to no address this server can check.",
            fix="Use an endpoint that resolves to IPv4 or IPv6 addresses.",
        )
    return [address for address in addresses if address is not None]
