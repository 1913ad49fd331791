"""What profile-ingest copies of a fetch's images, and what it refuses before any connection."""

import pytest

from libs.events.catalog import ContentFetched, ProfileIngested, ProfileSnapshot, ReelSnapshot
from services.profile_ingest import domain
from services.profile_ingest.downloads import ImageFetcher, ImageRefused, host_allowed, sniffed_type

ALLOWED = ("*.cdninstagram.com", "*.fbcdn.net", "127.0.0.1")


def ingested(image: str | None, thumbnails: list[str | None]) -> ProfileIngested:
    reels = [
        ReelSnapshot(content_id=f"c{i}", shortcode=f"s{i}", url=f"https://x/{i}", thumbnail_url=t)
        for i, t in enumerate(thumbnails)
    ]
    profile = ProfileSnapshot(username="fitwithmaya", profile_image_url=image)
    return ProfileIngested(
        username="fitwithmaya", request_id="0badc0de", attempts=1, duration_ms=1, profile=profile, reels=reels
    )


def test_the_profile_image_and_each_reel_thumbnail_are_wanted_once() -> None:
    event = ingested("https://a.cdninstagram.com/p.jpg", ["https://a.cdninstagram.com/t0.jpg", None, "u"])
    wanted = domain.media_wanted(event.model_copy(update={"reels": [*event.reels, event.reels[0]]}))
    assert [(w.kind, w.owner, w.url) for w in wanted] == [
        ("profile_image", "fitwithmaya", "https://a.cdninstagram.com/p.jpg"),
        ("reel_thumbnail", "c0", "https://a.cdninstagram.com/t0.jpg"),
        ("reel_thumbnail", "c2", "u"),
    ]
    assert domain.media_wanted(ingested(None, [])) == []


def test_an_image_whose_url_was_handled_is_not_fetched_again_and_a_moved_one_is() -> None:
    wanted = domain.media_wanted(ingested("https://h/p.jpg", ["https://h/t0.jpg", "https://h/t1.jpg"]))
    handled = {
        ("profile_image", "fitwithmaya"): "https://h/p.jpg",
        ("reel_thumbnail", "c0"): "https://h/old.jpg",
    }
    assert [w.owner for w in domain.media_to_fetch(wanted, handled)] == ["c0", "c1"]


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("scontent-lax3-1.cdninstagram.com", True),
        ("SCONTENT.CDNINSTAGRAM.COM.", True),
        ("instagram.fbcdn.net", True),
        ("127.0.0.1", True),
        ("cdninstagram.com", False),  # *.domain is the hosts under it, not the domain
        ("evilcdninstagram.com", False),
        ("cdninstagram.com.evil.example", False),
        ("localhost", False),
        ("169.254.169.254", False),
    ],
)
def test_only_the_configured_image_hosts_are_allowed(host: str, allowed: bool) -> None:
    assert host_allowed(host, ALLOWED) is allowed


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00", "image/png"),
        (b"GIF89a...", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"<html><body>", None),
        (b"", None),
    ],
)
def test_an_images_type_is_read_from_its_first_bytes(data: bytes, kind: str | None) -> None:
    assert sniffed_type(data) == kind


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://evil.example/p.jpg", "host_not_allowed"),
        ("http://scontent.cdninstagram.com/p.jpg", "unsafe_url"),  # https only off loopback
        ("https://10.0.0.1/p.jpg", "unsafe_url"),
        ("https://user:pw@scontent.cdninstagram.com/p.jpg", "unsafe_url"),
        ("http://127.0.0.1:8100/cdn/p.jpg", "unsafe_url"),  # loopback only when allowed
    ],
)
def test_a_url_outside_the_rules_is_refused_before_any_connection(url: str, reason: str) -> None:
    fetcher = ImageFetcher(allowed_hosts=ALLOWED, allow_loopback=False, max_bytes=1024, timeout_s=1)
    with pytest.raises(ImageRefused) as refused:
        fetcher.check(url)
    assert refused.value.reason == reason and not refused.value.transient


def test_a_private_host_is_fetched_only_when_allowed_too() -> None:
    fetcher = ImageFetcher(
        allowed_hosts=("simulator",), private_hosts=("simulator", "other"), allow_loopback=False,
        max_bytes=1024, timeout_s=1,
    )  # fmt: skip
    assert fetcher.check("http://simulator:8100/cdn/a.jpg") is True
    with pytest.raises(ImageRefused) as refused:
        fetcher.check("http://other:8100/cdn/a.jpg")
    assert refused.value.reason == "unsafe_url"
    with pytest.raises(ImageRefused):
        fetcher.check("file:///etc/passwd")


def test_the_profiles_an_analysis_fetched_have_their_images_copied_too() -> None:
    fetched = ContentFetched(
        queue_id="q", run=1, username="gym.bro.max", profile_type="competitor",
        profile=ProfileSnapshot(username="gym.bro.max", profile_image_url="https://h/p.jpg"),
        reels=[ReelSnapshot(content_id="c9", shortcode="s9", url="https://x/9", thumbnail_url="https://h/t9.jpg")],
    )  # fmt: skip
    assert [(w.username, w.kind, w.owner) for w in domain.media_wanted(fetched)] == [
        ("gym.bro.max", "profile_image", "gym.bro.max"),
        ("gym.bro.max", "reel_thumbnail", "c9"),
    ]
    without_profile = fetched.model_copy(update={"profile": None})
    assert [w.owner for w in domain.media_wanted(without_profile)] == ["c9"]
