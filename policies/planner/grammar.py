"""The decoding constraint: a character automaton for "a JSON list of skill calls", built from the registry,
and the token filter that transformers' `prefix_allowed_tokens_fn` calls at every step.

The automaton accepts exactly the plans the registry can validate, up to free-text length: a list of
1..`max_calls` objects, each `{"skill": NAME` then that skill's arguments in registry order (optional ones
may be left out), enums spelled out, numbers inside their range, and targets as
`{"object": "...", "point_2d": [x, y]}` (or Qwen's `bbox_2d` [x1, y1, x2, y2]). Optional whitespace is
allowed where JSON allows it (at most `max_ws` characters in a row), so models trained on pretty JSON
still fit. Decoding under it always parses.

A state is a set of "configurations", each a tuple of pending items (a stack, head first); a character
moves every configuration or drops it. Tokens are walked character by character through a trie of the
vocabulary with memoised transitions; for string bodies the plain tokens (no quote, backslash or control
character) are allowed in one step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from robot.skills.registry import GRID, MAX_TEXT, SKILLS, SkillSpec

_WS = " \n\t\r"
_NUM_RE = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?")

# Items (all hashable tuples):
#   ("L", text)            literal
#   ("W", n)               optional whitespace, up to n more characters
#   ("E", suffixes)        body of an enum string after its opening quote, through the closing quote
#   ("F", count, nonblank, need_nonblank, esc)  free string body through the closing quote
#   ("N", text, lo, hi, integer)  number
#   ("CALLS", k)           the rest of the list after call k
#   ("CALL",)              one call
#   ("ARGS", skill, i)     arguments of `skill` from index i, then "}"
#   ("TGT",)               a target object after its "{"
#   ("PT", key)            the coordinates after "point_2d" or "bbox_2d"
Config = tuple


@dataclass(frozen=True)
class GrammarConfig:
    """Limits of the automaton."""

    max_calls: int = 8
    """Most calls in one plan."""
    max_ws: int = 4
    """Most whitespace characters in a row between JSON tokens."""
    coord_max: int = GRID
    """Largest point coordinate: 1000 on Qwen3-VL's grid; the input width or height for pixel models."""
    allow_bbox: bool = True
    """Accept `bbox_2d` targets (turned into points after parsing)."""
    max_text: int = MAX_TEXT
    """Longest free text."""


class PlanGrammar:
    """The character automaton of a plan."""

    def __init__(self, cfg: GrammarConfig = GrammarConfig(), skills: dict[str, SkillSpec] | None = None) -> None:
        self.cfg = cfg
        self.skills = skills or SKILLS
        self._step: dict[tuple[frozenset, str], frozenset] = {}
        self._min: dict[frozenset, int] = {}

    # -- expansion ------------------------------------------------------------------------------------------
    def _ws(self) -> tuple:
        return ("W", self.cfg.max_ws)

    def _expand(self, head: tuple, rest: Config) -> list[Config]:
        """Configurations that a non-terminal (or an item that may end here) stands for."""
        kind = head[0]
        ws = self._ws()
        if kind == "CALLS":
            k = head[1]
            out = [(ws, ("L", "]")) + rest]
            if k < self.cfg.max_calls:
                out.append((ws, ("L", ","), ws, ("CALL",), ("CALLS", k + 1)) + rest)
            return out
        if kind == "CALL":
            # One alternative per skill: the name's characters pick the branch, and its arguments follow.
            pre = (("L", "{"), ws, ("L", "\"skill\""), ws, ("L", ":"), ws, ("L", "\""))
            return [pre + (("L", f"{n}\""), ("ARGS", n, 0)) + rest for n in self.skills]
        if kind == "ARGS":
            spec = self.skills[head[1]]
            i = head[2]
            if i >= len(spec.args):
                return [(ws, ("L", "}")) + rest]
            a = spec.args[i]
            present = (ws, ("L", ","), ws, ("L", f"\"{a.name}\""), ws, ("L", ":"), ws) + self._value(a) + (
                ("ARGS", head[1], i + 1),) + rest
            out = [present]
            if not a.required:
                out.append((("ARGS", head[1], i + 1),) + rest)
            return out
        if kind == "TGT":
            out = [(ws, ("L", "}")) + rest]
            keys = ["point_2d"] + (["bbox_2d"] if self.cfg.allow_bbox else [])
            for key in keys:
                out.append((ws, ("L", ","), ws, ("L", f"\"{key}\""), ws, ("L", ":"), ws, ("L", "["), ("PT", key, 0),
                            ws, ("L", "}")) + rest)
            return out
        if kind == "PT":
            key, j = head[1], head[2]
            n = 2 if key == "point_2d" else 4
            num = ("N", "", 0.0, float(self.cfg.coord_max), True)
            if j == 0:
                return [(ws, num, ("PT", key, 1)) + rest]
            if j < n:
                return [(ws, ("L", ","), ws, num, ("PT", key, j + 1)) + rest]
            return [(ws, ("L", "]")) + rest]
        raise AssertionError(kind)

    def _value(self, a: Any) -> tuple:
        if a.type == "target":
            return (("L", "{"), self._ws(), ("L", "\"object\""), self._ws(), ("L", ":"), self._ws(), ("L", "\""),
                    ("F", 0, False, True, False), ("TGT",))
        if a.type == "number":
            return (("N", "", float(a.minimum), float(a.maximum), False),)
        if a.choices:
            return (("L", "\""), ("E", tuple(f"{c}\"" for c in a.choices)))
        return (("L", "\""), ("F", 0, False, False, False))

    def _value_min(self, a: Any) -> int:
        if a.type == "target":
            return len('{"object":"x"}')
        if a.type == "number":
            return _num_min("", float(a.minimum), float(a.maximum), False)
        if a.choices:
            return 2 + min(len(c) for c in a.choices)
        return 2

    def _item_min(self, item: tuple) -> int:
        kind = item[0]
        if kind == "L":
            return len(item[1])
        if kind == "W":
            return 0
        if kind == "E":
            return min(len(x) for x in item[1])
        if kind == "F":
            return 1 + (1 if item[3] and not item[2] else 0) + (1 if item[4] else 0)
        if kind == "N":
            return _num_min(item[1], item[2], item[3], item[4])
        if kind == "CALLS":
            return 1
        if kind == "TGT":
            return 1
        if kind == "PT":
            n = 2 if item[1] == "point_2d" else 4
            return 2 * (n - item[2]) + 1 - (1 if item[2] == 0 else 0)
        if kind == "ARGS":
            spec = self.skills[item[1]]
            return 1 + sum(len(a.name) + 4 + self._value_min(a) for a in spec.args[item[2]:] if a.required)
        if kind == "CALL":
            return min(len('{"skill":"') + len(n) + 1 + self._item_min(("ARGS", n, 0)) for n in self.skills)
        raise AssertionError(kind)

    def min_len(self, state: frozenset) -> int:
        """Fewest characters that complete the plan from `state` (a large number for a dead state)."""
        if not state:
            return 1 << 30
        hit = self._min.get(state)
        if hit is None:
            hit = min(sum(self._item_min(i) for i in c) for c in state)
            if len(self._min) < 200_000:
                self._min[state] = hit
        return hit

    def _closure(self, configs: Iterable[Config]) -> frozenset:
        """Expand until every configuration's head consumes characters (or the configuration is done)."""
        out: set[Config] = set()
        todo = list(configs)
        seen: set[Config] = set()
        while todo:
            c = todo.pop()
            if c in seen:
                continue
            seen.add(c)
            if not c:
                out.add(c)
                continue
            head, rest = c[0], c[1:]
            kind = head[0]
            if kind == "L":
                if head[1] == "":
                    todo.append(rest)
                else:
                    out.add(c)
            elif kind == "W":
                todo.append(rest)
                if head[1] > 0:
                    out.add(c)
            elif kind == "N":
                if _num_complete(head[1], head[2], head[3]):
                    todo.append(rest)
                out.add(c)
            elif kind in ("E", "F"):
                out.add(c)
            else:
                todo.extend(self._expand(head, rest))
        return frozenset(out)

    def start(self) -> frozenset:
        return self._closure([(self._ws(), ("L", "["), self._ws(), ("CALL",), ("CALLS", 1))])

    # -- one character ------------------------------------------------------------------------------------------
    def step(self, state: frozenset, ch: str) -> frozenset:
        """The state after `ch`; empty when `ch` is not allowed."""
        key = (state, ch)
        hit = self._step.get(key)
        if hit is not None:
            return hit
        nxt: list[Config] = []
        for c in state:
            if c:
                nxt.extend(self._advance(c, ch))
        res = self._closure(nxt)
        if len(self._step) < 500_000:
            self._step[key] = res
        return res

    def _advance(self, c: Config, ch: str) -> list[Config]:
        head, rest = c[0], c[1:]
        kind = head[0]
        if kind == "L":
            return [(("L", head[1][1:]),) + rest] if head[1][0] == ch else []
        if kind == "W":
            return [(("W", head[1] - 1),) + rest] if ch in _WS and head[1] > 0 else []
        if kind == "E":
            sufs = tuple(s[1:] for s in head[1] if s and s[0] == ch)
            if not sufs:
                return []
            if "" in sufs:  # the closing quote: values never contain one, so this is the only branch
                return [rest]
            return [(("E", sufs),) + rest]
        if kind == "F":
            count, nonblank, need, esc = head[1], head[2], head[3], head[4]
            if esc:
                if ch in "\"\\/bfnrt":
                    return [(("F", count + 1, nonblank or True, need, False),) + rest] if count + 1 <= self.cfg.max_text else []
                return []
            if ch == "\"":
                return [rest] if (nonblank or not need) else []
            if ch == "\\":
                return [(("F", count, nonblank, need, True),) + rest]
            if ord(ch) < 0x20 or count + 1 > self.cfg.max_text:
                return []
            return [(("F", count + 1, nonblank or not ch.isspace(), need, False),) + rest]
        if kind == "N":
            text = head[1] + ch
            if _num_feasible(text, head[2], head[3], head[4]):
                return [(("N", text, head[2], head[3], head[4]),) + rest]
            return []
        return []


_NUM_MIN: dict[tuple, int] = {}


def _num_min(text: str, lo: float, hi: float, integer: bool) -> int:
    """Fewest characters that turn the number prefix `text` into a number in [lo, hi] (breadth-first)."""
    key = (text, lo, hi, integer)
    if key in _NUM_MIN:
        return _NUM_MIN[key]
    frontier, depth, best = [text], 0, 8
    while frontier and depth < 8:
        if any(_num_complete(t, lo, hi) for t in frontier):
            best = depth
            break
        frontier = [t + c for t in frontier for c in "0123456789.-" if _num_feasible(t + c, lo, hi, integer)][:200]
        depth += 1
    _NUM_MIN[key] = best
    return best


def _num_complete(text: str, lo: float, hi: float) -> bool:
    if not _NUM_RE.fullmatch(text):
        return False
    v = float(text)
    return lo <= v <= hi


def _num_feasible(text: str, lo: float, hi: float, integer: bool, max_int: int = 4, max_frac: int = 3) -> bool:
    """Whether some completion of the number prefix `text` is a number in [lo, hi]."""
    if text == "-":
        return lo < 0 and not integer
    neg = text.startswith("-")
    if neg and (integer or lo >= 0):
        return False
    body = text[1:] if neg else text
    if not body or not re.fullmatch(r"\d+(\.\d*)?", body):
        return False
    ip, _, fp = body.partition(".")
    if len(ip) > 1 and ip[0] == "0":
        return False
    if len(ip) > max_int or len(fp) > max_frac:
        return False
    if "." in body and integer:
        return False
    v = int(ip)
    intervals = []
    if "." in body:
        base = v + (int(fp) / 10 ** len(fp) if fp else 0.0)
        intervals.append((base, base + 10 ** -len(fp) if fp else base + 1))
    else:
        intervals.append((v, v if integer else v + 1))
        if ip != "0":
            for j in range(1, max_int - len(ip) + 1):
                intervals.append((v * 10 ** j, (v + 1) * 10 ** j - (1 if integer else 0)))
    for a, b in intervals:
        if neg:
            a, b = -b, -a
        if b >= lo and a <= hi:
            return True
    return False


__all__ = ["GrammarConfig", "PlanGrammar"]


class _Node:
    __slots__ = ("children", "ids", "plain", "sub_ids", "depth")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.ids: list[int] = []
        self.plain = True  # every token in the subtree is plain string content
        self.sub_ids: list[int] = []
        self.depth = 0  # longest token text in the subtree, from this node


def _is_plain(ch: str) -> bool:
    return ch not in "\"\\" and ord(ch) >= 0x20


def token_texts(tokenizer: Any) -> list[str | None]:
    """What each token id adds to the decoded text (None for special or undecodable tokens).

    Decoded after an anchor token and diffed, so tokenizers that drop a leading space when a token
    stands alone (SentencePiece) still give the text the token adds mid-sequence.
    """
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    anchor_ids = tokenizer.encode("a", add_special_tokens=False)[:1]
    anchor = tokenizer.decode(anchor_ids, clean_up_tokenization_spaces=False)
    out: list[str | None] = []
    for i in range(len(tokenizer)):
        if i in special:
            out.append(None)
            continue
        text = tokenizer.decode(anchor_ids + [i], clean_up_tokenization_spaces=False)
        if not text.startswith(anchor):
            out.append(None)
            continue
        text = text[len(anchor):]
        out.append(text if text and "\ufffd" not in text else None)
    return out


class TokenFilter:
    """`prefix_allowed_tokens_fn` for `model.generate`: the token ids that keep the output a valid plan.

    Call `reset(prompt_length)` before each `generate`. End-of-sequence ids are allowed once the plan is
    complete, and are the only choice after it.
    """

    def __init__(self, grammar: PlanGrammar, tokenizer: Any, eos_ids: Sequence[int]) -> None:
        self.grammar = grammar
        self.eos_ids = sorted(set(int(i) for i in eos_ids))
        self.texts = token_texts(tokenizer)
        self.root = _Node()
        for i, t in enumerate(self.texts):
            if t is None:
                continue
            node = self.root
            path = [node]
            for ch in t:
                node = node.children.setdefault(ch, _Node())
                path.append(node)
            node.ids.append(i)
            plain = all(_is_plain(c) for c in t)
            for d, n in enumerate(path):
                n.sub_ids.append(i)
                n.depth = max(n.depth, len(t) - d)
                if not plain:
                    n.plain = False
        self.plain = [t is not None and all(_is_plain(c) for c in t) for t in self.texts]
        self.longest = max((len(t) for t in self.texts if t), default=1) + 1
        self._allowed: dict[frozenset, list[int]] = {}
        self._tensors: dict[int, tuple[list[int], Any]] = {}
        self._kept: set[int] = set()  # ids of the lists `_allowed` holds
        self._states: dict[tuple[int, ...], frozenset] = {}
        self.prompt_length = 0
        self.max_new_tokens = 1 << 30

    def reset(self, prompt_length: int, max_new_tokens: int = 1 << 30) -> None:
        """Start a new answer after a prompt of `prompt_length` tokens, within `max_new_tokens`."""
        self.prompt_length = prompt_length
        self.max_new_tokens = max_new_tokens
        self._states = {(): self.grammar.start()}

    def state_of(self, generated: Sequence[int]) -> frozenset:
        key = tuple(int(i) for i in generated)
        st = self._states.get(key)
        if st is None:
            st = self.state_of(key[:-1])
            text = self.texts[key[-1]] if 0 <= key[-1] < len(self.texts) else None
            if text is None or not st:
                st = frozenset()
            else:
                for ch in text:
                    st = self.grammar.step(st, ch)
                    if not st:
                        break
            self._states[key] = st
        return st

    def allowed(self, state: frozenset) -> list[int]:
        # Inside a string, the count of characters read matters only near the length limit: states that
        # differ only in it (with room for the longest token) share one entry.
        key = frozenset((("F", 0) + c[0][2:],) + c[1:]
                        if c and c[0][0] == "F" and self.grammar.cfg.max_text - c[0][1] > self.longest else c
                        for c in state)
        hit = self._allowed.get(key)
        if hit is not None:
            return hit
        ids: list[int] = []
        # Inside a free string every plain token fits; only tokens with a quote or backslash are walked.
        fast = bool(state) and all(c and c[0][0] == "F" and not c[0][4] for c in state)
        room = min((self.grammar.cfg.max_text - c[0][1]) for c in state) if fast else 0

        def walk(node: _Node, st: frozenset) -> None:
            for ch, child in node.children.items():
                if fast and st is state and child.plain and child.depth + 1 <= room:
                    ids.extend(child.sub_ids)
                    continue
                nxt = self.grammar.step(st, ch)
                if nxt:
                    ids.extend(child.ids)
                    walk(child, nxt)

        walk(self.root, state)
        if () in state:
            ids.extend(self.eos_ids)
        if not ids:  # a dead end cannot happen with feasible prefixes; end rather than loop
            ids = list(self.eos_ids)
        if len(self._allowed) < 20_000:
            self._allowed[key] = ids
            self._kept.add(id(ids))
        return ids

    def __call__(self, batch_id: int, input_ids: Any) -> list[int]:
        return self.allowed_after(input_ids[self.prompt_length:].tolist())

    def allowed_after(self, generated: Sequence[int]) -> list[int]:
        """The ids allowed after the answer tokens `generated` (what `__call__` gives for prompt + them)."""
        state = self.state_of(generated)
        ids = self.allowed(state)
        left = self.max_new_tokens - len(generated) - 1  # tokens left after this one
        need = self.grammar.min_len(state)
        if left < need + 64:
            # Near the end of the budget: keep only tokens after which the plan can still close (every
            # token is at least one character, and the vocabulary has every character as a token).
            # Plain tokens inside a string leave the shortest completion as it is.
            fast = all(c and c[0][0] == "F" and not c[0][4] for c in state)
            eos = set(self.eos_ids)
            keep = []
            for i in ids:
                if i in eos:
                    keep.append(i)
                elif fast and self.plain[i]:
                    if need <= left:
                        keep.append(i)
                elif self.grammar.min_len(self.state_of(list(generated) + [i])) <= left:
                    keep.append(i)
            ids = keep or ids
        return ids

    def allowed_tensor(self, batch_id: int, input_ids: Any) -> Any:
        """`__call__` as a LongTensor, the form `generate` indexes its mask with.

        The lists `allowed` caches are turned into tensors once: inside a free string about 1400 ids are
        allowed, and converting that list on every token cost about 0.4 ms of a 5 ms decoding step.
        """
        return self.as_tensor(self(batch_id, input_ids))

    def as_tensor(self, ids: list[int]) -> Any:
        """A list `allowed_after` gave, as a LongTensor (made once for the lists its cache holds)."""
        import torch

        hit = self._tensors.get(id(ids))
        if hit is not None and hit[0] is ids:
            return hit[1]
        t = torch.tensor(ids, dtype=torch.long)
        if id(ids) in self._kept:
            self._tensors[id(ids)] = (ids, t)  # a list the cache keeps alive: its id is never reused
        return t


__all__ += ["TokenFilter", "token_texts"]
