"""Turn the provider's JSON into our models, whatever field names or wrappers it used this time.

Every parser either returns a model or raises a ProviderError; odd shapes never escape as
KeyError or TypeError. Field alternatives follow the provider-shapes design note.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .errors import AccountNotFound, AccountPrivate, MediaNotFound, ProviderBadResponse
from .fields import as_int, as_optional_str, as_str, as_time, first, unwrap
from .models import Post, PostType, Profile, Reel, SimilarAccount, post_url, reel_url

VIEW_FIELDS = ("play_count", "ig_play_count", "video_play_count", "view_count", "video_view_count")
_NOT_FOUND_WORDS = ("not found", "does not exist", "doesn't exist", "no user", "unknown user", "not exist")
_NO_TRANSCRIPT_WORDS = ("no transcript", "transcript not available", "transcript unavailable", "no speech")


def raise_for_error_object(payload: Any, *, username: str | None = None, subject: str | None = None) -> None:
    """The scraper answers private or unknown accounts with an error object, often with HTTP 200."""
    text = error_text(payload)
    if text is None:
        return
    lowered = text.lower()
    if "private" in lowered and username is not None:
        raise AccountPrivate(username)
    if any(word in lowered for word in _NOT_FOUND_WORDS):
        if username is not None:
            raise AccountNotFound(username)
        raise MediaNotFound(subject or "?")
    raise ProviderBadResponse(f"The provider answered with an error: {text[:200]}")


def error_text(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return None
    error = payload.get("error")
    message = payload.get("message") or payload.get("detail")
    if error:
        return error if isinstance(error, str) else str(message or error)
    if payload.get("status") in ("fail", "error") and message:
        return str(message)
    # A bare {"message": ...} with no data next to it is how RapidAPI gateways report failures.
    if isinstance(message, str) and set(payload) <= {"message", "detail", "status", "code"}:
        return message
    return None


def parse_profile(payload: Any, username: str) -> Profile:
    raise_for_error_object(payload, username=username)
    user = unwrap(payload, markers=("username", "full_name", "follower_count", "edge_followed_by"))
    if not isinstance(user, dict):
        raise ProviderBadResponse(f"The profile of '{username}' came back in an unknown shape")
    is_business = bool(first(user, "is_business", "is_business_account") or False)
    return Profile(
        username=str(user.get("username") or username),
        full_name=as_str(user.get("full_name")),
        biography=as_str(first(user, "biography", "bio")),
        followers=as_int(first(user, "follower_count", "followers", ("edge_followed_by", "count"))) or 0,
        following=as_int(first(user, "following_count", "following", ("edge_follow", "count"))) or 0,
        posts_count=as_int(
            first(user, "media_count", "posts_count", ("edge_owner_to_timeline_media", "count"))
        )
        or 0,
        is_verified=bool(user.get("is_verified") or False),
        is_private=bool(user.get("is_private") or False),
        is_business=is_business,
        account_type="business" if is_business else "personal",
        profile_pic_url=as_optional_str(
            first(user, "hd_profile_pic_url", ("hd_profile_pic_url_info", "url"), "profile_pic_url")
        ),
    )


def parse_reels_page(payload: Any, username: str) -> tuple[list[Reel], str | None]:
    """One page of a creator's reels, newest first, and the token for the next page (None at the end)."""
    raise_for_error_object(payload, username=username)
    items, token = _page(payload, ("reels", "items"), f"The reels of '{username}'")
    reels = [parse_reel(_feed_media(item)) for item in items if isinstance(item, dict)]
    return reels, token


def parse_posts_page(payload: Any, username: str) -> tuple[list[Post], str | None, int]:
    """One page of a creator's grid: its image and carousel posts, the next page's token, and how many
    items the page held; videos on the grid are reels and are left out, so a page may yield no post."""
    raise_for_error_object(payload, username=username)
    items, token = _page(payload, ("posts", "items"), f"The posts of '{username}'")
    medias = [_feed_media(item) for item in items if isinstance(item, dict)]
    posts = [post for post in map(parse_post, medias) if post is not None]
    return posts, token, len(items)


def parse_media(payload: Any, shortcode: str) -> Reel:
    raise_for_error_object(payload, subject=shortcode)
    media = unwrap(payload, markers=("shortcode", "code", "pk", "id"))
    if isinstance(media, dict) and isinstance(media.get("items"), list) and media["items"]:
        media = media["items"][0]
    if not isinstance(media, dict):
        raise ProviderBadResponse(f"The reel '{shortcode}' came back in an unknown shape")
    return parse_reel(media, shortcode=shortcode)


def _media_fields(media: dict[str, Any], kind: str, shortcode: str | None = None) -> dict[str, Any]:
    """What a reel and a post share: identity, publish time, caption and counts."""
    code = as_optional_str(first(media, "code", "shortcode")) or shortcode
    if not code:
        raise ProviderBadResponse(f"A {kind} came back without a shortcode")
    taken_at = as_time(first(media, "taken_at", "taken_at_timestamp"))
    if taken_at is None:
        raise ProviderBadResponse(f"The {kind} '{code}' came back without a publish time")
    pk = first(media, "pk", "id")
    comments = first(media, "comment_count", ("edge_media_to_parent_comment", "count"))
    return {
        "pk": str(pk).split("_")[0] if pk is not None else code,
        "shortcode": code,
        "caption": _caption(media),
        "like_count": as_int(first(media, "like_count", ("edge_media_preview_like", "count"))) or 0,
        "comment_count": as_int(comments) or 0,
        "taken_at": taken_at,
    }


def parse_reel(media: dict[str, Any], shortcode: str | None = None) -> Reel:
    fields = _media_fields(media, "reel", shortcode)
    return Reel(
        **fields,
        url=reel_url(fields["shortcode"]),
        view_count=as_int(first(media, *VIEW_FIELDS)),
        thumbnail_url=as_optional_str(
            first(
                media,
                ("image_versions2", "candidates", 0, "url"),
                "display_url",
                "thumbnail_url",
                "thumbnail_src",
            )
        ),
    )


def parse_post(media: dict[str, Any]) -> Post | None:
    """An image or carousel post; None for a video, which is a reel and not a post."""
    post_type = _post_type(media)
    if post_type is None:
        return None
    fields = _media_fields(media, "post")
    return Post(
        **fields,
        url=post_url(fields["shortcode"]),
        post_type=post_type,
        carousel_count=_carousel_count(media) if post_type == "carousel" else 1,
        thumbnail_url=as_optional_str(
            first(
                media,
                ("image_versions2", "candidates", 0, "url"),
                ("carousel_media", 0, "image_versions2", "candidates", 0, "url"),
                "display_url",
                "thumbnail_url",
                "thumbnail_src",
            )
        ),
    )


def parse_similar_accounts(payload: Any, username: str) -> list[SimilarAccount]:
    """The endpoint answers a list, a dict keyed "0", "1", ..., or either under a `data` key."""
    raise_for_error_object(payload, username=username)
    accounts: list[SimilarAccount] = []
    seen: set[str] = set()
    for item in _similar_items(payload, username):
        if not isinstance(item, dict):
            continue
        user = item.get("node") or item.get("user") or item
        name = user.get("username") if isinstance(user, dict) else None
        if not isinstance(user, dict) or not isinstance(name, str) or not name or name in seen:
            continue
        seen.add(name)
        private = user.get("is_private")
        accounts.append(
            SimilarAccount(
                username=name,
                full_name=as_str(user.get("full_name")),
                followers=as_int(first(user, "follower_count", "followers", ("edge_followed_by", "count"))),
                is_private=private if isinstance(private, bool) else None,
                is_verified=bool(user.get("is_verified") or False),
                profile_pic_url=as_optional_str(user.get("profile_pic_url")),
            )
        )
    return accounts


def parse_transcript(payload: Any, reel: str) -> str | None:
    """The spoken words of a reel, or None when it has no speech (a normal outcome, not an error)."""
    text = error_text(payload)
    if text is not None and any(word in text.lower() for word in _NO_TRANSCRIPT_WORDS):
        return None
    raise_for_error_object(payload, subject=reel)
    content: Any = payload
    if isinstance(payload, dict):
        content = first(payload, "content", "transcript", "text")
        if content is None:
            raise ProviderBadResponse(f"The transcript of '{reel}' came back in an unknown shape")
    if isinstance(content, str):
        return content.strip() or None
    if not isinstance(content, list):
        raise ProviderBadResponse(f"The transcript of '{reel}' came back in an unknown shape")
    parts = [as_str(chunk.get("text")).strip() for chunk in content if isinstance(chunk, dict)]
    joined = " ".join(part for part in parts if part)
    return joined or None


def _similar_items(payload: Any, username: str) -> Iterable[Any]:
    if isinstance(payload, list):
        return payload
    if not isinstance(payload, dict):
        raise ProviderBadResponse(f"The accounts similar to '{username}' came back in an unknown shape")
    if "data" in payload:
        return _similar_items(payload["data"], username)
    for key in ("users", "accounts", "similar_accounts", "items"):
        if isinstance(payload.get(key), list):
            return payload[key]
    numeric = [key for key in payload if isinstance(key, str) and key.isdigit()]
    if numeric:
        return [payload[key] for key in sorted(numeric, key=int)]
    if not payload:
        return []
    raise ProviderBadResponse(f"The accounts similar to '{username}' came back in an unknown shape")


def _page(payload: Any, keys: tuple[str, str], what: str) -> tuple[list[Any], str | None]:
    """The items of a paged feed and the token for the next page (None at the end)."""
    body = unwrap(payload, markers=keys)
    if isinstance(body, list):
        items, token = body, None
    elif isinstance(body, dict):
        items = first(body, *keys)
        if items is None:
            items = []
        token = as_optional_str(
            first(body, "pagination_token", "next_max_id", "end_cursor", ("paging_info", "max_id"))
        )
    else:
        raise ProviderBadResponse(f"{what} came back in an unknown shape")
    if not isinstance(items, list):
        raise ProviderBadResponse(f"{what} came back in an unknown shape")
    return items, token or None


# Instagram's media_type: 1 image, 2 video (a reel, whatever feed it shows up in), 8 carousel.
_VIDEO_TYPENAMES = ("GraphVideo", "XDTGraphVideo")
_CAROUSEL_TYPENAMES = ("GraphSidecar", "XDTGraphSidecar")


def _post_type(media: dict[str, Any]) -> PostType | None:
    media_type = as_int(media.get("media_type"))
    typename = media.get("__typename")
    if (
        media_type == 2
        or media.get("is_video") is True
        or media.get("product_type") in ("clips", "igtv")
        or typename in _VIDEO_TYPENAMES
    ):
        return None
    if media_type == 8 or typename in _CAROUSEL_TYPENAMES or _carousel_children(media):
        return "carousel"
    return "image"


def _carousel_count(media: dict[str, Any]) -> int:
    count = as_int(media.get("carousel_media_count"))
    return max(1, count if count is not None else len(_carousel_children(media)))


def _carousel_children(media: dict[str, Any]) -> list[Any]:
    children = first(media, "carousel_media", ("edge_sidecar_to_children", "edges"))
    return children if isinstance(children, list) else []


def _feed_media(item: dict[str, Any]) -> dict[str, Any]:
    node = item.get("node")
    if not isinstance(node, dict):
        node = item
    media = node.get("media")
    return media if isinstance(media, dict) else node


def _caption(media: dict[str, Any]) -> str:
    caption = media.get("caption")
    if isinstance(caption, dict):
        return as_str(caption.get("text"))
    if isinstance(caption, str):
        return caption
    text = first(media, ("edge_media_to_caption", "edges", 0, "node", "text"), "caption_text")
    return as_str(text)
