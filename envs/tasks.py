"""The task suite: instructions with success predicates over seeded scenes, as LIBERO and CALVIN provide.

A task (`TaskTemplate`) is one skill call: instruction templates, the ground-truth call and the predicates
that say it was done, all read from `envs/tasks.json` (a user file with the same layout adds tasks or
replaces them by id). A chain strings 2-5 tasks together; its variables name the objects its steps share.
`Suite.sample(task_id, seed, split)` draws an `Episode`: a scene from `random_scene`, the objects, hand and
distance its slots take, the instruction, the oracle plan and one subgoal per step. A `Judge` watches a
live world and advances through the subgoals as their predicates come to hold (robot/sim/predicates.py,
the simulator's ground truth, never seen by the skills).

Splits each change one thing against `train`:
- `new_layouts`: scene seeds from a range `train` never draws from;
- `held_out_combos`: every target is a colour-shape pair `train` never targets (`held_out_combos`);
- `held_out_phrasings`: instruction templates and chain connectives `train` never uses.
"""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from robot.sim.scene import ObjectSpec, SceneSpec, random_scene
from robot.skills.registry import SkillCall

TASKS_FILE = Path(__file__).with_name("tasks.json")
SPLITS = ("train", "new_layouts", "held_out_combos", "held_out_phrasings")
ROLES = ("floor", "table", "pushable")
"""What an {object} slot may take: a floor object in view at the start, the object on a table, or a floor
object the push skill can move (not a ball, at least 9 cm: push refuses lower ones)."""
HANDS = ("left", "right")
PUSH_DISTANCES = (0.3, 0.4, 0.5)
"""m. Within push's 0.05..1 m, and short enough to stay in the room's open floor."""
PREDICATES = ("near", "facing", "pointing_at", "waved", "touched", "moved")
NEW_LAYOUT_SEED0 = 1_000_000
"""`new_layouts` scene seeds start here; the other splits draw from 0..NEW_LAYOUT_SEED0 - 1."""
VIEW_HALF_ANGLE_DEG = 25.0
"""A floor target starts within this bearing of the robot's heading: the head camera's half field is
34.5 deg, and a target in view needs no search (the suite measures the skills, not the search)."""
VIEW_RANGE_M = (0.9, 3.0)
"""Distance band of a floor target at the start: the head camera sees the floor from 0.35 to 3.2 m."""
MAX_SCENE_DRAWS = 3000


# --- the templates ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskTemplate:
    """One single-skill task as the data file states it."""

    id: str
    slots: dict[str, str]
    """Slot name -> kind: object slots take a role (ROLES); "hand" and "distance" their own kinds."""
    call: dict[str, Any]
    """The oracle's SkillCall with "{slot}" placeholders."""
    success: tuple[dict[str, Any], ...]
    phrasings: tuple[str, ...]
    held_out_phrasings: tuple[str, ...]


@dataclass(frozen=True)
class ChainStep:
    task: str
    slots: dict[str, str] = field(default_factory=dict)
    """Object slot -> chain variable; steps naming the same variable share the object."""


@dataclass(frozen=True)
class ChainTemplate:
    id: str
    steps: tuple[ChainStep, ...]


@dataclass
class Subgoal:
    """One step of an episode: the oracle's call and the predicates (with body names) that finish it."""

    task: str
    call: SkillCall
    success: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "call": self.call.to_dict(), "success": self.success}


@dataclass
class Episode:
    """A task drawn for a seed and split: scene, instruction, oracle plan, subgoals."""

    task_id: str
    kind: str
    """"single" or "chain"."""
    split: str
    seed: int
    scene: SceneSpec
    instruction: str
    subgoals: list[Subgoal]

    @property
    def plan(self) -> list[SkillCall]:
        """The ground-truth plan (what the oracle planner emits)."""
        return [s.call for s in self.subgoals]

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task_id, "kind": self.kind, "split": self.split, "seed": self.seed,
                "instruction": self.instruction, "subgoals": [s.to_dict() for s in self.subgoals],
                "scene": self.scene.to_dict()}


# --- the suite --------------------------------------------------------------------------------------------
class Suite:
    """The tasks and chains of one or more data files, and the episodes they draw."""

    def __init__(self, tasks: dict[str, TaskTemplate], chains: dict[str, ChainTemplate],
                 connectives: dict[str, tuple[str, ...]], held_out_combos: frozenset[tuple[str, str]]) -> None:
        self.tasks, self.chains = tasks, chains
        self.connectives, self.held_out_combos = connectives, held_out_combos
        for c in chains.values():
            for s in c.steps:
                if s.task not in tasks:
                    raise ValueError(f"chain {c.id!r} names unknown task {s.task!r}")

    @staticmethod
    def load(*paths: str | Path) -> Suite:
        """The default suite, with each file in `paths` adding tasks and chains (or replacing them by id)."""
        data = _read(TASKS_FILE)
        tasks, chains = _tasks(data, TASKS_FILE), _chains(data, TASKS_FILE)
        connectives = {k: tuple(v) for k, v in data["connectives"].items()}
        combos = {(c, s) for c, s in data["held_out_combos"]}
        for p in paths:
            extra = _read(Path(p))
            tasks.update(_tasks(extra, Path(p)))
            chains.update(_chains(extra, Path(p)))
            for k, v in extra.get("connectives", {}).items():
                connectives[k] = tuple(v)
            combos |= {(c, s) for c, s in extra.get("held_out_combos", [])}
        return Suite(tasks, chains, connectives, frozenset(combos))

    @property
    def ids(self) -> list[str]:
        """Every task id: single-skill tasks first, then chains."""
        return list(self.tasks) + list(self.chains)

    def kind(self, task_id: str) -> str:
        if task_id in self.tasks:
            return "single"
        if task_id in self.chains:
            return "chain"
        raise KeyError(f"unknown task {task_id!r}; known: {', '.join(self.ids)}")

    def select(self, spec: str) -> list[str]:
        """Task ids from a comma list of ids, "single", "chain" or "all"."""
        out: list[str] = []
        for part in (p.strip() for p in spec.split(",") if p.strip()):
            if part == "all":
                out += self.ids
            elif part in ("single", "chain"):
                out += [t for t in self.ids if self.kind(t) == part]
            else:
                self.kind(part)
                out.append(part)
        if not out:
            raise ValueError(f"no tasks selected by {spec!r}")
        return list(dict.fromkeys(out))

    def steps(self, task_id: str) -> list[ChainStep]:
        if self.kind(task_id) == "single":
            t = self.tasks[task_id]
            return [ChainStep(task_id, {k: k for k, v in t.slots.items() if v in ROLES})]
        return list(self.chains[task_id].steps)

    def sample(self, task_id: str, seed: int, split: str = "train", scene: SceneSpec | None = None) -> Episode:
        """The episode of `task_id` for `seed` in `split`: the same arguments give the same episode.

        With `scene`, the task is bound in that scene instead of a drawn one (ValueError if it has no
        objects that fit the task's slots in that split).
        """
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
        steps = self.steps(task_id)
        rng = np.random.default_rng([SPLITS.index(split), int(seed), zlib.crc32(task_id.encode())])
        # Each variable's roles: every step that names it constrains it.
        roles: dict[str, set[str]] = {}
        for s in steps:
            for slot, var in s.slots.items():
                roles.setdefault(var, set()).add(self.tasks[s.task].slots[slot])
        if scene is not None:
            objects = self._bind(scene, roles, split, rng)
            if objects is None:
                raise ValueError(f"the scene has no objects that fit task {task_id!r} in split {split!r} "
                                 f"(slots: {roles})")
            return self._episode(task_id, steps, seed, split, scene, objects, rng)
        for _ in range(MAX_SCENE_DRAWS):
            scene_seed = int(rng.integers(0, NEW_LAYOUT_SEED0))
            if split == "new_layouts":
                scene_seed += NEW_LAYOUT_SEED0
            # One table in every scene, so `touch` always has an object on one.
            drawn = random_scene(scene_seed, n_tables=(1, 1))
            objects = self._bind(drawn, roles, split, rng)
            if objects is not None:
                return self._episode(task_id, steps, seed, split, drawn, objects, rng)
        raise ValueError(f"no scene in {MAX_SCENE_DRAWS} draws fits task {task_id!r} in split {split!r}")

    def _bind(self, scene: SceneSpec, roles: dict[str, set[str]], split: str,
              rng: np.random.Generator) -> dict[str, ObjectSpec] | None:
        held_out = split == "held_out_combos"
        out: dict[str, ObjectSpec] = {}
        for var in sorted(roles):
            cands = [o for o in scene.objects if o not in out.values()
                     and all(_fits(o, r, scene) for r in roles[var])
                     and ((o.colour, o.shape) in self.held_out_combos) == held_out]
            if not cands:
                return None
            out[var] = cands[int(rng.integers(len(cands)))]
        return out

    def _episode(self, task_id: str, steps: list[ChainStep], seed: int, split: str, scene: SceneSpec,
                 objects: dict[str, ObjectSpec], rng: np.random.Generator) -> Episode:
        phrasing_key = "held_out_phrasings" if split == "held_out_phrasings" else "phrasings"
        connectives = self.connectives["held_out" if split == "held_out_phrasings" else "train"]
        clauses, subgoals = [], []
        for s in steps:
            t = self.tasks[s.task]
            values: dict[str, Any] = {}
            names: dict[str, str] = {}
            for slot, kind in t.slots.items():
                if kind in ROLES:
                    o = objects[s.slots.get(slot, slot)]
                    values[slot], names[slot] = f"{o.colour} {o.shape}", o.name
                elif kind == "hand":
                    values[slot] = str(rng.choice(HANDS))
                elif kind == "distance":
                    values[slot] = float(rng.choice(PUSH_DISTANCES))
                else:
                    raise ValueError(f"task {t.id!r}: slot {slot!r} has unknown kind {kind!r}")
            templates = getattr(t, phrasing_key) or t.phrasings
            clauses.append(_fill(str(templates[int(rng.integers(len(templates)))]), values))
            call = SkillCall.from_dict(_fill(t.call, values))
            success = [_fill(p, {**values, **names}) for p in t.success]
            subgoals.append(Subgoal(s.task, call, success))
        text = clauses[0]
        for c in clauses[1:]:
            text += str(connectives[int(rng.integers(len(connectives)))]) + c
        text = text[0].upper() + text[1:] + "."
        kind = self.kind(task_id)
        return Episode(task_id, kind, split, int(seed), scene, text, subgoals)


def _fits(o: ObjectSpec, role: str, scene: SceneSpec) -> bool:
    if role == "table":
        return o.on is not None
    if o.on is not None:
        return False
    r = scene.robot
    dx, dy = o.position[0] - r.x, o.position[1] - r.y
    bearing = math.degrees(math.remainder(math.atan2(dy, dx) - r.yaw, 2.0 * math.pi))
    if not (VIEW_RANGE_M[0] <= math.hypot(dx, dy) <= VIEW_RANGE_M[1] and abs(bearing) <= VIEW_HALF_ANGLE_DEG):
        return False
    if role == "pushable":
        return o.shape != "ball" and o.size >= 0.09
    return role == "floor"


def _fill(template: Any, values: dict[str, Any]) -> Any:
    """Placeholders filled: a string that is one whole "{slot}" takes the value itself (a number stays one)."""
    if isinstance(template, dict):
        return {k: _fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, values) for v in template]
    if isinstance(template, str):
        if template.startswith("{") and template.endswith("}") and template[1:-1] in values:
            return values[template[1:-1]]
        return template.format(**{k: (f"{v:g}" if isinstance(v, float) else v) for k, v in values.items()})
    return template


# --- reading the data file --------------------------------------------------------------------------------
def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except OSError as err:
        raise ValueError(f"cannot read task file {path}: {err.strerror}") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: must hold a JSON object with 'tasks' and/or 'chains'")
    return data


def _tasks(data: dict[str, Any], path: Path) -> dict[str, TaskTemplate]:
    out = {}
    for i, t in enumerate(data.get("tasks", [])):
        where = f"{path}: tasks[{i}]"
        try:
            tt = TaskTemplate(str(t["id"]), dict(t.get("slots", {})), dict(t["call"]),
                              tuple(t["success"]), tuple(t["phrasings"]), tuple(t.get("held_out_phrasings", ())))
        except (KeyError, TypeError) as err:
            raise ValueError(f"{where}: missing or malformed field {err}") from None
        for slot, kind in tt.slots.items():
            if kind not in (*ROLES, "hand", "distance"):
                raise ValueError(f"{where}.slots.{slot}: {kind!r} is not one of {[*ROLES, 'hand', 'distance']}")
        for p in tt.success:
            if p.get("predicate") not in PREDICATES:
                raise ValueError(f"{where}.success: predicate {p.get('predicate')!r} is not one of {list(PREDICATES)}")
        if not tt.phrasings:
            raise ValueError(f"{where}.phrasings: at least one instruction template is needed")
        # A template that does not make a valid call is the file's fault: say so now, not mid-episode.
        probe = {s: ("red cube" if k in ROLES else "left" if k == "hand" else 0.4) for s, k in tt.slots.items()}
        try:
            SkillCall.from_dict(_fill(tt.call, probe))
            for ph in tt.phrasings + tt.held_out_phrasings:
                _fill(ph, probe)
        except (ValueError, KeyError) as err:
            raise ValueError(f"{where}: {err}") from None
        out[tt.id] = tt
    return out


def _chains(data: dict[str, Any], path: Path) -> dict[str, ChainTemplate]:
    out = {}
    for i, c in enumerate(data.get("chains", [])):
        try:
            steps = tuple(ChainStep(str(s["task"]), dict(s.get("slots", {}))) for s in c["steps"])
            ct = ChainTemplate(str(c["id"]), steps)
        except (KeyError, TypeError) as err:
            raise ValueError(f"{path}: chains[{i}]: missing or malformed field {err}") from None
        if not 2 <= len(steps) <= 5:
            raise ValueError(f"{path}: chains[{i}] ({ct.id}): a chain has 2 to 5 steps, not {len(steps)}")
        out[ct.id] = ct
    return out


# --- judging a live episode -------------------------------------------------------------------------------
class Judge:
    """Advances through an episode's subgoals as their predicates hold in the simulator's ground truth.

    Call `update()` after every skill call: each subgoal is judged against the state when it became the
    current one (a push's start, a wave watched from then on), and one call may finish several subgoals
    (facing an object it just walked to).
    """

    def __init__(self, world: Any, episode: Episode) -> None:
        from robot.sim import predicates as P

        self.P = P
        self.world = world
        self.episode = episode
        self.completed = 0
        self._waves: Any = None
        self._start()

    def _start(self) -> None:
        if self._waves is not None:
            self._waves.close()
            self._waves = None
        if self.completed >= len(self.episode.subgoals):
            return
        self._before = self.P.Before.take(self.world)
        if any(p["predicate"] == "waved" for p in self.episode.subgoals[self.completed].success):
            self._waves = self.P.WaveWatcher(self.world)

    def holds(self, pred: dict[str, Any]) -> bool:
        P, w, kind = self.P, self.world, pred["predicate"]
        name = pred.get("object")
        if kind == "near":
            return P.near(w, name, pred.get("distance", 0.5), pred.get("tolerance", 0.15))
        if kind == "facing":
            return P.facing(w, name, pred.get("tolerance_deg", 15.0))
        if kind == "pointing_at":
            return P.pointing_at(w, name, pred.get("hand", "any"), pred.get("tolerance_deg", 10.0))
        if kind == "waved":
            return self._waves is not None and self._waves.waved(pred.get("hand", "any"))
        if kind == "touched":
            return P.touched(w, name, pred.get("hand", "any"), pred.get("distance_m", 0.03))
        if kind == "moved":
            start = self._before.objects[name]
            away = start[:2] - np.asarray(self._before.pose[:2])
            return P.moved_distance(w, name, start, away) >= pred.get("fraction", 0.8) * float(pred["distance"])
        raise ValueError(f"unknown predicate {kind!r}")

    def update(self) -> int:
        """Subgoals completed so far (consecutive from the first)."""
        if self.P.fallen(self.world):
            return self.completed
        while self.completed < len(self.episode.subgoals):
            if not all(self.holds(p) for p in self.episode.subgoals[self.completed].success):
                break
            self.completed += 1
            self._start()
        return self.completed

    @property
    def success(self) -> bool:
        return self.completed == len(self.episode.subgoals)

    def close(self) -> None:
        if self._waves is not None:
            self._waves.close()
            self._waves = None


__all__ = ["HANDS", "PUSH_DISTANCES", "ROLES", "SPLITS", "TASKS_FILE", "ChainStep", "ChainTemplate", "Episode",
           "Judge", "Subgoal", "Suite", "TaskTemplate"]
