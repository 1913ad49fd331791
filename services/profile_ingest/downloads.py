"""One image from the provider's CDN, fetched the way nothing from outside may steer us: only from the
configured image hosts, through libs/webhooks' checked session (no private, link-local or loopback
address, checked again at connect time; no redirects, no proxy, a timeout), and kept only when it is
what it claims to be: an image type we serve, within the size limit, its first bytes agreeing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp
from yarl import URL

from libs.blobs.keys import EXTENSIONS
from libs.webhooks import outbound

USER_AGENT = "ViralSpot-Media/1.0"
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Image:
    data: bytes
    content_type: str


class ImageRefused(Exception):
    """Not copied. `reason` is a metric label (a small fixed set); a transient refusal (a timeout, a 5xx)
    is worth trying again, a permanent one (a host not allowed, a 403, not an image) is not."""

    def __init__(self, reason: str, detail: str, *, transient: bool = False) -> None:
        super().__init__(detail)
        self.reason = reason
        self.transient = transient


def host_allowed(host: str, allowed: Sequence[str]) -> bool:
    """`allowed` holds host names, or `*.domain` for any host under it (not the domain itself)."""
    host = host.lower().removesuffix(".")
    for pattern in allowed:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]):
                return True
        elif host == pattern:
            return True
    return False


def sniffed_type(data: bytes) -> str | None:
    """The image type the bytes begin with, whatever the answer's header said."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


class ImageFetcher:
    """`private_hosts`: allowed hosts that live on our own network (the simulator's container in docker
    compose), fetched without the address checks; never a provider's host."""

    def __init__(
        self, *, allowed_hosts: Sequence[str], allow_loopback: bool, max_bytes: int, timeout_s: float,
        private_hosts: Sequence[str] = (),
    ) -> None:  # fmt: skip
        self.allowed_hosts = tuple(h.lower() for h in allowed_hosts)
        self.private_hosts = tuple(h.lower() for h in private_hosts)
        self.allow_loopback = allow_loopback
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self._sessions: dict[bool, aiohttp.ClientSession] = {}

    def _client(self, private: bool) -> aiohttp.ClientSession:
        if private not in self._sessions:  # made inside the running loop, on first use
            if private:
                self._sessions[private] = aiohttp.ClientSession(
                    timeout=aiohttp.ClientTimeout(total=self.timeout_s), cookie_jar=aiohttp.DummyCookieJar(),
                    trust_env=False, auto_decompress=False, headers={"User-Agent": USER_AGENT},
                )  # fmt: skip
            else:
                self._sessions[private] = outbound.session(
                    allow_loopback=self.allow_loopback, timeout_s=self.timeout_s, user_agent=USER_AGENT
                )
        return self._sessions[private]

    async def close(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            await session.close()

    def check(self, url: str) -> bool:
        """Before any connection: a URL we may fetch at all (raises ImageRefused); True for a private host."""
        host = (URL(url).raw_host or "").lower() if url.startswith(("http://", "https://")) else ""
        if host and host_allowed(host, self.private_hosts) and host_allowed(host, self.allowed_hosts):
            return True
        try:
            outbound.check_url(url, allow_loopback=self.allow_loopback)
        except ValueError as exc:
            raise ImageRefused("unsafe_url", str(exc)) from None
        if not host_allowed(host, self.allowed_hosts):
            raise ImageRefused("host_not_allowed", f"{host} is not one of MEDIA_ALLOWED_HOSTS")
        return False

    async def fetch(self, url: str) -> Image:
        private = self.check(url)
        headers = {"Accept": "image/*", "Accept-Encoding": "identity"}
        try:
            async with self._client(private).get(url, headers=headers, allow_redirects=False) as response:
                return await self._image(response)
        except outbound.UnsafeAddress as exc:
            raise ImageRefused("unsafe_url", exc.reason) from None
        except TimeoutError:
            raise ImageRefused("timeout", "the image host did not answer in time", transient=True) from None
        except aiohttp.ClientError as exc:
            raise ImageRefused("connection", f"connection failed: {exc}"[:300], transient=True) from None

    async def _image(self, response: aiohttp.ClientResponse) -> Image:
        if response.status != 200:
            transient = response.status in (408, 429) or response.status >= 500
            raise ImageRefused(
                "http_status", f"the image host answered {response.status}", transient=transient
            )
        content_type = response.content_type.lower()
        if (
            content_type not in EXTENSIONS
            or response.headers.get("Content-Encoding", "identity") != "identity"
        ):
            raise ImageRefused("not_image", f"the answer is {content_type}, not an image we keep")
        if response.content_length is not None and response.content_length > self.max_bytes:
            raise ImageRefused("too_large", f"{response.content_length} bytes, over {self.max_bytes}")
        data = bytearray()
        while chunk := await response.content.read(_CHUNK):
            data += chunk
            if len(data) > self.max_bytes:
                response.close()  # the rest is never read
                raise ImageRefused("too_large", f"over {self.max_bytes} bytes")
        if sniffed_type(bytes(data)) != content_type:
            raise ImageRefused("not_image", f"the bytes are not the {content_type} the answer claims")
        return Image(bytes(data), content_type)
