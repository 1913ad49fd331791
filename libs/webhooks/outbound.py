"""Outbound webhook requests that cannot be pointed at our own network (no SSRF through a registered URL).

Three layers: check_url at registration (syntax, IP literals), resolve_checked at registration (what the
name resolves to now), and a session whose connector checks the URL and whose resolver checks every
address again at connect time, so a name re-pointed at 10.x or 169.254.169.254 after registration
(DNS rebinding) is refused too.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.abc import ResolveResult
from aiohttp.resolver import ThreadedResolver
from multidict import CIMultiDict
from yarl import URL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048
# Receivers answer with a status; a body is only read so the connection can be reused, never kept.
MAX_RESPONSE_BYTES = 4096
USER_AGENT = "ViralSpot-Webhooks/1.0"
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")  # carrier-grade NAT: not global, yet not is_private
_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
# The WHATWG URL rule (and inet_aton): a host whose last label is a number is an IPv4 address.
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")


class UnsafeAddress(ValueError):
    """The URL or an address it resolves to is not a public internet address we may call."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"unsafe webhook address: {reason}")
        self.reason = reason


def address_refusal(ip: IPAddress, *, allow_loopback: bool) -> str | None:
    """Why this address may not be called, or None when it is a public (or allowed loopback) address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return f"{ip} carries an interface scope"
        if ip.ipv4_mapped is not None:
            # ::ffff:a.b.c.d is that IPv4 address on a dual-stack socket: judge it as such.
            why = address_refusal(ip.ipv4_mapped, allow_loopback=allow_loopback)
            return f"{ip} maps to {why}" if why else None
        teredo = ip.teredo or ()
        for inner in (ip.sixtofour, *teredo):
            if inner is not None and (why := address_refusal(inner, allow_loopback=False)):
                return f"{ip} wraps {inner}, {why}"
    if ip.is_loopback:
        return None if allow_loopback else f"{ip} is a loopback address"
    if ip.is_unspecified:
        return f"{ip} is unspecified (it reaches this host)"
    if ip.is_link_local:
        return f"{ip} is link-local (cloud metadata lives there)"
    if ip.is_multicast:
        return f"{ip} is multicast"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return f"{ip} is shared address space (100.64.0.0/10)"
    if ip.is_private:
        return f"{ip} is a private address"
    if ip.is_reserved or not ip.is_global:
        return f"{ip} is reserved, not a public address"
    return None


def _ip_literal(host: str) -> IPAddress | None:
    """The address if host is an IP literal; raises for forms that different parsers read differently."""
    if ":" in host:
        if "%" in host:
            raise UnsafeAddress("IPv6 addresses with an interface scope are not allowed")
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise UnsafeAddress(f"{host!r} is not a valid IPv6 address") from None
    name = host.removesuffix(".")
    if _NUMERIC_LABEL.match(name.rsplit(".", 1)[-1]):
        # 0x7f.1, 2130706433, 0177.0.0.1, 127.1 all reach 127.0.0.1 through inet_aton: accept only the
        # canonical dotted quad (ipaddress refuses leading zeros, hex and short forms).
        try:
            ip = ipaddress.IPv4Address(name)
        except ValueError:
            raise UnsafeAddress(
                f"{host!r} is an ambiguous numeric host; write an IPv4 address as four decimal numbers"
            ) from None
        return ip
    return None


def _is_localhost(name: str) -> bool:
    # RFC 6761: localhost and every name under it are loopback, whatever DNS says.
    name = name.removesuffix(".")
    return name == "localhost" or name.endswith(".localhost")


def check_url(url: str, *, allow_loopback: bool) -> str:
    """The normalised URL, or ValueError (UnsafeAddress for what could reach our network) with a reason.

    Syntax only, no DNS: https (http only for loopback in development), no user:password@, a host,
    no fragment, at most MAX_URL_LENGTH characters; an IP-literal host must be a public address.
    """
    if not url:
        raise ValueError("a URL is required")
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise ValueError("the URL contains whitespace or control characters")
    if "#" in url:
        raise ValueError("the URL must not contain a fragment (#...)")
    try:
        parsed = URL(url)
    except ValueError as exc:
        raise ValueError(f"not a valid URL: {exc}") from None
    if parsed.scheme not in ("https", "http"):
        raise UnsafeAddress("the URL must start with https://")
    # yarl drops an empty userinfo ("https://@host"); look at the authority as written.
    authority = url.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0]
    if "@" in authority or parsed.user is not None or parsed.password is not None:
        raise ValueError("credentials in the URL (user:password@) are not allowed")
    host = parsed.raw_host
    if not host or not parsed.is_absolute():
        raise ValueError("the URL has no host")
    if parsed.explicit_port == 0:
        raise ValueError("port 0 is not a valid port")

    ip = _ip_literal(host)
    if ip is not None:
        if why := address_refusal(ip, allow_loopback=allow_loopback):
            raise UnsafeAddress(why)
        mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
        loopback = (mapped or ip).is_loopback
    else:
        name = host.removesuffix(".")
        if len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):
            raise ValueError(f"{host!r} is not a valid host name")
        loopback = _is_localhost(name)
        if loopback and not allow_loopback:
            raise UnsafeAddress(f"{host} is a loopback name")
    if parsed.scheme == "http" and not (allow_loopback and loopback):
        raise UnsafeAddress("the URL must use https:// (plain http only for loopback in development)")
    return str(parsed)


class CheckedResolver(ThreadedResolver):
    """The loop's getaddrinfo (run in the executor, so nothing blocks the loop), refusing the whole
    answer when any address is not public: the connection can then only go to a checked address."""

    def __init__(self, *, allow_loopback: bool) -> None:
        super().__init__()
        self.allow_loopback = allow_loopback

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await super().resolve(host, port, family)
        for result in results:
            try:
                ip = ipaddress.ip_address(result["host"])
            except ValueError:
                raise UnsafeAddress(f"{host} resolves to {result['host']!r}, not an address") from None
            if why := address_refusal(ip, allow_loopback=self.allow_loopback):
                raise UnsafeAddress(f"{host} resolves to {why}")
        return results


async def resolve_checked(host: str, port: int, *, allow_loopback: bool) -> list[str]:
    """The addresses host resolves to now, all of them checked; UnsafeAddress if any is refused,
    ValueError if the name does not resolve. For registration; deliveries check again at connect."""
    host = host.removeprefix("[").removesuffix("]")
    resolver = CheckedResolver(allow_loopback=allow_loopback)
    try:
        results = await resolver.resolve(host, port, family=socket.AF_UNSPEC)
    except OSError as exc:
        raise ValueError(f"{host} does not resolve ({exc.strerror or exc})") from None
    finally:
        await resolver.close()
    if not results:
        raise ValueError(f"{host} does not resolve")
    return list(dict.fromkeys(result["host"] for result in results))


class _CheckedConnector(aiohttp.TCPConnector):
    """aiohttp does not ask the resolver about IP-literal hosts, so the URL is checked here as well."""

    def __init__(self, *, allow_loopback: bool, **kwargs: Any) -> None:
        super().__init__(resolver=CheckedResolver(allow_loopback=allow_loopback), **kwargs)
        self.allow_loopback = allow_loopback

    # The signature is aiohttp's BaseConnector.connect; its timeout is aiohttp's, not ours to replace.
    async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:  # noqa: ASYNC109
        check_url(str(req.url), allow_loopback=self.allow_loopback)
        return await super().connect(req, traces, timeout)


def session(*, allow_loopback: bool, timeout_s: float, user_agent: str = USER_AGENT) -> aiohttp.ClientSession:
    """A ClientSession for deliveries, or any request that must not reach our own network (profile-ingest's
    image copies). Create it inside the running loop; close it on shutdown."""
    connector = _CheckedConnector(
        allow_loopback=allow_loopback,
        limit=100,
        # One slow receiver must not take every connection from the others.
        limit_per_host=8,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=timeout_s),
        # A receiver's cookies must not come back to it (or to another receiver) on the next delivery.
        cookie_jar=aiohttp.DummyCookieJar(),
        # No HTTP(S)_PROXY from the environment: the connection goes where the checks say.
        trust_env=False,
        # The response body is discarded: no reason to inflate a compressed one.
        auto_decompress=False,
        headers={"User-Agent": user_agent},
    )


@dataclass(frozen=True)
class Outcome:
    status: int | None
    error: str | None
    duration_ms: float

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


async def _discard_body(response: aiohttp.ClientResponse) -> None:
    """Read at most MAX_RESPONSE_BYTES; a longer (or stalled) answer costs its connection instead."""
    read = 0
    try:
        while read < MAX_RESPONSE_BYTES:
            chunk = await response.content.read(MAX_RESPONSE_BYTES - read)
            if not chunk:
                return
            read += len(chunk)
        if not response.content.at_eof():
            response.close()
    except (aiohttp.ClientError, TimeoutError):
        # The status is what counts and it has arrived; the body was going to be thrown away.
        response.close()


async def deliver(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: Mapping[str, str]
) -> Outcome:
    """POST one delivery. Never raises for timeouts, connection errors or refused addresses: they, like
    a non-2xx or a 3xx (redirects are not followed: a redirect could point anywhere), are a failure."""
    request_headers = CIMultiDict({"Content-Type": "application/json"})
    request_headers.update(headers)
    started = time.monotonic()

    def outcome(status: int | None, error: str | None) -> Outcome:
        return Outcome(status=status, error=error, duration_ms=(time.monotonic() - started) * 1000)

    try:
        async with session.post(url, data=body, headers=request_headers, allow_redirects=False) as response:
            await _discard_body(response)
            return outcome(response.status, None)
    except UnsafeAddress as exc:
        return outcome(None, exc.args[0])
    except TimeoutError:
        return outcome(None, "timeout")
    except aiohttp.ClientError as exc:
        return outcome(None, f"connection failed: {_short(exc)}")
    except (OSError, ValueError) as exc:
        return outcome(None, f"request failed: {_short(exc)}")
