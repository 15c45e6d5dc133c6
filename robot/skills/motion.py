"""Skills that move the whole body: walk_to, walk, turn, face, look_at, stop, squat, stand.

Walking goes through `LocoClient.Move` in a 10 Hz loop closed on odometry, not through one long
`SetTargetPos`: the loop keeps speeds where the walker is steady (measured with the walker before commit
da4f2b6: Move 0.3-0.4 m/s forward, 0.6 rad/s turning and 0.15 m/s sideways never fell in 6 s; 0.5 m/s fell
after 3 s, and SetTargetPos' 0.5 m/s legs fell on 3 of 4 goals), turns on the spot before long legs,
walks around what it has seen (robot/skills/nav.py) and re-plans from the latest observation of the
target after every leg of at most 0.6 m.
"""

from __future__ import annotations

import math

import numpy as np

from robot.g1 import constants as C
from robot.skills.base import Pose2, SkillContext, SkillFailed, wrap
from robot.skills.nav import ROBOT_RADIUS, plan
from robot.skills.registry import Target

TICK = 0.1
"""Seconds between velocity commands (Move holds a command for 1 s, so a missed tick is harmless)."""
VX_MAX = 0.3
VX_BACK = 0.15
VY_MAX = 0.12
VYAW_MAX = 0.6
STANDOFF = 0.5
"""walk_to stops this far (pelvis to target centre, m) in front of the target (the vocabulary's 0.5 m)."""


def _move(ctx: SkillContext, vx: float, vy: float, vyaw: float) -> None:
    if ctx.client.Move(vx, vy, vyaw) != 0:
        raise SkillFailed("fell" if ctx.robot.fallen else "invalid")


def settle(ctx: SkillContext, seconds: float = 0.8, pose: Pose2 | None = None) -> None:
    """Keep station at `pose` (default: here) for `seconds`, stepping in place (base.py says why)."""
    ctx.hold(pose)
    ctx.sleep(seconds)


def turn_to(ctx: SkillContext, yaw: float, tolerance: float = math.radians(3.0), timeout: float = 15.0,
            hold: Pose2 | None = None) -> float:
    """Turn on the spot to a heading; holds the start position against the gait's drift. Returns the
    remaining heading error (rad)."""
    hold = hold or ctx.pose()
    t_end = ctx.time + timeout
    ctx.driving = True
    while ctx.time < t_end:
        p = ctx.pose()
        err = wrap(yaw - p.yaw)
        if abs(err) < tolerance:
            break
        drift = p.to_body(np.array([hold.x, hold.y]))  # where the start point is, seen from the body
        vyaw = float(np.clip(1.5 * err, -VYAW_MAX, VYAW_MAX))
        if abs(vyaw) < 0.15:
            vyaw = math.copysign(0.15, err)  # below this the walker barely turns (steps too small)
        _move(ctx, float(np.clip(0.8 * drift[0], -0.1, 0.1)), float(np.clip(0.8 * drift[1], -0.08, 0.08)), vyaw)
        ctx.sleep(TICK)
    settle(ctx, 0.6, Pose2(hold.x, hold.y, yaw, hold.z))
    return wrap(yaw - ctx.pose().yaw)


def turn_by(ctx: SkillContext, angle: float, tolerance: float = math.radians(3.0), timeout: float = 20.0) -> float:
    """Turn on the spot by `angle` rad (any size: the heading is unwrapped as it goes). Returns the
    angle actually turned (rad)."""
    p0 = ctx.pose()
    turned, last = 0.0, p0.yaw
    t_end = ctx.time + timeout
    ctx.driving = True
    while ctx.time < t_end:
        p = ctx.pose()
        turned += wrap(p.yaw - last)
        last = p.yaw
        err = angle - turned
        if abs(err) < tolerance:
            break
        drift = p.to_body(np.array([p0.x, p0.y]))
        vyaw = float(np.clip(1.5 * err, -VYAW_MAX, VYAW_MAX))
        if abs(vyaw) < 0.15:
            vyaw = math.copysign(0.15, err)
        _move(ctx, float(np.clip(0.8 * drift[0], -0.1, 0.1)), float(np.clip(0.8 * drift[1], -0.08, 0.08)), vyaw)
        ctx.sleep(TICK)
    settle(ctx, 0.6, Pose2(p0.x, p0.y, wrap(p0.yaw + angle), p0.z))
    p = ctx.pose()
    return turned + wrap(p.yaw - last)


def drive_to(ctx: SkillContext, goal: np.ndarray, yaw: float | None, tolerance: float = 0.04,
             timeout: float = 30.0, until: float | None = None) -> None:
    """Walk to a floor point and, if given, end at a heading. Long legs turn first and walk forward;
    the last 0.4 m are holonomic (side-steps and small corrections, no turning about)."""
    t_end = ctx.time + timeout
    goal = np.asarray(goal, dtype=float)
    ctx.driving = True
    while True:
        if ctx.time > t_end:
            raise SkillFailed("timeout")
        if until is not None and ctx.time > until:
            return
        p = ctx.pose()
        d = goal - p.xy
        dist = float(np.linalg.norm(d))
        final = wrap((yaw if yaw is not None else p.yaw) - p.yaw)
        if dist < tolerance and abs(final) < math.radians(4.0):
            break
        if dist > 0.4:
            err = wrap(math.atan2(d[1], d[0]) - p.yaw)
            if abs(err) > 0.5:  # turn on the spot first: walking on a curve this sharp drifts
                vx, vy, vyaw = 0.0, 0.0, float(np.clip(1.5 * err, -VYAW_MAX, VYAW_MAX))
            else:
                vx = float(np.clip(0.6 * dist, 0.1, VX_MAX)) * math.cos(err)
                vy, vyaw = 0.0, float(np.clip(1.5 * err, -0.5, 0.5))
        else:
            b = p.to_body(goal)
            vx = float(np.clip(1.0 * b[0], -VX_BACK, 0.2))
            vy = float(np.clip(1.0 * b[1], -VY_MAX, VY_MAX))
            vyaw = float(np.clip(1.5 * final, -0.4, 0.4))
            # Tiny commands make tiny steps that barely move the body: keep a floor while far off.
            if dist > tolerance and math.hypot(vx, vy) < 0.05:
                scale = 0.05 / max(math.hypot(vx, vy), 1e-6)
                vx, vy = vx * scale, vy * scale
        _move(ctx, vx, vy, vyaw)
        ctx.sleep(TICK)
    p = ctx.pose()
    settle(ctx, 0.6, Pose2(float(goal[0]), float(goal[1]), yaw if yaw is not None else p.yaw, p.z))


# --- skills ------------------------------------------------------------------------------------------
def navigate(ctx: SkillContext, goal: np.ndarray, yaw: float | None, exclude: set[str], t_end: float,
             tolerance: float = 0.04, leg: float = 0.6) -> None:
    """Walk to a floor point around the obstacles seen so far, looking again after every leg."""
    goal = np.asarray(goal, dtype=float)
    while True:
        p = ctx.pose()
        if ctx.time > t_end:
            raise SkillFailed("timeout")
        way = plan(ctx.obstacles, p.xy, goal, exclude)
        if way is None:
            raise SkillFailed("unreachable")
        nxt = way[0]
        d = float(np.linalg.norm(nxt - p.xy))
        if len(way) == 1 and d <= leg:
            drive_to(ctx, goal, yaw, tolerance=tolerance, timeout=max(1.0, t_end - ctx.time))
            return
        sub = nxt if d <= leg else p.xy + (nxt - p.xy) * (leg / d)
        drive_to(ctx, sub, None, tolerance=0.1, timeout=max(1.0, t_end - ctx.time), until=ctx.time + 4.0)
        ctx.look()


def _free_approach(ctx: SkillContext, obj: np.ndarray, direct: np.ndarray, standoff: float,
                   exclude: set[str]) -> np.ndarray:
    """The approach direction nearest to the direct one whose stopping point has room for the robot
    (another object 0.3 m from the direct stopping point left no path at all, 1 of 16 in the bench)."""
    for deg in (0, 20, -20, 40, -40, 60, -60, 90, -90):
        a = math.radians(deg)
        u = np.array([math.cos(a) * direct[0] - math.sin(a) * direct[1], math.sin(a) * direct[0] + math.cos(a) * direct[1]])
        if ctx.obstacles.clearance(obj - standoff * u, exclude) >= ROBOT_RADIUS + 0.03:
            return u
    return direct


def walk_to(ctx: SkillContext, target: Target, standoff: float = STANDOFF, timeout: float = 60.0) -> dict:
    """Walk until `standoff` m in front of the target, facing it, around what it sees on the way; the
    target is re-observed after every leg of at most 0.6 m."""
    ctx.ensure_walking()
    ctx.release_arms()
    t_end = ctx.time + timeout
    obj = ctx.locate(target)
    exclude = {ctx.names.get(target.object, "")}
    first = True
    approach = None
    while True:
        p = ctx.pose()
        d = obj[:2] - p.xy
        dist = float(np.linalg.norm(d))
        if approach is None or dist > standoff + 0.35:
            # Frozen when close so the robot does not orbit the target.
            approach = _free_approach(ctx, obj[:2], d / max(dist, 1e-6), standoff, exclude)
        goal = obj[:2] - standoff * approach
        face = math.atan2(approach[1], approach[0])
        remaining = float(np.linalg.norm(goal - p.xy))
        if remaining < 0.05 and not first:
            break
        first = False
        if ctx.time > t_end:
            raise SkillFailed("timeout")
        way = plan(ctx.obstacles, p.xy, goal, exclude)
        if way is None:
            raise SkillFailed("unreachable")
        nxt = way[0]
        step = float(np.linalg.norm(nxt - p.xy))
        if len(way) == 1 and step <= 0.6:
            drive_to(ctx, goal, face, timeout=max(1.0, t_end - ctx.time))
        else:
            sub = nxt if step <= 0.6 else p.xy + (nxt - p.xy) * (0.6 / step)
            drive_to(ctx, sub, None, tolerance=0.1, timeout=max(1.0, t_end - ctx.time), until=ctx.time + 3.0)
        det = ctx.observe(Target(target.object))
        if det is not None:
            obj = det.position
    p = ctx.pose()
    dist = float(np.linalg.norm(obj[:2] - p.xy))
    facing = abs(p.bearing(obj))
    return {"distance_m": round(dist, 3), "facing_error_deg": round(math.degrees(facing), 1)}


def face(ctx: SkillContext, target: Target, tolerance_deg: float = 4.0) -> dict:
    """Turn on the spot until the target is straight ahead."""
    ctx.ensure_walking()
    ctx.clear_arm()
    obj = ctx.locate(target)
    for _ in range(2):  # turn, look again (the estimate sharpens once it is in the middle of the view)
        p = ctx.pose()
        turn_to(ctx, p.yaw + p.bearing(obj), tolerance=math.radians(tolerance_deg * 0.6))
        det = ctx.observe(Target(target.object))
        if det is not None:
            obj = det.position
    err = ctx.pose().bearing(obj)
    return {"facing_error_deg": round(math.degrees(abs(err)), 1)}


def look_at(ctx: SkillContext, target: Target) -> dict:
    """Centre the target horizontally in the head camera: body turn, then the waist for what remains,
    closed on the image column.

    The camera is fixed to the torso (G1 has no neck, and this 23-DoF body no waist pitch), so it cannot
    tilt; the vertical offset is reported, not corrected. The column is averaged over two frames half a
    stride apart: the torso rolls about 2 deg with each step, which moves the target about 10 px.
    """
    face(ctx, target, tolerance_deg=3.0)
    k = ctx.camera.intrinsics
    q = ctx.arm_targets() if ctx.arm_weight() > 0 else C.DEFAULT_Q.copy()
    waist = float(q[C.WAIST_SLOT])

    def column() -> tuple[float, float]:
        us, vs = [], []
        for i in range(2):
            det = ctx.observe(Target(target.object))
            if det is None:
                raise SkillFailed("not_found")
            us.append(det.centroid[0])
            vs.append(det.centroid[1])
            if i == 0:
                ctx.sleep(0.3)
        return float(np.mean(us)) - k.cx, float(np.mean(vs)) - k.cy

    du, dv = column()
    for _ in range(3):
        if abs(du) <= 0.025 * k.width:
            break
        waist = float(np.clip(waist - math.atan2(du, k.fx), -0.6, 0.6))
        q[C.WAIST_SLOT] = waist
        ctx.blend_arm(q, 1.0, 0.4)
        ctx.sleep(0.3)
        du, dv = column()
    return {"offset_x_px": round(du, 1), "offset_y_px": round(dv, 1), "centred": abs(du) <= 0.05 * k.width,
            "waist_deg": round(math.degrees(waist), 1)}


def walk(ctx: SkillContext, distance: float, direction: str = "forward", timeout: float | None = None) -> dict:
    """Walk `distance` m forward, backward, left or right without turning."""
    ctx.ensure_walking()
    ctx.clear_arm()
    p0 = ctx.pose()
    unit = {"forward": (1.0, 0.0), "backward": (-1.0, 0.0), "left": (0.0, 1.0), "right": (0.0, -1.0)}[direction]
    c, s = math.cos(p0.yaw), math.sin(p0.yaw)
    d = np.array([c * unit[0] - s * unit[1], s * unit[0] + c * unit[1]])
    goal = p0.xy + distance * d
    # Speeds: forward 0.3, backward 0.15, sideways 0.12 m/s, commanded; the walker makes about 60 %.
    speed = {"forward": 0.18, "backward": 0.09, "left": 0.07, "right": 0.07}[direction]
    t_end = ctx.time + (timeout if timeout is not None else 8.0 + distance / speed)
    ctx.driving = True
    while True:
        if ctx.time > t_end:
            raise SkillFailed("timeout", moved_m=round(float((ctx.pose().xy - p0.xy) @ d), 3))
        p = ctx.pose()
        b = p.to_body(goal)
        along = float((goal - p.xy) @ d)
        if along < 0.03:
            break
        yaw_err = wrap(p0.yaw - p.yaw)
        if direction in ("forward", "backward"):
            vmax = VX_MAX if direction == "forward" else VX_BACK
            vx = float(np.clip(0.8 * b[0], -vmax, vmax))
            if abs(vx) < 0.08:
                vx = math.copysign(0.08, b[0])
            vy = float(np.clip(0.8 * b[1], -0.08, 0.08))
        else:
            vy = float(np.clip(0.8 * b[1], -VY_MAX, VY_MAX))
            if abs(vy) < 0.06:
                vy = math.copysign(0.06, b[1])
            vx = float(np.clip(0.8 * b[0], -0.08, 0.08))
        _move(ctx, vx, vy, float(np.clip(1.5 * yaw_err, -0.3, 0.3)))
        ctx.sleep(TICK)
    settle(ctx, 0.8, Pose2(float(goal[0]), float(goal[1]), p0.yaw, p0.z))
    p = ctx.pose()
    moved = float((p.xy - p0.xy) @ d)
    side = p.xy - p0.xy
    return {"moved_m": round(moved, 3), "sideways_m": round(float(abs(d[0] * side[1] - d[1] * side[0])), 3),
            "error_m": round(abs(moved - distance), 3)}


def turn(ctx: SkillContext, degrees: float) -> dict:
    """Turn on the spot by `degrees` (positive left)."""
    ctx.ensure_walking()
    ctx.clear_arm()
    turned = turn_by(ctx, math.radians(degrees), timeout=10.0 + abs(degrees) / 20.0)
    return {"turned_deg": round(math.degrees(turned), 1), "error_deg": round(abs(math.degrees(turned) - degrees), 1)}


def _mean_xy(ctx: SkillContext, seconds: float, every: float = 0.05) -> np.ndarray:
    """The pelvis' mean ground position over the next `seconds` (sampled each `every` s)."""
    xs = []
    for _ in range(round(seconds / every)):
        ctx.sleep(every)
        xs.append(ctx.pose().xy)
    return np.mean(xs, axis=0)


def stop(ctx: SkillContext) -> dict:
    """Stop walking and stand still: zero velocity until the body has stopped, then held where it
    stopped (stepping in place, see base.py). Holding the pose where StopMove was called instead pulled
    the robot back over 0.1 m after a 0.25 m/s walk (3 of 3)."""
    ctx.ensure_walking()
    ctx.driving = True
    ctx.client.StopMove()
    last = ctx.pose()
    for _ in range(7):  # at most 2.1 s; a walk at 0.25-0.3 m/s stops within about 3 steps
        ctx.sleep(0.3)
        ctx.client.Move(0.0, 0.0, 0.0)
        p = ctx.pose()
        if float(np.linalg.norm(p.xy - last.xy)) < 0.03:  # about one step's sway
            break
        last = p
    ctx.hold(ctx.pose())
    # Still: the body's mean position over one second moves under 5 cm by the next. Stepping in place, the
    # pelvis sways about 6 cm side to side each 0.6 s, so two single poses a second apart differ by up to
    # 5.4 cm on a robot that stays put (measured on the demo scene), and a stop straight after Start (the
    # gait's first steps going 5 cm back) was reported unreachable; the means moved 1-2 cm a second there.
    # Up to three seconds for a body still coming to rest.
    last = _mean_xy(ctx, 1.0)
    for _ in range(3):
        now = _mean_xy(ctx, 1.0)
        drift = float(np.linalg.norm(now - last))
        if drift < 0.05:
            break
        last = now
    return {"drift_1s_m": round(drift, 3), "still": drift < 0.05}


SQUAT_DROP = 0.12
"""How far squat lowers the pelvis, m (Unitree's Squat FSM drops 0.22 m; see `squat` for why not)."""


def set_stand_height(ctx: SkillContext, offset: float, seconds: float) -> None:
    """Move the walker's pelvis-height offset to `offset` m, ramped over `seconds` while it balances.

    Unitree's G1 LocoClient has SetStandHeight; ours exposes only HighStand (+0.03) and LowStand (-0.08),
    which jump (a +0.11 m jump from LowStand to HighStand fell, 1 of 1). Until it has SetStandHeight,
    this goes through LocoClient's own height setter (`_height`, the one both calls use) in small steps.
    """
    start = float(ctx.robot.command.height)
    n = max(1, int(seconds / TICK))
    for i in range(1, n + 1):
        s = 0.5 - 0.5 * math.cos(math.pi * i / n)
        if ctx.client._height(start + s * (offset - start)) != 0:  # noqa: SLF001 - see the docstring
            raise SkillFailed("fell" if ctx.robot.fallen else "invalid")
        ctx.sleep(TICK)


def squat(ctx: SkillContext) -> dict:
    """Lower the body while balancing: the walker's pelvis SQUAT_DROP lower, stepping in place.

    Why not Unitree's Squat (FSM 2): its posture controller takes over from the walker with both feet
    wherever the last step put them, and with the walker of this commit that fell in 2 of 2 trials
    (switching mid-step and at a touchdown). Lowering the walker's own height keeps it balancing.
    """
    ctx.ensure_walking()
    ctx.release_arms()
    z0 = ctx.pose().z - float(ctx.robot.command.height)
    set_stand_height(ctx, -SQUAT_DROP, 1.5)
    settle(ctx, 0.5, ctx.station)
    z = _mean_height(ctx)
    return {"pelvis_height_m": round(z, 3), "lowered_m": round(z0 - z, 3), "reached": z0 - z > 0.8 * SQUAT_DROP}


def stand(ctx: SkillContext) -> dict:
    """Stand up straight, balancing, at the walker's nominal height (from a squat, while walking, or from
    the floor after a fall: Lie2StandUp first)."""
    if ctx.robot.fallen and not ctx.get_up():
        raise SkillFailed("fell")
    ctx.ensure_walking()
    ctx.release_arms()
    set_stand_height(ctx, 0.0, 1.5)
    settle(ctx, 0.5, ctx.station)
    z = _mean_height(ctx)
    return {"pelvis_height_m": round(z, 3), "reached": z > 0.70}


def _mean_height(ctx: SkillContext, seconds: float = 0.6) -> float:
    zs = []
    for _ in range(6):
        ctx.sleep(seconds / 6)
        zs.append(ctx.pose().z)
    return float(np.mean(zs))


__all__ = ["drive_to", "navigate", "face", "look_at", "settle", "squat", "stand", "stop", "turn", "turn_by", "turn_to",
           "walk", "walk_to"]
