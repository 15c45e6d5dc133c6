"""The one registry of skills: names, arguments, done-conditions, validation and the plan's JSON schema.

This is the contract between System 2 (the planner) and the skills (ARCHITECTURE.md, "The skill
vocabulary"). The planner's prompt, its decoding constraint, its training targets and the validation of
its output all come from `SKILLS` here, so they can never disagree. A plan is a list of `SkillCall`;
each serialises to one flat JSON object, `{"skill": NAME, ...args}`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

GRID = 1000
"""`point_2d` lives on a 0..GRID grid over the head-camera frame (Qwen3-VL's grounding convention)."""
MAX_TEXT = 300
"""Longest free text (`say`, `reason`) and target description a call may carry, in characters."""


@dataclass(frozen=True)
class Target:
    """What a skill acts on: a description and, when the planner can see it, a point in the frame.

    Attributes:
        object: a description such as "red cube" or "the big blue ball".
        point_2d: (x, y) on the 0..1000 grid over the head-camera frame (x right, y down), or None.
    """

    object: str
    point_2d: tuple[int, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"object": self.object}
        if self.point_2d is not None:
            d["point_2d"] = [int(self.point_2d[0]), int(self.point_2d[1])]
        return d

    @staticmethod
    def from_dict(d: Any, where: str = "target") -> Target:
        """Parse and check a target; raises ValueError naming the bad field."""
        if isinstance(d, Target):
            d = d.to_dict()
        if isinstance(d, str):  # a bare description is accepted: planners often emit one
            d = {"object": d}
        if not isinstance(d, dict):
            raise ValueError(f"{where} must be an object like {{\"object\": \"red cube\"}}, got {d!r}")
        extra = set(d) - {"object", "point_2d"}
        if extra:
            raise ValueError(f"{where} has unknown fields {sorted(extra)} (allowed: object, point_2d)")
        obj = d.get("object")
        if not isinstance(obj, str) or not obj.strip():
            raise ValueError(f"{where}.object must be a non-empty description string, got {obj!r}")
        if len(obj) > MAX_TEXT:
            raise ValueError(f"{where}.object is longer than {MAX_TEXT} characters")
        p = d.get("point_2d")
        if p is not None:
            if (not isinstance(p, (list, tuple)) or len(p) != 2
                    or not all(isinstance(v, int) and not isinstance(v, bool) for v in p)):
                raise ValueError(f"{where}.point_2d must be two integers [x, y], got {p!r}")
            if not all(0 <= v <= GRID for v in p):
                raise ValueError(f"{where}.point_2d must lie on the 0..{GRID} grid, got {list(p)}")
            p = (int(p[0]), int(p[1]))
        return Target(obj.strip(), p)


@dataclass(frozen=True)
class Arg:
    """One argument of a skill.

    Attributes:
        name: the JSON key.
        type: "target", "number" or "text"; "text" with `choices` is an enum.
        description: one line for the planner's prompt and `--help`-like listings.
        required: whether a call must carry it; optional ones take `default`.
        choices: allowed values of an enum.
        minimum, maximum: inclusive range of a number.
    """

    name: str
    type: str
    description: str
    required: bool = True
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    default: Any = None

    def check(self, value: Any, skill: str) -> Any:
        """The value, normalised (a Target as a dict, numbers as float); ValueError if invalid."""
        where = f"{skill}.{self.name}"
        if self.type == "target":
            return Target.from_dict(value, where).to_dict()
        if self.type == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{where} must be a finite number, got {value!r}")
            if (self.minimum is not None and value < self.minimum) or (
                    self.maximum is not None and value > self.maximum):
                raise ValueError(f"{where} must be within {self.minimum:g}..{self.maximum:g}, got {value!r}")
            return float(value)
        if not isinstance(value, str):
            raise ValueError(f"{where} must be a string, got {value!r}")
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"{where} must be one of {list(self.choices)}, got {value!r}")
        if len(value) > MAX_TEXT:
            raise ValueError(f"{where} is longer than {MAX_TEXT} characters")
        return value

    def schema(self) -> dict[str, Any]:
        """This argument's JSON schema."""
        if self.type == "target":
            return target_schema()
        if self.type == "number":
            s: dict[str, Any] = {"type": "number", "description": self.description}
            if self.minimum is not None:
                s["minimum"] = self.minimum
            if self.maximum is not None:
                s["maximum"] = self.maximum
            return s
        s = {"type": "string", "description": self.description}
        if self.choices is not None:
            s["enum"] = list(self.choices)
        else:
            s["maxLength"] = MAX_TEXT
        return s


@dataclass(frozen=True)
class SkillSpec:
    """One verb of the vocabulary.

    Attributes:
        name: the `skill` value in JSON.
        description: what it does, one line.
        args: its arguments, in the order a planner should emit them.
        done_when: the done-condition, as in ARCHITECTURE.md.
        moves: False for `done` and `refuse`, which the agent handles and which move nothing.
    """

    name: str
    description: str
    args: tuple[Arg, ...] = ()
    done_when: str = ""
    moves: bool = True

    def arg(self, name: str) -> Arg:
        for a in self.args:
            if a.name == name:
                return a
        raise KeyError(name)


def _target(what: str = "the object") -> Arg:
    return Arg("target", "target", f"{what}: {{\"object\": description, \"point_2d\": [x, y] on 0..1000 "
                                   "when seen}")


_HAND3 = ("left", "right", "auto")
# Ranges: a walk or push longer than the head camera sees well (about 4 m on the floor) is better
# planned as walk_to; a push beyond 1 m leaves the arms' reach and the robot must follow the cube.
SKILLS: dict[str, SkillSpec] = {s.name: s for s in (
    SkillSpec("walk_to", "walk up to a target and face it", (_target("where to go"),),
              "about 0.5 m in front of the target, facing it"),
    SkillSpec("walk", "walk a distance in a direction without turning", (
        Arg("distance", "number", "metres to walk", minimum=0.05, maximum=5.0),
        Arg("direction", "text", "which way", required=False, choices=("forward", "backward", "left", "right"),
            default="forward")), "moved that far"),
    SkillSpec("turn", "turn in place", (
        Arg("degrees", "number", "angle, positive = left / counter-clockwise", minimum=-180.0, maximum=180.0),),
        "turned that much"),
    SkillSpec("face", "turn in place to face a target", (_target("what to face"),), "facing it within 10 deg"),
    SkillSpec("look_at", "centre a target in the head camera (waist yaw and body turn)",
              (_target("what to look at"),), "target centred in the head camera"),
    SkillSpec("point_at", "point an arm at a target", (
        _target("what to point at"),
        Arg("hand", "text", "which arm", required=False, choices=_HAND3, default="auto")),
        "arm pointing at it within 10 deg"),
    SkillSpec("wave", "wave one hand", (
        Arg("hand", "text", "which hand", required=False, choices=("left", "right"), default="right"),),
        "one wave gesture done"),
    SkillSpec("touch", "walk up to a target and touch it with a hand", (
        _target("what to touch"),
        Arg("hand", "text", "which hand", required=False, choices=_HAND3, default="auto")),
        "a hand within 3 cm of the target"),
    SkillSpec("push", "push a target away from the robot", (
        _target("what to push"),
        Arg("distance", "number", "metres to push it", minimum=0.05, maximum=1.0)),
        "target moved that far away from the robot"),
    SkillSpec("squat", "lower into a squat", (), "posture reached"),
    SkillSpec("stand", "stand up straight, balancing", (), "posture reached"),
    SkillSpec("stop", "stop walking and stand still", (), "standing still"),
    SkillSpec("done", "the instruction is fulfilled; end", (
        Arg("say", "text", "optional message for the user", required=False, default=""),),
        "the instruction is fulfilled", moves=False),
    SkillSpec("refuse", "do nothing: out of scope, target absent, or unsafe", (
        Arg("reason", "text", "why, for the user"),), "nothing moved", moves=False),
)}
SKILL_NAMES: tuple[str, ...] = tuple(SKILLS)


@dataclass
class SkillCall:
    """One step of a plan: a skill name and its arguments (JSON values; a target as a dict).

    `SkillCall("walk_to", {"target": {"object": "red cube"}})` serialises to
    `{"skill": "walk_to", "target": {"object": "red cube"}}`.
    """

    skill: str
    args: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.args = {k: (v.to_dict() if isinstance(v, Target) else v) for k, v in self.args.items()}

    def validate(self) -> SkillCall:
        """Check the call against the registry; a normalised copy with defaults filled in.

        Raises:
            ValueError: naming the skill and the argument at fault.
        """
        spec = SKILLS.get(self.skill) if isinstance(self.skill, str) else None
        if spec is None:
            raise ValueError(f"unknown skill {self.skill!r}; known: {', '.join(SKILL_NAMES)}")
        names = {a.name for a in spec.args}
        extra = sorted(set(self.args) - names)
        if extra:
            allowed = ", ".join(sorted(names)) or "none"
            raise ValueError(f"{self.skill} has no argument(s) {extra} (allowed: {allowed})")
        out: dict[str, Any] = {}
        for a in spec.args:
            if a.name in self.args and self.args[a.name] is not None:
                out[a.name] = a.check(self.args[a.name], self.skill)
            elif a.required:
                raise ValueError(f"{self.skill} needs argument {a.name!r} ({a.description})")
            else:
                out[a.name] = a.default
        return SkillCall(self.skill, out)

    @property
    def target(self) -> Target | None:
        """The call's target, parsed, or None if the skill takes none."""
        t = self.args.get("target")
        return None if t is None else Target.from_dict(t)

    def to_dict(self) -> dict[str, Any]:
        return {"skill": self.skill, **self.args}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @staticmethod
    def from_dict(d: Any) -> SkillCall:
        """Build and validate a call from a decoded JSON object."""
        if not isinstance(d, dict):
            raise ValueError(f"a skill call must be a JSON object like {{\"skill\": \"wave\"}}, got {d!r}")
        if "skill" not in d:
            raise ValueError(f"skill call has no \"skill\" field: {d!r}")
        args = {k: v for k, v in d.items() if k != "skill"}
        return SkillCall(d["skill"], args).validate()

    @staticmethod
    def from_json(text: str) -> SkillCall:
        """Parse one call from JSON text; raises ValueError that names the problem."""
        try:
            d = json.loads(text)
        except (json.JSONDecodeError, TypeError) as err:
            raise ValueError(f"skill call is not valid JSON: {err}") from None
        return SkillCall.from_dict(d)


def plan_from_json(text: str) -> list[SkillCall]:
    """Parse a plan: a JSON list of calls (one bare call is accepted as a one-step plan)."""
    try:
        d = json.loads(text)
    except (json.JSONDecodeError, TypeError) as err:
        raise ValueError(f"plan is not valid JSON: {err}") from None
    if isinstance(d, dict):
        d = [d]
    if not isinstance(d, list) or not d:
        raise ValueError("a plan must be a non-empty JSON list of skill calls")
    calls = []
    for i, item in enumerate(d):
        try:
            calls.append(SkillCall.from_dict(item))
        except ValueError as err:
            raise ValueError(f"plan step {i}: {err}") from None
    return calls


def plan_to_json(calls: list[SkillCall]) -> str:
    return json.dumps([c.to_dict() for c in calls], ensure_ascii=False)


def target_schema() -> dict[str, Any]:
    """JSON schema of a `Target`."""
    return {"type": "object",
            "properties": {"object": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT,
                                      "description": "what the target is, e.g. \"red cube\""},
                           "point_2d": {"type": "array", "items": {"type": "integer", "minimum": 0,
                                                                   "maximum": GRID},
                                        "minItems": 2, "maxItems": 2,
                                        "description": f"[x, y] on a 0..{GRID} grid over the head-camera "
                                                       "frame, when the target is seen"}},
            "required": ["object"], "additionalProperties": False}


def call_schema(name: str) -> dict[str, Any]:
    """JSON schema of one call of skill `name`."""
    spec = SKILLS[name]
    props: dict[str, Any] = {"skill": {"const": name}}
    for a in spec.args:
        props[a.name] = a.schema()
    return {"type": "object", "description": f"{spec.description}; done when {spec.done_when}",
            "properties": props, "required": ["skill"] + [a.name for a in spec.args if a.required],
            "additionalProperties": False}


def json_schema() -> dict[str, Any]:
    """JSON schema of a plan: a non-empty list of skill calls, one branch per skill."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "openhumanoid plan",
            "type": "array", "minItems": 1, "items": {"oneOf": [call_schema(n) for n in SKILL_NAMES]}}


def vocabulary_text() -> str:
    """The vocabulary as lines for a planner's prompt: `name(arg: type, ...) - what; done when ...`."""
    lines = []
    for s in SKILLS.values():
        parts = []
        for a in s.args:
            kind = "|".join(a.choices) if a.choices else a.type
            if a.type == "number":
                kind = f"number {a.minimum:g}..{a.maximum:g}"
            parts.append(f"{a.name}{'' if a.required else '?'}: {kind}")
        lines.append(f"{s.name}({', '.join(parts)}) - {s.description}; done when {s.done_when}")
    return "\n".join(lines)


__all__ = ["GRID", "SKILLS", "SKILL_NAMES", "Arg", "SkillCall", "SkillSpec", "Target", "call_schema",
           "json_schema", "plan_from_json", "plan_to_json", "target_schema", "vocabulary_text"]
