"""Reading a scene description (scene.json) with errors that name the field at fault.

A user may write a scene by hand; "objects[2].colour: 'pink' is not one of [...]" tells them where to
look. Hand-written files may leave an object's z out: it then rests on the floor or on its table.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from robot.sim.scene import COLOURS, SHAPES, ObjectSpec, RobotStart, SceneSpec, TableSpec, WallSpec, rest_height

def _num(d: dict, key: str, where: str, default: Any = None, lo: float = -math.inf, hi: float = math.inf) -> float:
    v = d.get(key, default)
    if v is None:
        raise ValueError(f"{where}.{key}: missing (a number is needed)")
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ValueError(f"{where}.{key}: must be a finite number, got {v!r}")
    if not lo <= v <= hi:
        raise ValueError(f"{where}.{key}: must be within {lo:g}..{hi:g}, got {v!r}")
    return float(v)


def _vec(d: dict, key: str, where: str, n: tuple[int, ...], default: Any = None) -> tuple[float, ...]:
    v = d.get(key, default)
    if v is None:
        raise ValueError(f"{where}.{key}: missing (a list of {n[-1]} numbers is needed)")
    if (not isinstance(v, (list, tuple)) or len(v) not in n
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in v)):
        raise ValueError(f"{where}.{key}: must be a list of {' or '.join(map(str, n))} numbers, got {v!r}")
    return tuple(float(x) for x in v)


def _str(d: dict, key: str, where: str, choices: tuple[str, ...] | None = None, default: Any = None) -> str:
    v = d.get(key, default)
    if not isinstance(v, str) or not v:
        raise ValueError(f"{where}.{key}: must be a non-empty string, got {v!r}")
    if choices is not None and v not in choices:
        raise ValueError(f"{where}.{key}: {v!r} is not one of {list(choices)}")
    return v


def _fields(d: Any, where: str, cls: type) -> dict:
    if not isinstance(d, dict):
        raise ValueError(f"{where}: must be a JSON object, got {type(d).__name__}")
    allowed = {f.name for f in dataclasses.fields(cls)}
    extra = sorted(set(d) - allowed)
    if extra:
        raise ValueError(f"{where}: unknown field(s) {extra} (allowed: {sorted(allowed)})")
    return d


def _list(d: dict, key: str) -> list:
    v = d.get(key, [])
    if not isinstance(v, list):
        raise ValueError(f"{key}: must be a list, got {type(v).__name__}")
    return v


def parse_scene(d: Any) -> SceneSpec:
    """A SceneSpec from decoded JSON; ValueError naming the field at fault."""
    d = _fields(d, "scene", SceneSpec)
    seed = d.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed: must be an integer, got {seed!r}")
    tables = []
    for i, t in enumerate(_list(d, "tables")):
        w = f"tables[{i}]"
        t = _fields(t, w, TableSpec)
        size = _vec(t, "size", w, (3,), TableSpec.size)
        if not (0.2 <= size[0] <= 3.0 and 0.2 <= size[1] <= 3.0 and 0.3 <= size[2] <= 1.0):
            raise ValueError(f"{w}.size: top 0.2..3 m a side and 0.3..1 m high, got {list(size)}")
        tables.append(TableSpec(_str(t, "name", w), _vec(t, "position", w, (2,)), size,  # type: ignore[arg-type]
                                _num(t, "yaw", w, 0.0)))
    by_table = {t.name: t for t in tables}
    objects = []
    for i, o in enumerate(_list(d, "objects")):
        w = f"objects[{i}]"
        o = _fields(o, w, ObjectSpec)
        size = _num(o, "size", w, 0.1, 0.04, 0.5)
        on = o.get("on")
        if on is not None and on not in by_table:
            raise ValueError(f"{w}.on: no table named {on!r} (tables: {sorted(by_table)})")
        table = by_table.get(on) if on is not None else None
        pos = _vec(o, "position", w, (2, 3))
        if len(pos) == 2:  # hand-written files may leave z out: resting on the floor or the table
            pos = (pos[0], pos[1], rest_height(size, table))
        if table is not None and not _on_top(table, pos[:2], 0.0):
            raise ValueError(f"{w}.position: {list(pos[:2])} is not over table {on!r}")
        objects.append(ObjectSpec(_str(o, "name", w), _str(o, "shape", w, SHAPES), _str(o, "colour", w, tuple(COLOURS)),
                                  size, _num(o, "mass", w, 0.5, 0.05, 20.0), pos, _num(o, "yaw", w, 0.0), on))  # type: ignore[arg-type]
    walls = []
    for i, wl in enumerate(_list(d, "walls")):
        w = f"walls[{i}]"
        wl = _fields(wl, w, WallSpec)
        walls.append(WallSpec(_str(wl, "name", w), _vec(wl, "start", w, (2,)), _vec(wl, "end", w, (2,)),  # type: ignore[arg-type]
                              _num(wl, "height", w, 1.0, 0.05, 5.0), _num(wl, "thickness", w, 0.1, 0.01, 1.0)))
    r = _fields(d.get("robot", {}), "robot", RobotStart)
    robot = RobotStart(_num(r, "x", "robot", 0.0), _num(r, "y", "robot", 0.0), _num(r, "yaw", "robot", 0.0))
    names = [x.name for x in (*objects, *tables, *walls)]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"names must be unique across objects, tables and walls; repeated: {dup}")
    return SceneSpec(seed, tuple(objects), tuple(tables), tuple(walls), robot)


def _on_top(table: TableSpec, xy: tuple[float, ...] | np.ndarray, margin: float) -> bool:
    c, s = math.cos(table.yaw), math.sin(table.yaw)
    dx, dy = xy[0] - table.position[0], xy[1] - table.position[1]
    lx, ly = c * dx + s * dy, -s * dx + c * dy
    return abs(lx) <= table.size[0] / 2 - margin and abs(ly) <= table.size[1] / 2 - margin



__all__ = ["parse_scene"]
