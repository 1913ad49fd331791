"""Portuguese (as spoken in Brazil): the fitness and cooking creators' words."""

from __future__ import annotations

from ..vocabulary import Niche, Voice

FITNESS = Niche(
    name="fitness",
    handles=("fit", "lift", "gains", "gym", "strong", "treino", "saude", "forte"),
    title="Personal trainer",
    topics=(
        "perder gordura",
        "flexões",
        "marmitas da semana",
        "proteína",
        "treino em casa",
        "agachamentos",
        "cardio",
    ),
    mistakes=(
        "fazer cardio sem parar",
        "pular o treino de perna",
        "treinar até a falha em toda série",
        "comer 1200 calorias",
    ),
    results=("abdômen definido", "braços maiores", "mais energia", "costas mais fortes", "um sono melhor"),
    tips=(
        "Coma cerca de dois gramas de proteína por quilo do seu peso ideal.",
        "Sobrecarga progressiva ganha de treino aleatório todas as vezes.",
        "Caminhe oito mil passos por dia antes de colocar mais cardio.",
        "Filme seu agachamento de lado e veja se os joelhos acompanham a ponta dos pés.",
        "Descanse de dois a três minutos entre as séries pesadas para conseguir levantar pesado de verdade.",
        "Dormir bem é o suplemento de recuperação mais barato que existe.",
        "Três treinos de corpo inteiro por semana são suficientes para a maioria dos iniciantes.",
        "Anote suas cargas num caderno para saber quando aumentar o peso.",
        "Desça devagar em cada repetição e sinta o músculo trabalhando.",
        "Prepare suas refeições no domingo para não ter que decidir com fome.",
    ),
    hashtags=("#fitness", "#treino", "#gym", "#vidasaudavel", "#workout", "#musculacao"),
    comment_word="PLANO",
)

COOKING = Niche(
    name="cooking",
    handles=("chef", "kitchen", "recipe", "cook", "bake", "cozinha", "receita", "comida"),
    title="Cozinha caseira",
    topics=(
        "macarrão",
        "pão de fermentação natural",
        "jantares de uma panela só",
        "cortes com faca",
        "marmitas",
        "receitas na air fryer",
    ),
    mistakes=(
        "encher demais a frigideira",
        "colocar pouco sal na água do macarrão",
        "cortar a carne logo que ela sai do fogo",
    ),
    results=("jantares de restaurante", "batatas mais crocantes", "um arroz perfeito", "panquecas fofinhas"),
    tips=(
        "Deixe a frigideira esquentar bem antes de colocar qualquer coisa.",
        "Salgue a água do macarrão até ela ficar com gosto de mar.",
        "Deixe a carne descansar cinco minutos para o suco ficar lá dentro.",
        "Um pouco de limão no final salva um prato sem graça.",
        "Mantenha a faca afiada, a faca cega é que é perigosa.",
        "Toste as especiarias numa frigideira seca por trinta segundos.",
        "Guarde uma xícara da água do macarrão para deixar o molho brilhante.",
        "Seque bem o frango para a pele ficar crocante de verdade.",
        "Refogue a cebola em fogo baixo se você quiser que ela fique docinha.",
        "Leia a receita inteira antes de ligar o fogão.",
    ),
    hashtags=("#recipe", "#receitas", "#cooking", "#comidacaseira", "#foodie", "#receitasfaceis"),
    comment_word="RECEITA",
)

VOICE = Voice(
    language="pt",
    niches=(FITNESS, COOKING),
    hooks=(
        "Pare de {mistake}.",
        "Pare de {mistake} se você quer {result}.",
        "{n} dicas de {topic} que ninguém te conta.",
        "Por que ninguém fala sobre {topic}?",
        "Você ainda não sabe isso sobre {topic}?",
        "Esse erro com {topic} está te afastando de {result}.",
        "Quer {result}? Faça isso no lugar.",
        "Você está errando com {topic}.",
        "{n} coisas que eu queria ter sabido antes sobre {topic}.",
        "Testei {topic} por {days} dias e olha o que aconteceu.",
        "O truque de {topic} que mudou tudo para mim.",
        "É assim que você consegue {result} em {days} dias.",
        "Ninguém quer ouvir isso, mas {topic} é mais simples do que você pensa.",
    ),
    caption_lines=(
        "Salva para depois.",
        "Manda para alguém que precisa ver isso.",
        "Qual delas te surpreendeu mais?",
        "Parte {n} da série.",
        "Me conta nos comentários o que você quer ver agora.",
    ),
    intros=(
        "É o seguinte.",
        "Deixa eu te explicar.",
        "Eu aprendi isso do jeito difícil.",
        "A maioria das pessoas faz isso ao contrário.",
        "Então, escuta.",
    ),
    calls_to_action=(
        "Me segue para mais dicas como essa.",
        "Salva isso para não esquecer.",
        "Comenta {word} que eu te mando meu guia completo.",
        "Manda para um amigo que precisa ouvir isso.",
    ),
    image_lines=(
        "Salva para a próxima vez.",
        "E você, o que acha?",
        "Me conta nos comentários se você vai testar.",
    ),
    carousel_lines=(
        "Arrasta para ver as {n} fotos.",
        "São {n} dicas, salva a última.",
        "Arrasta até o final, a número {n} é a melhor.",
    ),
    biography="{title} | Te ajudo a conquistar {result}. Reels novos sobre {topic} toda semana.",
)
