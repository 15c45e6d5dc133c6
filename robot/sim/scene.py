"""Scenes: a room's floor objects, tables and walls as data (`SceneSpec`), and as PyBullet bodies.

A `SceneSpec` is the one description of a scene: `random_scene(seed)` draws one, `to_json`/`from_json`
write and read `scene.json` (a user may write one by hand; a bad file names the field at fault), and
`build_scene(world, spec)` creates the bodies, with mass and friction, and registers each in
`world.bodies` by name. The robot's start pose is part of the spec; `world_config(spec)` puts it into the
`WorldConfig` because nothing may move the robot's base after it is spawned.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pybullet as pb

from robot.sim.world import World, WorldConfig

COLOURS: dict[str, tuple[float, float, float]] = {
    # Saturated, well-separated hues: under the head camera's tiny renderer each keeps its name (checked
    # with a saved frame, tests/test_scene.py); white is kept brighter than the floor (0.74 after shade).
    "red": (0.85, 0.08, 0.08),
    "green": (0.10, 0.65, 0.15),
    "blue": (0.10, 0.25, 0.90),
    "yellow": (0.95, 0.85, 0.10),
    "orange": (1.00, 0.50, 0.05),
    "purple": (0.55, 0.15, 0.75),
    "white": (1.00, 1.00, 1.00),
    "black": (0.06, 0.06, 0.06),
}
SHAPES: tuple[str, ...] = ("cube", "ball", "cylinder")
TABLE_RGB = (0.55, 0.42, 0.30)
"""Tables and walls are in colours no object has, so a description never matches them."""
WALL_RGB = (0.70, 0.72, 0.78)
BIG_SIZE = 0.17
"""Objects at least this large (m) are "big", smaller ones "small" (random scenes draw 0.08-0.12 and
0.18-0.24 m, so the words are never borderline)."""
OBJECT_FRICTION = 0.6
"""lateralFriction of objects; against the floor's 1.0 and tables' 0.8 that is mu 0.6 and 0.48."""
TABLE_FRICTION = 0.8


@dataclass(frozen=True)
class ObjectSpec:
    """One movable object.

    Attributes:
        name: unique id in the scene ("red_cube_0"); `world.bodies` uses it.
        shape: cube, ball or cylinder.
        colour: one of COLOURS.
        size: m; a cube's edge, a ball's diameter, a cylinder's diameter and height.
        mass: kg.
        position: centre (x, y, z) in the world, m.
        yaw: rotation about z, rad.
        on: name of the table it stands on, or None for the floor.
    """

    name: str
    shape: str
    colour: str
    size: float = 0.1
    mass: float = 0.5
    position: tuple[float, float, float] = (1.0, 0.0, 0.05)
    yaw: float = 0.0
    on: str | None = None

    @property
    def description(self) -> str:
        """How a person would name it: "big red cube"."""
        return f"{size_word(self.size)} {self.colour} {self.shape}"


@dataclass(frozen=True)
class TableSpec:
    """A static table: a top on four legs. position is the top's centre (x, y); size is (x, y, height)."""

    name: str
    position: tuple[float, float] = (1.5, 0.0)
    size: tuple[float, float, float] = (0.45, 0.8, 0.78)
    yaw: float = 0.0


@dataclass(frozen=True)
class WallSpec:
    """A static wall from `start` to `end` (x, y), `height` tall and `thickness` thick."""

    name: str
    start: tuple[float, float] = (3.0, -2.0)
    end: tuple[float, float] = (3.0, 2.0)
    height: float = 1.0
    thickness: float = 0.1


@dataclass(frozen=True)
class RobotStart:
    x: float = 0.0
    y: float = 0.0
    yaw: float = 0.0


@dataclass(frozen=True)
class SceneSpec:
    """Everything needed to rebuild a scene exactly."""

    seed: int = 0
    objects: tuple[ObjectSpec, ...] = ()
    tables: tuple[TableSpec, ...] = ()
    walls: tuple[WallSpec, ...] = ()
    robot: RobotStart = field(default_factory=RobotStart)

    def object(self, name: str) -> ObjectSpec:
        for o in self.objects:
            if o.name == name:
                return o
        raise KeyError(f"no object {name!r} in the scene")

    def table(self, name: str) -> TableSpec:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(f"no table {name!r} in the scene")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @staticmethod
    def from_json(text: str) -> SceneSpec:
        """Read a scene; raises ValueError naming the field at fault ("objects[2].colour: ...")."""
        try:
            d = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"scene is not valid JSON: {err}") from None
        return SceneSpec.from_dict(d)

    @staticmethod
    def from_dict(d: Any) -> SceneSpec:
        from robot.sim.scene_parse import parse_scene  # local: it builds this module's classes

        return parse_scene(d)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n")

    @staticmethod
    def load(path: str | Path) -> SceneSpec:
        try:
            text = Path(path).read_text()
        except OSError as err:
            raise ValueError(f"cannot read scene file {path}: {err.strerror}") from None
        try:
            return SceneSpec.from_json(text)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None


def size_word(size: float) -> str:
    return "big" if size >= BIG_SIZE else "small"


def rest_height(obj_size: float, table: TableSpec | None) -> float:
    """z of an object's centre resting on the floor or on a table's top."""
    return (table.size[2] if table is not None else 0.0) + obj_size / 2.0


# --- random scenes -------------------------------------------------------------------------------------
def random_scene(seed: int, n_objects: tuple[int, int] = (3, 6), n_tables: tuple[int, int] = (0, 1),
                 walls: bool = False, radius: tuple[float, float] = (1.0, 3.0),
                 field_of_view_deg: float = 120.0) -> SceneSpec:
    """Draw a scene: objects on the floor within `radius` of the robot (mostly ahead of it, within
    `field_of_view_deg`), tables with one object each on their top near the robot's side, optional walls.

    Distances: the head camera sees the floor from about 0.35 to 3.2 m ahead (pitch 48 deg, vertical
    field 55 deg, eye at 1.2 m), so a 1-3 m ring starts in view; objects stand at least 0.5 m apart so
    the robot can stop in front of each.
    """
    rng = np.random.default_rng(seed)
    used: list[tuple[float, float, float]] = []  # x, y, keep-out radius
    tables = []
    objects: list[ObjectSpec] = []
    counts: dict[str, int] = {}

    def free(x: float, y: float, r: float, clear: float = 0.9) -> bool:
        return math.hypot(x, y) > clear + r and all(math.hypot(x - a, y - b) > r + c + 0.5 for a, b, c in used)

    def hidden(x: float, y: float) -> bool:
        """Behind a table as seen from the start (the table top and legs would hide it)."""
        d = math.hypot(x, y)
        for t in tables:
            tx, ty = t.position
            along = (x * tx + y * ty) / d
            if along < d and math.hypot(tx - along * x / d, ty - along * y / d) < 0.6:
                return True
        return False

    def new_object(shape: str, colour: str, size: float, pos: tuple[float, float, float], on: str | None) -> None:
        key = f"{colour}_{shape}"
        name = f"{key}_{counts.get(key, 0)}"
        counts[key] = counts.get(key, 0) + 1
        mass = float(rng.uniform(0.3, 0.8)) * (size / 0.1) ** 1.5
        objects.append(ObjectSpec(name, shape, colour, round(size, 3), round(min(mass, 5.0), 3),
                                  tuple(round(v, 4) for v in pos), round(float(rng.uniform(-0.5, 0.5)), 3), on))  # type: ignore[arg-type]

    half = math.radians(field_of_view_deg) / 2
    for i in range(int(rng.integers(n_tables[0], n_tables[1] + 1))):
        for _ in range(50):
            # 0.95-1.2 m: the top of a 0.78 m table is in the head camera's view only up to about 1.2 m.
            dist, bearing = rng.uniform(0.95, 1.2), rng.uniform(-half / 2, half / 2)
            x, y = dist * math.cos(bearing), dist * math.sin(bearing)
            if free(x, y, 0.55, clear=0.5):
                break
        else:
            continue
        yaw = bearing  # the long side faces the robot's start
        # Table tops at 0.76-0.80 m (3 cm thick): their underside clears the thighs of a stepping leg
        # (at 0.68-0.74 m a thigh hit the top and the robot fell, 1 of 1), and a cube's top there lies
        # within the arm's reach (arm_ik.py).
        t = TableSpec(f"table_{i}", (round(x, 3), round(y, 3)), (0.45, 0.8, round(float(rng.uniform(0.76, 0.80)), 3)),
                      round(float(yaw), 3))
        tables.append(t)
        used.append((x, y, 0.55))
        # A small cube near the edge facing the start, where an arm can reach it.
        size = float(rng.uniform(0.08, 0.1))
        local = np.array([-t.size[0] / 2 + 0.08, rng.uniform(-0.2, 0.2)])
        c, s = math.cos(yaw), math.sin(yaw)
        xy = (float(x + c * local[0] - s * local[1]), float(y + s * local[0] + c * local[1]))
        new_object("cube", str(rng.choice(list(COLOURS))), size, (xy[0], xy[1], rest_height(size, t)), t.name)
    n = int(rng.integers(n_objects[0], n_objects[1] + 1))
    for _ in range(n):
        # Each colour-shape pair at most once, so "the red cube" names one object.
        for _ in range(20):
            shape = str(rng.choice(SHAPES))
            colour = str(rng.choice(list(COLOURS)))
            if f"{colour}_{shape}" not in counts:
                break
        # Floor objects at least 9 cm: lower ones are under the swing foot's clearance (push says why).
        size = float(rng.uniform(0.18, 0.24) if rng.random() < 0.35 else rng.uniform(0.09, 0.12))
        for _ in range(50):
            dist, bearing = rng.uniform(*radius), rng.uniform(-half, half)
            x, y = dist * math.cos(bearing), dist * math.sin(bearing)
            if free(x, y, size / 2) and not hidden(x, y):
                break
        else:
            continue
        used.append((x, y, size / 2))
        new_object(shape, colour, size, (x, y, size / 2), None)
    wall_specs: list[WallSpec] = []
    if walls:
        r = radius[1] + 1.0
        corners = [(-r, -r), (r, -r), (r, r), (-r, r)]
        wall_specs = [WallSpec(f"wall_{i}", corners[i], corners[(i + 1) % 4]) for i in range(4)]
    return SceneSpec(seed, tuple(objects), tuple(tables), tuple(wall_specs), RobotStart())


# --- PyBullet bodies ------------------------------------------------------------------------------------
def world_config(spec: SceneSpec, base: WorldConfig = WorldConfig()) -> WorldConfig:
    """The world configuration that spawns the robot where the scene says."""
    return dataclasses.replace(base, seed=spec.seed, spawn_xy=(spec.robot.x, spec.robot.y), spawn_yaw=spec.robot.yaw)


def make_world(spec: SceneSpec, base: WorldConfig = WorldConfig()) -> World:
    """A new world with the robot at the scene's start pose and the scene's bodies built."""
    world = World(world_config(spec, base))
    build_scene(world, spec)
    return world


def _quat(yaw: float) -> list[float]:
    return [0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)]


def build_scene(world: World, spec: SceneSpec) -> dict[str, int]:
    """Create the scene's bodies in `world`; register and return them by name."""
    c = world.client
    ids: dict[str, int] = {}
    for t in spec.tables:
        ids[t.name] = _table(c, t)
    for w in spec.walls:
        ids[w.name] = _wall(c, w)
    for o in spec.objects:
        ids[o.name] = _object(c, o)
    world.bodies.update(ids)
    return ids


def _object(c: int, o: ObjectSpec) -> int:
    rgba = [*COLOURS[o.colour], 1.0]
    h = o.size / 2
    if o.shape == "cube":
        col = pb.createCollisionShape(pb.GEOM_BOX, halfExtents=[h, h, h], physicsClientId=c)
        vis = pb.createVisualShape(pb.GEOM_BOX, halfExtents=[h, h, h], rgbaColor=rgba, physicsClientId=c)
    elif o.shape == "ball":
        col = pb.createCollisionShape(pb.GEOM_SPHERE, radius=h, physicsClientId=c)
        vis = pb.createVisualShape(pb.GEOM_SPHERE, radius=h, rgbaColor=rgba, physicsClientId=c)
    else:
        col = pb.createCollisionShape(pb.GEOM_CYLINDER, radius=h, height=o.size, physicsClientId=c)
        vis = pb.createVisualShape(pb.GEOM_CYLINDER, radius=h, length=o.size, rgbaColor=rgba, physicsClientId=c)
    body = pb.createMultiBody(o.mass, col, vis, list(o.position), _quat(o.yaw), physicsClientId=c)
    # Balls get rolling friction so a nudge does not send them across the room.
    pb.changeDynamics(body, -1, lateralFriction=OBJECT_FRICTION,
                      rollingFriction=0.002 if o.shape == "ball" else 0.0,
                      spinningFriction=0.001, physicsClientId=c)
    return body


def _table(c: int, t: TableSpec) -> int:
    sx, sy, height = t.size
    top = 0.03
    leg = 0.04
    shapes = [((sx / 2, sy / 2, top / 2), (0.0, 0.0, height - top / 2))]
    for ex in (-1, 1):
        for ey in (-1, 1):
            shapes.append(((leg / 2, leg / 2, (height - top) / 2),
                           (ex * (sx / 2 - leg), ey * (sy / 2 - leg), (height - top) / 2)))
    half = [s[0] for s in shapes]
    pos = [s[1] for s in shapes]
    col = pb.createCollisionShapeArray([pb.GEOM_BOX] * len(shapes), halfExtents=half, collisionFramePositions=pos,
                                       physicsClientId=c)
    vis = pb.createVisualShapeArray([pb.GEOM_BOX] * len(shapes), halfExtents=half, visualFramePositions=pos,
                                    rgbaColors=[[*TABLE_RGB, 1.0]] * len(shapes), physicsClientId=c)
    body = pb.createMultiBody(0.0, col, vis, [t.position[0], t.position[1], 0.0], _quat(t.yaw), physicsClientId=c)
    pb.changeDynamics(body, -1, lateralFriction=TABLE_FRICTION, physicsClientId=c)
    return body


def _wall(c: int, w: WallSpec) -> int:
    (x0, y0), (x1, y1) = w.start, w.end
    length = max(math.hypot(x1 - x0, y1 - y0), 1e-3)
    half = [length / 2, w.thickness / 2, w.height / 2]
    col = pb.createCollisionShape(pb.GEOM_BOX, halfExtents=half, physicsClientId=c)
    vis = pb.createVisualShape(pb.GEOM_BOX, halfExtents=half, rgbaColor=[*WALL_RGB, 1.0], physicsClientId=c)
    yaw = math.atan2(y1 - y0, x1 - x0)
    return pb.createMultiBody(0.0, col, vis, [(x0 + x1) / 2, (y0 + y1) / 2, w.height / 2], _quat(yaw),
                              physicsClientId=c)


def object_pose(world: World, name: str) -> tuple[np.ndarray, float]:
    """Ground truth: an object's centre and yaw now (for predicates and tests, never for skills)."""
    pos, orn = pb.getBasePositionAndOrientation(world.bodies[name], physicsClientId=world.client)
    yaw = pb.getEulerFromQuaternion(orn)[2]
    return np.asarray(pos), float(yaw)


__all__ = ["BIG_SIZE", "COLOURS", "SHAPES", "ObjectSpec", "RobotStart", "SceneSpec", "TableSpec", "WallSpec",
           "build_scene", "make_world", "object_pose", "random_scene", "rest_height", "size_word", "world_config"]
