"""The provider's answers after normalisation: one shape whatever field names the API used."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict


class Profile(BaseModel):
    model_config = ConfigDict(frozen=True)

    username: str
    full_name: str = ""
    biography: str = ""
    followers: int = 0
    following: int = 0
    posts_count: int = 0
    is_verified: bool = False
    is_private: bool = False
    is_business: bool = False
    account_type: Literal["business", "personal"] = "personal"
    profile_pic_url: str | None = None


class Reel(BaseModel):
    model_config = ConfigDict(frozen=True)

    pk: str
    shortcode: str
    url: str
    caption: str = ""
    # None means the provider did not say, which is different from a reel nobody watched.
    view_count: int | None = None
    like_count: int = 0
    comment_count: int = 0
    taken_at: datetime
    thumbnail_url: str | None = None


PostType = Literal["image", "carousel"]


class Post(BaseModel):
    """An image or carousel post of the creator's grid; video posts are reels and never come as a Post."""

    model_config = ConfigDict(frozen=True)

    pk: str
    shortcode: str
    url: str
    post_type: PostType
    carousel_count: int = 1
    caption: str = ""
    like_count: int = 0
    comment_count: int = 0
    taken_at: datetime
    thumbnail_url: str | None = None


class SimilarAccount(BaseModel):
    model_config = ConfigDict(frozen=True)

    username: str
    full_name: str = ""
    followers: int | None = None
    is_private: bool | None = None
    is_verified: bool = False
    profile_pic_url: str | None = None


def reel_url(shortcode: str) -> str:
    return f"https://www.instagram.com/reel/{shortcode}/"


def post_url(shortcode: str) -> str:
    return f"https://www.instagram.com/p/{shortcode}/"
