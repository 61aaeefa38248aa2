"""Clean seed texts (60-120 words, no stage directions, no names) for characters that have none."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

POOLS = {
    "en": [
        "The birch canoe slid on the smooth planks.", "Glue the sheet to the dark blue background.",
        "It is easy to tell the depth of a well.", "These days a chicken leg is a rare dish.",
        "Rice is often served in round bowls.", "The juice of lemons makes fine punch.",
        "The box was thrown beside the parked truck.", "Four hours of steady work faced us.",
        "A large size in stockings is hard to sell.", "The boy was there when the sun rose.",
        "A rod is used to catch pink salmon.", "The source of the huge river is the clear spring.",
        "Kick the ball straight and follow through.", "Help the woman get back to her feet.",
        "A pot of tea helps to pass the evening.", "Smoky fires lack flame and heat.",
        "The soft cushion broke the man's fall.", "The salt breeze came across from the sea.",
    ],
    "de": [
        "Der Wind weht kalt über die weiten Felder.", "Am Morgen trinken wir gern einen heißen Tee.",
        "Die alte Brücke führt über den stillen Fluss.", "Im Sommer blühen die Rosen im ganzen Garten.",
        "Das Kind liest ein Buch über ferne Länder.", "Der Zug fährt pünktlich um acht Uhr ab.",
        "Wir sehen die Sterne über den dunklen Bergen.", "Die Katze schläft ruhig auf dem warmen Sofa.",
        "Im Herbst fallen bunte Blätter von den Bäumen.", "Der Bäcker backt jeden Tag frisches Brot.",
        "Ein kleines Boot treibt langsam auf dem See.", "Die Stadt erwacht früh am Montagmorgen.",
        "Nach dem Regen riecht die Luft ganz frisch.", "Sie schreibt einen langen Brief an ihre Schwester.",
    ],
    "fr": [
        "Le vent souffle doucement sur la plaine.", "Nous buvons un café chaud chaque matin.",
        "La vieille porte grince quand on l'ouvre.", "Les enfants jouent dans le jardin fleuri.",
        "Le train part à huit heures précises.", "Elle lit un roman près de la fenêtre.",
        "La mer est calme sous le ciel du soir.", "Le boulanger prépare du pain frais chaque jour.",
        "Les feuilles tombent lentement en automne.", "Un petit bateau glisse sur le lac tranquille.",
        "La ville se réveille avec le soleil.", "Il écrit une longue lettre à son frère.",
        "Après la pluie, l'air sent bon la terre.", "Le chat dort sur le coussin bleu.",
    ],
    "es": [
        "El viento sopla suave sobre la llanura.", "Cada mañana tomamos un café caliente.",
        "La vieja puerta cruje al abrirse.", "Los niños juegan en el jardín florido.",
        "El tren sale a las ocho en punto.", "Ella lee una novela junto a la ventana.",
        "El mar está tranquilo bajo el cielo de la tarde.", "El panadero hace pan fresco cada día.",
        "Las hojas caen despacio en otoño.", "Un pequeño barco cruza el lago en calma.",
        "La ciudad despierta con el sol.", "Él escribe una carta larga a su hermano.",
        "Después de la lluvia el aire huele a tierra.", "El gato duerme sobre el cojín azul.",
    ],
}


def profile_seed_text(character_id: str, profile: Mapping[str, Any], language: str) -> str:
    """The profile's voice_seed_text, else a deterministic one for the character."""
    return str(profile.get("voice_seed_text") or "").strip() or seed_text(character_id, language)


def seed_text(character_id: str, language: str) -> str:
    """A deterministic 60-120-word text in the language (English where none is known)."""
    pool = POOLS.get(language.split("-")[0], POOLS["en"])
    ranked = sorted(pool, key=lambda s: hashlib.sha256(f"{character_id}:{s}".encode()).hexdigest())
    chosen: list[str] = []
    words = 0
    for sentence in ranked:
        count = len(sentence.split())
        if words >= 60 and words + count > 120:
            break
        chosen.append(sentence)
        words += count
        if words >= 90:
            break
    return " ".join(chosen)
