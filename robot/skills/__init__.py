"""Skills: the verbs the planner speaks (walk_to, turn, point_at, touch, push ...) and their registry."""

from robot.skills.registry import SKILL_NAMES, SKILLS, SkillCall, SkillSpec, Target, json_schema

__all__ = ["SKILLS", "SKILL_NAMES", "SkillCall", "SkillSpec", "Target", "json_schema"]
