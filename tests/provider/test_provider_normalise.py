"""The normaliser on hand-written payloads: every field alternative the provider is known to use."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from libs.instagram import AccountNotFound, AccountPrivate, MediaNotFound, ProviderBadResponse
from libs.instagram.normalise import (
    VIEW_FIELDS,
    parse_media,
    parse_profile,
    parse_reel,
    parse_reels_page,
    parse_similar_accounts,
    parse_transcript,
)

TAKEN_AT = 1_767_225_600  # 2026-01-01T00:00:00Z


def feed_item(**media: object) -> dict[str, object]:
    return {"node": {"media": {"pk": 31, "code": "Cabc", "taken_at": TAKEN_AT, **media}}}


@pytest.mark.parametrize("field", VIEW_FIELDS)
def test_views_come_from_any_known_field(field: str) -> None:
    reels, _ = parse_reels_page({"reels": [feed_item(**{field: 1234})]}, "maya")
    assert reels[0].view_count == 1234


def test_views_take_the_first_present_field_in_order_and_skip_nulls() -> None:
    reel = parse_reel(
        {"code": "C1", "taken_at": TAKEN_AT, "play_count": None, "ig_play_count": 7, "view_count": 9}
    )
    assert reel.view_count == 7
    reel = parse_reel({"code": "C1", "taken_at": TAKEN_AT, "play_count": 5, "ig_play_count": 7})
    assert reel.view_count == 5


def test_views_are_none_when_the_provider_gives_none() -> None:
    reel = parse_reel({"code": "C1", "taken_at": TAKEN_AT, "play_count": None, "video_view_count": None})
    assert reel.view_count is None


def test_feed_reel_reads_like_count_comment_count_caption_and_thumbnail() -> None:
    reels, token = parse_reels_page(
        {
            "reels": [
                feed_item(
                    play_count="12,345",
                    like_count=400,
                    comment_count=12,
                    caption={"text": "Stop doing cardio."},
                    image_versions2={"candidates": [{"url": "https://cdn/x.jpg"}]},
                )
            ],
            "pagination_token": "next",
        },
        "maya",
    )
    [reel] = reels
    assert (reel.pk, reel.shortcode, reel.url) == ("31", "Cabc", "https://www.instagram.com/reel/Cabc/")
    assert (reel.view_count, reel.like_count, reel.comment_count) == (12345, 400, 12)
    assert reel.caption == "Stop doing cardio."
    assert reel.thumbnail_url == "https://cdn/x.jpg"
    assert reel.taken_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert token == "next"


def test_media_data_reads_the_graphql_edge_names() -> None:
    reel = parse_media(
        {
            "pk": "99",
            "shortcode": "Cxyz",
            "video_view_count": 5000,
            "edge_media_preview_like": {"count": 250},
            "edge_media_to_parent_comment": {"count": 9},
            "edge_media_to_caption": {"edges": [{"node": {"text": "3 tips nobody tells you."}}]},
            "taken_at_timestamp": TAKEN_AT,
            "display_url": "https://cdn/d.jpg",
        },
        "Cxyz",
    )
    assert (reel.pk, reel.view_count, reel.like_count, reel.comment_count) == ("99", 5000, 250, 9)
    assert reel.caption == "3 tips nobody tells you."
    assert reel.thumbnail_url == "https://cdn/d.jpg"
    assert reel.taken_at == datetime(2026, 1, 1, tzinfo=UTC)


def test_media_data_under_a_data_wrapper_without_caption_or_counts() -> None:
    reel = parse_media({"data": {"shortcode_media": {"id": "7_123", "taken_at_timestamp": TAKEN_AT}}}, "Cq")
    assert (reel.pk, reel.shortcode, reel.caption) == ("7", "Cq", "")
    assert (reel.view_count, reel.like_count, reel.comment_count) == (None, 0, 0)


def test_millisecond_and_iso_times_are_understood() -> None:
    assert parse_reel({"code": "C", "taken_at": TAKEN_AT * 1000}).taken_at == datetime(2026, 1, 1, tzinfo=UTC)
    iso = parse_reel({"code": "C", "taken_at": "2026-01-01T00:00:00Z"})
    assert iso.taken_at == datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "media",
    [{"taken_at": TAKEN_AT}, {"code": "C"}, {"code": "C", "taken_at": "yesterday-ish"}],
    ids=["no-shortcode", "no-time", "unreadable-time"],
)
def test_a_reel_without_identity_or_time_is_a_bad_response(media: dict[str, object]) -> None:
    with pytest.raises(ProviderBadResponse):
        parse_reel(media)


@pytest.mark.parametrize("payload", ["oops", 42, {"reels": "nope"}, None])
def test_odd_reel_pages_raise_bad_response(payload: object) -> None:
    with pytest.raises(ProviderBadResponse):
        parse_reels_page(payload, "maya")


def test_a_page_without_a_token_is_the_last_page() -> None:
    assert parse_reels_page({"reels": [], "pagination_token": ""}, "maya") == ([], None)
    assert parse_reels_page({"data": {"items": []}}, "maya") == ([], None)


def test_profile_reads_the_scraper_fields_and_prefers_the_hd_picture() -> None:
    profile = parse_profile(
        {
            "username": "maya",
            "full_name": "Maya Silva",
            "biography": "Fitness coach",
            "follower_count": 52000,
            "following_count": 300,
            "media_count": 120,
            "is_verified": True,
            "is_private": False,
            "is_business": True,
            "profile_pic_url": "https://cdn/s.jpg",
            "hd_profile_pic_url": "https://cdn/hd.jpg",
        },
        "maya",
    )
    assert (profile.followers, profile.following, profile.posts_count) == (52000, 300, 120)
    assert profile.is_verified and profile.is_business and not profile.is_private
    assert profile.account_type == "business"
    assert profile.profile_pic_url == "https://cdn/hd.jpg"


def test_profile_reads_graphql_counts_inside_a_user_wrapper_and_defaults_the_rest() -> None:
    profile = parse_profile(
        {"data": {"user": {"edge_followed_by": {"count": 10}, "edge_follow": {"count": 2}}}}, "jo"
    )
    assert (profile.username, profile.followers, profile.following, profile.posts_count) == ("jo", 10, 2, 0)
    assert profile.account_type == "personal"
    assert profile.profile_pic_url is None


@pytest.mark.parametrize(
    "payload",
    [
        {"error": "User not found"},
        {"status": "fail", "message": "User does not exist"},
        {"message": "Not found"},
    ],
)
def test_unknown_account_error_objects_mean_account_not_found(payload: dict[str, object]) -> None:
    with pytest.raises(AccountNotFound, match="'ghost' was not found"):
        parse_profile(payload, "ghost")


def test_private_account_error_object_means_account_private() -> None:
    with pytest.raises(AccountPrivate) as raised:
        parse_reels_page({"error": "This account is private", "is_private": True}, "jane")
    assert str(raised.value) == "Instagram account 'jane' is private"
    assert raised.value.transient is False


def test_an_unexplained_error_object_is_a_bad_response() -> None:
    with pytest.raises(ProviderBadResponse, match="quota"):
        parse_profile({"error": "internal quota glitch"}, "maya")


def test_unknown_media_error_object_means_media_not_found() -> None:
    with pytest.raises(MediaNotFound):
        parse_media({"error": "Media not found"}, "Cq")


ACCOUNTS = [
    {"username": "fitwithmaya", "full_name": "Maya", "follower_count": 1200, "is_private": False},
    {"username": "money.kim", "full_name": "Kim", "is_verified": True},
]


@pytest.mark.parametrize(
    "payload",
    [
        ACCOUNTS,
        {"0": ACCOUNTS[0], "1": ACCOUNTS[1]},
        {"1": ACCOUNTS[1], "0": ACCOUNTS[0]},
        {"data": ACCOUNTS},
        {"data": {"0": ACCOUNTS[0], "1": ACCOUNTS[1]}},
        [{"node": ACCOUNTS[0]}, {"user": ACCOUNTS[1]}],
    ],
    ids=["list", "numeric-keys", "numeric-keys-unordered", "data-list", "data-numeric-keys", "wrapped-items"],
)
def test_similar_accounts_come_in_any_envelope(payload: object) -> None:
    accounts = parse_similar_accounts(payload, "seed")
    assert [account.username for account in accounts] == ["fitwithmaya", "money.kim"]
    assert (accounts[0].followers, accounts[0].is_private, accounts[0].is_verified) == (1200, False, False)
    assert (accounts[1].followers, accounts[1].is_private, accounts[1].is_verified) == (None, None, True)


def test_similar_accounts_skip_items_without_a_username_and_duplicates() -> None:
    payload = [ACCOUNTS[0], {"full_name": "nameless"}, "junk", ACCOUNTS[0], {"username": 5}]
    assert [account.username for account in parse_similar_accounts(payload, "seed")] == ["fitwithmaya"]


def test_similar_accounts_error_objects_and_odd_shapes() -> None:
    with pytest.raises(AccountPrivate):
        parse_similar_accounts({"error": "This account is private"}, "jane")
    with pytest.raises(ProviderBadResponse):
        parse_similar_accounts({"weird": True}, "jane")
    assert parse_similar_accounts({}, "jane") == []


def test_transcript_joins_content_text_with_spaces() -> None:
    payload = {"lang": "en", "availableLangs": ["en"], "content": [{"text": "Stop. "}, {"text": "Do this."}]}
    assert parse_transcript(payload, "u") == "Stop. Do this."


@pytest.mark.parametrize(
    "payload",
    [
        {"lang": None, "availableLangs": [], "content": []},
        {"content": [{"text": "  "}]},
        {"content": ""},
        {"message": "No transcript available for this video"},
    ],
)
def test_a_reel_without_speech_has_no_transcript(payload: object) -> None:
    assert parse_transcript(payload, "u") is None


def test_transcript_in_text_mode_and_odd_shapes() -> None:
    assert parse_transcript({"content": "Hello there."}, "u") == "Hello there."
    with pytest.raises(ProviderBadResponse):
        parse_transcript({"lang": "en"}, "u")
    with pytest.raises(MediaNotFound):
        parse_transcript({"message": "Video not found"}, "u")
