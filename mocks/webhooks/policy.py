"""Where webhooks may go: the delivery policy, decided on the address a URL's host resolves to.

`WEBHOOK_HOSTS` (config `webhook_hosts`) lists what deliveries may reach: IP addresses or networks
(`127.0.0.1`, `::1`, `10.1.0.0/16`), host names (`localhost`), or `*` for any. A listed loopback
address stands for its whole loopback range (`127.0.0.1`: 127.0.0.0/8); an IPv4-mapped IPv6 address
counts as the IPv4 address it maps. A URL whose host is an IP address is delivered to when the list holds
that address; one whose host is a name, only when the name is listed (or `*`): an unlisted name is never
resolved at delivery, whatever it looks like (`127.0.0.1.nip.io` included). A listed name is resolved
before each attempt, by `resolve`, the addresses are checked, and the client connects to exactly those
(the name still goes in `Host` and in TLS), so DNS cannot change between the check and the connection.

Never allowed, whatever the list says: the mock itself. That is any address of this machine on one of
the ports the mock listens on (`own_ports`, set where the server starts), and the mock's admin paths
(`/__mock`, `/__mock/...`, after percent-decoding and dot segments) on any address of this machine.

At registration (`refusal`) the policy refuses, besides the mock itself, what is a disguise or an attack:
a DNS name that is not listed but looks like a loopback or private address (`127.attacker.example`,
`127.0.0.1.nip.io`, `localhost.attacker.example`, `app.10.0.0.7.sslip.io`, `2130706433`), an unlisted name
that resolves to a loopback, private, link-local or unspecified address, and such an address the list
does not hold (`http://169.254.169.254/`). An ordinary public host the policy does not deliver to (the
vendor's own `https://example.com/webhook`) is accepted; its deliveries are refused and logged. A name that
does not resolve within `RESOLVE_SECONDS` is accepted (it is not delivered to unless listed). With `*`,
names are not judged by their look; the mock itself is still refused.

Names are resolved by the running event loop's `getaddrinfo` (off its thread), through `resolve`, which
tests replace (module attribute, or `WebhookPolicy.resolver`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import posixpath
import re
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote, urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

RESOLVE_SECONDS = 2.0  # registration waits this long for DNS at most; a name not resolved by then is accepted
ADMIN_PATH = "/__mock"
DEFAULT_PORTS = {"http": 80, "https": 443}
LOOPBACK = {4: ipaddress.ip_network("127.0.0.0/8"), 6: ipaddress.ip_network("::1/128")}
# What kind of non-public address, for the messages: first matching property wins.
KINDS = (("is_loopback", "a loopback"), ("is_unspecified", "an unspecified (this machine's)"),
         ("is_link_local", "a link-local"), ("is_private", "a private"), ("is_multicast", "a multicast"),
         ("is_reserved", "a reserved"))  # fmt: skip
ANYWHERE = ", but may resolve anywhere"
USE_ADDRESS = "Use the address itself (e.g. http://127.0.0.1:<port>/...), or list the name in WEBHOOK_HOSTS"
_DOTTED_QUAD = re.compile(r"(?:^|\.)((?:\d{1,3}\.){3}\d{1,3})(?:\.|$)")


async def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, by the running loop's getaddrinfo (which does not block the loop)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class Target:
    """An http(s) URL as the policy sees it: host lower-cased without a trailing dot, path decoded."""

    host: str
    port: int
    path: str
    literal: Address | None  # the host, when it is an IP address


@dataclass(frozen=True)
class Admission:
    """The verdict on one delivery attempt: connect to `addresses` (checked, in order), or not at all
    because of `refusal`; neither when the host did not resolve (a failed attempt, retried)."""

    addresses: tuple[str, ...] = ()
    refusal: str | None = None


def address(text: str) -> Address | None:
    """An IP address (IPv4-mapped IPv6 as IPv4); None when `text` is not one."""
    try:
        found = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(found, "ipv4_mapped", None)
    return mapped if mapped is not None else found


@lru_cache(maxsize=1024)
def target(url: str) -> Target | None:
    """The parts of an http(s) URL the policy judges; None for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").rstrip(".")
    if parts.scheme not in DEFAULT_PORTS or not host:
        return None
    path = posixpath.normpath(re.sub("/+", "/", "/" + unquote(parts.path))).lower()
    return Target(host, port or DEFAULT_PORTS[parts.scheme], path, address(host))


def _network(entry: str) -> Network | None:
    """A WEBHOOK_HOSTS entry as a network (a listed loopback address: its loopback range); None for a name."""
    try:
        network = ipaddress.ip_network(entry.strip("[]"), strict=False)
    except ValueError:
        return None
    return LOOPBACK[network.version] if network.is_loopback else network


@lru_cache(maxsize=256)
def _bindable(text: str, family: int) -> bool:
    """Whether `text` is an address of this machine: only those can be bound."""
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.bind((text, 0))
    except OSError:
        return False
    return True


def is_local(found: Address) -> bool:
    if found.is_loopback or found.is_unspecified:
        return True
    return _bindable(str(found), socket.AF_INET6 if found.version == 6 else socket.AF_INET)


def _kind(found: Address) -> str:
    return next((label for attribute, label in KINDS if getattr(found, attribute)), "a non-public")


def disguise(host: str) -> str | None:
    """How a host that is not an IP address passes for a loopback or private one; None when it does not."""
    labels = host.split(".")
    if labels[0] == "127":
        return f"is a DNS name that starts like a loopback address{ANYWHERE}"
    if "localhost" in (labels[0], labels[-1]) and host != "localhost":
        return f"is a DNS name that looks like localhost{ANYWHERE}"
    try:  # the other notations inet_aton reads: 2130706433, 0x7f.0.0.1, 0177.0.0.1
        odd = ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        quads = (address(quad) for quad in _DOTTED_QUAD.findall(host))
        hidden = next((found for found in quads if found is not None and not found.is_global), None)
        return None if hidden is None else f"is a DNS name that spells {_kind(hidden)} address ({hidden}){ANYWHERE}"
    return None if odd.is_global else f"writes {_kind(odd)} address ({odd}) in a non-standard notation"


def _addresses(texts: Iterable[str]) -> list[Address]:
    found = (address(text.partition("%")[0]) for text in texts)
    return list(dict.fromkeys(a for a in found if a is not None))


class WebhookPolicy:
    """The rules above for one mock: its allow list and the ports it listens on."""

    def __init__(self, hosts: Sequence[str], own_ports: Iterable[int] = (), resolver: Resolver | None = None) -> None:
        self.hosts = tuple(hosts)
        self.any_host = "*" in self.hosts
        networks = {entry: _network(entry) for entry in self.hosts if entry != "*"}
        self.networks = tuple(n for n in networks.values() if n is not None)
        self.names = frozenset(e.lower().rstrip(".") for e, n in networks.items() if n is None)
        self.own_ports = frozenset(own_ports)
        self.resolver = resolver  # None: the module's `resolve`, looked up at each call
        self._settled: dict[str, Admission] = {}  # URL -> the verdict that needs no DNS

    def allows(self, found: Address) -> bool:
        return self.any_host or any(found in network for network in self.networks)

    def listed(self, t: Target) -> bool:
        """Whether the host is allowed by name (or `*`), whatever it resolves to."""
        return self.any_host or t.host in self.names

    def own(self, t: Target, found: Address) -> str | None:
        """Why (`t`, `found`) is the mock itself; None when it is not."""
        admin = t.path == ADMIN_PATH or t.path.startswith(ADMIN_PATH + "/")
        if not (t.port in self.own_ports or admin) or not is_local(found):
            return None
        if t.port in self.own_ports:
            return f"it is the mock's own address ({found} port {t.port})"
        return f"its path is the mock's admin API ({ADMIN_PATH}) on this machine ({found})"

    def _not_allowed(self, t: Target, why: str) -> str:
        return f"host not allowed: {t.host} {why} (allowed: {', '.join(self.hosts)}; set WEBHOOK_HOSTS)"

    async def _resolve(self, t: Target) -> list[Address]:
        if t.literal is not None:
            return [t.literal]
        try:
            return _addresses(await (self.resolver or resolve)(t.host, t.port))
        except (OSError, UnicodeError, ValueError):  # gaierror is an OSError; an IDNA failure a UnicodeError
            return []

    # --- at delivery -----------------------------------------------------------------------------------------
    def settled(self, url: str) -> Admission | None:
        """The verdict on `url` when it needs no DNS (on every URL but a listed name's): the same each time, so
        kept (a bounded cache). None when the host must be resolved first (`admit`)."""
        verdict = self._settled.get(url)
        if verdict is None:
            t = target(url)
            if t is None:
                verdict = Admission(refusal="not delivered: not an http(s) URL")
            elif t.literal is not None:
                verdict = self._decide(t, [t.literal])
            elif not self.listed(t):
                verdict = Admission(refusal=f"not delivered: {self._not_allowed(t, 'is not a listed name')}")
            else:
                return None
            if len(self._settled) > 1000:
                self._settled.clear()
            self._settled[url] = verdict
        return verdict

    async def admit(self, url: str) -> Admission:
        """Whether, and to which addresses, a delivery to `url` may connect now (before each attempt)."""
        settled = self.settled(url)
        if settled is not None:
            return settled
        t = target(url)
        assert t is not None  # settled() decides what is not an http(s) URL
        return self._decide(t, await self._resolve(t))

    def _decide(self, t: Target, found: list[Address]) -> Admission:
        """The verdict on an IP address or a listed name (`found`: what it resolved to)."""
        own = next((reason for a in found if (reason := self.own(t, a)) is not None), None)
        if own is not None:
            return Admission(refusal=f"not delivered: {own}")
        if self.listed(t) or (t.literal is not None and self.allows(t.literal)):
            return Admission(tuple(str(a) for a in found))  # none: the name did not resolve (a failed attempt)
        return Admission(refusal=f"not delivered: {self._not_allowed(t, 'is not a listed address')}")

    # --- at registration ---------------------------------------------------------------------------------
    async def refusal(self, url: str) -> str | None:
        """Why a webhook to `url` must not be registered; None to accept it (its deliveries may still be
        refused by the policy, and logged). A URL that is not http(s) is not this policy's to judge."""
        t = target(url)
        if t is None:
            return None
        if t.literal is None and not self.listed(t):
            looks = disguise(t.host)
            if looks is not None:
                return f"Webhook URL host {t.host!r} {looks}. {USE_ADDRESS}"
        try:
            async with asyncio.timeout(RESOLVE_SECONDS):
                found = await self._resolve(t)
        except TimeoutError:
            found = []
        for a in found:
            own = self.own(t, a)
            if own is not None:
                return f"Webhook URL {url!r} points at the mock itself: {own}; webhooks are never sent there"
        # An unlisted name is never delivered to: if it points inwards, it is a disguise. An address may be listed.
        inward = (a for a in found if not a.is_global and (t.literal is None or not self.allows(a)))
        hidden = None if self.listed(t) else next(inward, None)
        if hidden is not None:
            what = "is" if t.literal is not None else f"is not listed and resolves to {hidden},"
            return (f"Webhook URL host {t.host!r} {what} {_kind(hidden)} address that webhooks may not reach "
                    f"(allowed: {', '.join(self.hosts)}; set WEBHOOK_HOSTS)")  # fmt: skip
        return None
