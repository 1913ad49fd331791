"""French: the fitness and cooking creators' words."""

from __future__ import annotations

from ..vocabulary import Niche, Voice

FITNESS = Niche(
    name="fitness",
    handles=("fit", "lift", "gains", "gym", "strong", "muscu", "sport", "forme"),
    title="Coach sportif",
    topics=(
        "perte de gras",
        "pompes",
        "repas préparés",
        "protéines",
        "musculation à la maison",
        "squats",
        "cardio",
    ),
    mistakes=(
        "faire du cardio sans fin",
        "sauter la séance jambes",
        "t'entraîner jusqu'à l'échec à chaque série",
        "manger 1200 calories",
    ),
    results=(
        "des abdos visibles",
        "des bras plus gros",
        "plus d'énergie",
        "un dos plus fort",
        "un meilleur sommeil",
    ),
    tips=(
        "Vise environ deux grammes de protéines par kilo de ton poids cible.",
        "La surcharge progressive bat les séances au hasard à chaque fois.",
        "Marche huit mille pas par jour avant d'ajouter plus de cardio.",
        "Filme ton squat de profil et vérifie que tes genoux suivent la pointe de tes pieds.",
        "Repose-toi deux à trois minutes entre les séries lourdes pour vraiment soulever lourd.",
        "Le sommeil est le complément de récupération le moins cher que tu trouveras.",
        "Trois séances complètes par semaine suffisent pour la plupart des débutants.",
        "Note tes charges dans un carnet pour savoir quand ajouter du poids.",
        "Descends lentement à chaque répétition et sens le muscle travailler.",
        "Prépare tes repas le dimanche pour ne pas décider quand tu as faim.",
    ),
    hashtags=("#fitness", "#musculation", "#gym", "#remiseenforme", "#workout", "#entrainement"),
    comment_word="PROGRAMME",
)

COOKING = Niche(
    name="cooking",
    handles=("chef", "kitchen", "recipe", "cook", "bake", "cuisine", "recette", "cuisto"),
    title="Cuisine maison",
    topics=(
        "pâtes",
        "pain au levain",
        "dîners en une seule poêle",
        "techniques de couteau",
        "repas de la semaine",
        "recettes au air fryer",
    ),
    mistakes=(
        "surcharger la poêle",
        "saler trop peu l'eau des pâtes",
        "couper la viande dès la sortie du feu",
    ),
    results=(
        "des dîners dignes d'un restaurant",
        "des pommes de terre plus croustillantes",
        "un riz parfait",
        "des crêpes moelleuses",
    ),
    tips=(
        "Laisse ta poêle bien chauffer avant d'y mettre quoi que ce soit.",
        "Sale l'eau des pâtes jusqu'à ce qu'elle ait le goût de la mer.",
        "Laisse reposer ton steak cinq minutes pour que le jus reste à l'intérieur.",
        "Un filet de citron à la fin sauve un plat qui manque de goût.",
        "Garde ton couteau bien aiguisé, c'est le couteau émoussé qui est dangereux.",
        "Fais griller tes épices trente secondes dans une poêle sèche.",
        "Garde une tasse d'eau de cuisson pour rendre la sauce brillante.",
        "Sèche bien ton poulet pour que la peau devienne vraiment croustillante.",
        "Fais revenir les oignons à feu doux si tu veux une vraie douceur.",
        "Lis toute la recette avant d'allumer le feu.",
    ),
    hashtags=("#recipe", "#recettes", "#cooking", "#cuisinemaison", "#foodie", "#recettefacile"),
    comment_word="RECETTE",
)

VOICE = Voice(
    language="fr",
    niches=(FITNESS, COOKING),
    hooks=(
        "Arrête de {mistake}.",
        "Arrête de {mistake} si tu veux {result}.",
        "{n} astuces côté {topic} que personne ne te donne.",
        "Pourquoi personne ne parle de {topic} ?",
        "Tu ne connais toujours pas ce secret côté {topic} ?",
        "Cette erreur côté {topic} t'empêche d'avoir {result}.",
        "Tu veux {result} ? Fais plutôt ça.",
        "Tu fais fausse route côté {topic}.",
        "{n} choses que j'aurais aimé savoir plus tôt côté {topic}.",
        "J'ai testé {topic} pendant {days} jours et voilà ce qui s'est passé.",
        "L'astuce côté {topic} qui a tout changé pour moi.",
        "Voici comment avoir {result} en {days} jours.",
        "Personne ne veut l'entendre, mais côté {topic}, c'est plus simple que tu ne le crois.",
    ),
    caption_lines=(
        "Enregistre-le pour plus tard.",
        "Partage-le avec quelqu'un qui en a besoin.",
        "Laquelle t'a le plus surpris ?",
        "Partie {n} de la série.",
        "Dis-moi en commentaire ce que tu veux voir ensuite.",
    ),
    intros=(
        "Voilà le truc.",
        "Je t'explique.",
        "Je l'ai appris à mes dépens.",
        "La plupart des gens font tout l'inverse.",
        "Bon, écoute.",
    ),
    calls_to_action=(
        "Abonne-toi pour plus de conseils comme celui-ci.",
        "Enregistre ça pour ne pas l'oublier.",
        "Commente {word} et je t'envoie mon guide complet.",
        "Envoie ça à un ami qui a besoin de l'entendre.",
    ),
    image_lines=(
        "Enregistre-le pour la prochaine fois.",
        "Et toi, tu en penses quoi ?",
        "Dis-moi en commentaire si tu vas essayer.",
    ),
    carousel_lines=(
        "Fais défiler les {n} photos.",
        "Il y a {n} astuces, garde la dernière.",
        "Va jusqu'au bout, la numéro {n} est la meilleure.",
    ),
    biography="{title} | Je t'aide à obtenir {result}. De nouveaux reels sur {topic} chaque semaine.",
)
