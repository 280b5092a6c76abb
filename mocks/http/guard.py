"""Who may talk to the mock, and who is told where it can be reached.

- `HostGuard` (ASGI middleware, outermost): a request must name the mock by a name it serves (`served_names`:
  localhost, 127.0.0.1, [::1], the name it listens on, ALLOWED_HOSTS). Any other `Host` is refused with a
  400 in the vendor's shape, so a web page whose own name resolves to 127.0.0.1 (DNS rebinding) can neither
  read the mock nor have its name echoed in redirects or `/apis.json`. Starlette's TrustedHostMiddleware
  decides (its parsing of ports and IPv6 literals, its `*.domain` wildcards); the guard words the refusal
  and remembers the verdict per `Host` value, so a request pays one dictionary lookup.
- `admin_only`: the admin routes that change state take no body or a JSON one (a cross-site HTML form or a
  `text/plain` fetch is not JSON: 415) and, when a browser sends `Origin`, only from an origin the CORS
  settings allow or the page's own (403 otherwise).
- `admin_only` also asks for the admin token when `ADMIN_TOKEN` is set: every mounted route but the public
  ones (`public_route`: the landing page, its script and style, `/apis.json`, `/healthz`) answers 401 without
  `Authorization: Bearer <ADMIN_TOKEN>` and 403 with another token. Vendor routes are not mounted here:
  their path (the fast path included) never looks at it.
- `exposure_refusals`: why `python -m mocks` will not listen beyond loopback as configured (no ADMIN_TOKEN,
  a vendor secret at its public default, CORS_ORIGINS not set), one line each.
- `reach` and `exposure_warning`: one line for the landing page, and the start-up warning when the mock
  listens on more than the loopback interface.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import re
import socket
import textwrap
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mocks.config import DEFAULT_CORS_ORIGINS, Configurable, MockConfig
from mocks.http.errors import MockError, Owner, error_messages

__all__ = [
    "HostGuard",
    "admin_only",
    "exposure_refusals",
    "exposure_warning",
    "is_loopback",
    "public_route",
    "reach",
    "served_names",
]

Endpoint = Callable[[Request], Awaitable[Response]]
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
PASSED = "mock.host_passed"  # scope key: an outer guard (the served mock's) has let this request in
VERDICTS_KEPT = 256  # distinct Host values remembered; forgotten all at once beyond (a flood of names)
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON_MEDIA = "application/json"
WIDTH = 104  # the start-up warning's lines
# Mounted routes anyone who may reach the mock gets, ADMIN_TOKEN or not: they hold no stored data (the
# landing page shows credential variables, not values, when a token is set: mocks/dx/admin.py).
PUBLIC_ROUTES = frozenset({"/", "/apis.json", "/healthz"})
PUBLIC_PREFIXES = ("/__mock/static/",)
TOKEN_HELP = "send Authorization: Bearer <ADMIN_TOKEN> (the landing page asks for it once per tab)"


class Credentialed(Configurable, Protocol):
    """An API as the exposure warning sees it (`mocks.vendor.Vendor` is one): its settings and its title."""

    @property
    def title(self) -> str: ...


def _literal(host: str) -> str:
    """`host` as it appears in a `Host` header: IPv6 literals in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None


def _is_wildcard(host: str) -> bool:
    address = _address(host)
    return host == "" or (address is not None and address.is_unspecified)


@functools.lru_cache(maxsize=16)
def is_loopback(host: str) -> bool:
    """Whether listening on `host` keeps the mock on this machine; a name counts by what it resolves to."""
    if host.lower() == "localhost":
        return True
    address = _address(host)
    if address is not None:
        return address.is_loopback
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return all((a := _address(str(f))) is not None and a.is_loopback for f in found)


def served_names(config: MockConfig) -> tuple[str, ...]:
    """The `Host` names the mock answers to (any port)."""
    names = list(LOOPBACK_NAMES)
    if config.listen and not _is_wildcard(config.listen[0]):
        names.append(_literal(config.listen[0].lower()))
    names += [_literal(name) for name in config.allowed_hosts]
    return tuple(dict.fromkeys(names))


async def _mark(scope: Scope, receive: Receive, send: Send) -> None:
    scope[PASSED] = True


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _discard(message: Message) -> None:
    return None


class HostGuard:
    """ASGI middleware: requests whose `Host` is not one of `names` get a 400 in the shape of the vendor (of
    `vendors`) owning the path."""

    def __init__(self, app: ASGIApp, names: Sequence[str], vendors: Sequence[Owner]) -> None:
        self.app, self.names, self.vendors = app, tuple(names), tuple(vendors)
        self._trusted = TrustedHostMiddleware(_mark, allowed_hosts=self.names, www_redirect=False)
        self._verdicts: dict[bytes | None, bool] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or PASSED in scope:
            await self.app(scope, receive, send)
            return
        host = None
        for key, value in scope["headers"]:
            if key == b"host":
                host = value
                break
        allowed = self._verdicts.get(host)
        if allowed is None:
            allowed = await self._judge(host)
        if allowed:
            scope[PASSED] = True
            await self.app(scope, receive, send)
        else:
            await self._refuse(scope, send, host)

    async def _judge(self, host: bytes | None) -> bool:
        """Starlette's verdict on one `Host` value: its middleware run on a probe holding only that header."""
        probe: Scope = {"type": "http", "headers": [] if host is None else [(b"host", host)]}
        await self._trusted(probe, _no_body, _discard)
        if len(self._verdicts) >= VERDICTS_KEPT:
            self._verdicts.clear()
        allowed = self._verdicts[host] = PASSED in probe
        return allowed

    async def _refuse(self, scope: Scope, send: Send, host: bytes | None) -> None:
        given = "no Host header" if host is None else f"Host {host.decode('latin-1')[:100]!r}"
        message = (
            f"{given} does not name this mock: it answers to {', '.join(self.names)} (any port); "
            "add the name to ALLOWED_HOSTS to use it"
        )
        for reply in error_messages(MockError(message, "bad_request"), scope["path"], self.vendors):
            await send(reply)


def _refusal(request: Request, origins: re.Pattern[str]) -> Response | None:
    """Why an admin request that changes state is refused (before its body is read), or None."""
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.headers.get('host', '')}".lower()
    if origin is not None and not (origins.fullmatch(origin) or origin.lower() == own):
        return JSONResponse(
            {"message": f"Origin {origin[:100]!r} may not change the mock's state; allowed: this page's own "
             "origin and those CORS_ORIGINS matches (localhost, 127.0.0.1, [::1] by default)"},
            status_code=403,
        )  # fmt: skip
    content_type = request.headers.get("content-type")
    if content_type is not None and content_type.split(";")[0].strip().lower() != JSON_MEDIA:
        return _not_json(repr(content_type[:100]))
    return None


def _not_json(given: str) -> Response:
    return JSONResponse(
        {"message": f"admin calls that change state take no body or a JSON body (Content-Type: {JSON_MEDIA}); "
         f"got {given}"},
        status_code=415,
    )  # fmt: skip


def public_route(path: str) -> bool:
    """Whether a mounted route is served without the admin token."""
    return path in PUBLIC_ROUTES or path.startswith(PUBLIC_PREFIXES)


def _token_refusal(request: Request, token: bytes) -> Response | None:
    """401 without a bearer token, 403 with one that is not `token` (compared in constant time), else None."""
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return JSONResponse(
            {"message": f"the admin API needs the admin token: {TOKEN_HELP}"},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="mock admin"'},
        )
    # Starlette decodes header bytes as latin-1: encoding back gives the bytes sent (a UTF-8 token's too).
    if not hmac.compare_digest(given.strip().encode("latin-1"), token):
        return JSONResponse({"message": "the admin token sent is not this mock's ADMIN_TOKEN"}, status_code=403)
    return None


def admin_only(endpoint: Endpoint, cors_origin_regex: str, admin_token: str | None = None) -> Endpoint:
    """`endpoint` with the admin checks: the admin token on every request when `admin_token` is given, and
    the origin and body checks on requests that change state (POST, PUT, PATCH, DELETE)."""
    origins = re.compile(cors_origin_regex)
    token = admin_token.encode("utf-8") if admin_token else None

    @functools.wraps(endpoint)
    async def checked(request: Request) -> Response:
        if token is not None and (refused := _token_refusal(request, token)) is not None:
            return refused
        if request.method in STATE_CHANGING:
            refusal = _refusal(request, origins)
            if refusal is None and "content-type" not in request.headers and await request.body():
                refusal = _not_json("a body without a Content-Type")
            if refusal is not None:
                return refusal
        return await endpoint(request)

    return checked


def reach(listen: tuple[str, int] | None, protected: bool = False) -> tuple[str, bool]:
    """Where the mock listens and who can reach it, one sentence for the landing page ("" in process), and
    whether other machines can; `protected`: the admin API asks for ADMIN_TOKEN."""
    if listen is None:
        return "", False
    host, port = listen
    where = f"{_literal(host)}:{port}"
    if is_loopback(host):
        return f"Listening on {where}: reachable from this machine only.", False
    every = " (every interface)" if _is_wildcard(host) else ""
    admin = "needs the admin token (ADMIN_TOKEN)" if protected else "has no authentication"
    sentence = f"Listening on {where}{every}: reachable from other machines. The admin API (/__mock) {admin}."
    return sentence, True


def _default_credentials(config: MockConfig, vendors: Sequence[Credentialed]) -> tuple[list[str], list[str]]:
    """Titles of the APIs with a secret still at its public default, and those secrets' variables."""
    titles, variables = [], []
    for vendor in vendors:
        defaults = vendor.defaults()
        given = {**defaults, **config.credentials_for(vendor.name)}
        found = [s.env for s in vendor.settings if s.secret and given[s.field] == defaults[s.field]]
        if found:
            titles.append(vendor.title)
            variables += found
    return titles, variables


def _listed(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def exposure_refusals(host: str, port: int, config: MockConfig, vendors: Sequence[Credentialed]) -> list[str]:
    """Why the mock may not listen on `host` as configured, one line each (none on loopback): beyond this
    machine the admin API needs ADMIN_TOKEN, every vendor secret its own value, and CORS its origins."""
    if is_loopback(host):
        return []
    where = f"listening on {_literal(host)}:{port} reaches other machines"
    found = []
    if not config.admin_token:
        found.append(
            f"{where}, so the admin API needs a token: set ADMIN_TOKEN (e.g. ADMIN_TOKEN=$(openssl rand -hex 32)) "
            "and send Authorization: Bearer <ADMIN_TOKEN> to /__mock"
        )
    _, variables = _default_credentials(config, vendors)
    if variables:
        are = "is the public mock default" if len(variables) == 1 else "are the public mock defaults"
        found.append(f"{where}, so the vendor credentials must be your own: {_listed(variables)} {are}; set them")
    if config.cors_origin_regex == "|".join(DEFAULT_CORS_ORIGINS):
        found.append(
            f"{where}, so CORS must name your frontends: set CORS_ORIGINS to a regex of their origins, "
            r"e.g. CORS_ORIGINS='https://app\.example\.com(:\d+)?'"
        )
    return found


def exposure_warning(host: str, port: int, config: MockConfig, vendors: Sequence[Credentialed]) -> str | None:
    """The start-up warning for a mock serving `vendors` and listening beyond loopback (None when it is not)."""
    if is_loopback(host):
        return None
    where = f"{_literal(host)}:{port}" + (" (every network interface)" if _is_wildcard(host) else "")
    points = [
        "The admin API (/__mock) answers only requests with the admin token (ADMIN_TOKEN); the vendor APIs "
        "those with the credentials set. Both travel in plain HTTP: put a TLS proxy in front (docs/DEPLOY.md)."
        if config.admin_token
        else "The admin API (/__mock) has no authentication: anyone who reaches the port can read every stored "
        "record (/__mock/state) and the request journal with its headers and bodies, and reset the state.",
    ]
    titles, variables = _default_credentials(config, vendors)
    if titles:
        points.append(
            f"The credentials of {', '.join(titles)} are the public defaults printed above: set "
            f"{_listed(variables)} to your own."
        )
    points.append(
        f"Requests must name the mock as {', '.join(served_names(config))} (any port); for other machines, "
        "list the names or addresses they use in ALLOWED_HOSTS, e.g. ALLOWED_HOSTS=mock.internal,192.168.1.20."
    )
    advice = (
        "To keep it on this machine, drop --host (127.0.0.1 is the default); otherwise listen on one trusted "
        "interface, firewall the port, and keep only synthetic data in it."
    )
    lines = [f"WARNING: the mock listens on {where}: other machines can reach it."]
    lines += [textwrap.fill(p, WIDTH, initial_indent="  - ", subsequent_indent="    ") for p in points]
    lines.append(textwrap.fill(advice, WIDTH, initial_indent="  ", subsequent_indent="  "))
    return "\n".join(lines)
