"""The discovery taxonomy: the fixed categories creators and reels are filed under, the content styles,
and the languages and account types the feed filters on. contracts/taxonomy.json is generated from here
(`make contracts`) with a drift test; the classifiers (libs/analysis/classify.py) and the events use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args


@dataclass(frozen=True)
class Category:
    name: str
    label: str
    # Words and hashtags that vote for the category (whole words; a hashtag counts as its word).
    keywords: tuple[str, ...]


CATEGORIES: tuple[Category, ...] = (
    Category(
        "fitness",
        "Fitness",
        (
            "fitness",
            "fit",
            "gym",
            "workout",
            "workouts",
            "lift",
            "lifting",
            "gains",
            "muscle",
            "squat",
            "squats",
            "cardio",
            "protein",
            "fatloss",
            "abs",
            "strength",
            "strengthtraining",
            "homeworkout",
            "reps",
            "push-ups",
            "training",
        ),
    ),
    Category(
        "cooking",
        "Cooking & food",
        (
            "recipe",
            "recipes",
            "cooking",
            "cook",
            "chef",
            "kitchen",
            "bake",
            "baking",
            "pasta",
            "sourdough",
            "dinner",
            "dinnerideas",
            "foodie",
            "food",
            "meal",
            "homecooking",
            "easyrecipes",
            "sauce",
            "pan",
        ),
    ),
    Category(
        "finance",
        "Money & finance",
        (
            "money",
            "finance",
            "personalfinance",
            "invest",
            "investing",
            "budget",
            "budgeting",
            "stocks",
            "savings",
            "debt",
            "wealth",
            "financialfreedom",
            "index",
            "funds",
            "credit",
            "income",
            "taxes",
        ),
    ),
    Category(
        "travel",
        "Travel",
        (
            "travel",
            "traveltips",
            "trip",
            "flights",
            "flight",
            "wanderlust",
            "budgettravel",
            "solotravel",
            "passport",
            "beach",
            "beaches",
            "packing",
            "hotel",
            "nomad",
            "airport",
            "luggage",
        ),
    ),
    Category(
        "tech",
        "Tech",
        (
            "tech",
            "techtips",
            "ai",
            "chatgpt",
            "coding",
            "code",
            "python",
            "gadgets",
            "gadget",
            "laptop",
            "phone",
            "software",
            "productivity",
            "app",
            "apps",
            "keyboard",
            "battery",
            "password",
        ),
    ),
    Category(
        "beauty",
        "Beauty & skincare",
        (
            "beauty",
            "skincare",
            "skincaretips",
            "makeup",
            "skin",
            "sunscreen",
            "retinol",
            "glow",
            "moisturise",
            "moisturizer",
            "eyeliner",
            "serum",
            "hair",
            "nails",
        ),
    ),
    Category(
        "fashion",
        "Fashion & style",
        (
            "fashion",
            "ootd",
            "style",
            "outfit",
            "outfits",
            "wardrobe",
            "capsule",
            "thrift",
            "blazer",
            "streetwear",
            "dress",
            "sneakers",
        ),
    ),
    Category(
        "parenting",
        "Parenting & family",
        (
            "parenting",
            "mom",
            "mum",
            "dad",
            "baby",
            "toddler",
            "kids",
            "momlife",
            "family",
            "newborn",
        ),
    ),
    Category(
        "education",
        "Education & learning",
        (
            "learn",
            "learning",
            "study",
            "studytips",
            "education",
            "teacher",
            "language",
            "exam",
            "school",
            "history",
            "science",
            "facts",
        ),
    ),
    Category(
        "comedy",
        "Comedy",
        (
            "comedy",
            "funny",
            "meme",
            "memes",
            "prank",
            "lol",
            "joke",
            "jokes",
            "humor",
            "sketch",
        ),
    ),
    Category(
        "music",
        "Music",
        (
            "music",
            "song",
            "songs",
            "singer",
            "guitar",
            "piano",
            "producer",
            "beat",
            "beats",
            "cover",
            "dj",
        ),
    ),
    Category(
        "gaming",
        "Gaming",
        (
            "gaming",
            "gamer",
            "game",
            "games",
            "playstation",
            "xbox",
            "nintendo",
            "esports",
            "twitch",
            "fortnite",
        ),
    ),
    Category(
        "pets",
        "Pets & animals",
        (
            "dog",
            "dogs",
            "puppy",
            "cat",
            "cats",
            "kitten",
            "pets",
            "pet",
            "dogsofinstagram",
            "catsofinstagram",
        ),
    ),
    Category(
        "home",
        "Home & DIY",
        (
            "home",
            "homedecor",
            "interior",
            "diy",
            "decor",
            "cleaning",
            "organizing",
            "garden",
            "gardening",
            "renovation",
        ),
    ),
    Category(
        "business",
        "Business & marketing",
        (
            "business",
            "entrepreneur",
            "marketing",
            "startup",
            "sales",
            "brand",
            "branding",
            "smallbusiness",
            "ceo",
            "agency",
            "clients",
        ),
    ),
    Category(
        "health",
        "Health & wellness",
        (
            "health",
            "wellness",
            "mentalhealth",
            "sleep",
            "nutrition",
            "yoga",
            "meditation",
            "selfcare",
            "anxiety",
            "healthy",
            "habits",
        ),
    ),
    Category(
        "sports",
        "Sports",
        (
            "football",
            "soccer",
            "basketball",
            "tennis",
            "running",
            "runner",
            "marathon",
            "cycling",
            "golf",
            "sports",
            "athlete",
        ),
    ),
    Category(
        "art",
        "Art & design",
        (
            "art",
            "artist",
            "drawing",
            "painting",
            "design",
            "illustration",
            "photography",
            "sketchbook",
            "digitalart",
        ),
    ),
    Category(
        "lifestyle",
        "Lifestyle",
        (
            "lifestyle",
            "vlog",
            "dayinmylife",
            "routine",
            "morningroutine",
            "life",
            "motivation",
            "aesthetic",
        ),
    ),
    # What no other category claims.
    Category("other", "Other", ()),
)
CATEGORY_NAMES: tuple[str, ...] = tuple(c.name for c in CATEGORIES)
CategoryName = Literal[
    "fitness", "cooking", "finance", "travel", "tech", "beauty", "fashion", "parenting", "education",
    "comedy", "music", "gaming", "pets", "home", "business", "health", "sports", "art", "lifestyle", "other",
]  # fmt: skip
assert get_args(CategoryName) == CATEGORY_NAMES, "CategoryName must list CATEGORIES, in order"

ContentStyle = Literal["talking_head", "tutorial", "list", "story", "skit", "review", "vlog", "other"]
CONTENT_STYLES: tuple[str, ...] = get_args(ContentStyle)

AccountType = Literal["personal", "business"]
ACCOUNT_TYPES: tuple[str, ...] = get_args(AccountType)

# ISO 639-1 codes the language detector chooses among (creators outside them come out as the nearest).
LANGUAGES: tuple[str, ...] = ("en", "es", "pt", "fr", "de", "it", "nl", "tr", "pl", "id", "hi", "ar")
Language = Literal["en", "es", "pt", "fr", "de", "it", "nl", "tr", "pl", "id", "hi", "ar"]
assert get_args(Language) == LANGUAGES, "Language must list LANGUAGES, in order"

MAX_KEYWORDS = 4

# Scores (contracts/taxonomy.json states them for the API's readers).
# outlier_score = views / the creator's median views (0 without views or median).
# niche_outlier_score = views / the median views of the category's reels posted in the same calendar
#   month (UTC), over the reels the read model holds.
# score_confidence = "low" when the creator has fewer than CONFIDENT_CREATOR_REELS reels or the niche
#   (category and month) fewer than CONFIDENT_NICHE_REELS, else "high" (ViralVault's cold-start rule).
CONFIDENT_CREATOR_REELS = 5
CONFIDENT_NICHE_REELS = 50
