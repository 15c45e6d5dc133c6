"""The agent loop with a scripted planner and stub skills: done, re-plan after a failure, refuse, budgets,
and the trace it writes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policies.agent import Agent, AgentConfig, Trace
from policies.planner.base import Planner
from robot.skills.registry import SkillCall


class ScriptPlanner(Planner):
    """Answers from a list, one per plan; records the history it was given."""

    name = "script"

    def __init__(self, answers: list[list[dict]]) -> None:
        super().__init__()
        self.answers = answers
        self.histories: list[list] = []

    def generate(self, instruction, frame, history, attempt):  # noqa: ANN001, ANN201
        self.histories.append([h.to_dict() for h in history])
        return json.dumps(self.answers[min(len(self.histories) - 1, len(self.answers) - 1)])


@dataclass
class Result:
    ok: bool
    reason: str
    measured: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "reason": self.reason, "measured": self.measured}


class StubRunner:
    """Fails the calls named in `fail` (as many times as listed), succeeds otherwise."""

    def __init__(self, fail: list[str] = ()) -> None:  # type: ignore[assignment]
        self.fail = list(fail)
        self.ran: list[str] = []

    def run(self, call: SkillCall) -> Result:
        self.ran.append(call.skill)
        if call.skill in self.fail:
            self.fail.remove(call.skill)
            return Result(False, "not_found")
        return Result(True, "ok", {"seconds": 1.0})


WALK = {"skill": "walk_to", "target": {"object": "red cube", "point_2d": [500, 600]}}
WAVE = {"skill": "wave"}


def test_all_calls_succeed_ends_done_and_traces_everything(tmp_path: Path) -> None:
    trace = Trace(tmp_path / "trace.jsonl")
    runner = StubRunner()
    out = Agent(ScriptPlanner([[WALK, WAVE]]), runner, trace=trace).run("go to the red cube and wave")
    assert out.status == "done" and runner.ran == ["walk_to", "wave"] and out.plans == 1
    assert "walk_to red cube" in out.message
    events = [json.loads(x) for x in (tmp_path / "trace.jsonl").read_text().splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds == ["instruction", "plan", "skill_start", "skill", "skill_start", "skill", "end"]
    plan = events[1]
    assert plan["raw"] and plan["calls"][0]["skill"] == "walk_to" and plan["latency_ms"] >= 0
    assert events[3]["result"]["ok"] is True and "wall_ms" in events[3]
    assert all("wall_s" in e for e in events)


def test_failure_replans_with_history() -> None:
    planner = ScriptPlanner([[WALK, WAVE], [WALK, WAVE]])
    runner = StubRunner(fail=["walk_to"])
    out = Agent(planner, runner).run("go to the red cube and wave")
    assert out.status == "done" and out.plans == 2
    assert runner.ran == ["walk_to", "walk_to", "wave"]
    assert planner.histories[1] == [{"call": SkillCall.from_dict(WALK).to_dict(), "ok": False, "reason": "not_found"}]


def test_same_call_failing_twice_stops() -> None:
    out = Agent(ScriptPlanner([[WALK]]), StubRunner(fail=["walk_to", "walk_to", "walk_to"])).run("go")
    assert out.status == "failed" and "tried twice" in out.message and out.plans == 2


def test_the_same_target_failing_twice_stops_though_its_point_moved() -> None:
    # Each plan reads the point from a new frame: an object that is not there comes back a few pixels off.
    moved = {"skill": "walk_to", "target": {"object": "red cube", "point_2d": [520, 580]}}
    other = {"skill": "walk_to", "target": {"object": "blue cube", "point_2d": [520, 580]}}
    runner = StubRunner(fail=["walk_to"] * 4)
    out = Agent(ScriptPlanner([[WALK], [moved], [other]]), runner).run("go")
    assert out.status == "failed" and "tried twice" in out.message and out.plans == 2
    out = Agent(ScriptPlanner([[WALK], [other], [moved]]), StubRunner(fail=["walk_to"] * 4)).run("go")
    assert "tried twice" in out.message and out.plans == 3  # another object is another call


def test_refuse_and_done_from_the_planner_end_the_episode() -> None:
    runner = StubRunner()
    out = Agent(ScriptPlanner([[{"skill": "refuse", "reason": "I cannot see a green ball here."}]]), runner).run("x")
    assert out.status == "refuse" and out.message == "I cannot see a green ball here." and runner.ran == []
    out = Agent(ScriptPlanner([[WAVE, {"skill": "done", "say": "hello!"}]]), runner).run("wave")
    assert out.status == "done" and out.message == "hello!"


def test_invalid_planner_output_becomes_refuse() -> None:
    out = Agent(ScriptPlanner([[{"skill": "fly"}]]), StubRunner()).run("fly")
    assert out.status == "refuse" and "valid plan" in out.message


def test_budgets_bound_the_episode() -> None:
    out = Agent(ScriptPlanner([[WAVE] * 8]), StubRunner(), cfg=AgentConfig(max_steps=3)).run("wave a lot")
    assert out.status == "failed" and len(out.history) == 3
    planner = ScriptPlanner([[WALK], [WAVE], [{"skill": "squat"}]])
    out = Agent(planner, StubRunner(fail=["walk_to", "wave", "squat"]), cfg=AgentConfig(max_plans=3)).run("x")
    assert out.status == "failed" and out.plans == 3 and "gave up" in out.message
