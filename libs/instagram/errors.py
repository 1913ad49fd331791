"""What can go wrong when asking the provider about an account, in words a user can read.

`transient` tells callers whether trying again later can help; `outcome` is the metrics label.
"""

from __future__ import annotations


class ProviderError(Exception):
    transient = False
    outcome = "error"


class AccountNotFound(ProviderError):
    outcome = "not_found"

    def __init__(self, username: str) -> None:
        super().__init__(f"Instagram account '{username}' was not found")
        self.username = username


class AccountPrivate(ProviderError):
    outcome = "private"

    def __init__(self, username: str) -> None:
        super().__init__(f"Instagram account '{username}' is private")
        self.username = username


class MediaNotFound(ProviderError):
    outcome = "not_found"

    def __init__(self, shortcode: str) -> None:
        super().__init__(f"Instagram reel '{shortcode}' was not found")
        self.shortcode = shortcode


class ProviderBadResponse(ProviderError):
    """The provider answered, but with something we cannot read; retrying would get the same."""

    outcome = "bad_response"


class ProviderRejected(ProviderError):
    """A 4xx other than 404 and 429: the request or our subscription is wrong, not the account."""

    outcome = "rejected"

    def __init__(self, provider: str, status: int, detail: str) -> None:
        super().__init__(f"The Instagram {provider} API rejected the request (HTTP {status}): {detail}")
        self.provider = provider
        self.status = status


class ProviderUnavailable(ProviderError):
    """Raised only after every retry failed with a 5xx, a timeout or a connection error."""

    transient = True
    outcome = "unavailable"

    def __init__(
        self,
        provider: str,
        attempts: int,
        last_status: int | None,
        last_reason: str,
        message: str | None = None,
    ) -> None:
        last = f"HTTP {last_status}" if last_status is not None else last_reason
        super().__init__(
            message or f"The Instagram {provider} API is unavailable after {attempts} attempts (last: {last})"
        )
        self.provider = provider
        self.attempts = attempts
        self.last_status = last_status
        self.last_reason = last_reason


class ProviderRateLimited(ProviderUnavailable):
    """Still answered 429 after every retry; the per-minute quota is spent for now."""

    outcome = "rate_limited"

    def __init__(self, provider: str, attempts: int, retry_after_s: float | None = None) -> None:
        message = f"The Instagram {provider} API is rate limiting us (HTTP 429 after {attempts} attempts)"
        super().__init__(provider, attempts, 429, "rate limited", message)
        self.retry_after_s = retry_after_s
