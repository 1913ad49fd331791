"""Webhook deliveries against a real receiver on 127.0.0.1: the signed body arrives, redirects are not
followed, slow receivers time out, and loopback (by address, by name, by a re-pointed name) is refused
unless development mode allows it, before any connection is made."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from libs.webhooks import outbound
from libs.webhooks.outbound import CheckedResolver, UnsafeAddress, deliver, resolve_checked
from libs.webhooks.signing import signature_header, verify

SECRET = "whsec_test"
BODY = b'{"id":"dlv_1","type":"analysis.completed","data":{}}'


@dataclass
class Receiver:
    port: int
    seen: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)

    def url(self, path: str, host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    @property
    def paths(self) -> list[str]:
        return [path for path, _, _ in self.seen]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver(port=0)

    async def record(request: web.Request) -> None:
        state.seen.append((request.path, await request.read(), dict(request.headers)))

    async def hook(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(status=200, text="ok")

    async def redirect(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(status=302, headers={"Location": "/elsewhere"})

    async def elsewhere(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(status=200)

    async def slow(request: web.Request) -> web.Response:
        await record(request)
        await asyncio.sleep(5)
        return web.Response(status=200)

    async def huge(request: web.Request) -> web.StreamResponse:
        await record(request)
        response = web.StreamResponse(status=200)
        await response.prepare(request)
        for _ in range(64):  # 4 MiB: the client must not read (or wait for) all of it
            await response.write(b"x" * 65536)
        return response

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_post("/redirect", redirect)
    app.router.add_route("*", "/elsewhere", elsewhere)
    app.router.add_post("/slow", slow)
    app.router.add_post("/huge", huge)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.port = runner.addresses[0][1]
    yield state
    await runner.cleanup()


@pytest.fixture
async def listener() -> AsyncIterator[tuple[int, list[int]]]:
    """A bare TCP port that counts connections: proof that a refused delivery never connected at all."""
    connections: list[int] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1], connections
    server.close()
    await server.wait_closed()


def fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[list[str]]]) -> list[str]:
    """Make the loop's getaddrinfo answer for test names; each lookup takes the next answer in its list."""
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo
    asked: list[str] = []

    async def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in answers:
            return await real(host, port, *args, **kwargs)
        asked.append(host)
        queue = answers[host]
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        infos: list[Any] = []
        for address in addresses:
            if ":" in address:
                infos.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, int(port), 0, 0)))
            else:
                infos.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port))))
        return infos

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    return asked


def signed_headers(timestamp: int) -> dict[str, str]:
    return {"X-ViralSpot-Signature": signature_header(SECRET, timestamp, BODY)}


async def test_a_delivery_arrives_with_its_exact_body_and_a_valid_signature(receiver: Receiver) -> None:
    now = int(time.time())
    async with outbound.session(allow_loopback=True, timeout_s=5) as http:
        result = await deliver(http, receiver.url("/hook"), BODY, signed_headers(now))
    assert result.ok and result.status == 200 and result.error is None
    assert result.duration_ms > 0
    [(path, body, headers)] = receiver.seen
    assert path == "/hook" and body == BODY
    assert headers["Content-Type"] == "application/json"
    assert verify(SECRET, headers["X-ViralSpot-Signature"], body, now=now)
    assert not verify("whsec_other", headers["X-ViralSpot-Signature"], body, now=now)


async def test_a_delivery_by_loopback_name_works_in_development(receiver: Receiver) -> None:
    async with outbound.session(allow_loopback=True, timeout_s=5) as http:
        result = await deliver(http, receiver.url("/hook", host="localhost"), BODY, signed_headers(0))
    assert result.ok, result
    assert receiver.paths == ["/hook"]


async def test_a_redirect_is_not_followed_and_is_a_failure(receiver: Receiver) -> None:
    async with outbound.session(allow_loopback=True, timeout_s=5) as http:
        result = await deliver(http, receiver.url("/redirect"), BODY, signed_headers(0))
    assert result.status == 302 and result.error is None
    assert not result.ok
    assert receiver.paths == ["/redirect"]  # /elsewhere never asked


async def test_a_receiver_slower_than_the_timeout_is_a_timeout(receiver: Receiver) -> None:
    started = time.monotonic()
    async with outbound.session(allow_loopback=True, timeout_s=0.3) as http:
        result = await deliver(http, receiver.url("/slow"), BODY, signed_headers(0))
    assert result.status is None and result.error == "timeout" and not result.ok
    assert time.monotonic() - started < 3
    assert receiver.paths == ["/slow"]


async def test_a_huge_answer_is_not_read_to_its_end(receiver: Receiver) -> None:
    async with outbound.session(allow_loopback=True, timeout_s=5) as http:
        result = await deliver(http, receiver.url("/huge"), BODY, signed_headers(0))
    assert result.ok and result.status == 200


async def test_a_closed_port_is_a_connection_failure_not_an_exception(
    listener: tuple[int, list[int]],
) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    async with outbound.session(allow_loopback=True, timeout_s=5) as http:
        result = await deliver(http, f"http://127.0.0.1:{port}/hook", BODY, {})
    assert result.status is None and not result.ok
    assert result.error is not None and result.error.startswith("connection failed")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "0x7f.1", "2130706433"])
async def test_loopback_is_refused_without_allow_loopback_before_any_request(
    receiver: Receiver, host: str
) -> None:
    async with outbound.session(allow_loopback=False, timeout_s=5) as http:
        result = await deliver(http, receiver.url("/hook", host=host), BODY, signed_headers(0))
    assert result.status is None and not result.ok
    assert result.error is not None and "unsafe webhook address" in result.error
    assert receiver.seen == []


async def test_the_session_itself_refuses_loopback_whoever_calls_it(receiver: Receiver) -> None:
    async with outbound.session(allow_loopback=False, timeout_s=5) as http:
        with pytest.raises(UnsafeAddress):
            await http.post(receiver.url("/hook"), data=BODY)
    assert receiver.seen == []


async def test_resolve_checked_refuses_a_name_that_resolves_to_loopback() -> None:
    with pytest.raises(UnsafeAddress, match="loopback"):
        await resolve_checked("localhost", 443, allow_loopback=False)
    assert "127.0.0.1" in await resolve_checked("localhost", 443, allow_loopback=True)


async def test_the_resolver_refuses_a_name_resolving_to_loopback() -> None:
    """Below check_url (which refuses the name localhost already): the connector's own resolver."""
    resolver = CheckedResolver(allow_loopback=False)
    with pytest.raises(UnsafeAddress, match="loopback"):
        await resolver.resolve("localhost", 443, family=socket.AF_UNSPEC)


async def test_one_bad_address_among_good_ones_refuses_the_name(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(
        monkeypatch, {"mixed.example": [["93.184.216.34", "10.0.0.7"]], "good.example": [["93.184.216.34"]]}
    )
    assert await resolve_checked("good.example", 443, allow_loopback=False) == ["93.184.216.34"]
    with pytest.raises(UnsafeAddress, match="private"):
        await resolve_checked("mixed.example", 443, allow_loopback=False)


@pytest.mark.parametrize(
    "address", ["169.254.169.254", "fe80::1", "::ffff:10.0.0.1", "100.64.0.1", "0.0.0.0"]
)
async def test_resolve_checked_refuses_internal_answers(
    monkeypatch: pytest.MonkeyPatch, address: str
) -> None:
    fake_dns(monkeypatch, {"internal.example": [[address]]})
    with pytest.raises(UnsafeAddress):
        await resolve_checked("internal.example", 443, allow_loopback=True)


async def test_resolve_checked_reports_a_name_that_does_not_resolve() -> None:
    with pytest.raises(ValueError, match="does not resolve"):
        await resolve_checked("no-such-host.invalid", 443, allow_loopback=False)


async def test_a_name_re_pointed_at_loopback_after_registration_is_refused_at_connect(
    monkeypatch: pytest.MonkeyPatch, listener: tuple[int, list[int]]
) -> None:
    """DNS rebinding: public at registration, 127.0.0.1 at delivery; the delivery never connects."""
    port, connections = listener
    asked = fake_dns(monkeypatch, {"rebind.example": [["93.184.216.34"], ["127.0.0.1"]]})
    url = outbound.check_url(f"https://rebind.example:{port}/hook", allow_loopback=False)
    assert await resolve_checked("rebind.example", port, allow_loopback=False) == ["93.184.216.34"]
    async with outbound.session(allow_loopback=False, timeout_s=5) as http:
        result = await deliver(http, url, BODY, signed_headers(0))
    assert asked == ["rebind.example", "rebind.example"]
    assert result.status is None and not result.ok
    assert result.error is not None and "127.0.0.1" in result.error
    assert connections == []
