"""The stage `humanoid demo` and `humanoid chat` play on: a SimSession filmed, captioned, timed and judged.

A `Stage` wraps the agent on a simulated robot (policies/agent/sim.py) with what a person watching needs:
the video (third-person view, head-camera inset, a caption of the instruction and the skill running),
the plan and each skill's result as lines of text, a progress bar in simulated seconds, real-time pacing
when PyBullet's window is open, and a ground-truth check of every call (robot/sim/predicates.py). The
check is there because a skill judges itself from what the robot senses; the line that says "success"
should rest on where the robot really is.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TextIO

from policies.agent.loop import AgentConfig, Outcome, Trace
from policies.agent.sim import SimSession
from policies.planner.base import Planner
from robot.skills.registry import SkillCall

ROOT = Path(__file__).resolve().parents[2]
EXPECTED_S: dict[str, float] = {"walk_to": 8.0, "walk": 5.0, "turn": 3.0, "face": 3.0, "look_at": 3.0,
                                "point_at": 4.0, "wave": 3.5, "touch": 15.0, "push": 20.0, "squat": 2.0,
                                "stand": 2.0, "stop": 1.0}
"""Rough simulated seconds a skill takes in a scene like the demo's: only the progress bar's length."""


def load_planner_or_keyword(spec: str, threads: int = 1, note: Callable[[str], None] = print) -> Planner:
    """`load_planner`, except that a missing default model falls back to the keyword planner with a note
    (the default model is trained by `humanoid train planner`; a fresh checkout may not have it yet)."""
    from policies.planner.cli import DEFAULT_MODEL, load_planner

    if spec == "default" and not (DEFAULT_MODEL / "config.json").exists():
        where = DEFAULT_MODEL.relative_to(ROOT) if DEFAULT_MODEL.is_relative_to(ROOT) else DEFAULT_MODEL
        note(f"note: the default planner is not in {where} (train it with "
             "`humanoid train planner`); using the keyword planner")
        spec = "keyword"
    if spec != "keyword":
        try:  # transformers' "Loading weights" bar would sit between the plan lines and the user's prompt
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
        except ImportError:
            pass  # load_planner says which extra is missing
    return load_planner(spec, threads)


# --- words for people ---------------------------------------------------------------------------------
def _what(call: SkillCall | dict[str, Any]) -> str:
    d = call.to_dict() if isinstance(call, SkillCall) else call
    t = d.get("target")
    return f"the {t['object']}" if isinstance(t, dict) else "it"


def past_tense(call: SkillCall | dict[str, Any]) -> str:
    """What a finished call did, as a person would say it: "walked to the red cube"."""
    d = call.to_dict() if isinstance(call, SkillCall) else call
    s, what = d["skill"], _what(d)
    if s == "walk_to":
        return f"walked to {what}"
    if s == "walk":
        return f"walked {d['distance']:g} m {d['direction']}"
    if s == "turn":
        return f"turned {abs(d['degrees']):g} degrees {'left' if d['degrees'] >= 0 else 'right'}"
    return {"face": f"turned to face {what}", "look_at": f"looked at {what}",
            "point_at": f"pointed at {what}", "wave": f"waved with my {d.get('hand', 'right')} hand",
            "touch": f"touched {what}", "push": f"pushed {what} {d.get('distance', 0):g} m away",
            "squat": "squatted", "stand": "stood up", "stop": "stopped"}.get(s, s)


def present(call: SkillCall | dict[str, Any]) -> str:
    """The running call for the caption: "walk_to red cube"."""
    d = call.to_dict() if isinstance(call, SkillCall) else call
    t = d.get("target")
    rest = [str(v) for k, v in d.items() if k not in ("skill", "target")]
    return " ".join([d["skill"], *([t["object"]] if isinstance(t, dict) else []), *rest])


def join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


# --- the ground-truth witness --------------------------------------------------------------------------
@dataclass
class Check:
    """One call judged on the simulator's ground truth."""

    call: dict[str, Any]
    skill_ok: bool
    """What the skill said of itself."""
    truth_ok: bool
    """What the simulator says."""
    target: str | None
    measured: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"call": self.call, "skill_ok": self.skill_ok, "truth_ok": self.truth_ok, "target": self.target,
                "measured": {k: round(v, 4) for k, v in self.measured.items()}}


class Witness:
    """Runs calls through the skill runner and judges each on the ground truth (predicates.skill_done)."""

    def __init__(self, runner: Any, world: Any, spec: Any) -> None:
        self.runner, self.world, self.spec = runner, world, spec
        self.checks: list[Check] = []

    def run(self, call: SkillCall) -> Any:
        from robot.sim.predicates import Before, WaveWatcher, skill_done

        before = Before.take(self.world)
        waves = WaveWatcher(self.world) if call.skill == "wave" else None
        try:
            result = self.runner.run(call)
        finally:
            if waves is not None:
                waves.close()
        target = self._target(call)
        if "target" in call.args and target is None:
            truth, measured = False, {}
        else:
            truth, measured = skill_done(self.world, call.skill, call.args, before, target, waves)
        self.checks.append(Check(call.to_dict(), bool(result.ok), bool(truth), target, measured))
        return result

    def _target(self, call: SkillCall) -> str | None:
        """The scene object a description names; of several, the nearest to the robot now."""
        t = call.args.get("target")
        if not isinstance(t, dict):
            return None
        from robot.perception.detect import Label, parse_description
        from robot.sim.predicates import distance_to

        q = parse_description(str(t.get("object", "")))
        if q.empty:
            return None
        labels = [Label(o.name, o.shape, o.colour, o.size) for o in self.spec.objects]
        labels += [Label(x.name, "table", None, x.size[2]) for x in self.spec.tables]
        names = [lb.name for lb in labels if q.matches(lb) and lb.name in self.world.bodies]
        return min(names, key=lambda n: distance_to(self.world, n)) if names else None


# --- the stage -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StageConfig:
    """How a stage films and shows what happens."""

    fps: float = 20.0
    """Video frames per simulated second (the head-camera inset refreshes at 10 Hz)."""
    video: bool = True
    """Film into video.mp4 (rendering is most of a run's wall time)."""
    gui: bool = False
    """Open PyBullet's window and pace the simulation at real time."""
    progress: bool = True
    """Show a progress bar in simulated seconds (on stderr)."""
    max_steps: int = 12
    """Most skill calls for one instruction."""
    max_plans: int = 4
    """Most planner calls for one instruction."""


@dataclass
class Turn:
    """One instruction carried out: the agent's outcome, the ground-truth checks and one line to say."""

    instruction: str
    outcome: Outcome
    checks: list[Check]
    fell: bool
    sim_s: float
    wall_s: float

    @property
    def success(self) -> bool:
        """Done, and every call the robot says it did holds in the ground truth. A call that failed, with
        the simulator agreeing, and was run again (the agent re-plans on a failure) does not count against
        it: "stop" failed then stopped was a failure before."""
        return self.outcome.status == "done" and not self.fell and all(c.truth_ok for c in self.checks if c.skill_ok)

    def answer(self) -> str:
        """The robot's one-line reply: what it did, or why it did not."""
        if self.outcome.status == "refuse":
            return f"Sorry, I can't do that. {self.outcome.message}"
        did = [past_tense(c.call) for c in self.checks if c.skill_ok]
        if self.fell:
            return "I fell" + (f" after I {join(did)}" if did else "") + "."
        if self.outcome.status != "done":
            return (f"I {join(did)}, but " if did else "") + f"I could not finish: {self.outcome.message}."
        if not did:
            return "There was nothing to do."
        wrong = [present(c.call) for c in self.checks if c.skill_ok and not c.truth_ok]
        return f"I {join(did)}." + (f" (The simulator disagrees about: {', '.join(wrong)}.)" if wrong else "")

    def to_dict(self) -> dict[str, Any]:
        return {"instruction": self.instruction, "success": self.success, "answer": self.answer(),
                "fell": self.fell, "sim_s": round(self.sim_s, 3), "wall_s": round(self.wall_s, 3),
                "outcome": self.outcome.to_dict(), "checks": [c.to_dict() for c in self.checks]}


class Stage:
    """A scene with the G1 standing in it, the agent, a camera crew and a narrator.

    Args:
        spec: the scene (robot.sim.scene.SceneSpec).
        planner: any Planner.
        run_dir: where video.mp4 and trace.jsonl go.
        cfg: filming and budgets.
        controller: System 1 for FSM 500 (None: the model-based walker).
        out: where the plan and results are printed (stdout).
    """

    def __init__(self, spec: Any, planner: Planner, run_dir: Path, cfg: StageConfig = StageConfig(),
                 controller: Any = None, out: TextIO | None = None) -> None:
        from robot.sim.world import WorldConfig

        self.cfg, self.run_dir, self.out = cfg, run_dir, out or sys.stdout
        self.trace = Trace(run_dir / "trace.jsonl")
        self.session = SimSession(spec, planner, AgentConfig(cfg.max_steps, cfg.max_plans), trace=self.trace,
                                  on_event=self._on_event, world_cfg=WorldConfig(gui=cfg.gui), controller=controller)
        self.world, self.robot = self.session.world, self.session.robot
        self.witness = Witness(self.session.runner, self.world, spec)
        self.session.agent.runner = self.witness
        self.recorder = None
        if cfg.video:
            from robot.sim.camera import FollowCamera
            from robot.sim.video import Recorder

            # From behind and to the right, looking 60 deg left of +x: the robot starts facing +x, so the
            # objects ahead of it stay in view, and a right-hand wave shows (chosen on frames of the demo).
            follow = FollowCamera(self.world, distance=2.8, yaw_deg=60.0, pitch_deg=-20.0)
            self.recorder = Recorder(self.world, run_dir / "video.mp4", fps=cfg.fps, follow=follow)
        self._bar: Any = None
        self._instruction = ""
        self._remaining: list[dict[str, Any]] = []
        self._wall0 = time.perf_counter()
        self._sim0 = self.world.time
        self.robot.every(5, self._tick)  # 10 ms of simulated time: the recorder renders only due frames
        self._caption("")
        self.linger(0.5)  # the video opens on the scene with the robot standing, before any plan

    # --- what runs every few physics steps -------------------------------------------------------------
    def _tick(self, _robot: Any) -> None:
        if self.recorder is not None:
            self.recorder.record()
        if self.cfg.gui:
            ahead = (self.world.time - self._sim0) - (time.perf_counter() - self._wall0)
            if ahead > 0.002:
                time.sleep(ahead)
        if self._bar is not None and self.world.step_count % 25 == 0:
            bar = self._bar
            delta = round(self.world.time - self._bar_t0, 1) - bar.n
            if bar.n + delta > bar.total:
                bar.total = bar.n + delta
            if delta > 0:
                bar.update(delta)  # redraws at most every 0.1 s of wall time

    def _caption(self, line2: str) -> None:
        if self.recorder is not None:
            first = f'"{self._instruction}"' if self._instruction else "openhumanoid: waiting for an instruction"
            self.recorder.caption = first + (f"\n{line2}" if line2 else "")

    def _say(self, text: str) -> None:
        if self._bar is not None:
            self._bar.clear()
        print(text, file=self.out, flush=True)
        if self._bar is not None:
            self._bar.refresh()

    def _estimate(self) -> None:
        if self._bar is not None:
            left = sum(EXPECTED_S.get(c["skill"], 0.0) for c in self._remaining)
            self._bar.total = max(self._bar.n, round(self.world.time - self._bar_t0 + left, 1))
            self._bar.refresh()

    def _on_event(self, event: str, data: dict[str, Any]) -> None:
        if event == "plan":
            calls = data["calls"]
            self._remaining = list(calls)
            head = "re-plan" if data.get("replan") else "plan"
            lines = [f"{head} ({data['latency_ms']:.0f} ms):"]
            lines += [f"  {i + 1}. {json.dumps(c, ensure_ascii=False)}" for i, c in enumerate(calls)]
            self._say("\n".join(lines))
            self._estimate()
        elif event == "skill_start":
            self._caption("now: " + present(data["call"]))
            self._estimate()
        elif event == "skill":
            r = data["result"]
            if self._remaining:
                self._remaining.pop(0)
            m = ", ".join(f"{k} {v}" for k, v in r.get("measured", {}).items() if isinstance(v, (int, float)))
            check = self.witness.checks[-1] if self.witness.checks else None
            truth = "" if check is None else (" | ground truth: ok" if check.truth_ok else " | ground truth: NOT done"
                                              + "".join(f", {k} {v:.3g}" for k, v in check.measured.items()))
            self._say(f"  {present(data['call'])}: {'ok' if r['ok'] else r['reason']} in {r['seconds']:.1f} sim s"
                      + (f" ({m})" if m else "") + truth)
            self._caption(("done: " if r["ok"] else "failed: ") + present(data["call"]))

    # --- one instruction ---------------------------------------------------------------------------------
    def run(self, instruction: str) -> Turn:
        """Plan and carry out one instruction, filmed; then film one more second to show the outcome."""
        from tqdm import tqdm

        self._instruction = instruction
        self._caption("planning ...")
        first = len(self.witness.checks)
        sim0, wall0 = self.world.time, time.perf_counter()
        self._sim0, self._wall0 = sim0, wall0  # real-time pacing restarts: a chat waited for the person
        self._bar_t0 = sim0
        if self.cfg.progress:
            # disable=None: no bar where stderr is not a terminal (a log file would fill with redraws).
            self._bar = tqdm(total=1.0, unit="sim s", leave=False, file=sys.stderr, dynamic_ncols=True, disable=None,
                             bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} sim s [{elapsed}]")
        try:
            if self.recorder is not None:
                self.recorder.record()
            outcome = self.session.run(instruction)
        finally:
            if self._bar is not None:
                self._bar.close()
                self._bar = None
        turn = Turn(instruction, outcome, self.witness.checks[first:], bool(self.robot.fallen),
                    self.world.time - sim0, time.perf_counter() - wall0)
        self.trace("turn", **turn.to_dict())
        self._caption(("robot: " if turn.success else "robot (failed): ") + turn.answer())
        self.linger(1.0)
        return turn

    def get_up(self) -> bool:
        """After a fall: Lie2StandUp and back to balanced stepping, filmed; True once up again."""
        self._caption("getting up ...")
        sim0 = self.world.time
        ok = self.session.runner.ctx.get_up()
        getup = self.robot.getup
        self.trace("get_up", ok=ok, sim_s=round(self.world.time - sim0, 3),
                   reason=getup.reason if getup is not None else "")
        self._caption("up again" if ok else "could not get up")
        self.linger(1.0)
        return ok

    def linger(self, seconds: float) -> None:
        """Let simulated time pass (the robot keeps station, or lies damped), so a video shows how it ended."""
        self.robot.sleep(seconds)

    def close(self) -> None:
        if self.recorder is not None:
            self.recorder.close()
        self.session.close()

    def __enter__(self) -> Stage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Check", "Stage", "StageConfig", "Turn", "Witness", "load_planner_or_keyword",
           "past_tense", "present"]
