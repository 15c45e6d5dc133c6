"""The keyword planner: rules, no learning. The baseline every planner table compares against.

It splits the instruction at "then" / "y luego" and the like, picks a skill per clause from verb
keywords (English and Spanish), reads colours, shapes, sizes, hands, numbers and units, and finds a
named colour in the frame by its chromaticity (the scene's palette is known) to give the target a
`point_2d`. A named colour it cannot find in the frame makes it refuse, as do requests with harmful
verbs and instructions in which it recognises no robot action.
"""

from __future__ import annotations

import json
import re
from typing import Any, Sequence

import numpy as np

from policies.planner.base import HistoryItem, Planner
from policies.planner.grounding import mask_point
from policies.planner.lexicon import COLOUR_WORDS, SHAPE_WORDS, SIZE_WORDS, cannot_see, fold
from robot.sim.camera import SKY_RGB
from robot.sim.scene import COLOURS

SPLIT = re.compile(r"\b(?:and then|then|after that|afterwards|next|and|y luego|luego|y despues|despues|"
                   r"a continuacion|y a continuacion|enseguida|y|first|primero)\b|(?<!\d)\.(?!\d)|[;!?]")
# A full stop ends a clause, a decimal point ("0.3 m") does not.
UNSAFE = ("hit", "kick", "punch", "throw", "attack", "break", "smash", "hurt", "knock", "trip", "crush", "hurl",
          "step on", "fall on", "jump off", "run into", "golpea", "patea", "lanza", "tira", "ataca", "rompe",
          "estrella", "punetazo", "pega", "pisa", "caete", "zancadilla", "aplasta", "choca", "golpeame", "lanzame",
          "empujame", "anciano", "shove the", "push me", "salta de")
VERBS: list[tuple[str, tuple[str, ...]]] = [
    ("push", ("push", "shove", "nudge", "slide", "empuja", "empujon", "aparta", "desplaza", "empujalo", "empujala")),
    ("touch", ("touch", "tap", "hand on", "lay a hand", "toca", "tocame", "tocalo", "tocala", "pon la mano",
               "pon tu mano")),
    ("point_at", ("point", "indicate", "show me", "senala", "apunta", "indica", "muestrame", "senalame", "senalalo",
                  "senalala", "apuntale")),
    ("face", ("face", "turn to", "turn toward", "orient", "turn your body", "frente", "girate hacia", "encara",
              "voltea hacia", "volteate hacia", "de cara", "orientate", "vuelta hacia")),
    ("look_at", ("look", "watch", "eyes on", "center", "glance", "mira", "observa", "fijate", "mirada", "vistazo",
                 "centra", "miralo", "mirala", "observalo")),
    ("walk_to", ("go", "walk", "approach", "head", "move", "navigate", "make your way", "get close", "get yourself",
                 "come", "ve ", "camina", "acercate", "dirigete", "anda", "muevete", "aproximate", "llega", "vete",
                 "avanza", "reach")),
]
OTHER: list[tuple[str, tuple[str, ...]]] = [
    ("wave", ("wave", "hello", "greet", " hi", "saluda", "saludo", "hola", "agita", "despidete", "salud")),
    ("turn", ("turn", "rotate", "spin", "u-turn", "gira", "rota", "voltea", "vuelta", "giro")),
    ("squat", ("squat", "crouch", "get down", "bend", "agachate", "cuclillas", "sentadilla", "baja", "flexiona")),
    ("stand", ("stand", "get up", "rise", "feet", "levantate", "de pie", "parate", "incorporate", "derecho")),
    ("stop", ("stop", "halt", "freeze", "still", "para", "detente", "alto", "quieto", "no te muevas", "frena")),
]
WALK_VERBS = ("walk", "go", "move", "take", "step", "camina", "avanza", "muevete", "desplazate", "anda", "ve ",
              "retrocede")
NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "un": 1, "uno": 1, "una": 1, "dos": 2, "tres": 3,
           "cuatro": 4, "cinco": 5}


def colour_mask(rgb: np.ndarray, colour: str) -> np.ndarray:
    """Pixels whose colour is a shade of the palette colour `colour` (sky and floor excluded)."""
    p = rgb.astype(np.float32) / 255.0
    c = np.asarray(COLOURS[colour], dtype=np.float32)
    bright = p.max(-1)
    sky = np.abs(rgb.astype(np.int16) - np.asarray(SKY_RGB, dtype=np.int16)).max(-1) < 12
    if colour == "black":
        return (bright < 0.2) & ~sky
    s = (p @ c) / float(c @ c)
    resid = np.linalg.norm(p - s[..., None] * c, axis=-1) / (np.linalg.norm(p, axis=-1) + 1e-6)
    if colour == "white":
        return (resid < 0.05) & (s > 0.86) & ~sky
    return (resid < 0.18) & (s > 0.35) & (bright > 0.2)


class KeywordPlanner(Planner):
    """Rules over words (English and Spanish) and colours in the frame; no learning."""

    name = "keyword"

    def generate(self, instruction: str, frame: np.ndarray | None, history: Sequence[HistoryItem],
                 attempt: int) -> str:
        return json.dumps(self.rules(instruction, frame, history))

    def rules(self, instruction: str, frame: np.ndarray | None, history: Sequence[HistoryItem] = ()) -> list[dict[str, Any]]:
        # "can you ..." is politeness, not a can (a cylinder synonym).
        text = re.sub(r"\b(can|could|would) you\b", " ", " " + fold(instruction) + " ")
        if any(re.search(r"\b" + re.escape(w) + r"\b", text) for w in UNSAFE):
            return [{"skill": "refuse", "reason": "That could hurt someone or damage something."}]
        clauses = [c.strip(" ,") for c in SPLIT.split(text)]
        calls: list[dict[str, Any]] = []
        carry = ""
        prev_target: dict[str, Any] | None = None
        for clause in clauses:
            if not clause:
                continue
            clause = (carry + " " + clause).strip()
            call = self._clause(" " + clause + " ", frame, prev_target)
            if call is None:
                carry = clause  # "with your left hand," or "reach out": joins the next clause
                continue
            carry = ""
            if call.get("skill") == "refuse":
                return [call]
            if "target" in call:
                prev_target = call["target"]
            calls.append(call)
        if not calls:
            return [{"skill": "refuse", "reason": "That is not something I can do with my body."}]
        done = sum(1 for h in history if h.ok)
        return calls[done:] or [{"skill": "done", "say": "All done."}]

    def _clause(self, c: str, frame: np.ndarray | None, prev: dict[str, Any] | None) -> dict[str, Any] | None:
        ws = re.findall(r"[a-z]+", c)
        colour = next((COLOUR_WORDS[w] for w in ws if w in COLOUR_WORDS), None)
        shape = next((SHAPE_WORDS[w] for w in ws if w in SHAPE_WORDS), None)
        size = next((SIZE_WORDS[w] for w in ws if w in SIZE_WORDS), None)
        has_obj = colour is not None or shape is not None
        # "it", Spanish enclitics ("tócalo", "señálala", "apúntale") and "hacia él" name the previous target.
        pron = prev is not None and not has_obj and (" it " in c or re.search(
            r"\b\w{3,}(lo|la|le)\b|\b(hacia|a|de) (el|ella)\s*$", c) is not None)
        hand = "left" if re.search(r"\b(left|izquierda|izquierdo)\b", c) else (
            "right" if re.search(r"\b(right|derecha|derecho)\b", c) else None)
        if has_obj or pron:
            skill = next((s for s, keys in VERBS if any(k in c for k in keys)), None)
            if skill is None:
                return None
            if pron:
                target = dict(prev)  # type: ignore[arg-type]
            else:
                target = self._target(colour, shape, size, frame)
                if target is None:
                    return {"skill": "refuse", "reason": cannot_see(" ".join(x for x in (colour, shape) if x))}
            call: dict[str, Any] = {"skill": skill, "target": target}
            if skill in ("point_at", "touch") and hand:
                call["hand"] = hand
            if skill == "push":
                call["distance"] = min(max(self._distance(c) or 0.3, 0.05), 1.0)
            return call
        for skill, keys in OTHER:
            if any(k in c for k in keys):
                if skill == "turn" and not self._is_walk(c):
                    return self._turn(c)
                if skill == "wave":
                    return {"skill": "wave", **({"hand": hand} if hand else {})}
                if skill in ("squat", "stand", "stop"):
                    if self._is_walk(c) and self._distance(c):
                        break
                    return {"skill": skill}
        if self._is_walk(c) and self._distance(c) is not None:
            d = min(max(self._distance(c) or 1.0, 0.05), 5.0)
            direction = "forward"
            if re.search(r"\b(back|backward|backwards|atras|retrocede)\b", c):
                direction = "backward"
            elif hand == "left":
                direction = "left"
            elif hand == "right":
                direction = "right"
            return {"skill": "walk", "distance": d, **({"direction": direction} if direction != "forward" else {})}
        return None

    @staticmethod
    def _is_walk(c: str) -> bool:
        return any(k in c for k in WALK_VERBS) and re.search(r"\d|meter|metro|cm|centim|half|medio", c) is not None

    @staticmethod
    def _turn(c: str) -> dict[str, Any]:
        if re.search(r"around|u turn|vuelta|volteate|media", c) and not re.search(r"\d", c):
            return {"skill": "turn", "degrees": 180.0}
        m = re.search(r"(\d+)", c)
        deg = float(m.group(1)) if m else 90.0
        deg = min(deg, 180.0)
        right = re.search(r"\b(right|derecha)\b", c) is not None
        return {"skill": "turn", "degrees": -deg if right else deg}

    @staticmethod
    def _distance(c: str) -> float | None:
        if re.search(r"half a meter|medio metro", c):
            return 0.5
        m = re.search(r"(\d+(?:[.,]\d+)?)\s*(cm|centimeters|centimetros|centimetres|m|meters|meter|metros|metro)?\b", c)
        if m:
            v = float(m.group(1).replace(",", "."))
            unit = m.group(2) or "m"
            return v / 100.0 if unit.startswith("c") else v
        m = re.search(r"\b(one|two|three|four|five|un|uno|dos|tres|cuatro|cinco)\s+(meters?|metros?)\b", c)
        if m:
            return float(NUMBERS[m.group(1)])
        return None

    @staticmethod
    def _target(colour: str | None, shape: str | None, size: str | None, frame: np.ndarray | None) -> dict[str, Any] | None:
        desc = " ".join(x for x in (size, colour, shape) if x) or "object"
        if colour is None or frame is None:
            return {"object": desc}
        mask = colour_mask(frame, colour)
        if int(mask.sum()) < 25:
            return None
        point = mask_point(_largest_blob(mask))
        return {"object": desc, **({"point_2d": list(point)} if point else {})}


def _largest_blob(mask: np.ndarray) -> np.ndarray:
    """The largest 4-connected component of a boolean mask (a small flood fill; masks are sparse)."""
    h, w = mask.shape
    seen = np.zeros_like(mask)
    best: list[tuple[int, int]] = []
    for v0, u0 in zip(*np.nonzero(mask)):
        if seen[v0, u0]:
            continue
        stack, comp = [(v0, u0)], []
        seen[v0, u0] = True
        while stack:
            v, u = stack.pop()
            comp.append((v, u))
            for dv, du in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                a, b = v + dv, u + du
                if 0 <= a < h and 0 <= b < w and mask[a, b] and not seen[a, b]:
                    seen[a, b] = True
                    stack.append((a, b))
        if len(comp) > len(best):
            best = comp
    out = np.zeros_like(mask)
    for v, u in best:
        out[v, u] = True
    return out


__all__ = ["KeywordPlanner", "colour_mask"]
