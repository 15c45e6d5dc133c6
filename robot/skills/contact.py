"""touch and push (being written)."""

from __future__ import annotations

from robot.skills.base import SkillContext, SkillFailed
from robot.skills.registry import Target


def touch(ctx: SkillContext, target: Target, hand: str, timeout: float) -> dict:
    raise SkillFailed("unreachable")


def push(ctx: SkillContext, target: Target, distance: float, timeout: float) -> dict:
    raise SkillFailed("unreachable")
