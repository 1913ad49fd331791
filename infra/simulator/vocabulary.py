"""Words the simulated creators use: niches, hooks, tips and calls to action (English; the other
languages' words are in translations/)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Niche:
    name: str
    # Username words: a name with a token starting with one of these belongs to this niche.
    handles: tuple[str, ...]
    title: str
    topics: tuple[str, ...]
    mistakes: tuple[str, ...]
    results: tuple[str, ...]
    tips: tuple[str, ...]
    hashtags: tuple[str, ...]
    comment_word: str


NICHES: tuple[Niche, ...] = (
    Niche(
        name="fitness",
        handles=("fit", "lift", "gains", "gym", "strong"),
        title="Fitness coach",
        topics=("fat loss", "push-ups", "meal prep", "protein", "home workouts", "squats", "cardio"),
        mistakes=(
            "doing endless cardio",
            "skipping leg day",
            "training to failure every set",
            "eating 1200 calories",
        ),
        results=("visible abs", "bigger arms", "more energy", "a stronger back", "better sleep"),
        tips=(
            "Aim for about one gram of protein per pound of your goal body weight.",
            "Progressive overload beats random workouts every single time.",
            "Walk eight thousand steps a day before you add any more cardio.",
            "Film your squat from the side and check that your knees track over your toes.",
            "Rest two to three minutes between heavy sets so you can actually lift heavy.",
            "Sleep is the cheapest recovery supplement you will ever find.",
            "Three full body sessions a week is plenty for most beginners.",
            "Track your lifts in a notebook so you know when to add weight.",
            "Slow down the lowering part of every rep and feel the muscle work.",
            "Prep your meals on Sunday so you are not deciding when you are hungry.",
        ),
        hashtags=("#fitness", "#gym", "#workout", "#fatloss", "#homeworkout", "#strengthtraining"),
        comment_word="PLAN",
    ),
    Niche(
        name="finance",
        handles=("money", "invest", "wealth", "budget", "stocks"),
        title="Money educator",
        topics=("index funds", "budgeting", "credit cards", "emergency funds", "side hustles", "taxes"),
        mistakes=(
            "keeping all your savings in a checking account",
            "paying only the minimum",
            "timing the market",
        ),
        results=("your first hundred thousand", "zero debt", "financial freedom", "a six month safety net"),
        tips=(
            "Pay yourself first by automating a transfer the day your salary lands.",
            "A low cost index fund beats most stock pickers over twenty years.",
            "Build three to six months of expenses before you invest aggressively.",
            "Pay off the card with the highest interest rate first.",
            "Check your subscriptions every quarter and cancel what you forgot about.",
            "Your savings rate matters more than your returns in the first ten years.",
            "Use the fifty thirty twenty rule as a starting point, not a religion.",
            "Never invest money you will need in the next three years.",
            "Ask for a raise with numbers, not feelings.",
            "Compound interest only works if you leave the money alone.",
        ),
        hashtags=("#personalfinance", "#investing", "#money", "#budgeting", "#financialfreedom"),
        comment_word="BUDGET",
    ),
    Niche(
        name="cooking",
        handles=("chef", "kitchen", "recipe", "cook", "bake"),
        title="Home cook",
        topics=("pasta", "sourdough", "one pan dinners", "knife skills", "meal prep", "air fryer recipes"),
        mistakes=("crowding the pan", "salting pasta water too little", "cutting meat right off the heat"),
        results=("restaurant quality dinners", "crispier potatoes", "perfect rice", "fluffy pancakes"),
        tips=(
            "Let your pan get properly hot before anything touches it.",
            "Salt your pasta water until it tastes like the sea.",
            "Rest your steak for five minutes so the juices stay inside.",
            "A squeeze of lemon at the end fixes a dish that tastes flat.",
            "Keep your knife sharp, a dull knife is the dangerous one.",
            "Toast your spices in a dry pan for thirty seconds first.",
            "Save a cup of pasta water to make the sauce glossy.",
            "Pat your chicken dry so the skin actually gets crispy.",
            "Cook onions low and slow if you want real sweetness.",
            "Read the whole recipe before you turn on the stove.",
        ),
        hashtags=("#recipe", "#cooking", "#easyrecipes", "#homecooking", "#foodie", "#dinnerideas"),
        comment_word="RECIPE",
    ),
    Niche(
        name="travel",
        handles=("travel", "wander", "nomad", "trip", "passport"),
        title="Travel creator",
        topics=(
            "cheap flights",
            "packing light",
            "Japan on a budget",
            "hidden beaches",
            "solo travel",
            "Lisbon",
        ),
        mistakes=("booking flights on a Friday", "exchanging money at the airport", "overpacking"),
        results=("cheaper flights", "a stress free trip", "two weeks in one carry on", "free lounge access"),
        tips=(
            "Set a price alert instead of checking flights every day.",
            "Roll your clothes and use packing cubes to halve the space you need.",
            "Withdraw local cash from a bank machine, never from an exchange booth.",
            "Book the first train of the day and have the famous spots to yourself.",
            "Download offline maps before you land.",
            "Travel in shoulder season for better prices and fewer crowds.",
            "Carry a photo of your passport in your email.",
            "Eat where the locals queue, not where the menu has pictures.",
            "Always keep one change of clothes in your hand luggage.",
            "Use public transport from the airport, taxis there are a trap.",
        ),
        hashtags=("#travel", "#traveltips", "#wanderlust", "#budgettravel", "#solotravel"),
        comment_word="GUIDE",
    ),
    Niche(
        name="tech",
        handles=("tech", "code", "gadget", "dev", "byte"),
        title="Tech explainer",
        topics=(
            "AI tools",
            "your phone settings",
            "Python",
            "keyboard shortcuts",
            "home office setups",
            "ChatGPT",
        ),
        mistakes=(
            "ignoring software updates",
            "reusing the same password",
            "charging your phone to 100 percent",
        ),
        results=("an extra hour a day", "a faster laptop", "better battery life", "a cleaner desk setup"),
        tips=(
            "Turn on two factor authentication for your email before anything else.",
            "Use a password manager so every password can be different.",
            "Learn five keyboard shortcuts and you will save hours every week.",
            "Turn off background app refresh for apps you rarely use.",
            "Back up your photos in two places, one of them offline.",
            "Write the prompt like you are briefing a smart intern.",
            "Automate the boring task you do every Monday.",
            "Restart your router once a month, seriously.",
            "Use focus mode to hide notifications while you work.",
            "Keep your battery between twenty and eighty percent.",
        ),
        hashtags=("#tech", "#techtips", "#ai", "#productivity", "#coding", "#gadgets"),
        comment_word="TOOLS",
    ),
    Niche(
        name="beauty",
        handles=("glow", "beauty", "makeup", "skin", "style"),
        title="Beauty and style creator",
        topics=("skincare routines", "sunscreen", "capsule wardrobes", "retinol", "thrift finds", "eyeliner"),
        mistakes=("skipping sunscreen on cloudy days", "over exfoliating", "buying trends you never wear"),
        results=("glass skin", "a wardrobe that works", "a five minute makeup look", "clearer skin"),
        tips=(
            "Wear sunscreen every day, even in winter.",
            "Introduce one new product at a time so you know what works.",
            "Retinol goes on at night, vitamin C in the morning.",
            "Moisturise on damp skin so it actually locks in water.",
            "Build your wardrobe around three neutral colours.",
            "Tailoring makes a cheap blazer look expensive.",
            "Patch test anything new behind your ear for two days.",
            "Less product, blended well, always looks better on camera.",
            "Wash your makeup brushes every week.",
            "Buy the basics in good fabric and the trends second hand.",
        ),
        hashtags=("#skincare", "#beauty", "#makeup", "#fashion", "#ootd", "#skincaretips"),
        comment_word="ROUTINE",
    ),
)

HOOKS: tuple[str, ...] = (
    "Stop {mistake}.",
    "Stop {mistake} if you want {result}.",
    "{n} {topic} tips nobody tells you.",
    "Why is nobody talking about {topic}?",
    "Are you still {mistake}?",
    "This {topic} mistake is costing you {result}.",
    "Want {result}? Do this instead.",
    "You're doing {topic} wrong.",
    "{n} things I wish I knew about {topic} sooner.",
    "I tried {topic} for {days} days and here's what happened.",
    "The {topic} trick that changed everything for me.",
    "Here's how to get {result} in {days} days.",
    "Nobody wants to hear this, but {topic} is simpler than you think.",
)
CAPTION_LINES: tuple[str, ...] = (
    "Save this for later.",
    "Share it with someone who needs it.",
    "Which one surprised you?",
    "Part {n} of the series.",
    "Tell me in the comments what you want next.",
)
INTROS: tuple[str, ...] = (
    "Here's the thing.",
    "Let me explain.",
    "I learned this the hard way.",
    "Most people get this backwards.",
    "Okay, listen.",
)
CALLS_TO_ACTION: tuple[str, ...] = (
    "Follow for more {niche} tips.",
    "Save this so you don't forget it.",
    "Comment {word} and I'll send you my full guide.",
    "Send this to a friend who needs to hear it.",
)
FIRST_NAMES: tuple[str, ...] = (
    "maya", "jon", "lena", "omar", "sofia", "liam", "ava", "noah", "zara", "leo", "mia", "ethan",
    "nina", "kai", "ella", "marco", "ines", "theo", "yara", "sam", "ruby", "felix", "ana", "dani",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "silva", "kim", "novak", "patel", "garcia", "meyer", "rossi", "okafor", "larsen", "chen",
    "haddad", "moreau", "nguyen", "walsh", "costa", "ito",
)  # fmt: skip
IMAGE_LINES: tuple[str, ...] = (
    "Save this for next time.",
    "What do you think?",
    "Tell me in the comments if you try it.",
)
CAROUSEL_LINES: tuple[str, ...] = (
    "Swipe through all {n}.",
    "{n} slides, save the last one.",
    "Swipe to the end, number {n} is the best one.",
)
BIOGRAPHY = "{title} | Helping you get {result}. New {topic} reels every week."


@dataclass(frozen=True)
class Voice:
    """Everything a creator says in one language: the niches it has words for and the phrases."""

    language: str
    niches: tuple[Niche, ...]
    hooks: tuple[str, ...]
    caption_lines: tuple[str, ...]
    intros: tuple[str, ...]
    calls_to_action: tuple[str, ...]
    image_lines: tuple[str, ...]
    carousel_lines: tuple[str, ...]
    # Placeholders {title}, {result}, {topic}.
    biography: str
    _by_name: Mapping[str, Niche] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {niche.name: niche for niche in self.niches})

    def niche(self, name: str) -> Niche | None:
        """This language's words for the niche of that name; None when it has none."""
        return self._by_name.get(name)


ENGLISH = Voice(
    language="en",
    niches=NICHES,
    hooks=HOOKS,
    caption_lines=CAPTION_LINES,
    intros=INTROS,
    calls_to_action=CALLS_TO_ACTION,
    image_lines=IMAGE_LINES,
    carousel_lines=CAROUSEL_LINES,
    biography=BIOGRAPHY,
)
