"""The planner's prompt: a system message made from the skill registry, and a user turn with the frame,
the instruction and the history of calls already run.

The chat template of the model renders these messages (its own format); the default planner's template
leaves the system message out, as its weights carry the vocabulary.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from robot.skills.registry import GRID, vocabulary_text

RULES = f"""You control a humanoid robot. Read the instruction and the head-camera image and answer with a JSON
list of skill calls, nothing else: [{{"skill": NAME, ...arguments}}, ...].
Skills:
{{vocabulary}}
Rules:
- A target is {{"object": "colour shape", "point_2d": [x, y]}}: the object's description in English and
  its point in the image on a 0..{GRID} grid (x right, y down).
- Only name objects you can see in the image. If the instruction names one you cannot see, answer
  [{{"skill": "refuse", "reason": "I cannot see a ... here."}}].
- Refuse requests that are not robot actions, and requests that could hurt someone or damage something.
- Keep the order of the instruction's steps. When calls were already run, plan only what is left; plan a
  failed call again once, and refuse when it failed twice."""


def system_prompt() -> str:
    """The system message: the rules and the registry's vocabulary."""
    return RULES.replace("{vocabulary}", vocabulary_text())


def history_text(history: Sequence[Any]) -> str:
    """Calls already run, one a line: `{"skill": ...} -> ok` or `-> failed: reason`."""
    lines = []
    for h in history:
        if hasattr(h, "call"):  # a HistoryItem
            call, ok, reason = h.call.to_dict(), h.ok, h.reason
        else:
            call, ok, reason = h["call"], h["ok"], h.get("reason", "")
        lines.append(json.dumps(call, ensure_ascii=False) + (" -> ok" if ok else f" -> failed: {reason}"))
    return "\n".join(lines)


def build_messages(instruction: str, history: Sequence[Any] = (), system: str | None = None) -> list[dict[str, Any]]:
    """Chat messages in the transformers format: system (unless `system` is ""), then user with the image."""
    text = instruction.strip()
    if history:
        text += "\nDone so far:\n" + history_text(history)
    messages: list[dict[str, Any]] = []
    sys_text = system_prompt() if system is None else system
    if sys_text:
        messages.append({"role": "system", "content": [{"type": "text", "text": sys_text}]})
    messages.append({"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]})
    return messages


__all__ = ["RULES", "build_messages", "history_text", "system_prompt"]
