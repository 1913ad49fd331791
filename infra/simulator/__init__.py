"""A deterministic stand-in for the Instagram scraper and transcript APIs, served over real HTTP.

It speaks the provider's shapes (/work/shared/design/provider-shapes.md): the profile, reels, posts
(`POST /get_ig_user_posts.php`, form fields `username_or_url`, `amount`, `pagination_token` ->
`posts[].node.{pk, code, taken_at, media_type 1|8, like_count, comment_count, caption.text,
carousel_media_count, image_versions2}` beside the reels shared to the grid as media_type 2, and
`pagination_token`), media, similar-accounts and transcript endpoints. Every valid username exists,
generated from (seed, username); `missing_*` is unknown and `private_*` private. A language marker
as the name's last token (`chef_leo.es`, `fit.ana_br`, `koch.max.de`, `cuisine.lea.fr`; es, pt/br, de,
fr) makes a fitness or cooking creator speak that language (languages.py); every other name speaks
English. With `growth_from` set, a later `now` adds new reels and grows young ones (growth.py).
README.md has the details and the /__sim/ control API.
"""

from .app import create_app
from .config import SimulatorConfig

__all__ = ["SimulatorConfig", "create_app"]
