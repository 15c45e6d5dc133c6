"""The closed loop: plan, run each skill, feed the results back, re-plan when a skill fails, stop in time.

An episode ends in `done` (every call succeeded, or the planner said done), `refuse` (the planner
refused: out of scope, target not in view, unsafe, or no valid plan), or `failed` (the step or plan
budget ran out). Every event goes to the trace (`trace.jsonl` of ARCHITECTURE.md): the instruction, each
plan's raw model output, parsed calls and latency, each skill's result and timings, and the end.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

from policies.planner.base import HistoryItem, Planner
from robot.skills.registry import SkillCall


class Runner(Protocol):
    """Anything that runs a SkillCall and reports a result with `ok`, `reason`, `measured`, `to_dict()`."""

    def run(self, call: SkillCall) -> Any: ...


@dataclass(frozen=True)
class AgentConfig:
    """Bounds of one episode."""

    max_steps: int = 12
    """Most skill calls run in one episode."""
    max_plans: int = 4
    """Most planner calls in one episode (the first plan and the re-plans)."""


@dataclass
class Outcome:
    """How an episode ended."""

    status: str
    """"done", "refuse" or "failed"."""
    message: str
    """One line for the user."""
    history: list[HistoryItem] = field(default_factory=list)
    plans: int = 0
    wall_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "message": self.message, "plans": self.plans, "wall_s": round(self.wall_s, 3),
                "steps": [h.to_dict() for h in self.history]}


class Trace:
    """Appends one JSON event a line to `trace.jsonl` (or keeps them in memory when `path` is None)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.events: list[dict[str, Any]] = []
        self.t0 = time.perf_counter()

    def __call__(self, event: str, **data: Any) -> None:
        rec = {"event": event, "wall_s": round(time.perf_counter() - self.t0, 4), **data}
        self.events.append(rec)
        if self.path is not None:
            with self.path.open("a") as f:
                f.write(json.dumps(rec, ensure_ascii=False, default=_jsonable) + "\n")


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)


def _say(call: SkillCall) -> str:
    t = call.args.get("target")
    what = f" {t['object']}" if isinstance(t, dict) else ""
    return f"{call.skill}{what}"


class Agent:
    """Runs instructions through a planner and skills.

    Args:
        planner: any `Planner`.
        runner: runs one SkillCall to its end (robot/skills SkillRunner, or a stub in tests).
        look: returns the present head-camera frame (or None).
        cfg: step and plan budgets.
        trace: where events go (a `Trace`); a new in-memory one by default.
        on_event: also called with every event (a CLI prints plans as they are made).
    """

    def __init__(self, planner: Planner, runner: Runner, look: Callable[[], Any] = lambda: None,
                 cfg: AgentConfig = AgentConfig(), trace: Trace | None = None,
                 on_event: Callable[[str, dict[str, Any]], None] | None = None) -> None:
        self.planner, self.runner, self.look, self.cfg = planner, runner, look, cfg
        self.trace = trace or Trace()
        self.on_event = on_event

    def _emit(self, event: str, **data: Any) -> None:
        self.trace(event, **data)
        if self.on_event is not None:
            self.on_event(event, data)

    def run(self, instruction: str) -> Outcome:
        """Carry out one instruction; never raises for robot-side failures."""
        t0 = time.perf_counter()
        history: list[HistoryItem] = []
        self._emit("instruction", instruction=instruction, planner=getattr(self.planner, "name", "planner"))
        plans = 0

        def finish(status: str, message: str) -> Outcome:
            out = Outcome(status, message, history, plans, time.perf_counter() - t0)
            self._emit("end", status=status, message=message, plans=plans, steps=len(history))
            return out

        while plans < self.cfg.max_plans:
            frame = self.look()
            out = self.planner.plan_verbose(instruction, frame, history)
            plans += 1
            self._emit("plan", raw=out.raw, calls=[c.to_dict() for c in out.calls], latency_ms=round(out.latency_ms, 2),
                       errors=out.errors, fallback=out.fallback, replan=plans > 1)
            failed: HistoryItem | None = None
            for call in out.calls:
                if call.skill == "refuse":
                    return finish("refuse", str(call.args.get("reason") or "I will not do that."))
                if call.skill == "done":
                    return finish("done", str(call.args.get("say") or _summary(history)))
                if len(history) >= self.cfg.max_steps:
                    return finish("failed", f"stopped after {len(history)} steps (the step budget)")
                self._emit("skill_start", call=call.to_dict())
                w0 = time.perf_counter()
                res = self.runner.run(call)
                item = HistoryItem(call, bool(res.ok), str(res.reason), dict(getattr(res, "measured", {}) or {}))
                history.append(item)
                self._emit("skill", call=call.to_dict(), result=res.to_dict() if hasattr(res, "to_dict") else
                           {"ok": item.ok, "reason": item.reason}, wall_ms=round((time.perf_counter() - w0) * 1000, 1))
                if not item.ok:
                    failed = item
                    break
            if failed is None:
                return finish("done", _summary(history))
            if sum(1 for h in history if not h.ok and _same(h.call, failed.call)) >= 2:
                return finish("failed", f"could not {_say(failed.call)} ({failed.reason}), tried twice")
        last = next((h for h in reversed(history) if not h.ok), None)
        why = f": {_say(last.call)} failed ({last.reason})" if last else ""
        return finish("failed", f"gave up after {plans} plans{why}")


def _same(a: SkillCall, b: SkillCall) -> bool:
    """The same call, whatever point the planner read for its target: each plan reads the point from a
    new frame, so a call retried on an object that is not there comes back a few pixels off."""
    da, db = a.to_dict(), b.to_dict()
    for d in (da, db):
        if isinstance(d.get("target"), dict):
            d["target"] = {k: v for k, v in d["target"].items() if k != "point_2d"}
    return da == db


def _summary(history: Sequence[HistoryItem]) -> str:
    done = [_say(h.call) for h in history if h.ok]
    return "Done: " + (", ".join(done) if done else "nothing to do") + "."


__all__ = ["Agent", "AgentConfig", "Outcome", "Runner", "Trace"]
