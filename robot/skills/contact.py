"""Skills that make contact: touch (a hand on an object on a table) and push (an object along the floor).

touch: walk (around obstacles) to a staging point 0.6 m from the object, where the camera sees it and
the table well; find the table's near edge and its middle; step in, arms down (G1's hands hang under a
table's top), until the edge is 0.20 m ahead of the pelvis with the object in front of the hand on the
side away from the table's middle (the legs stay clear of the table's legs); look again (the top is
still in view 0.2-0.3 m ahead of the camera); then the hand goes up behind the edge, over the top and
down onto it along straight lines of IK waypoints (robot/control/arm_ik.py), re-solved as the body sways.

push: walk into the object. The G1's feet pass either side of anything narrower than the step width
(0.23 m): a 0.1 m cube was stepped over, untouched, in 1 of 1 trial, so a small object is lined up with
the left foot and a big one with the midline (measured: a 0.2 m, 1 kg cube moved 0.88 m in 8 s, 6 mm
sideways, no fall). It pushes in chunks of at most 0.45 m and backs off to look again between them,
because a pushed object is below the camera's view.
"""

from __future__ import annotations

import math

import numpy as np

from robot.g1 import constants as C
from robot.perception.detect import Detection
from robot.skills.arm import chain, hold_arm, measured_hand_points
from robot.skills.base import Pose2, SkillContext, SkillFailed
from robot.skills.motion import drive_to, navigate, settle
from robot.skills.registry import Target

STAGE = 0.6
"""m from the object's centre to the pelvis where touch stops to look before the final approach."""
EDGE_CLEAR = 0.20
"""m from the pelvis to a table's near edge when touching. Nearer, the folded arm's elbow drops onto
the object (at 0.12 m the elbow hit the cube in 2 of 2 trials) and at 0.09 m the pelvis box (0.06 m
forward) hit the table; from 0.20 m the arm reaches forward and down with the elbow well behind."""
HAND_Y = 0.15
"""Lateral offset of the object from the pelvis for the hand that touches it, m (inside the IK's
reachable set: at 0.15 m out, 0.15-0.35 m ahead, 0.05-0.25 m above the pelvis)."""
HAND_DIR = np.array([0.95, 0.0, -0.3])
"""Preferred direction of the hand (pelvis frame) when touching from above: forward, a little down."""
PRESS = -0.02
"""Where the fingertip aims below the top face (negative: above it). The hand is 5 cm thick around the
fingertip point, so 2 cm above the top lays the palm on it with a light press that keeps contact as the
body sways; aiming 1 cm below pushed the cube 3-9 cm along the table (4 of 4 trials)."""


def _see(ctx: SkillContext, target: Target) -> Detection | None:
    return ctx.observe(Target(target.object))


def _table_edge(ctx: SkillContext, obj: np.ndarray, u: np.ndarray) -> tuple[float, float, float] | None:
    """The table under an object, from the last frame's top points: the distance along `u` from the
    object's centre back to the near edge, and the table's lateral extent (low, high) along the left
    normal of `u`, relative to the object. None if no table is seen under it."""
    frame = ctx.last_frame
    if frame is None:
        return None
    n = np.array([-u[1], u[0]])
    for body, label in ctx.catalogue.labels.items():
        if label.shape != "table":
            continue
        vs, us = np.nonzero(frame.segmentation == body)
        if len(us) < 50:
            continue
        pts = frame.points()[vs, us]
        top = pts[np.abs(pts[:, 2] - label.size) < 0.02]
        if len(top) < 50:
            continue
        rel = top[:, :2] - obj[:2]
        along, side = rel @ u, rel @ n
        near = np.abs(side) < 0.08
        if not near.any() or np.min(np.linalg.norm(rel, axis=1)) > 0.15:
            continue  # not the table under this object
        return float(-np.min(along[near])), float(np.min(side)), float(np.max(side))
    return None


def touch(ctx: SkillContext, target: Target, hand: str = "auto", timeout: float = 120.0) -> dict:
    """Bring a fingertip within 3 cm of the target (an object on a table)."""
    ctx.ensure_walking()
    ctx.release_arms()
    t_end = ctx.time + timeout
    obj = ctx.locate(target)
    p = ctx.pose()
    u = obj[:2] - p.xy
    if float(np.linalg.norm(u)) < STAGE and abs(p.bearing(obj)) < math.radians(60.0):
        # Already at the object, facing it (a touch again, or a retry with the hand on it): it stands to
        # the side of the touching hand, so the ray to it is skewed by about 25 degrees from the way the
        # robot faces, and a repeat came in that much more askew, the arm across the table's edge (fell in
        # 4 of 4 repeats, scratch probe). Back off along the heading instead: the same approach again.
        u = np.array([math.cos(p.yaw), math.sin(p.yaw)])
    u /= max(float(np.linalg.norm(u)), 1e-9)
    # 1. Staging point, facing the object; look again from there.
    navigate(ctx, obj[:2] - STAGE * u, math.atan2(u[1], u[0]), {ctx.names.get(target.object, "")}, t_end,
             tolerance=0.05)
    det = _see(ctx, target)
    if det is None:
        raise SkillFailed("not_found")
    obj, size = det.position.copy(), det.label.size
    top_z = obj[2] + size / 2.0
    edge = _table_edge(ctx, obj, u)
    gap, lo, hi = edge if edge is not None else (0.0, -1.0, 1.0)
    if hand not in ("left", "right"):
        # Stand toward the table's middle, away from its legs (at its corners; a foot sits 0.15 m out
        # from the pelvis): the hand on the side away from the middle touches.
        hand = "left" if 0.5 * (lo + hi) < 0 else "right"
    y_hand = HAND_Y if hand == "left" else -HAND_Y
    ahead = (gap + EDGE_CLEAR) if edge is not None else 0.28
    ahead = float(np.clip(ahead, 0.24, 0.34))
    n = np.array([-u[1], u[0]])
    stance = obj[:2] - ahead * u - y_hand * n
    yaw = math.atan2(u[1], u[0])
    ch = chain(hand)
    stance_pose = Pose2(float(stance[0]), float(stance[1]), yaw, ctx.pose().z)
    # Is the top within reach from there? (checked before any step toward the table)
    hover = stance_pose.to_body(np.array([obj[0], obj[1], top_z + 0.06]))
    if ch.reach(hover, direction=HAND_DIR).position_error > 0.02:
        raise SkillFailed("unreachable", top_height_m=round(top_z, 3))
    # 2. Step in with the arms down: G1's default hands hang at about 0.62 m, under the table's top.
    last = [ch.rest]

    def solve_at(point_world: np.ndarray) -> np.ndarray:
        tilt = ctx.tilt()  # the pelvis sways as it steps: aim in its frame as it is now (arm.py)
        res = ch.reach(tilt.T @ ctx.pose().to_body(point_world), waist=float(ctx.joint_q()[C.WAIST_SLOT]),
                       q0=last[0], direction=tilt.T @ HAND_DIR)
        last[0] = res.q
        return res.q

    try:
        drive_to(ctx, stance, yaw, tolerance=0.025, timeout=min(12.0, max(1.0, t_end - ctx.time)))
    except SkillFailed:
        pass  # blocked short of the stance (the table): the reach below says whether it is close enough
    settle(ctx, 0.8, stance_pose)
    # 3. Look again from here (0.2-0.3 m in front of the camera, the top is still in view) ...
    det = _see(ctx, target)
    if det is not None and float(np.linalg.norm(det.position[:2] - obj[:2])) < 0.15:
        obj = det.position.copy()
        top_z = obj[2] + size / 2.0
    # ... then the hand straight up behind the table's edge, over the top, and down onto it; the IK is
    # re-solved from the present pose each round.
    p = ctx.pose()
    up = obj.copy()
    # 0.14 m ahead: behind the table's edge (0.2 m ahead) yet not so near the shoulder that the folded
    # arm cannot get there (at 0.08 m the IK missed by 3 cm with the arm flung back, and the robot fell).
    up[:2] = p.xy + 0.14 * u + y_hand * n
    up[2] = top_z + 0.10
    over = np.array([obj[0], obj[1], top_z + 0.10])
    sag = np.zeros(5)
    hold_arm(ctx, hand, lambda: solve_at(up), seconds=1.0, rounds=2, offset=sag)
    # The way in, kept for the way out (ctx.clear_arm: before the arms are released or the base moves).
    ctx.arm_exit.insert(0, ctx.arm_targets())
    # Along straight lines in small steps: a joint-space blend between far poses dips the hand (it
    # knocked the cube off its place in 3 of 3 trials).
    for a in np.linspace(0.0, 1.0, 6)[1:]:
        hold_arm(ctx, hand, lambda a=a: solve_at(up + a * (over - up)), seconds=0.2, rounds=0, period=0.05,
                 offset=sag)
        ctx.arm_exit.insert(0, ctx.arm_targets())
    hold_arm(ctx, hand, lambda: solve_at(over), seconds=0.3, rounds=3, offset=sag)
    ctx.arm_exit.insert(0, ctx.arm_targets())
    for z in np.linspace(top_z + 0.10, top_z - PRESS, 6)[1:]:
        hold_arm(ctx, hand, lambda z=z: solve_at(np.array([obj[0], obj[1], z])), seconds=0.2, rounds=0,
                 period=0.05, offset=sag, learn=False)
    ctx.sleep(0.5)
    dists = []
    for _ in range(5):
        dists.append(min(_box_distance(pt, obj, size) for pt in measured_hand_points(ctx, hand)))
        ctx.sleep(0.1)
    return {"hand": hand, "hand_distance_m": round(float(np.median(dists)), 4),
            "stance_error_m": round(float(np.linalg.norm(ctx.pose().xy - stance)), 3),
            "edge_gap_m": None if edge is None else round(gap, 3), "reach_ahead_m": round(ahead, 3)}


def _box_distance(point: np.ndarray, centre: np.ndarray, size: float) -> float:
    """Distance from a point to an axis-aligned cube (0 inside): yaw is ignored, a 1-2 cm error at most
    for the touch check, which aims at the top's centre."""
    d = np.maximum(np.abs(np.asarray(point) - centre) - size / 2.0, 0.0)
    return float(np.linalg.norm(d))


# --- push ----------------------------------------------------------------------------------------------
PUSH_BACK = 0.5
"""m from the object's centre to the pelvis before each push (the object is in view from there)."""
CHUNK = 0.45
"""Most an object is pushed blind before the robot backs off and looks again, m."""
MIN_PUSH_SIZE = 0.09
"""Objects lower than this are not pushed: the swing foot (8 cm clearance) lands on them (an 8 cm cube
was stepped on and the robot fell in 2 of 2 trials, at 0.15 and 0.08 m/s); 9-12 cm ones were pushed
in 6 of 6."""
SMALL_SPEED = 0.08
"""Commanded speed (m/s) into a small object: short steps kick it ahead of the toe."""
FOOT_Y = 0.10
"""Lateral offset of a small object from the pelvis so that it lies in front of the left foot, m."""


def push(ctx: SkillContext, target: Target, distance: float, timeout: float = 120.0) -> dict:
    """Push the target `distance` m away from where the robot stood, by walking into it."""
    ctx.ensure_walking()
    ctx.release_arms()
    t_end = ctx.time + timeout
    c0 = ctx.locate(target)
    det = ctx.observe(Target(target.object))
    size = det.label.size if det is not None else 0.1
    if size < MIN_PUSH_SIZE:
        raise SkillFailed("unreachable", size_m=round(size, 3))
    p = ctx.pose()
    u = c0[:2] - p.xy
    u /= max(float(np.linalg.norm(u)), 1e-9)
    n = np.array([-u[1], u[0]])
    yaw = math.atan2(u[1], u[0])
    goal = c0[:2] + distance * u
    side = 0.0 if size >= 0.16 else FOOT_Y
    c = c0.copy()
    # Pelvis to the object's centre when the push starts, calibrated on pushed distances: 0.17 m
    # overshot by 0.05-0.13 m (8 of 8 pushes), 0.12 m by 0.1-0.19 m, 0.24 m came within -0.01..+0.05 m
    # (3 of 3). Larger than the toe's reach (0.145 m ahead of the ankle): the pushed object slides on.
    contact = 0.24 + size / 2.0
    pushed = False
    for _ in range(6):
        remaining = float((goal - c[:2]) @ u)
        if remaining < 0.02 or ctx.time > t_end:
            break
        # Behind the object, lined up (it may have slid sideways or turned on the last push).
        stage = c[:2] - PUSH_BACK * u - side * n
        navigate(ctx, stage, yaw, {ctx.names.get(target.object, "")}, t_end, tolerance=0.03)
        det = ctx.observe(Target(target.object))
        if det is not None:
            c = det.position.copy()
            if not pushed:
                # The first look from close, before any push, is where the object starts: from afar (the
                # first sight) depth put a cube 0.09 m off, and a push reported 0.31 m moved 0.22 m.
                c0 = c.copy()
                goal = c0[:2] + distance * u
            stage2 = c[:2] - PUSH_BACK * u - side * n
            if float(np.linalg.norm(stage2 - stage)) > 0.03:
                drive_to(ctx, stage2, yaw, tolerance=0.03, timeout=max(1.0, t_end - ctx.time))
                stage = stage2
            remaining = float((goal - c[:2]) @ u)
            if remaining < 0.02:
                break
        # Walk through: up to the object, then `remaining` (at most a chunk) further, slowly.
        advance = (PUSH_BACK - contact) + min(remaining + 0.02, CHUNK)
        here = ctx.pose().xy
        _walk_line(ctx, here, here + advance * u, yaw, t_end, speed=0.15 if size >= 0.16 else SMALL_SPEED)
        pushed = True
        # Back off to see it again.
        back = ctx.pose().xy - 0.3 * u
        drive_to(ctx, back, yaw, tolerance=0.05, timeout=max(1.0, t_end - ctx.time))
        det = ctx.observe(Target(target.object))
        if det is None:
            raise SkillFailed("not_found", moved_m=round(float((c[:2] - c0[:2]) @ u), 3))
        c = det.position.copy()
    moved = float((c[:2] - c0[:2]) @ u)
    if ctx.time > t_end and moved < 0.8 * distance:
        raise SkillFailed("timeout", moved_m=round(moved, 3))
    return {"moved_m": round(moved, 3), "sideways_m": round(float(abs((c[:2] - c0[:2]) @ n)), 3)}


def _walk_line(ctx: SkillContext, start: np.ndarray, end: np.ndarray, yaw: float, t_end: float,
               speed: float = 0.15) -> None:
    """Walk straight from `start` to `end` at `speed` m/s (commanded), holding the line and heading."""
    u = (end - start) / max(float(np.linalg.norm(end - start)), 1e-9)
    n = np.array([-u[1], u[0]])
    ctx.driving = True
    while ctx.time < t_end:
        p = ctx.pose()
        along = float((end - p.xy) @ u)
        if along < 0.02:
            break
        off = float((p.xy - start) @ n)
        c, s = math.cos(p.yaw), math.sin(p.yaw)
        # Cross-track correction as a world vector, into the body frame.
        w = -1.0 * off * n
        vy = float(np.clip(-s * w[0] + c * w[1], -0.08, 0.08))
        err = (yaw - p.yaw + math.pi) % (2 * math.pi) - math.pi
        ctx.client.Move(speed, vy, float(np.clip(1.5 * err, -0.3, 0.3)))
        ctx.sleep(0.1)
    settle(ctx, 0.5)


__all__ = ["push", "touch"]
