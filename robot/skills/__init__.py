"""Skills: the verbs the planner speaks (walk_to, turn, point_at, touch, push ...) and their registry.

`robot.skills.registry` is light (no simulator) so planners can import it alone; the runner and the
skills load on first use of `SkillRunner`, `SkillResult` or `SkillSession`.
"""

from __future__ import annotations

from typing import Any

from robot.skills.registry import SKILL_NAMES, SKILLS, SkillCall, SkillSpec, Target, json_schema

_LAZY = {"SkillRunner": "robot.skills.runner", "SkillResult": "robot.skills.base",
         "SkillContext": "robot.skills.base", "SkillSession": "robot.skills.session"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'robot.skills' has no attribute {name!r}")


__all__ = ["SKILLS", "SKILL_NAMES", "SkillCall", "SkillContext", "SkillResult", "SkillRunner", "SkillSession",
           "SkillSpec", "Target", "json_schema"]
