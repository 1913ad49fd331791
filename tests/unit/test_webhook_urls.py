"""Registered webhook URLs (syntax and IP literals, no DNS) and the delivery retry schedule."""

from __future__ import annotations

import ipaddress
import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest

from libs.backoff import exponential
from libs.webhooks.outbound import UnsafeAddress, address_refusal, check_url
from libs.webhooks.retry import gives_up, next_attempt_delay


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("https://example.com/hook", "https://example.com/hook"),
        ("HTTPS://Example.COM:443/hook?x=1", "https://example.com/hook?x=1"),
        ("https://hooks.example.com:8443/a/b", "https://hooks.example.com:8443/a/b"),
        ("https://bücher.de/hook", "https://xn--bcher-kva.de/hook"),
        ("https://8.8.8.8/hook", "https://8.8.8.8/hook"),
        ("https://[2606:4700::1111]/hook", "https://[2606:4700::1111]/hook"),
    ],
)
def test_public_https_urls_are_accepted(url: str, normalised: str) -> None:
    assert check_url(url, allow_loopback=False) == normalised


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",  # plain http, not loopback
        "ftp://example.com/hook",
        "example.com/hook",
        "https://10.0.0.1/",
        "https://192.168.1.1/",
        "https://172.16.0.1/",
        "https://169.254.169.254/latest/meta-data/",  # the cloud metadata address
        "https://100.64.0.1/",  # shared (carrier-grade NAT)
        "https://0.0.0.0/",
        "https://127.0.0.1/",
        "https://[::1]/",
        "https://[fe80::1]/",
        "https://[fe80::1%25eth0]/",
        "https://[::ffff:10.0.0.1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:169.254.169.254]/",
        "https://[2002:a9fe:a9fe::]/",  # 6to4 wrapping 169.254.169.254
        "https://[fc00::1]/",
        "https://[::]/",
        "https://224.0.0.1/",
        "https://240.0.0.1/",
        "https://255.255.255.255/",
        "https://0x7f.1/",
        "https://0x7f000001/",
        "https://2130706433/",
        "https://017700000001/",
        "https://0177.0.0.1/",
        "https://127.1/",
        "https://10.1/",
        "https://1.2.3.4.5/",
        "https://localhost/",
        "https://api.localhost/",
    ],
)
def test_unsafe_addresses_are_refused(url: str) -> None:
    with pytest.raises(UnsafeAddress):
        check_url(url, allow_loopback=False)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://user:pass@example.com/", "credentials"),
        ("https://user@example.com/", "credentials"),
        ("https://@example.com/", "credentials"),
        ("https://example.com/hook#part", "fragment"),
        ("https://example.com/hook#", "fragment"),
        ("https:///hook", "host"),
        ("", "required"),
        ("https://example.com/" + "a" * 2030, "2048"),
        ("https://exa mple.com/", "whitespace"),
        ("https://example.com/\n", "whitespace"),
        ("https://a..b/", "host name"),
        ("https://example.com:0/", "port"),
        ("https://example.com\\@evil.com/", "valid URL"),
    ],
)
def test_malformed_urls_are_refused_with_a_reason(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_url(url, allow_loopback=False)


def test_the_length_limit_is_2048_characters() -> None:
    base = "https://example.com/"
    assert check_url(base + "a" * (2048 - len(base)), allow_loopback=False)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080/hook", "http://localhost:8080/hook", "http://[::1]:8080/", "https://127.0.0.1/"],
)
def test_loopback_only_with_allow_loopback(url: str) -> None:
    assert check_url(url, allow_loopback=True) == url
    with pytest.raises(UnsafeAddress, match="loopback"):
        check_url(url, allow_loopback=False)


@pytest.mark.parametrize(
    "url", ["http://10.0.0.1/", "http://example.com/", "https://169.254.169.254/", "https://0.0.0.0/"]
)
def test_allow_loopback_allows_nothing_but_loopback(url: str) -> None:
    with pytest.raises(UnsafeAddress):
        check_url(url, allow_loopback=True)


@pytest.mark.parametrize(
    "address",
    ["10.0.0.1", "::ffff:a00:1", "2002:a00:1::", "2001:0:4136:e378:8000:63bf:f5ff:fffe", "64:ff9b::a00:1"],
)
def test_wrapped_addresses_are_refused(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address), allow_loopback=True) is not None


def test_public_addresses_pass() -> None:
    for address in ("93.184.216.34", "2606:4700::1111", "::ffff:8.8.8.8"):
        assert address_refusal(ipaddress.ip_address(address), allow_loopback=False) is None


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "shared"),
        ("10.0.0.1", "private"),
        ("::1", "loopback"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::ffff:169.254.169.254", "link-local"),
    ],
)
def test_refusals_name_their_reason(address: str, reason: str) -> None:
    """The reason is shown to the user registering the URL: it says which rule the address broke."""
    assert reason in (address_refusal(ipaddress.ip_address(address), allow_loopback=False) or "")


# The retry schedule.


def test_delays_grow_and_stay_within_the_cap() -> None:
    rng = random.Random(7)
    delays = [next_attempt_delay(attempt, rng) for attempt in range(1, 20)]
    for attempt, delay in enumerate(delays, start=1):
        step = exponential(attempt, 30.0, 3600.0)
        assert step / 2 <= delay <= step <= 3600.0
    # Equal jitter: each step's floor is the previous step's ceiling, so the schedule never goes back.
    assert all(a <= b for a, b in itertools.pairwise(delays[:7]))  # attempt 8 is capped
    assert delays[-1] >= 1800.0


def test_the_delay_is_never_zero() -> None:
    rng = random.Random(0)
    assert min(next_attempt_delay(1, rng, base_s=30.0) for _ in range(2000)) >= 15.0


def test_jitter_varies_with_the_seed_and_repeats_with_it() -> None:
    def schedule(seed: int) -> list[float]:
        rng = random.Random(seed)
        return [next_attempt_delay(attempt, rng) for attempt in range(1, 8)]

    assert schedule(1) == schedule(1)
    assert schedule(1) != schedule(2)


def test_gives_up_after_a_day() -> None:
    first = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert not gives_up(first, first)
    assert not gives_up(first, first + timedelta(hours=23, minutes=59))
    assert gives_up(first, first + timedelta(days=1))
    assert gives_up(first, first + timedelta(days=2))
    assert gives_up(first, first + timedelta(hours=2), window_s=3600)
