"""System 2: the planner (instruction + head-camera frame + history -> validated skill calls).

`Planner` is the interface; `KeywordPlanner` the rule baseline; `TransformersPlanner` any local
image-text-to-text checkpoint (Qwen2.5-VL, Qwen3-VL, SmolVLM ...), decoded under the registry's grammar;
`load_planner("default" | "keyword" | PATH)` picks one. transformers and torch load only when a
transformers planner is made.
"""

from policies.planner.base import HistoryItem, PlanOutput, Planner, parse_plan
from policies.planner.cli import DEFAULT_MODEL, load_planner
from policies.planner.hf import HFPlannerConfig, TransformersPlanner
from policies.planner.keyword import KeywordPlanner
from policies.planner.loading import ModelLoadError

__all__ = ["DEFAULT_MODEL", "HFPlannerConfig", "HistoryItem", "KeywordPlanner", "ModelLoadError", "PlanOutput",
           "Planner", "TransformersPlanner", "load_planner", "parse_plan"]
