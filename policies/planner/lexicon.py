"""Words for objects, hands, directions and numbers in English and Spanish.

Shared by the training-data generator (which writes instructions with them) and the keyword planner
(which reads instructions with them). Scene attributes (colours, shapes, sizes) come from
`robot.sim.scene`; here only their names in the two languages.
"""

from __future__ import annotations

import re
import unicodedata

from robot.sim.scene import COLOURS, SHAPES

# English colour -> Spanish forms (masculine, feminine); "naranja" and "verde" do not inflect.
COLOUR_ES: dict[str, tuple[str, str]] = {
    "red": ("rojo", "roja"), "green": ("verde", "verde"), "blue": ("azul", "azul"),
    "yellow": ("amarillo", "amarilla"), "orange": ("naranja", "naranja"), "purple": ("morado", "morada"),
    "white": ("blanco", "blanca"), "black": ("negro", "negra"),
}
COLOUR_SYNONYMS_EN: dict[str, tuple[str, ...]] = {"purple": ("violet",), "red": ("crimson",)}
COLOUR_SYNONYMS_ES: dict[str, tuple[tuple[str, str], ...]] = {"purple": (("violeta", "violeta"), ("púrpura", "púrpura"))}

# Shape -> (noun, ...) in English; Spanish (noun, gender) pairs.
SHAPE_EN: dict[str, tuple[str, ...]] = {"cube": ("cube", "box", "block"), "ball": ("ball", "sphere"),
                                        "cylinder": ("cylinder", "can", "tube")}
SHAPE_ES: dict[str, tuple[tuple[str, str], ...]] = {
    "cube": (("cubo", "m"), ("caja", "f"), ("bloque", "m")),
    "ball": (("pelota", "f"), ("bola", "f"), ("esfera", "f")),
    "cylinder": (("cilindro", "m"), ("tubo", "m"), ("lata", "f")),
}
SIZE_EN = {"big": ("big", "large"), "small": ("small", "little")}
SIZE_ES = {"big": (("grande", "grande"),), "small": (("pequeño", "pequeña"), ("chico", "chica"))}

NUMBER_WORDS_EN = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}
NUMBER_WORDS_ES = {1: "un", 2: "dos", 3: "tres", 4: "cuatro", 5: "cinco"}

assert set(COLOUR_ES) == set(COLOURS) and set(SHAPE_EN) == set(SHAPES)


def fold(text: str) -> str:
    """Lower case without accents, for matching: "Tócalo" -> "tocalo"."""
    text = unicodedata.normalize("NFD", text.lower())
    return "".join(c for c in text if unicodedata.category(c) != "Mn")


def words(text: str) -> list[str]:
    """Folded words of a text, punctuation dropped; decimals ("0.5", "0,5") kept whole."""
    return re.findall(r"\d+(?:[.,]\d+)?|[a-z]+", fold(text))


# Folded word -> attribute, for reading.
COLOUR_WORDS: dict[str, str] = {}
for _en, (_m, _f) in COLOUR_ES.items():
    for _w in (_en, *COLOUR_SYNONYMS_EN.get(_en, ()), _m, _f,
               *(x for pair in COLOUR_SYNONYMS_ES.get(_en, ()) for x in pair)):
        COLOUR_WORDS[fold(_w)] = _en
SHAPE_WORDS: dict[str, str] = {}
for _s in SHAPES:
    for _w in SHAPE_EN[_s]:
        SHAPE_WORDS[_w] = _s
        SHAPE_WORDS[_w + ("es" if _w.endswith("x") else "s")] = _s
    for _w, _g in SHAPE_ES[_s]:
        SHAPE_WORDS[fold(_w)] = _s
        SHAPE_WORDS[fold(_w) + "s"] = _s
SIZE_WORDS: dict[str, str] = {}
for _k, _ws in SIZE_EN.items():
    for _w in _ws:
        SIZE_WORDS[_w] = _k
for _k, _pairs in SIZE_ES.items():
    for _pair in _pairs:
        for _w in _pair:
            SIZE_WORDS[fold(_w)] = _k
SIZE_WORDS["gran"] = "big"


def cannot_see(what: str) -> str:
    """The refusal for an object not in view, with its English article: "I cannot see an orange cube here."."""
    return f"I cannot see {'an' if what[:1] in 'aeiou' else 'a'} {what} here."


__all__ = ["COLOUR_ES", "COLOUR_WORDS", "NUMBER_WORDS_EN", "NUMBER_WORDS_ES", "SHAPE_EN", "SHAPE_ES",
           "SHAPE_WORDS", "SIZE_EN", "SIZE_ES", "SIZE_WORDS", "cannot_see", "fold", "words"]
