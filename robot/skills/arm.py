"""Skills that use the arms: point_at, wave, touch, push.

Arms move through the arm channel (Unitree's arm_sdk: upper-body joint targets and a blend weight) while
the walker keeps balancing with the legs. The walker's arm PD (kp 80) sags under the arm's own weight
(measured about 0.05 rad at the shoulder with the arm held forward), so held poses are corrected from the
measured joint angles a few times (an integral on the target, as one does on the real robot).
"""

from __future__ import annotations

import functools
import math
from typing import Callable

import numpy as np

from robot.control.arm_ik import ArmChain, pointing_error
from robot.control.gestures import wave_hand
from robot.g1 import constants as C
from robot.skills.base import SkillContext, SkillFailed
from robot.skills.motion import turn_to
from robot.skills.registry import Target

_CHAINS: dict[str, ArmChain] = {}


def chain(side: str) -> ArmChain:
    if side not in _CHAINS:
        _CHAINS[side] = ArmChain(side)
    return _CHAINS[side]


def base_arm_pose(ctx: SkillContext) -> np.ndarray:
    """The arm channel's present targets, or G1's default pose when the channel is idle."""
    return ctx.arm_targets() if ctx.arm_weight() > 1e-6 else C.DEFAULT_Q.copy()


def arm_pose(ctx: SkillContext, side: str, q5: np.ndarray) -> np.ndarray:
    """35-slot arm-channel targets: `side` at `q5`, the other arm swung back to keep the arms' centre of
    mass where it is in G1's default pose.

    Why: the walker models the upper body as fixed at the default pose, so an arm held forward is an
    unmodelled forward lean: with the right arm reaching forward (its CoM 0.086 m ahead of default) the
    robot crept 0.18 m forward in 8 s against a -0.1 m/s command; with the left arm swung back to
    cancel it, it held within 2 cm (scratch probe, reported).
    """
    me, other = chain(side), chain("right" if side == "left" else "left")
    q = base_arm_pose(ctx)
    q[me.slots] = q5
    target = other.com(other.rest)[0] - (me.com(q5)[0] - me.com(me.rest)[0])
    q_other = other.rest.copy()
    lo, hi = float(other.rest[0]), 2.0  # shoulder pitch: positive swings the arm back
    for _ in range(25):
        q_other[0] = 0.5 * (lo + hi)
        if other.com(q_other)[0] > target:
            lo = q_other[0]
        else:
            hi = q_other[0]
    q[other.slots] = q_other
    return q


def hold_arm(ctx: SkillContext, side: str, solve: Callable[[], np.ndarray], seconds: float = 1.2,
             rounds: int = 6, period: float = 0.3, offset: np.ndarray | None = None,
             learn: bool = True) -> np.ndarray:
    """Blend the arm to the joint angles `solve()` gives (5 joints), then re-solve from the robot's
    present pose every `period` s (it sways and turns a little while stepping in place) and correct the
    sag from measured angles: `offset` (updated in place) is added to the targets, an integral on the
    error. With `learn` False the offset is applied but not updated: in contact the error says nothing
    about sag, and integrating it only presses harder (it reached 144 N on a cube, 1 of 1).
    Returns the last solution."""
    slots = chain(side).slots
    offset = np.zeros(5) if offset is None else offset
    q_goal = solve()
    ctx.blend_arm(arm_pose(ctx, side, np.clip(q_goal + offset, C.Q_LOWER[slots], C.Q_UPPER[slots])), 1.0,
                  seconds)
    for _ in range(rounds):
        ctx.sleep(period)
        if learn:
            meas = ctx.joint_q()[slots]
            offset[:] = np.clip(offset + 0.7 * (q_goal - meas), -0.3, 0.3)
        q_goal = solve()
        ctx.arm(arm_pose(ctx, side, np.clip(q_goal + offset, C.Q_LOWER[slots], C.Q_UPPER[slots])), 1.0)
    ctx.sleep(period)
    return q_goal


def _hand_frame(ctx: SkillContext, side: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(pelvis position, world-from-pelvis rotation, fingertip and wrist rotation in the pelvis frame), from
    measured joint angles, the IMU's roll and pitch and odometry: the robot's own estimate."""
    q = ctx.joint_q()
    ch = chain(side)
    tip, R = ch.fk(q[ch.slots], waist=float(q[C.WAIST_SLOT]))
    p = ctx.pose()
    c, s = math.cos(p.yaw), math.sin(p.yaw)
    Rw = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]) @ ctx.tilt()
    return np.array([p.x, p.y, p.z]), Rw, tip, R


def measured_hand(ctx: SkillContext, side: str) -> tuple[np.ndarray, np.ndarray]:
    """Fingertip and hand x axis in the world, as the robot estimates them. The pelvis's tilt counts:
    stepping in place sways it by up to 6 degrees, and taking it as level misjudged a pointing hand's axis
    by 1.4-5.9 degrees against the simulator's (go_to+face+point_at, seed 32; scratch probe)."""
    p, Rw, tip, R = _hand_frame(ctx, side)
    return p + Rw @ tip, Rw @ R[:, 0]


@functools.cache
def _hand_box_grid() -> np.ndarray:
    """A 3x3x3 grid of points over the hand's collision box, in the wrist_roll_link frame, from the robot's
    one description (the box is centred on the hand's axis, so one grid serves both hands)."""
    from robot.g1.description import build

    link = next(lk for lk in build().links if lk.name == "left_wrist_roll_link")
    box = next(sh for sh in link.shapes if sh.kind == "box")
    axes = [c + np.array([-0.5, 0.0, 0.5]) * e for c, e in zip(box.xyz, box.size)]
    return np.array([(x, y, z) for x in axes[0] for y in axes[1] for z in axes[2]])


def measured_hand_points(ctx: SkillContext, side: str) -> np.ndarray:
    """Points over the hand's collision box in the world (27 x 3), as the robot estimates them. A hand laid
    on a top touches it with the box's underside while the fingertip point, at the box's end, stays 2-4 cm
    above (contact.py's PRESS): touch measures from these, as the simulator's check measures the hand."""
    p, Rw, tip, R = _hand_frame(ctx, side)
    origin = tip - R @ chain(side).tip_offset  # the wrist_roll_link's origin, pelvis frame
    return p + (origin + _hand_box_grid() @ R.T) @ Rw.T


def pick_hand(hand: str, bearing: float) -> str:
    if hand in ("left", "right"):
        return hand
    return "left" if bearing > 0 else "right"


# --- point_at ----------------------------------------------------------------------------------------
def point_at(ctx: SkillContext, target: Target, hand: str = "auto") -> dict:
    """Point an arm at the target: turn so it is within 35 deg of ahead, then arm IK through arm_sdk."""
    ctx.ensure_walking()
    ctx.clear_arm()
    obj = ctx.locate(target)
    p = ctx.pose()
    b = p.bearing(obj)
    if abs(b) > math.radians(35.0):
        # The arm points well 35 deg to its own side; farther, turn the body most of the way.
        turn_to(ctx, p.yaw + b - math.copysign(math.radians(20.0), b), tolerance=math.radians(5.0))
        det = ctx.observe(Target(target.object))
        if det is not None:
            obj = det.position
        p = ctx.pose()
        b = p.bearing(obj)
    side = pick_hand(hand, b)
    ch = chain(side)
    last = [C.DEFAULT_Q[ch.slots]]

    def in_pelvis() -> tuple[np.ndarray, float]:
        """The target in the pelvis frame as it is now (heading, sway and tilt), and the waist angle."""
        return ctx.tilt().T @ ctx.pose().to_body(obj), float(ctx.joint_q()[C.WAIST_SLOT])

    def solve() -> np.ndarray:
        aim, waist = in_pelvis()
        res = ch.point(aim, waist=waist, q0=last[0])
        if res.angle_error > math.radians(5.0):
            raise SkillFailed("unreachable", ik_error_deg=round(math.degrees(res.angle_error), 1))
        last[0] = res.q
        return res.q

    offset = np.zeros(5)
    q_goal = hold_arm(ctx, side, solve, offset=offset)
    lo, hi = C.Q_LOWER[ch.slots], C.Q_UPPER[ch.slots]
    errs = []
    # Half a second at 50 Hz in which the arm follows the body's sway as it steps in place (the pelvis
    # rolls and pitches by up to 6 degrees and shifts a few cm, which swings the pointing error of a target
    # 0.7 m away between 3 and 14 degrees if the arm only holds its last solution), then stays on it.
    for k in range(25):
        aim, waist = in_pelvis()
        q_goal = ch.track(aim, q_goal, waist=waist).q
        ctx.arm(arm_pose(ctx, side, np.clip(q_goal + offset, lo, hi)), 1.0)
        ctx.sleep(0.02)
        if k % 5 == 4:  # report the mean over the half second
            tip, axis = measured_hand(ctx, side)
            errs.append(pointing_error(tip, axis, obj))
    return {"hand": side, "pointing_error_deg": round(math.degrees(float(np.mean(errs))), 2)}


# --- wave ----------------------------------------------------------------------------------------------
def wave(ctx: SkillContext, hand: str = "right") -> dict:
    """One wave gesture (G1's WaveHand keyframes for either hand), played through arm_sdk at 50 Hz; the
    swings are counted from the measured shoulder roll."""
    ctx.ensure_walking()
    ctx.release_arms(0.3)
    g = wave_hand(ctx.time, hand=hand)
    roll = C.MOTOR_INDEX[f"{hand}_shoulder_roll_joint"]
    pitch = C.MOTOR_INDEX[f"{hand}_shoulder_pitch_joint"]
    sign = 1.0 if hand == "left" else -1.0
    # Keyframes swing the roll between 0.6 and 0.95 rad (mirrored on the right) with the arm raised.
    mid = 0.775
    above, crossings, raised = None, 0, False
    while not g.done(ctx.time):
        q, w, _ = g.sample(ctx.time)
        ctx.arm(q, w)
        ctx.sleep(0.02)
        meas = ctx.joint_q()
        if meas[pitch] < -0.9:
            raised = True
            now = sign * meas[roll] > mid
            if above is not None and now != above:
                crossings += 1
            above = now
    ctx.arm(C.DEFAULT_Q, 0.0)
    return {"hand": hand, "swings": crossings // 2, "raised": raised, "seconds": round(g.duration(), 2)}


# --- touch and push (below) ---------------------------------------------------------------------------
def touch(ctx: SkillContext, target: Target, hand: str = "auto", timeout: float = 120.0) -> dict:
    from robot.skills.contact import touch as _touch

    return _touch(ctx, target, hand, timeout)


def push(ctx: SkillContext, target: Target, distance: float, timeout: float = 120.0) -> dict:
    from robot.skills.contact import push as _push

    return _push(ctx, target, distance, timeout)


__all__ = ["arm_pose", "base_arm_pose", "chain", "hold_arm", "measured_hand", "measured_hand_points", "pick_hand",
           "point_at", "push", "touch", "wave"]
