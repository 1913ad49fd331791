"""The JSON the real provider answers, built from the simulated world."""

from __future__ import annotations

from typing import Any, Literal

from .world import Creator, ReelRecord

_CDN = "https://cdn.simulator.invalid"

# Unknown and private accounts get an error object with HTTP 200, as the scraper does: the call
# itself succeeded, Instagram just has nothing to show.
USER_NOT_FOUND = {"error": "User not found", "status": "fail"}
ACCOUNT_PRIVATE = {"error": "This account is private", "is_private": True, "status": "fail"}
MEDIA_NOT_FOUND = {"error": "Media not found", "status": "fail"}
# The transcript API is another vendor and answers an unknown reel with a plain 404.
VIDEO_NOT_FOUND = {"message": "Video not found"}
NOT_SUBSCRIBED = {"message": "You are not subscribed to this API."}
RATE_LIMITED = {"message": "You have exceeded the rate limit per minute for your plan"}


def profile(who: Creator) -> dict[str, Any]:
    return {
        "pk": str(who.pk),
        "id": str(who.pk),
        "username": who.username,
        "full_name": who.full_name,
        "biography": who.biography,
        "follower_count": who.followers,
        "following_count": who.following,
        "media_count": who.posts_count,
        "is_verified": who.is_verified,
        "is_private": who.is_private,
        "is_business": who.is_business,
        "category": who.niche.title,
        "profile_pic_url": f"{_CDN}/avatars/{who.username}_150.jpg",
        "hd_profile_pic_url": f"{_CDN}/avatars/{who.username}_1080.jpg",
    }


def reels_page(who: Creator, reels: tuple[ReelRecord, ...], next_token: str | None) -> dict[str, Any]:
    return {
        "reels": [{"node": {"media": feed_media(who, reel)}} for reel in reels],
        "pagination_token": next_token,
    }


def feed_media(who: Creator, reel: ReelRecord) -> dict[str, Any]:
    media: dict[str, Any] = {
        "pk": reel.pk,
        "id": f"{reel.pk}_{who.pk}",
        "code": reel.code,
        "taken_at": reel.taken_at,
        "media_type": 2,
        "product_type": "clips",
        "ig_play_count": reel.views,
        "like_count": reel.likes,
        "comment_count": reel.comments,
        "caption": {"text": reel.caption} if reel.caption else None,
        "image_versions2": {"candidates": [{"url": _thumbnail(reel), "width": 640, "height": 1136}]},
        "user": {"pk": who.pk, "username": who.username},
        "has_audio": True,
    }
    if not reel.play_count_missing:
        media["play_count"] = reel.views
    return media


def media_data(who: Creator, reel: ReelRecord) -> dict[str, Any]:
    caption_edges = [{"node": {"text": reel.caption}}] if reel.caption else []
    return {
        "id": str(reel.pk),
        "pk": str(reel.pk),
        "shortcode": reel.code,
        "is_video": True,
        "product_type": "clips",
        "video_view_count": reel.views,
        "edge_media_preview_like": {"count": reel.likes},
        "edge_media_to_parent_comment": {"count": reel.comments},
        "edge_media_to_caption": {"edges": caption_edges},
        "taken_at_timestamp": reel.taken_at,
        "display_url": _thumbnail(reel),
        "owner": {"id": str(who.pk), "username": who.username, "is_private": who.is_private},
    }


def similar_accounts(
    accounts: tuple[Creator, ...], shape: Literal["list", "numeric_keys", "data_key"], show: list[set[str]]
) -> Any:
    """`show[i]` names the optional fields account i carries; the real API omits them at random."""
    items = []
    for who, fields in zip(accounts, show, strict=True):
        item: dict[str, Any] = {
            "pk": str(who.pk),
            "username": who.username,
            "full_name": who.full_name,
            "profile_pic_url": f"{_CDN}/avatars/{who.username}_150.jpg",
        }
        if "follower_count" in fields:
            item["follower_count"] = who.followers
        if "is_private" in fields:
            item["is_private"] = who.is_private
        if "is_verified" in fields:
            item["is_verified"] = who.is_verified
        items.append(item)
    if shape == "numeric_keys":
        return {str(position): item for position, item in enumerate(items)}
    if shape == "data_key":
        return {"data": items}
    return items


def transcript(text: str | None, chunk_size: int, as_text: bool) -> dict[str, Any]:
    if text is None:
        return {"lang": None, "availableLangs": [], "content": "" if as_text else []}
    if as_text:
        return {"lang": "en", "availableLangs": ["en"], "content": text}
    return {"lang": "en", "availableLangs": ["en"], "content": _chunks(text, chunk_size)}


def _chunks(text: str, chunk_size: int) -> list[dict[str, Any]]:
    """Cut at word boundaries; offsets assume a speaker at about 2.5 words a second."""
    chunks: list[dict[str, Any]] = []
    words_so_far = 0
    current: list[str] = []
    for word in text.split():
        if current and len(" ".join([*current, word])) > chunk_size:
            chunks.append(_chunk(current, words_so_far))
            words_so_far += len(current)
            current = []
        current.append(word)
    if current:
        chunks.append(_chunk(current, words_so_far))
    return chunks


def _chunk(words: list[str], words_before: int) -> dict[str, Any]:
    return {
        "text": " ".join(words),
        "offset": int(words_before / 2.5 * 1000),
        "duration": int(len(words) / 2.5 * 1000),
        "lang": "en",
    }


def _thumbnail(reel: ReelRecord) -> str:
    return f"{_CDN}/thumbs/{reel.code}.jpg"
