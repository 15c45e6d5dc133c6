"""Which System 1 runs: `walker` (ours) or a plug-in controller named `KIND:PATH`.

robot/ may not import policies/ (ARCHITECTURE.md), yet `--controller unitree-policy:PATH` must work
wherever a controller is chosen. So the robot keeps a registry of factories by kind, and the face
(robot/cli.py) registers the ones that live in policies/, importing them only when one is asked for.
Worker processes forked after registration inherit it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from robot.control.base import Controller

_FACTORIES: dict[str, Callable[[str], Controller]] = {}
_DEFAULTS: dict[str, str] = {}


def register_controller(kind: str, factory: Callable[[str], Controller], default_path: str | None = None) -> None:
    """Make `KIND:PATH` build `factory(PATH)`, and a bare `KIND` build `factory(default_path)` if given."""
    _FACTORIES[kind] = factory
    if default_path is not None:
        _DEFAULTS[kind] = default_path


def _resolve(spec: str) -> str:
    """A bare kind with a default path, spelled out: `learned` -> `learned:assets/models/...`."""
    return f"{spec}:{_DEFAULTS[spec]}" if spec in _DEFAULTS else spec


def check_controller(spec: str) -> None:
    """Raise the ValueError `make_controller` would, without building a plug-in.

    Building one loads torch, and a process that has started torch's thread pool must not fork the
    workers of a benchmark (the children hang), so benchmarks check first and build in the workers.
    """
    if spec in ("walker", "default"):
        return
    kind, sep, path = _resolve(spec).partition(":")
    if not (sep and kind in _FACTORIES):
        make_controller(spec)  # raises the error naming what is known
    if not path:
        raise ValueError(f"controller {spec!r} needs a path after '{kind}:'")
    if not Path(path).exists():
        raise ValueError(f"no policy at {path}")


def make_controller(spec: str) -> Controller:
    """`walker` (the model-based walker) or `KIND:PATH` of a registered plug-in; ValueError otherwise."""
    if spec in ("walker", "default"):
        from robot.control.walker import Walker

        return Walker()
    kind, sep, path = _resolve(spec).partition(":")
    if sep and kind in _FACTORIES:
        if not path:
            raise ValueError(f"controller {spec!r} needs a path after '{kind}:'")
        return _FACTORIES[kind](path)
    known = ", ".join(["walker"] + [f"{k}[:PATH]" if k in _DEFAULTS else f"{k}:PATH" for k in sorted(_FACTORIES)])
    raise ValueError(f"unknown controller {spec!r}: use {known}")
