"""German: the fitness and cooking creators' words."""

from __future__ import annotations

from ..vocabulary import Niche, Voice

FITNESS = Niche(
    name="fitness",
    handles=("fit", "lift", "gains", "gym", "strong", "training", "kraft", "sport"),
    title="Fitnesscoach",
    topics=(
        "Fettabbau",
        "Liegestütze",
        "Meal Prep",
        "Protein",
        "Training zu Hause",
        "Kniebeugen",
        "Ausdauertraining",
    ),
    mistakes=(
        "endlos Cardio zu machen",
        "den Beintag auszulassen",
        "jeden Satz bis zum Muskelversagen zu trainieren",
        "nur 1200 Kalorien zu essen",
    ),
    results=(
        "sichtbare Bauchmuskeln",
        "größere Arme",
        "mehr Energie",
        "einen stärkeren Rücken",
        "besseren Schlaf",
    ),
    tips=(
        "Iss ungefähr zwei Gramm Eiweiß pro Kilo deines Zielgewichts.",
        "Progressive Überlastung schlägt zufällige Workouts jedes einzelne Mal.",
        "Geh jeden Tag achttausend Schritte, bevor du mehr Ausdauertraining einbaust.",
        "Filme deine Kniebeuge von der Seite und achte darauf, dass die Knie über den Zehen bleiben.",
        "Pausiere zwei bis drei Minuten zwischen schweren Sätzen, damit du wirklich schwer heben kannst.",
        "Schlaf ist das günstigste Mittel für die Regeneration, das du jemals finden wirst.",
        "Drei Ganzkörpereinheiten pro Woche reichen für die meisten Anfänger völlig aus.",
        "Schreib deine Gewichte in ein Notizbuch, damit du weißt, wann du steigern kannst.",
        "Lass das Gewicht bei jeder Wiederholung langsam ab und spür, wie der Muskel arbeitet.",
        "Bereite deine Mahlzeiten am Sonntag vor, damit du nicht hungrig entscheiden musst.",
    ),
    hashtags=("#fitness", "#abnehmen", "#gym", "#gesundleben", "#workout", "#krafttraining"),
    comment_word="PLAN",
)

COOKING = Niche(
    name="cooking",
    handles=("chef", "kitchen", "recipe", "cook", "bake", "koch", "kueche", "rezept", "backen"),
    title="Kochen zu Hause",
    topics=(
        "Pasta",
        "Sauerteigbrot",
        "Gerichte aus einer Pfanne",
        "Messertechnik",
        "Meal Prep",
        "Rezepte aus der Heißluftfritteuse",
    ),
    mistakes=(
        "die Pfanne zu voll zu machen",
        "das Nudelwasser zu wenig zu salzen",
        "das Fleisch direkt nach dem Braten anzuschneiden",
    ),
    results=(
        "Abendessen wie im Restaurant",
        "knusprigere Kartoffeln",
        "perfekten Reis",
        "fluffige Pfannkuchen",
    ),
    tips=(
        "Lass die Pfanne richtig heiß werden, bevor irgendetwas hineinkommt.",
        "Salze das Nudelwasser, bis es wie das Meer schmeckt.",
        "Lass das Steak fünf Minuten ruhen, damit der Saft im Fleisch bleibt.",
        "Ein Spritzer Zitrone am Ende rettet ein Gericht, das fade schmeckt.",
        "Halte dein Messer scharf, das stumpfe Messer ist das gefährliche.",
        "Röste deine Gewürze zuerst dreißig Sekunden in einer trockenen Pfanne.",
        "Heb eine Tasse Nudelwasser auf, damit die Soße schön glänzt.",
        "Tupf das Hähnchen trocken, damit die Haut wirklich knusprig wird.",
        "Brate Zwiebeln langsam bei wenig Hitze, wenn du echte Süße willst.",
        "Lies das ganze Rezept, bevor du den Herd anmachst.",
    ),
    hashtags=("#recipe", "#rezepte", "#cooking", "#kochen", "#foodie", "#einfacherezepte"),
    comment_word="REZEPT",
)

VOICE = Voice(
    language="de",
    niches=(FITNESS, COOKING),
    hooks=(
        "Hör auf, {mistake}.",
        "Hör auf, {mistake}, wenn du {result} willst.",
        "{n} Tipps zu {topic}, die dir niemand verrät.",
        "Warum redet niemand über {topic}?",
        "Kennst du diesen Trick für {topic} noch nicht?",
        "Dieser Fehler bei {topic} kostet dich {result}.",
        "Du willst {result}? Dann mach lieber das hier.",
        "Du machst {topic} falsch.",
        "{n} Dinge über {topic}, die ich gerne früher gewusst hätte.",
        "Ich habe {topic} {days} Tage lang ausprobiert und das ist passiert.",
        "Der Trick für {topic}, der für mich alles verändert hat.",
        "So bekommst du {result} in {days} Tagen.",
        "Das will keiner hören, aber {topic} ist einfacher, als du denkst.",
    ),
    caption_lines=(
        "Speichere dir das für später.",
        "Teile es mit jemandem, der es braucht.",
        "Was hat dich am meisten überrascht?",
        "Teil {n} der Serie.",
        "Schreib mir in die Kommentare, was du als Nächstes sehen willst.",
    ),
    intros=(
        "Pass auf.",
        "Lass es mich erklären.",
        "Das habe ich auf die harte Tour gelernt.",
        "Die meisten Leute machen das genau falsch herum.",
        "Okay, hör zu.",
    ),
    calls_to_action=(
        "Folge mir für mehr Tipps wie diesen.",
        "Speichere das, damit du es nicht vergisst.",
        "Kommentiere {word} und ich schicke dir meinen ganzen Leitfaden.",
        "Schick das einem Freund, der es hören muss.",
    ),
    image_lines=(
        "Speichere es für das nächste Mal.",
        "Was meinst du dazu?",
        "Schreib mir, ob du es ausprobierst.",
    ),
    carousel_lines=(
        "Wisch durch alle {n} Bilder.",
        "Es sind {n} Tipps, speichere dir den letzten.",
        "Wisch bis zum Ende, Nummer {n} ist die beste.",
    ),
    biography="{title} | Gemeinsam zum Ziel: {result}. Jede Woche neue Reels über {topic}.",
)
