"""The JSON the real provider answers, built from the simulated world.

Posts (`POST /get_ig_user_posts.php`, form fields `username_or_url`, `amount`, `pagination_token`)
answer `{"posts": [{"node": media}], "pagination_token": next or null}`, newest first, where an image
or carousel `media` has pk, id, code, taken_at, media_type (1 image, 8 carousel), product_type,
like_count (absent, with like_and_view_counts_disabled, when the creator hides likes),
comment_count, caption.text (caption null when empty), image_versions2.candidates[].url, and for a
carousel carousel_media_count and carousel_media[] (children with their own media_type, some videos).
Reels the creator shared to the grid come in the same list in their reel shape (media_type 2,
product_type clips). Unknown and private accounts answer the same error objects as the reels endpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from .posts import CAROUSEL, GridItem, PostRecord
from .world import Creator, ReelRecord

# Image URLs point here unless the simulator is told its own /cdn (SimulatorConfig.cdn_url).
DEFAULT_CDN = "https://cdn.simulator.invalid"

# Unknown and private accounts get an error object with HTTP 200, as the scraper does: the call
# itself succeeded, Instagram just has nothing to show.
USER_NOT_FOUND = {"error": "User not found", "status": "fail"}
ACCOUNT_PRIVATE = {"error": "This account is private", "is_private": True, "status": "fail"}
MEDIA_NOT_FOUND = {"error": "Media not found", "status": "fail"}
# The transcript API is another vendor and answers an unknown reel with a plain 404.
VIDEO_NOT_FOUND = {"message": "Video not found"}
NOT_SUBSCRIBED = {"message": "You are not subscribed to this API."}
RATE_LIMITED = {"message": "You have exceeded the rate limit per minute for your plan"}


def profile(who: Creator, cdn: str = DEFAULT_CDN) -> dict[str, Any]:
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
        "profile_pic_url": f"{cdn}/avatars/{who.username}_150.jpg",
        "hd_profile_pic_url": f"{cdn}/avatars/{who.username}_1080.jpg",
    }


def reels_page(
    who: Creator, reels: tuple[ReelRecord, ...], next_token: str | None, cdn: str = DEFAULT_CDN
) -> dict[str, Any]:
    return {
        "reels": [{"node": {"media": feed_media(who, reel, cdn)}} for reel in reels],
        "pagination_token": next_token,
    }


def feed_media(who: Creator, reel: ReelRecord, cdn: str = DEFAULT_CDN) -> dict[str, Any]:
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
        "image_versions2": {"candidates": [{"url": _thumbnail(reel, cdn), "width": 640, "height": 1136}]},
        "user": {"pk": who.pk, "username": who.username},
        "has_audio": True,
    }
    if not reel.play_count_missing:
        media["play_count"] = reel.views
    return media


def posts_page(
    who: Creator,
    items: tuple[GridItem, ...],
    next_token: str | None,
    caption_of: Callable[[PostRecord], str],
    cdn: str = DEFAULT_CDN,
) -> dict[str, Any]:
    return {
        "posts": [
            {
                "node": post_media(who, item, caption_of(item), cdn)
                if isinstance(item, PostRecord)
                else feed_media(who, item, cdn)
            }
            for item in items
        ],
        "pagination_token": next_token,
    }


def post_media(who: Creator, post: PostRecord, caption: str, cdn: str = DEFAULT_CDN) -> dict[str, Any]:
    carousel = post.media_type == CAROUSEL
    media: dict[str, Any] = {
        "pk": post.pk,
        "id": f"{post.pk}_{who.pk}",
        "code": post.code,
        "taken_at": post.taken_at,
        "media_type": post.media_type,
        "product_type": "carousel_container" if carousel else "feed",
        "comment_count": post.comments,
        "caption": {"text": caption} if caption else None,
        "image_versions2": {
            "candidates": [_image(post.code, 1080, 1350, cdn), _image(post.code, 640, 800, cdn)]
        },
        "user": {"pk": who.pk, "username": who.username},
    }
    if post.likes_hidden:
        media["like_and_view_counts_disabled"] = True
    else:
        media["like_count"] = post.likes
    if carousel:
        media["carousel_media_count"] = post.carousel_count
        media["carousel_media"] = [_slide(post, slide, cdn) for slide in range(post.carousel_count)]
    return media


def media_data(who: Creator, reel: ReelRecord, cdn: str = DEFAULT_CDN) -> dict[str, Any]:
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
        "display_url": _thumbnail(reel, cdn),
        "owner": {"id": str(who.pk), "username": who.username, "is_private": who.is_private},
    }


def similar_accounts(
    accounts: tuple[Creator, ...],
    shape: Literal["list", "numeric_keys", "data_key"],
    show: list[set[str]],
    cdn: str = DEFAULT_CDN,
) -> Any:
    """`show[i]` names the optional fields account i carries; the real API omits them at random."""
    items = []
    for who, fields in zip(accounts, show, strict=True):
        item: dict[str, Any] = {
            "pk": str(who.pk),
            "username": who.username,
            "full_name": who.full_name,
            "profile_pic_url": f"{cdn}/avatars/{who.username}_150.jpg",
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


def transcript(text: str | None, chunk_size: int, as_text: bool, lang: str = "en") -> dict[str, Any]:
    if text is None:
        return {"lang": None, "availableLangs": [], "content": "" if as_text else []}
    if as_text:
        return {"lang": lang, "availableLangs": [lang], "content": text}
    return {"lang": lang, "availableLangs": [lang], "content": _chunks(text, chunk_size, lang)}


def _chunks(text: str, chunk_size: int, lang: str) -> list[dict[str, Any]]:
    """Cut at word boundaries; offsets assume a speaker at about 2.5 words a second."""
    chunks: list[dict[str, Any]] = []
    words_so_far = 0
    current: list[str] = []
    for word in text.split():
        if current and len(" ".join([*current, word])) > chunk_size:
            chunks.append(_chunk(current, words_so_far, lang))
            words_so_far += len(current)
            current = []
        current.append(word)
    if current:
        chunks.append(_chunk(current, words_so_far, lang))
    return chunks


def _chunk(words: list[str], words_before: int, lang: str) -> dict[str, Any]:
    return {
        "text": " ".join(words),
        "offset": int(words_before / 2.5 * 1000),
        "duration": int(len(words) / 2.5 * 1000),
        "lang": lang,
    }


def _thumbnail(reel: ReelRecord, cdn: str) -> str:
    return f"{cdn}/thumbs/{reel.code}.jpg"


def _image(code: str, width: int, height: int, cdn: str) -> dict[str, Any]:
    return {"url": f"{cdn}/posts/{code}_{width}.jpg", "width": width, "height": height}


def _slide(post: PostRecord, slide: int, cdn: str) -> dict[str, Any]:
    # Mixed carousels exist: a slide can be a video without making the post a reel.
    is_video = (post.pk + slide) % 7 == 0
    return {
        "pk": f"{post.pk}{slide:02d}",
        "media_type": 2 if is_video else 1,
        "image_versions2": {"candidates": [_image(f"{post.code}_{slide}", 1080, 1350, cdn)]},
    }
