"""The planner interface: `plan(instruction, frame, history) -> list[SkillCall]`, validated.

Every planner produces text (a JSON list of skill calls); this base class parses it, reads Qwen's
grounding formats, validates every call against the registry, asks once more when the answer is invalid,
and turns a second invalid answer into `refuse`. So nothing a planner emits reaches the skills unchecked.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from policies.planner.grounding import to_grid
from robot.skills.registry import MAX_TEXT, SkillCall


MAX_INSTRUCTION_CHARS = 1000
"""Longest instruction a planner takes, in characters. A spoken command, even a chain of five steps, is a few
hundred (the longest the default model trained on: about 300); text past this is not a command to the robot."""


class PromptTooLong(ValueError):
    """The prompt does not fit the model's context: nothing was generated, and asking again would not help."""


def instruction_problem(instruction: str) -> str | None:
    """Why `instruction` cannot be planned (a sentence for the user), or None when it can."""
    if not instruction or not instruction.strip():
        return "The instruction is empty."
    if len(instruction) > MAX_INSTRUCTION_CHARS:
        return f"The instruction is too long: {len(instruction)} characters, at most {MAX_INSTRUCTION_CHARS}."
    return None


def check_instruction(instruction: str) -> None:
    """ValueError, in a usage error's words, when `instruction` cannot be planned (`instruction_problem`)."""
    problem = instruction_problem(instruction)
    if problem:
        raise ValueError(problem[0].lower() + problem[1:].rstrip("."))


@dataclass
class HistoryItem:
    """A call already run and what came of it (the skills' SkillResult, flattened)."""

    call: SkillCall
    ok: bool
    reason: str = ""
    values: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"call": self.call.to_dict(), "ok": self.ok, "reason": self.reason}


@dataclass
class PlanOutput:
    """One `plan` call in full, for traces: the raw answers, the calls, the time."""

    calls: list[SkillCall]
    raw: list[str]
    latency_ms: float
    errors: list[str] = field(default_factory=list)
    fallback: bool = False
    """True when both answers were invalid and the calls are the fallback `refuse`."""

    def to_dict(self) -> dict[str, Any]:
        return {"calls": [c.to_dict() for c in self.calls], "raw": self.raw, "latency_ms": self.latency_ms,
                "errors": self.errors, "fallback": self.fallback}


def frame_rgb(frame: Any) -> np.ndarray | None:
    """HxWx3 uint8 from a camera `Frame`, an array, a PIL image, or None."""
    if frame is None:
        return None
    rgb = getattr(frame, "rgb", frame)
    if hasattr(rgb, "convert"):  # PIL
        rgb = np.asarray(rgb.convert("RGB"))
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        raise ValueError(f"a frame must be HxWx3, got shape {rgb.shape}")
    return np.ascontiguousarray(rgb[:, :, :3]).astype(np.uint8)


def parse_plan(raw: str, coords: str = "grid", image_size: tuple[int, int] | None = None) -> list[SkillCall]:
    """Parse and validate a planner's answer; ValueError that names the problem.

    Accepts a JSON list of calls or one call; `bbox_2d` and pixel coordinates become `point_2d` on the grid.
    A plan that refuses must consist of that refusal alone.
    """
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, TypeError) as err:
        raise ValueError(f"not valid JSON: {err}") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not data:
        raise ValueError("a plan must be a non-empty JSON list of skill calls")
    calls = []
    for i, item in enumerate(data):
        try:
            if isinstance(item, dict):
                item = to_grid(item, coords, image_size)
            calls.append(SkillCall.from_dict(item))
        except ValueError as err:
            raise ValueError(f"step {i}: {err}") from None
    if len(calls) > 1 and any(c.skill == "refuse" for c in calls):
        raise ValueError("refuse must be the whole plan, not one step of it")
    return calls


class Planner(ABC):
    """Instruction + head-camera frame + history -> a validated list of skill calls."""

    name: str = "planner"
    coords: str = "grid"

    def __init__(self) -> None:
        self.last: PlanOutput | None = None

    @abstractmethod
    def generate(self, instruction: str, frame: np.ndarray | None, history: Sequence[HistoryItem],
                 attempt: int) -> str:
        """The raw answer text; `attempt` is 0, then 1 when the first answer was invalid."""

    def input_size(self) -> tuple[int, int] | None:
        """(width, height) of the image the model saw, for pixel coordinates."""
        return None

    def plan(self, instruction: str, frame: Any = None, history: Sequence[HistoryItem] = ()) -> list[SkillCall]:
        """The plan for `instruction` given the frame and the calls already run."""
        return self.plan_verbose(instruction, frame, history).calls

    def plan_verbose(self, instruction: str, frame: Any = None, history: Sequence[HistoryItem] = ()) -> PlanOutput:
        """`plan`, with the raw answers, errors and latency (also kept in `self.last`)."""
        t0 = time.perf_counter()
        rgb = frame_rgb(frame)
        raws, errors = [], []
        calls: list[SkillCall] | None = None
        problem = instruction_problem(instruction)
        if problem:
            errors.append(problem)
        else:
            for attempt in range(2):
                try:
                    raw = self.generate(instruction, rgb, list(history), attempt)
                except PromptTooLong as err:
                    problem = str(err)
                    errors.append(problem)
                    break
                raws.append(raw)
                try:
                    calls = parse_plan(raw, self.coords, self.input_size())
                    break
                except ValueError as err:
                    errors.append(str(err))
        fallback = calls is None
        if calls is None:
            why = errors[-1] if errors else "no answer"
            reason = problem or f"I could not make a valid plan ({why[:200]})."
            calls = [SkillCall("refuse", {"reason": reason[:MAX_TEXT]}).validate()]
        out = PlanOutput(calls, raws, (time.perf_counter() - t0) * 1000.0, errors, fallback)
        self.last = out
        return out


__all__ = ["MAX_INSTRUCTION_CHARS", "HistoryItem", "PlanOutput", "Planner", "PromptTooLong", "check_instruction",
           "frame_rgb", "instruction_problem", "parse_plan"]
