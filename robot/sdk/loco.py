"""G1's high-level interface over the simulator: the robot's state machine and Unitree's LocoClient.

`SimRobot` is the simulated robot as a whole: the PyBullet world, the low-level bridge, System 1 (a
walking controller behind the Controller protocol), the arm_sdk channel and the FSM that owns them.
Time advances only when you step it (`robot.sleep(seconds)` where real code would `time.sleep`).

`LocoClient` mirrors unitree_sdk2's G1 LocoClient ("sport" service): the same calls, FSM ids and
preconditions. Calls return an integer code, 0 on success; robot-state errors are codes, never
exceptions, as on the robot. The non-zero codes are this project's (documented in `LocoError`); Unitree
does not publish a table for the G1 service.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum
from typing import Callable

import numpy as np

from robot.control.base import Controller, LocoCommand, Odometry
from robot.control.fall import FallDetector
from robot.control.gestures import Gesture, shake_hand, wave_hand
from robot.control.getup import GetUpController
from robot.control.stand import StandConfig, StandController
from robot.g1 import constants as C
from robot.sdk.bridge import LowLevelBridge
from robot.sdk.lowlevel import G1JointIndex, LowCmd, LowCmdError, LowState, quat_to_rpy, quat_to_yaw
from robot.sim.world import World, WorldConfig


class FsmId(IntEnum):
    """G1 sport-service state machine ids (Unitree's numbering)."""

    ZERO_TORQUE = 0
    DAMP = 1
    SQUAT = 2
    SIT = 3
    STAND_UP = 4  # locked standing, no balance
    START = 500  # balanced standing and walking: Move works here
    LIE2STANDUP = 702  # getting up from the floor (robot/control/getup.py); then STAND_UP
    SQUAT2STANDUP = 706


_LYING = (FsmId.DAMP, FsmId.ZERO_TORQUE, FsmId.LIE2STANDUP)
"""States where the fall detector is off: the robot is, or may be, on the floor."""


class LocoError(IntEnum):
    """Return codes of LocoClient calls (0 = success)."""

    OK = 0
    NOT_WALKING = 7301  # Move/SetVelocity/gait calls need FSM 500 (call Start)
    BAD_TRANSITION = 7302  # the FSM cannot go there from here (e.g. Start while lying in Damp)
    FALLEN = 7303  # the robot fell and is in Damp; StandUp needs it on its feet (or Lie2StandUp)
    BAD_ARGUMENT = 7304  # NaN or inf in a velocity, a negative SetVelocity duration, or an unknown FSM id


@dataclass(frozen=True)
class VelocityLimits:
    """What Move/SetVelocity clamp to (measured with `humanoid bench walk`, see docs/walking.md)."""

    vx_min: float = -0.5
    vx_max: float = 1.0
    vy_max: float = 0.3
    vyaw_max: float = 1.0


class SimRobot:
    """One simulated G1 with its low-level bridge, controllers and state machine.

    Args:
        world: a world to use (default: a new headless one).
        controller: System 1 for FSM 500; default the model-based walker.
        limits: velocity limits that LocoClient clamps to.
    """

    def __init__(self, world: World | None = None, controller: Controller | None = None,
                 limits: VelocityLimits = VelocityLimits()) -> None:
        self.world = world or World(WorldConfig())
        self.bridge = LowLevelBridge(self.world)
        if controller is None:
            from robot.control.walker import Walker

            controller = Walker()
        self.controller = controller
        self.stand = StandController()
        # Crouching and rising take 1.5 s: over the standing controller's 0.5 s ramp, rising from a
        # squat threw the robot onto its back.
        slow = StandConfig(ramp_time=1.5)
        self._postures = {FsmId.STAND_UP: self.stand,
                          FsmId.SQUAT2STANDUP: StandController(slow),
                          FsmId.SQUAT: StandController(slow, target=_crouch(0.12)),
                          FsmId.SIT: StandController(slow, target=_crouch(0.18))}
        self.fall = FallDetector()
        self.getup: GetUpController | None = None
        """Lie2StandUp's controller, made at the first call (its squat table takes a moment to solve)."""
        self.limits = limits
        self.command = LocoCommand(walking=False)
        self.fsm = FsmId.STAND_UP
        self.fallen = False
        self.fall_time: float | None = None
        self.velocity_until = 0.0
        self.gesture: Gesture | None = None
        self.arm_sdk_q = C.DEFAULT_Q.copy()
        self.arm_sdk_weight = 0.0
        self.target: tuple[float, float, float] | None = None
        self.pending: FsmId | None = None
        """A posture asked for while walking, entered once the walker stands still."""
        self._pending_since: float | None = None
        self._still_since: float | None = None
        self._odom = Odometry()
        self._callbacks: list[tuple[int, Callable[[SimRobot], None]]] = []
        self._state = self.bridge.read()
        self.stand.reset(self._state, self.odometry())
        self.last_cmd: LowCmd | None = None

    # --- time ----------------------------------------------------------------------------------------
    @property
    def time(self) -> float:
        return self.world.time

    def sleep(self, seconds: float) -> None:
        """Let `seconds` of simulated time pass (what `time.sleep` is on the real robot)."""
        for _ in range(int(round(seconds / self.world.dt))):
            self.step()

    def every(self, steps: int, fn: Callable[[SimRobot], None]) -> None:
        """Call `fn(robot)` every `steps` physics steps (video frames, logging)."""
        self._callbacks.append((steps, fn))

    def step(self) -> None:
        """One 2 ms tick: state in, FSM and controller, LowCmd out, physics."""
        state = self.bridge.read()
        self._state = state
        odom = self.odometry()
        t = self.world.time
        if self.fsm not in _LYING and self.fall.update(state, odom):
            # Fell: the safe state at once, and say so.
            self.fallen = True
            self.fall_time = t
            self._enter(FsmId.DAMP)
        if self.fsm == FsmId.START and self.pending is not None:
            self._settle(t)
        if self.fsm == FsmId.START:
            self._update_command(t, odom)
            cmd = self.controller.step(state, odom, self.command)
        elif self.fsm in self._postures:
            cmd = self._postures[self.fsm].step(state, odom, self.command)
        elif self.fsm == FsmId.LIE2STANDUP:
            cmd = self._get_up(state, odom)
        else:
            cmd = None
        if cmd is not None:
            try:
                self.bridge.write(cmd)
            except LowCmdError:
                # A controller produced garbage: the bridge has damped the motors; stay there.
                self._enter(FsmId.DAMP)
        self.last_cmd = cmd
        self.bridge.step()
        n = self.world.step_count
        for every, fn in self._callbacks:
            if n % every == 0:
                fn(self)

    def _get_up(self, state: LowState, odom: Odometry) -> LowCmd | None:
        """One tick of Lie2StandUp; standing at the end (FSM 4), or Damp if it gave up."""
        g = self.getup
        cmd = g.step(state, odom, self.command)
        if g.phase == "done":
            self.fallen = False
            self.fall_time = None
            self._enter(FsmId.STAND_UP)  # the standing controller takes over from the pose reached
            return self._postures[FsmId.STAND_UP].step(state, odom, self.command)
        if g.phase == "failed":
            self._enter(FsmId.DAMP)
            return None
        return cmd

    def _settle(self, t: float) -> None:
        """A posture was asked for while walking: enter it after 0.5 s standing still (or 5 s)."""
        if self._pending_since is None:
            self._pending_since = t
        if getattr(self.controller, "stepping", False):
            self._still_since = None
        elif self._still_since is None:
            self._still_since = t
        if (self._still_since is not None and t - self._still_since >= 0.5) or t - self._pending_since > 5.0:
            fsm, self.pending = self.pending, None
            self._pending_since = self._still_since = None
            self._enter(fsm)

    # --- state ----------------------------------------------------------------------------------------
    def odometry(self) -> Odometry:
        """The state estimator: pelvis pose and velocity (exact in simulation)."""
        r = self.world.robot
        o = self._odom
        # Every 2 ms: Python floats where numpy's per-call cost would dominate (same values).
        o.position = r.base_pos.copy()
        o.velocity = r.base_lin_vel  # a new array each call
        o.yaw = quat_to_yaw(*r.base_quat.tolist())
        o.yaw_rate = float(r.motion[1][2])  # the world angular velocity's z (`base_ang_vel[2]`)
        return o

    def _enter(self, fsm: FsmId) -> None:
        self.fsm = fsm
        self.pending = None
        if fsm == FsmId.DAMP:
            self.bridge.damp()
        elif fsm == FsmId.ZERO_TORQUE:
            self.bridge.damp(kd=0.0)
        elif fsm in self._postures:
            self._postures[fsm].reset(self._state, self.odometry())
        elif fsm == FsmId.LIE2STANDUP:
            if self.getup is None:
                self.getup = GetUpController()
            self.getup.reset(self._state, self.odometry())
        elif fsm == FsmId.START:
            self.command = LocoCommand(walking=False)
            self.velocity_until = 0.0
            self.controller.reset(self._state, self.odometry())

    def _update_command(self, t: float, odom: Odometry) -> None:
        c = self.command
        if self.target is not None:
            self._goto(odom)
        elif t >= self.velocity_until:
            c.vx = c.vy = c.vyaw = 0.0
        if self.gesture is not None:
            q, weight, yaw_rate = self.gesture.sample(t)
            c.arm_q = q
            c.arm_weight = weight
            if yaw_rate is not None:
                c.vyaw = yaw_rate
            if self.gesture.done(t):
                self.gesture = None
        else:
            c.arm_q = self.arm_sdk_q
            c.arm_weight = self.arm_sdk_weight

    def _goto(self, odom: Odometry) -> None:
        """Walk to the odometry target: turn toward it, walk, then turn to the final heading."""
        x, y, yaw = self.target  # type: ignore[misc]
        c = self.command
        dx, dy = x - odom.position[0], y - odom.position[1]
        dist = math.hypot(dx, dy)
        lim = self.limits
        if dist > 0.04:
            heading = math.atan2(dy, dx)
            err = _wrap(heading - odom.yaw)
            body = np.array([math.cos(odom.yaw) * dx + math.sin(odom.yaw) * dy,
                             -math.sin(odom.yaw) * dx + math.cos(odom.yaw) * dy])
            if dist < 0.6:
                # Close: side-step and back up without turning; slow in the last decimetres so the
                # robot does not overshoot while it takes its stopping steps.
                c.vx = float(np.clip(0.7 * body[0], -0.2, 0.3))
                c.vy = float(np.clip(0.7 * body[1], -0.2, 0.2))
                c.vyaw = float(np.clip(1.5 * _wrap(yaw - odom.yaw), -0.5, 0.5))
            else:
                c.vyaw = float(np.clip(1.5 * err, -0.6, 0.6))
                c.vx = float(np.clip(0.6 * dist, 0.0, 0.5)) * max(0.0, math.cos(err)) ** 2
                c.vy = 0.0
            return
        err = _wrap(yaw - odom.yaw)
        if abs(err) > 0.05:
            c.vx = c.vy = 0.0
            c.vyaw = float(np.clip(1.5 * err, -0.6, 0.6))
            return
        c.vx = c.vy = c.vyaw = 0.0
        self.target = None

    # --- arm_sdk ("rt/arm_sdk") ---------------------------------------------------------------------------
    def write_arm_sdk(self, cmd: LowCmd) -> None:
        """Upper-body targets while the walker balances: q of the waist and arm slots, blend weight in
        motor_cmd[29].q (0 = the walker's own arm pose, 1 = these targets), as Unitree's arm_sdk."""
        weight = float(cmd.q[G1JointIndex.kNotUsedJoint])
        q = cmd.q[C.UPPER_BODY_SLOTS]
        if not (np.isfinite(weight) and np.isfinite(q).all()):
            raise LowCmdError("arm_sdk command has a NaN or inf")
        q = np.clip(q, C.Q_LOWER[C.UPPER_BODY_SLOTS], C.Q_UPPER[C.UPPER_BODY_SLOTS])
        self.arm_sdk_q = C.DEFAULT_Q.copy()
        self.arm_sdk_q[C.UPPER_BODY_SLOTS] = q
        self.arm_sdk_weight = float(np.clip(weight, 0.0, 1.0))

    def close(self) -> None:
        self.world.close()


class LocoClient:
    """Unitree's G1 LocoClient over a SimRobot: same calls, FSM ids and preconditions."""

    def __init__(self, robot: SimRobot) -> None:
        self.robot = robot
        self._timeout = 10.0

    # Unitree's client needs these before use; here they only record the setting.
    def SetTimeout(self, timeout: float) -> None:  # noqa: N802
        self._timeout = float(timeout)

    def Init(self) -> None:  # noqa: N802
        pass

    # --- FSM ------------------------------------------------------------------------------------------
    def GetFsmId(self) -> tuple[int, int]:  # noqa: N802
        return LocoError.OK, int(self.robot.fsm)

    def SetFsmId(self, fsm_id: int) -> int:  # noqa: N802
        try:
            fsm = FsmId(int(fsm_id))
        except ValueError:
            return LocoError.BAD_ARGUMENT
        r = self.robot
        if fsm in (FsmId.ZERO_TORQUE, FsmId.DAMP):
            r.target = None
            r._enter(fsm)
            return LocoError.OK
        if fsm == FsmId.LIE2STANDUP:
            return self.Lie2StandUp()
        if r.fallen or not self._on_feet():
            return LocoError.FALLEN
        if fsm == FsmId.START and r.fsm not in (FsmId.STAND_UP, FsmId.START, FsmId.SQUAT2STANDUP):
            return LocoError.BAD_TRANSITION
        if fsm != r.fsm:
            if r.fsm == FsmId.START and fsm in r._postures:
                # Leaving the walk for a posture: stop first, hand over once standing still (the
                # standing controller taking over mid-step fell in 2 of 2 tries).
                r.target = None
                r.velocity_until = 0.0
                r.command.walking = False
                r.pending = fsm
            else:
                r._enter(fsm)
        return LocoError.OK

    def ZeroTorque(self) -> int:  # noqa: N802
        return self.SetFsmId(FsmId.ZERO_TORQUE)

    def Damp(self) -> int:  # noqa: N802
        return self.SetFsmId(FsmId.DAMP)

    def Squat(self) -> int:  # noqa: N802
        return self.SetFsmId(FsmId.SQUAT)

    def Sit(self) -> int:  # noqa: N802
        return self.SetFsmId(FsmId.SIT)

    def StandUp(self) -> int:  # noqa: N802
        return self.SetFsmId(FsmId.STAND_UP)

    def Start(self) -> int:  # noqa: N802
        return self.SetFsmId(FsmId.START)

    def Squat2StandUp(self) -> int:  # noqa: N802
        return self.SetFsmId(FsmId.SQUAT2STANDUP)

    def StandUp2Squat(self) -> int:  # noqa: N802
        return self.SetFsmId(FsmId.SQUAT)

    def Lie2StandUp(self) -> int:  # noqa: N802
        """Get up from the floor (FSM 702), then stand (FSM 4; call Start to balance and walk).

        Lying on the floor (back, front or side) it starts and returns OK; `GetFsmId` reads 702 while it
        works, 4 once standing, and 1 (Damp) if it gave up (`robot.getup.reason` says why). On the feet it
        is StandUp.
        """
        r = self.robot
        if not r.fallen and self._on_feet():
            return self.SetFsmId(FsmId.STAND_UP)
        if r.fsm == FsmId.LIE2STANDUP:
            return LocoError.OK  # already getting up
        r.target = None
        r._enter(FsmId.LIE2STANDUP)
        return LocoError.OK

    def _on_feet(self) -> bool:
        r = self.robot
        roll, pitch, _ = quat_to_rpy(*r.world.robot.base_quat)
        return r.world.robot.base_pos[2] > 0.55 and abs(roll) < 0.5 and abs(pitch) < 0.5

    # --- velocity -------------------------------------------------------------------------------------
    def SetVelocity(self, vx: float, vy: float, omega: float, duration: float = 1.0) -> int:  # noqa: N802
        r = self.robot
        if not all(math.isfinite(v) for v in (vx, vy, omega, duration)) or duration < 0.0:
            return LocoError.BAD_ARGUMENT  # a negative duration is no time at all: refused, not read as 0
        if r.fsm != FsmId.START:
            return LocoError.NOT_WALKING
        lim = r.limits
        c = r.command
        c.vx = float(np.clip(vx, lim.vx_min, lim.vx_max))
        c.vy = float(np.clip(vy, -lim.vy_max, lim.vy_max))
        c.vyaw = float(np.clip(omega, -lim.vyaw_max, lim.vyaw_max))
        r.velocity_until = r.time + float(duration)
        r.target = None
        return LocoError.OK

    def Move(self, vx: float, vy: float, vyaw: float, continous_move: bool = False) -> int:  # noqa: N802
        """Walk at a body-frame velocity for 1 s, or until told otherwise (Unitree's spelling)."""
        return self.SetVelocity(vx, vy, vyaw, 864000.0 if continous_move else 1.0)

    def StopMove(self) -> int:  # noqa: N802
        return self.SetVelocity(0.0, 0.0, 0.0)

    def BalanceStand(self) -> int:  # noqa: N802
        return self.ContinuousGait(False)

    def ContinuousGait(self, flag: bool) -> int:  # noqa: N802
        if self.robot.fsm != FsmId.START:
            return LocoError.NOT_WALKING
        self.robot.command.walking = bool(flag)
        return LocoError.OK

    def _height(self, h: float) -> int:
        if self.robot.fsm != FsmId.START:
            return LocoError.NOT_WALKING
        self.robot.command.height = h
        return LocoError.OK

    def HighStand(self) -> int:  # noqa: N802
        return self._height(0.03)

    def LowStand(self) -> int:  # noqa: N802
        return self._height(-0.08)

    # --- gestures -------------------------------------------------------------------------------------
    def WaveHand(self, turn_flag: bool = False) -> int:  # noqa: N802
        r = self.robot
        if r.fsm != FsmId.START:
            return LocoError.NOT_WALKING
        r.gesture = wave_hand(r.time, turn=turn_flag)
        return LocoError.OK

    def ShakeHand(self, stage: int = -1) -> int:  # noqa: N802
        r = self.robot
        if r.fsm != FsmId.START:
            return LocoError.NOT_WALKING
        if stage == -1:
            stage = 0 if getattr(r, "_shake_stage", 1) == 1 else 1
        r._shake_stage = stage  # type: ignore[attr-defined]
        r.gesture = shake_hand(r.time, offer=(stage == 0))
        return LocoError.OK

    # --- odometry (as H1's client) -----------------------------------------------------------------------
    def GetOdom(self) -> tuple[float, float, float]:  # noqa: N802
        """(x, y, yaw) of the pelvis in the odometry frame (the world, in simulation)."""
        o = self.robot.odometry()
        return float(o.position[0]), float(o.position[1]), float(o.yaw)

    def SetTargetPos(self, x: float, y: float, yaw: float, relative: bool = True) -> int:  # noqa: N802
        """Walk to a pose; `relative` takes it in the body frame at the time of the call."""
        r = self.robot
        if not all(math.isfinite(v) for v in (x, y, yaw)):
            return LocoError.BAD_ARGUMENT
        if r.fsm != FsmId.START:
            return LocoError.NOT_WALKING
        if relative:
            ox, oy, oyaw = self.GetOdom()
            c, s = math.cos(oyaw), math.sin(oyaw)
            x, y, yaw = ox + c * x - s * y, oy + s * x + c * y, _wrap(oyaw + yaw)
        r.target = (float(x), float(y), float(yaw))
        return LocoError.OK

    def target_reached(self) -> bool:
        """True once the last SetTargetPos goal is reached (our addition; poll it between sleeps)."""
        return self.robot.target is None


def _crouch(drop: float) -> np.ndarray:
    """Joint angles that lower the pelvis by `drop` m with the centre of mass over the soles."""
    from robot.control.kinematics import G1Kinematics

    kin = G1Kinematics()
    best, best_err = C.DEFAULT_Q.copy(), float("inf")
    for dx in np.linspace(-0.12, 0.12, 49):  # sole position under the pelvis, searched
        q = C.DEFAULT_Q.copy()
        sole_x = 0.0
        for leg in (kin.left, kin.right):
            p, R = leg.fk(C.DEFAULT_Q[leg.slots])
            target = p + np.array([dx, 0.0, drop])
            q[leg.slots] = leg.ik(target, R, q[leg.slots], iterations=20)
            sole_x = target[0]
        err = abs(kin.com(q)[0] - sole_x)
        if err < best_err:
            best, best_err = q, err
    return best


def _wrap(a: float) -> float:
    return (a + math.pi) % (2.0 * math.pi) - math.pi
