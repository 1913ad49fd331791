"""Spanish: the fitness and cooking creators' words."""

from __future__ import annotations

from ..vocabulary import Niche, Voice

FITNESS = Niche(
    name="fitness",
    handles=("fit", "lift", "gains", "gym", "strong", "entreno", "fuerza", "musculo"),
    title="Coach de fitness",
    topics=(
        "perder grasa",
        "flexiones",
        "preparar comidas",
        "proteína",
        "entrenar en casa",
        "sentadillas",
        "cardio",
    ),
    mistakes=(
        "hacer cardio sin parar",
        "saltarte el día de pierna",
        "entrenar al fallo en cada serie",
        "comer 1200 calorías",
    ),
    results=(
        "abdominales marcados",
        "brazos más grandes",
        "más energía",
        "una espalda más fuerte",
        "dormir mejor",
    ),
    tips=(
        "Come unos dos gramos de proteína por cada kilo de tu peso objetivo.",
        "La sobrecarga progresiva gana siempre a los entrenamientos al azar.",
        "Camina ocho mil pasos al día antes de añadir más cardio.",
        "Grábate haciendo sentadillas de lado y mira que las rodillas sigan la línea de los pies.",
        "Descansa de dos a tres minutos entre series pesadas para poder levantar de verdad.",
        "Dormir es el suplemento de recuperación más barato que vas a encontrar.",
        "Tres sesiones de cuerpo completo por semana son suficientes para casi todos los principiantes.",
        "Apunta tus levantamientos en una libreta para saber cuándo subir el peso.",
        "Baja despacio en cada repetición y siente cómo trabaja el músculo.",
        "Prepara tus comidas el domingo para no tener que decidir cuando tienes hambre.",
    ),
    hashtags=("#fitness", "#entrenamiento", "#gym", "#vidasana", "#workout", "#fuerza"),
    comment_word="PLAN",
)

COOKING = Niche(
    name="cooking",
    handles=("chef", "kitchen", "recipe", "cook", "bake", "cocina", "receta", "comida"),
    title="Cocina casera",
    topics=(
        "pasta",
        "pan de masa madre",
        "cenas en una sola sartén",
        "técnicas de cuchillo",
        "preparar comidas",
        "recetas en freidora de aire",
    ),
    mistakes=(
        "llenar demasiado la sartén",
        "echar poca sal al agua de la pasta",
        "cortar la carne nada más sacarla del fuego",
    ),
    results=("cenas de restaurante", "patatas más crujientes", "un arroz perfecto", "tortitas esponjosas"),
    tips=(
        "Deja que la sartén se caliente bien antes de poner nada encima.",
        "Sala el agua de la pasta hasta que sepa a mar.",
        "Deja reposar la carne cinco minutos para que los jugos se queden dentro.",
        "Un chorrito de limón al final arregla un plato que sabe a poco.",
        "Mantén el cuchillo afilado, el peligroso es el que no corta.",
        "Tuesta las especias en una sartén seca durante treinta segundos.",
        "Guarda una taza del agua de la pasta para que la salsa quede brillante.",
        "Seca bien el pollo para que la piel quede crujiente de verdad.",
        "Cocina la cebolla a fuego lento si quieres que salga dulce.",
        "Lee la receta entera antes de encender el fuego.",
    ),
    hashtags=("#recipe", "#recetas", "#cooking", "#cocinacasera", "#foodie", "#recetasfaciles"),
    comment_word="RECETA",
)

VOICE = Voice(
    language="es",
    niches=(FITNESS, COOKING),
    hooks=(
        "Deja de {mistake}.",
        "Deja de {mistake} si quieres {result}.",
        "{n} consejos de {topic} que nadie te cuenta.",
        "¿Por qué nadie habla de {topic}?",
        "¿Todavía no sabes esto sobre {topic}?",
        "Este error con {topic} te está alejando de {result}.",
        "¿Quieres {result}? Haz esto en su lugar.",
        "Lo estás haciendo mal con {topic}.",
        "{n} cosas que ojalá hubiera sabido antes sobre {topic}.",
        "Probé {topic} durante {days} días y esto es lo que pasó.",
        "El truco de {topic} que lo cambió todo para mí.",
        "Así es como consigues {result} en {days} días.",
        "Nadie quiere oír esto, pero {topic} es más sencillo de lo que crees.",
    ),
    caption_lines=(
        "Guárdalo para después.",
        "Compártelo con alguien que lo necesite.",
        "¿Cuál te sorprendió más?",
        "Parte {n} de la serie.",
        "Cuéntame en los comentarios qué quieres ver ahora.",
    ),
    intros=(
        "Te cuento.",
        "Déjame explicarte.",
        "Esto lo aprendí por las malas.",
        "Casi todo el mundo lo hace al revés.",
        "Vale, escucha.",
    ),
    calls_to_action=(
        "Sígueme para más consejos como este.",
        "Guarda esto para que no se te olvide.",
        "Comenta {word} y te mando mi guía completa.",
        "Mándaselo a un amigo que necesite escucharlo.",
    ),
    image_lines=(
        "Guárdalo para la próxima vez.",
        "¿Tú qué opinas?",
        "Dime en los comentarios si lo vas a probar.",
    ),
    carousel_lines=(
        "Desliza para ver las {n} fotos.",
        "Son {n} consejos, guarda el último.",
        "Desliza hasta el final, el número {n} es el mejor.",
    ),
    biography="{title} | Te ayudo a conseguir {result}. Nuevos reels sobre {topic} cada semana.",
)
