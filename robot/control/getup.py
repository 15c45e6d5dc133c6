"""Getting up from the floor (G1's Lie2StandUp, FSM 702): a sensed sequence of joint targets, LowCmd only.

Only joint torques move the body; the IMU and the joint angles decide when it goes on.

1. *Settle* (0.6 s): legs straight, arms along the body. The IMU then says how it lies: on its back, its
   front or its side (where the pelvis's forward axis points).
2. *Roll* (at most `max_rolls`, each followed by 0.8 s lying flat and a new look): on its side, arms and
   legs swing forward and the reaction rolls the body onto its back; on its front, the right arm goes out
   and both knees bend, then the left leg swings forward and out under the body, which rolls onto its side
   (every second roll from the front is the mirror image, over the other side).
   On the back with the legs crossed (`CROSSED`), one leg lifts and swings out, then it lies flat and looks
   again (at most `MAX_UNCROSS` times, the left leg first).
3. *Tuck* (0.8 s): knees to the chest, arms overhead.
4. *Kick* (0.15 s): the hips extend fast while the arms swing forward; the reaction sits the torso up.
5. *Gather* (0.25 s, then 0.3 s held): the feet come in under the hips and the body rocks forward onto
   them into a deep squat. If the pelvis is not within `max_squat_tilt` of upright by then, it lies down
   and tries again (at most `attempts` tries).
6. *Rise* (`rise_time`): along a table of squat poses from a pelvis height of 0.34 m to standing, each with
   the centre of mass over the soles (solved at construction from the leg kinematics; below 0.62 m the
   pelvis leans forward, since the ankles bend forward only 0.87 rad), while both ankle pitches answer the
   centre of mass's distance ahead of the soles and its rate (`com_gain`, `com_rate_gain`). The centre
   of mass comes from the joint angles and the IMU, as the walker's does. A centre of mass
   `max_rise_error` off, or the pelvis tipping past 1 rad, is a failed try.
7. *Done*: the standing pose is held; the state machine hands over to the standing controller.

The poses and times were found in simulation (docs/walking.md, "Getting up"); measured with
`humanoid bench getup`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from robot.control.base import LocoCommand, Odometry
from robot.control.kinematics import G1Kinematics, quat_matrix, rot
from robot.g1 import constants as C
from robot.sdk.lowlevel import LowCmd, LowState


@dataclass(frozen=True)
class GetUpConfig:
    kp_leg: float = 300.0
    """Leg stiffness through the floor phases, N m/rad (the torques saturate at the motors' limits)."""
    kp_leg_rise: float = 400.0
    """Leg stiffness while rising, N m/rad."""
    kd_leg: float = 6.0
    kp_arm: float = 60.0
    kp_arm_swing: float = 200.0
    """Arm stiffness for the swing that helps the sit-up, N m/rad (25 N m is the shoulders' limit)."""
    kd_arm: float = 2.0
    kp_waist: float = 200.0
    kd_waist: float = 5.0
    rise_time: float = 2.0
    """From the deep squat to standing, s."""
    rise_from: float = 0.34
    """Pelvis height of the first squat pose of the rise, m."""
    com_gain: float = 3.0
    """Ankle pitch per metre of the centre of mass ahead of the soles while rising, rad/m."""
    com_rate_gain: float = 0.5
    """...and per m/s of its rate, rad s/m."""
    max_ankle_correction: float = 0.3
    """rad."""
    max_squat_tilt: float = 0.8
    """The squat must have the pelvis this close to upright (rad) before the rise starts."""
    max_rise_error: float = 0.15
    """While rising, a centre of mass this far from over the soles (m) is a failed try."""
    attempts: int = 3
    max_rolls: int = 6
    """Rolls (from the side or the front) before it gives up."""


DT = 0.002  # one physics tick: the get-up answers every LowState

# Phases.
SETTLE, ROLL, FRONT_1, FRONT_2, ROLL_SETTLE, TUCK, KICK, GATHER, HOLD, RISE, DONE, FAILED, LIFT, PART = range(14)
_NAMES = ("settle", "roll", "front_1", "front_2", "roll_settle", "tuck", "kick", "gather", "hold", "rise", "done",
          "failed", "lift", "part")

# Joint groups with the signs that mirror the right side onto the left (roll and yaw axes flip).
_PAIRS = {"hp": (0, 6, 1), "hr": (1, 7, -1), "hy": (2, 8, -1), "kn": (3, 9, 1), "ap": (4, 10, 1),
          "ar": (5, 11, -1), "sp": (15, 22, 1), "sr": (16, 23, -1), "sy": (17, 24, -1), "el": (18, 25, 1),
          "wr": (19, 26, -1)}


def _pose(base: np.ndarray, **joints: float) -> np.ndarray:
    """`base` with joint groups set: `hp=v` both sides (the right mirrored), `L_hp` / `R_hp` one side
    (the value as for the left side; mirrored on the right), `wy` the waist."""
    q = base.copy()
    for k, v in joints.items():
        if k == "wy":
            q[C.WAIST_SLOT] = v
            continue
        side, _, name = k.rpartition("_")
        left, right, sign = _PAIRS[name]
        if side in ("", "L"):
            q[left] = v
        if side in ("", "R"):
            q[right] = sign * v
    return q


FLAT = _pose(C.DEFAULT_Q, hp=0.0, hr=0.0, hy=0.0, kn=0.0, ap=0.0, ar=0.0, sp=0.0, sr=0.15, sy=0.0, el=0.3,
             wr=0.0)
# On the side: arms and legs swing forward (with the arms' swing stiffness); the reaction rolls the body
# onto its back. Swung back instead (the mass moving behind the body), it rolled onto its front in 10 of 10
# side-lying cases (scratch-style, falls from 8 directions); forward, onto the back in 10 of 10.
ROLL_BACK = _pose(FLAT, sp=-1.5, hp=-0.8, kn=0.3)
# Tucked and squatting, the knees and feet would touch (the legs collide with each other, robot/sim/world.py):
# the hips roll the legs 0.1 rad apart and the ankles roll the soles back level. Together with the squat
# table's wider stance (`SQUAT_WIDEN`): 96 of 96 falls stood up (`humanoid bench getup` at offsets 0, 11.25,
# 22.5 and 33.75 degrees), against 95 of 96 with the legs together.
_SPREAD = 0.1
TUCK_Q = _pose(FLAT, sp=-2.8, el=0.0, hp=-2.2, kn=2.6, ap=-0.6, hr=_SPREAD, ar=-_SPREAD)
KICK_Q = _pose(FLAT, sp=-0.8, el=0.0, hp=-0.5, kn=1.6, ap=-0.6, hr=_SPREAD, ar=-_SPREAD)
GATHER_Q = _pose(FLAT, sp=-0.5, el=0.0, hp=-1.5, kn=2.5, ap=-0.8, hr=_SPREAD, ar=-_SPREAD)
HOLD_Q = _pose(FLAT, sp=-1.2, el=0.0, hp=-1.5, kn=2.5, ap=-0.8, hr=_SPREAD, ar=-_SPREAD)
SQUAT_WIDEN = 0.03
"""The rise's squat poses place each sole this much further out than standing, m (knees apart)."""
# Face down to face up: the right arm out and both knees bent, then the left leg swings forward and out
# under the body, which rolls over its right side (found by a random search over two-keyframe
# sequences, scratch-style, on the bench's falls; docs/walking.md).
FRONT_1_Q = _pose(FLAT, R_sr=0.98, R_kn=1.97, L_hp=0.2, L_kn=1.05, L_sr=0.69, R_el=0.53)
FRONT_2_Q = _pose(FRONT_1_Q, L_hr=0.72, L_hp=-2.38, R_el=-0.87)
# On the back with the legs crossed, one over the other (both hips rolled in past the midline; the legs collide,
# so lying flat does not part them): one leg lifts clear, then swings out while the other rolls out, then both lie
# flat again; the next time the other leg lifts. A fall that left them crossed (`humanoid bench getup`, 315 deg at
# 30 N s on the twenty-eighth session's machine: knees pressed together at 186 N, ankles at 200 N, the right hip
# held 0.3 rad in against a target of 0) tucked, kicked and rose lopsided, and tipped sideways three tries of
# three; with this it stands. Swinging out while lifting, in one move, did not part them.
LIFT_Q = _pose(FLAT, L_hp=-1.3, L_kn=1.2)
PART_Q = _pose(LIFT_Q, L_hr=0.5, R_hr=0.2)
CROSSED = 0.3
"""Sum of both hips' inward roll (rad), each past the midline, above which the legs count as crossed."""
MAX_UNCROSS = 2
"""Lift-and-part moves before it tucks anyway."""


def mirror(q: np.ndarray) -> np.ndarray:
    """The pose with left and right swapped (roll and yaw angles change sign, the waist's yaw too)."""
    m = q.copy()
    for left, right, sign in _PAIRS.values():
        m[left], m[right] = sign * q[right], sign * q[left]
    m[C.WAIST_SLOT] = -q[C.WAIST_SLOT]
    return m


# (phase, duration s, target, swinging arms)
_TIMED = {SETTLE: (0.6, FLAT, False), ROLL: (0.6, ROLL_BACK, True), FRONT_1: (0.62, FRONT_1_Q, True),
          FRONT_2: (0.59, FRONT_2_Q, True), ROLL_SETTLE: (0.8, FLAT, False),
          TUCK: (0.8, TUCK_Q, False), KICK: (0.15, KICK_Q, True), GATHER: (0.25, GATHER_Q, True),
          HOLD: (0.3, HOLD_Q, True), LIFT: (0.5, LIFT_Q, False), PART: (0.5, PART_Q, False)}


def squat_table(kin: G1Kinematics, heights: np.ndarray, max_dorsiflexion: float = 0.8,
                pitches: np.ndarray = np.arange(0.0, 1.21, 0.05)) -> tuple[np.ndarray, np.ndarray]:
    """Leg poses (rows of 35 slots) with the pelvis at each height over flat feet and the centre of mass
    over the soles, and the pelvis's forward lean in each: the least lean among `pitches` whose ankles
    bend forward at most `max_dorsiflexion`. Raises ValueError where no pose is found."""
    rows, leans = {}, {}
    q = C.DEFAULT_Q.copy()
    sx = 0.0
    feet = [(leg, float(leg.fk(C.DEFAULT_Q[leg.slots])[0][1]) + (SQUAT_WIDEN if leg is kin.left else -SQUAT_WIDEN))
            for leg in (kin.left, kin.right)]
    for h in sorted(heights, reverse=True):  # down from standing: each pose warm-starts the next
        for pitch in pitches:
            found = _balanced(kin, feet, float(h), float(pitch), q, sx)
            if found is not None and min(found[0][4], found[0][10]) >= -max_dorsiflexion:
                q, sx = found
                leans[h] = float(pitch)
                break
        else:
            raise ValueError(f"no balanced squat pose with the pelvis at {h:.2f} m")
        rows[h] = q.copy()
    return np.array([rows[h] for h in heights]), np.array([leans[h] for h in heights])


def _balanced(kin: G1Kinematics, feet: list, h: float, pitch: float, q0: np.ndarray,
              sx0: float) -> tuple[np.ndarray, float] | None:
    """Legs for the pelvis at height `h` and forward lean `pitch` with the soles flat, `sx` ahead of the
    pelvis, and `sx` found (secant from `sx0`) so that the centre of mass is over them; None if out of reach."""
    Ry = rot("y", pitch)
    q = q0.copy()

    def off(sx: float) -> float | None:
        for leg, y in feet:
            target = Ry.T @ np.array([sx, y, -h])
            q[leg.slots] = leg.ik(target, Ry.T, q[leg.slots], iterations=20)
            if np.linalg.norm(leg.fk(q[leg.slots])[0] - target) > 2e-3:
                return None
        return float((Ry @ kin.com(q))[0]) - sx

    a, b = sx0, sx0 + 0.01
    fa = off(a)
    if fa is None:
        return None
    for _ in range(10):
        fb = off(b)
        if fb is None:  # overshot out of reach: halve the step
            b = 0.5 * (a + b)
            continue
        if abs(fb) < 1e-3:
            return q, b
        a, b, fa = b, b - fb * (b - a) / (fb - fa), fb
    return None


def _rotation(state: LowState) -> np.ndarray:
    return quat_matrix(state.imu_state.quaternion_floats())


def _crossed(state: LowState) -> bool:
    """Both legs rolled in past the midline: crossed, one over the other."""
    left_in, right_in = -float(state.q[1]), float(state.q[7])  # hip roll: + is outward on the left, inward on the right
    return left_in > 0.0 and right_in > 0.0 and left_in + right_in > CROSSED


def lying(state: LowState) -> str:
    """'back', 'front' or 'side', from the IMU: where the pelvis's forward axis points."""
    up = float(_rotation(state)[2, 0])
    return "back" if up > 0.6 else "front" if up < -0.6 else "side"


class GetUpController:
    """Lie2StandUp: from lying on the back, front or side to standing; implements `Controller`, called
    once per 2 ms tick.

    `phase` says where it is ('done' once standing, 'failed' when it gave up, `reason` then says why);
    `reset` starts over.
    """

    name = "getup"

    def __init__(self, cfg: GetUpConfig = GetUpConfig(), kin: G1Kinematics | None = None) -> None:
        self.cfg = cfg
        self.kin = kin or G1Kinematics()
        self.heights = np.append(np.arange(cfg.rise_from, C.STAND_PELVIS_HEIGHT - 0.01, 0.04),
                                 C.STAND_PELVIS_HEIGHT - 0.01)
        self.table, self.leans = squat_table(self.kin, self.heights)
        self.table[:, C.UPPER_BODY_SLOTS] = C.DEFAULT_Q[C.UPPER_BODY_SLOTS]
        self._cmd = LowCmd()
        self._cmd.mode[C.ACTIVE_SLOTS] = 1
        self._stage = SETTLE
        self.tries = 0
        self.rolls = 0
        self._fronts = 0
        self._uncross = 0
        self.reason = ""
        self.lay: list[str] = []
        """How it lay at each check ('back', 'front', 'side'), for the record."""
        self._t = 0.0
        self._from = C.DEFAULT_Q.copy()
        self._err: float | None = None
        self._rate = 0.0

    @property
    def phase(self) -> str:
        return _NAMES[self._stage]

    def reset(self, state: LowState, odom: Odometry) -> None:
        self.tries = 0
        self.rolls = 0
        self._fronts = 0
        self._uncross = 0
        self.reason = ""
        self.lay.clear()
        self._enter(SETTLE, state.q)

    def _enter(self, stage: int, q_from: np.ndarray) -> None:
        self._stage = stage
        self._t = 0.0
        self._from = np.asarray(q_from, dtype=float).copy()
        self._err = None
        self._rate = 0.0
        c = self.cfg
        rising = stage in (RISE, DONE)
        swing = stage in _TIMED and _TIMED[stage][2]
        kp, kd = self._cmd.kp, self._cmd.kd
        kp[C.LEG_SLOTS] = c.kp_leg_rise if rising else c.kp_leg
        kd[C.LEG_SLOTS] = c.kd_leg
        kp[C.WAIST_SLOT], kd[C.WAIST_SLOT] = c.kp_waist, c.kd_waist
        for slots in (C.LEFT_ARM_SLOTS, C.RIGHT_ARM_SLOTS):
            kp[slots] = c.kp_arm_swing if swing else c.kp_arm
            kd[slots] = c.kd_arm

    def _fail(self, reason: str, q: np.ndarray) -> None:
        self.reason = reason
        self._enter(FAILED, q)

    def step(self, state: LowState, odom: Odometry, command: LocoCommand | None = None) -> LowCmd:
        """The LowCmd for the next 2 ms (the same object every call: copy it to keep it)."""
        self._t += DT
        stage = self._stage
        q_cmd = self._cmd.q
        if stage in _TIMED:
            duration, target, _ = _TIMED[stage]
            if stage in (FRONT_1, FRONT_2) and self._fronts % 2 == 0:
                target = mirror(target)  # every other roll from the front goes over the other side
            if stage in (LIFT, PART) and self._uncross % 2 == 0:
                target = mirror(target)  # the left leg lifts first, then the right
            a = min(1.0, self._t / duration)
            a = a * a * (3.0 - 2.0 * a)
            q_cmd[:] = self._from + a * (target - self._from)
            if self._t >= duration - 1e-9:
                self._advance(state, target)
        elif stage == RISE:
            self._rise(state, q_cmd)
        elif stage == DONE:
            q_cmd[:] = self.table[-1]
        else:  # FAILED: lie still, soft; the state machine damps
            q_cmd[:] = FLAT
        return self._cmd

    def _advance(self, state: LowState, reached: np.ndarray) -> None:
        stage = self._stage
        c = self.cfg
        if stage in (SETTLE, ROLL_SETTLE):
            side = lying(state)
            self.lay.append(side)
            if side == "back" and _crossed(state) and self._uncross < MAX_UNCROSS:
                self._uncross += 1
                self._enter(LIFT, reached)
            elif side == "back":
                self.tries += 1
                self._enter(TUCK, reached)
            elif self.rolls >= self.cfg.max_rolls:
                self._fail(f"could not roll onto the back in {self.rolls} rolls", reached)
            else:
                self.rolls += 1
                if side == "front":
                    self._fronts += 1
                self._enter(FRONT_1 if side == "front" else ROLL, reached)
        elif stage in (ROLL, FRONT_2, PART):
            self._enter(ROLL_SETTLE, reached)
        elif stage == LIFT:
            self._enter(PART, reached)
        elif stage == HOLD:
            R = _rotation(state)
            tilt = math.acos(max(-1.0, min(1.0, float(R[2, 2]))))
            if tilt <= c.max_squat_tilt:
                self._enter(RISE, reached)
            elif self.tries >= c.attempts:
                self._fail(f"did not come up onto the feet in {self.tries} tries", reached)
            else:
                self._enter(SETTLE, reached)
        else:
            self._enter(stage + 1, reached)

    def _rise(self, state: LowState, q_cmd: np.ndarray) -> None:
        c = self.cfg
        # The centre of mass ahead of the soles' midpoint, along the heading, from joints and IMU.
        q = state.q
        R = _rotation(state)
        com = self.kin.com(q)
        mid = 0.5 * (self.kin.left.fk(q[self.kin.left.slots])[0] + self.kin.right.fk(q[self.kin.right.slots])[0])
        d = R @ (com - mid)
        heading = R[:2, 0] / max(1e-6, float(np.hypot(R[0, 0], R[1, 0])))
        err = float(heading @ d[:2])
        if self._err is not None:
            self._rate += ((err - self._err) / DT - self._rate) * 0.2  # 10 ms low-pass
        self._err = err
        if abs(err) > c.max_rise_error or R[2, 2] < math.cos(1.0):
            if self.tries >= c.attempts:
                self._fail(f"lost balance while rising ({self.tries} tries)", q_cmd)
            else:
                self._enter(SETTLE, q_cmd)
            return
        s = min(1.0, self._t / c.rise_time)
        h = self.heights[0] + s * (self.heights[-1] - self.heights[0])
        i = min(int(np.searchsorted(self.heights, h, side="right")) - 1, len(self.heights) - 2)
        f = (h - self.heights[i]) / (self.heights[i + 1] - self.heights[i])
        q_cmd[:] = (1.0 - f) * self.table[i] + f * self.table[i + 1]
        if self._t < 0.3:  # from the held squat onto the first pose of the table
            a = self._t / 0.3
            q_cmd[:] = self._from + a * (q_cmd - self._from)
        corr = float(np.clip(c.com_gain * err + c.com_rate_gain * self._rate,
                             -c.max_ankle_correction, c.max_ankle_correction))
        q_cmd[4] += corr
        q_cmd[10] += corr
        if self._t >= c.rise_time + 0.5:
            self._enter(DONE, q_cmd)
