"""The Instagram provider as the rest of ViralSpot sees it: profiles, reels, posts, similar accounts,
transcripts."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from types import TracebackType
from urllib.parse import urlparse

import aiohttp

from libs.backoff import RetryPolicy

from .errors import AccountNotFound, MediaNotFound
from .models import Post, Profile, Reel, SimilarAccount, reel_url
from .normalise import (
    parse_media,
    parse_posts_page,
    parse_profile,
    parse_reels_page,
    parse_similar_accounts,
    parse_transcript,
)
from .transport import ProviderTransport

_USERNAME = re.compile(r"^[A-Za-z0-9._]{1,30}$")
_SHORTCODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Without configuration the client talks to the local simulator, which accepts any non-empty key.
_DEFAULT_URL = "http://127.0.0.1:8100"
_DEFAULT_KEY = "local-simulator"
# The scraper bills per request, not per item: ask for full pages even when few posts remain.
_POSTS_PAGE_SIZE = 50


class InstagramProvider:
    def __init__(
        self,
        session: aiohttp.ClientSession | None = None,
        *,
        scraper_base_url: str,
        transcript_base_url: str,
        api_key: str,
        scraper_host: str = "instagram-scraper-stable-api",
        transcript_host: str = "instagram-transcripts",
        timeout_s: float = 15.0,
        max_retries: int = 4,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 20.0,
        rate_limit_per_minute: float = 600,
        connection_limit: int = 32,
    ) -> None:
        self._session = session
        self._owns_session = session is None
        self._connection_limit = connection_limit
        retry = RetryPolicy(max_retries, backoff_base_s, backoff_max_s)
        # Each upstream API has its own quota, so each gets its own bucket.
        self.scraper = ProviderTransport(
            "scraper",
            base_url=scraper_base_url,
            host=scraper_host,
            api_key=api_key,
            session=self._client_session,
            timeout_s=timeout_s,
            retry=retry,
            rate_limit_per_minute=rate_limit_per_minute,
        )
        self.transcripts = ProviderTransport(
            "transcript",
            base_url=transcript_base_url,
            host=transcript_host,
            api_key=api_key,
            session=self._client_session,
            timeout_s=timeout_s,
            retry=retry,
            rate_limit_per_minute=rate_limit_per_minute,
        )

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, session: aiohttp.ClientSession | None = None
    ) -> InstagramProvider:
        env = os.environ if env is None else env
        scraper_url = env.get("INSTAGRAM_SCRAPER_URL") or _DEFAULT_URL
        return cls(
            session,
            scraper_base_url=scraper_url,
            transcript_base_url=env.get("TRANSCRIPT_API_URL") or scraper_url,
            api_key=env.get("RAPIDAPI_KEY") or _DEFAULT_KEY,
            scraper_host=env.get("INSTAGRAM_SCRAPER_HOST") or "instagram-scraper-stable-api",
            transcript_host=env.get("TRANSCRIPT_API_HOST") or "instagram-transcripts",
            timeout_s=float(env.get("PROVIDER_TIMEOUT_S") or 15.0),
            max_retries=int(env.get("PROVIDER_MAX_RETRIES") or 4),
            backoff_base_s=float(env.get("PROVIDER_BACKOFF_BASE_S") or 0.5),
            backoff_max_s=float(env.get("PROVIDER_BACKOFF_MAX_S") or 20.0),
            rate_limit_per_minute=float(env.get("PROVIDER_RATE_LIMIT_PER_MINUTE") or 600),
        )

    async def __aenter__(self) -> InstagramProvider:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Closes the session only if we created it; a caller's session stays the caller's."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def get_profile(self, username: str) -> Profile:
        name = account_username(username)
        return await self.scraper.fetch(
            "profile",
            "POST",
            "/ig_get_fb_profile.php",
            lambda payload: parse_profile(payload, name),
            data={"username_or_url": name},
            username=name,
        )

    async def get_reels(
        self, username: str, limit: int = 100, page_size: int = 50, since: datetime | None = None
    ) -> list[Reel]:
        """Newest first, up to `limit`; with `since`, only reels published at or after it."""
        name = account_username(username)
        since = since.replace(tzinfo=UTC) if since is not None and since.tzinfo is None else since
        reels: list[Reel] = []
        seen: set[str] = set()
        token: str | None = None
        while len(reels) < limit:
            form = {"username_or_url": name, "amount": str(min(page_size, limit - len(reels)))}
            if token:
                form["pagination_token"] = token
            page, next_token = await self.scraper.fetch(
                "reels",
                "POST",
                "/get_ig_user_reels.php",
                lambda payload: parse_reels_page(payload, name),
                data=form,
                username=name,
            )
            for reel in page:
                if reel.pk in seen or (since is not None and reel.taken_at < since):
                    continue
                seen.add(reel.pk)
                reels.append(reel)
            # Judge by the page's oldest reel, so an old pinned reel at the top does not stop us early.
            reached_since = since is not None and bool(page) and page[-1].taken_at < since
            if not page or not next_token or next_token == token or reached_since:
                break
            token = next_token
        return reels[:limit]

    async def get_posts(self, username: str, *, limit: int = 50, max_pages: int | None = None) -> list[Post]:
        """The creator's image and carousel posts in the grid's order (newest first), up to `limit`.
        Reels on the grid are left out, so a page can yield fewer posts than it held and paging goes on,
        for at most `max_pages` pages (a caller on a latency budget takes what one page gives)."""
        name = account_username(username)
        posts: list[Post] = []
        seen: set[str] = set()
        tokens: set[str] = set()
        token: str | None = None
        pages = 0
        while len(posts) < limit and (max_pages is None or pages < max_pages):
            pages += 1
            form = {"username_or_url": name, "amount": str(min(_POSTS_PAGE_SIZE, limit))}
            if token:
                form["pagination_token"] = token
            page, next_token, items = await self.scraper.fetch(
                "posts",
                "POST",
                "/get_ig_user_posts.php",
                lambda payload: parse_posts_page(payload, name),
                data=form,
                username=name,
            )
            for post in page:
                if post.pk not in seen:
                    seen.add(post.pk)
                    posts.append(post)
            # A token seen before means the provider is going round in circles.
            if not items or not next_token or next_token in tokens:
                break
            tokens.add(next_token)
            token = next_token
        return posts[:limit]

    async def get_media(self, shortcode: str) -> Reel:
        code = reel_shortcode(shortcode)
        return await self.scraper.fetch(
            "media",
            "GET",
            "/get_media_data.php",
            lambda payload: parse_media(payload, code),
            params={"reel_post_code_or_url": code, "type": "reel"},
            subject=code,
        )

    async def get_similar_accounts(self, username: str) -> list[SimilarAccount]:
        name = account_username(username)
        return await self.scraper.fetch(
            "similar_accounts",
            "GET",
            "/get_ig_similar_accounts.php",
            lambda payload: parse_similar_accounts(payload, name),
            params={"username_or_url": name},
            username=name,
        )

    async def get_transcript(self, reel: str) -> str | None:
        """The reel's spoken words; None when it has no speech. Takes a reel URL or a shortcode."""
        url = reel if reel.startswith(("http://", "https://")) else reel_url(reel_shortcode(reel))
        return await self.transcripts.fetch(
            "transcript",
            "GET",
            "/transcript",
            lambda payload: parse_transcript(payload, url),
            params={"url": url, "chunkSize": "500", "text": "false"},
            subject=url,
        )

    def _client_session(self) -> aiohttp.ClientSession:
        if self._session is None or (self._owns_session and self._session.closed):
            connector = aiohttp.TCPConnector(limit=self._connection_limit, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(connector=connector)
            self._owns_session = True
        return self._session


def account_username(value: str) -> str:
    """Accepts `name`, `@name` or a profile URL; an impossible name is an account that does not exist."""
    text = value.strip()
    if "instagram.com" in text:
        parts = _path_parts(text)
        text = parts[0] if parts else ""
    text = text.lstrip("@").lower()
    if not _USERNAME.match(text):
        raise AccountNotFound(value)
    return text


def reel_shortcode(value: str) -> str:
    """Accepts a shortcode or a reel/post URL."""
    text = value.strip()
    if "/" in text:
        parts = _path_parts(text)
        text = parts[1] if len(parts) >= 2 and parts[0] in ("reel", "reels", "p", "tv") else ""
    if not _SHORTCODE.match(text):
        raise MediaNotFound(value)
    return text


def _path_parts(url: str) -> list[str]:
    path = urlparse(url if "//" in url else f"https://{url}").path
    return [part for part in path.split("/") if part]
