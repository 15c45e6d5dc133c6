"""Run one SkillCall on the robot: validate, dispatch, catch failures, report a SkillResult.

Invalid arguments raise ValueError before anything moves (the planner's mistakes must be loud).
Robot-side failures (target not found, fell, out of time, out of reach) come back as a result with a
reason, never as an exception. `done` and `refuse` move nothing: the agent handles them.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from robot.perception.detect import Catalogue
from robot.sdk.loco import LocoClient, SimRobot
from robot.sim.camera import HeadCamera
from robot.skills import arm, motion
from robot.skills.base import SkillContext, SkillFailed, SkillResult
from robot.skills.registry import SkillCall

# Time limits (simulated s). Each is a few times what the skill takes at its limits: walk_to 3 m with a
# search all around measured about 40 s.
TIME_LIMITS: dict[str, float] = {"walk_to": 90.0, "walk": 60.0, "turn": 30.0, "face": 40.0, "look_at": 45.0,
                                 "point_at": 45.0, "wave": 15.0, "touch": 120.0, "push": 120.0, "squat": 10.0,
                                 "stand": 45.0, "stop": 10.0}
"""Simulated seconds after which a failed skill counts as timed out. `stand` may first get up from the
floor (Lie2StandUp: 4.6-10.4 s measured, up to 30 s before it gives up)."""


def _ok(skill: str, m: dict[str, Any], args: dict[str, Any]) -> bool:
    """The done-condition as the robot measures it (the vocabulary's numbers)."""
    if skill == "walk_to":
        return abs(m["distance_m"] - motion.STANDOFF) <= 0.15 and m["facing_error_deg"] <= 15.0
    if skill == "walk":
        return m["error_m"] <= max(0.1, 0.1 * args["distance"])
    if skill == "turn":
        return m["error_deg"] <= 10.0
    if skill == "face":
        return m["facing_error_deg"] <= 10.0
    if skill == "look_at":
        return bool(m["centred"])
    if skill == "point_at":
        return m["pointing_error_deg"] <= 10.0
    if skill == "wave":
        return m["swings"] >= 2
    if skill == "touch":
        return m["hand_distance_m"] <= 0.03
    if skill == "push":
        return m["moved_m"] >= 0.8 * args["distance"]
    if skill in ("squat", "stand"):
        return bool(m["reached"])
    if skill == "stop":
        return bool(m["still"])
    return True


class SkillRunner:
    """Runs skill calls on one robot.

    Args:
        robot, client: the robot and its LocoClient.
        catalogue: the detector's labels (robot/perception).
        camera: head camera (default: a new one).
    """

    def __init__(self, robot: SimRobot, client: LocoClient, catalogue: Catalogue,
                 camera: HeadCamera | None = None) -> None:
        self.ctx = SkillContext(robot, client, catalogue, camera)
        self.impl: dict[str, Callable[..., dict]] = {
            "walk_to": lambda a, lim: motion.walk_to(self.ctx, _target(a), timeout=lim),
            "walk": lambda a, lim: motion.walk(self.ctx, a["distance"], a["direction"], timeout=lim),
            "turn": lambda a, lim: motion.turn(self.ctx, a["degrees"]),
            "face": lambda a, lim: motion.face(self.ctx, _target(a)),
            "look_at": lambda a, lim: motion.look_at(self.ctx, _target(a)),
            "point_at": lambda a, lim: arm.point_at(self.ctx, _target(a), a["hand"]),
            "wave": lambda a, lim: arm.wave(self.ctx, a["hand"]),
            "touch": lambda a, lim: arm.touch(self.ctx, _target(a), a["hand"], timeout=lim),
            "push": lambda a, lim: arm.push(self.ctx, _target(a), a["distance"], timeout=lim),
            "squat": lambda a, lim: motion.squat(self.ctx),
            "stand": lambda a, lim: motion.stand(self.ctx),
            "stop": lambda a, lim: motion.stop(self.ctx),
        }

    def run(self, call: SkillCall | dict | str) -> SkillResult:
        """Run one call to its end. Raises ValueError (and moves nothing) if the call is invalid."""
        if isinstance(call, str):
            call = SkillCall.from_json(call)
        elif isinstance(call, dict):
            call = SkillCall.from_dict(call)
        call = call.validate()
        t0 = self.ctx.time
        if call.skill in ("done", "refuse"):
            return SkillResult(True, "ok", dict(call.args), call.skill, 0.0)
        limit = TIME_LIMITS[call.skill]
        try:
            measured = self.impl[call.skill](call.args, limit)
            ok = _ok(call.skill, measured, call.args)
            reason = "ok" if ok else "unreachable"
            if ok is False and self.ctx.time - t0 > limit:
                reason = "timeout"
        except SkillFailed as f:
            measured, ok, reason = dict(f.measured), False, f.reason
        finally:
            if self.ctx.driving:  # ended inside a walking loop: keep station where it stands
                self.ctx.hold()
        if self.ctx.robot.fallen:
            ok, reason = False, "fell"
        measured = {k: (round(v, 4) if isinstance(v, float) and math.isfinite(v) else v) for k, v in measured.items()}
        return SkillResult(ok, reason, measured, call.skill, self.ctx.time - t0)


def _target(args: dict[str, Any]) -> Any:
    from robot.skills.registry import Target

    return Target.from_dict(args["target"])


__all__ = ["TIME_LIMITS", "SkillRunner"]
