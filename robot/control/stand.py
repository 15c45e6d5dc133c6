"""Standing on stiff joint PD: the default pose held through LowCmd alone.

Unitree's training gains (hip 100, knee 150, ankle 40) cannot hold a stance by themselves: the ankles need
kp well above m g h (about 217 N m/rad for 32 kg at 0.68 m). At kp 500 / kd 10 on the legs this body
stands: measured, the pelvis moves 4 mm while the soles settle in the first second and 1.5 mm in the next
59 s (yaw creeps 0.002 rad), and it survives lateral 0.1 s pelvis pushes of 18 N s, falling at 19 N s
(0.22 m soles; notes.md's rigid-body tipping estimate is 17 N s; tests/test_stand.py holds 10 N s).
No balance feedback: the stiff stance already has that margin, and larger pushes need a step, which is
the walker's job.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robot.control.base import LocoCommand, Odometry
from robot.g1 import constants as C
from robot.sdk.lowlevel import LowCmd, LowState


@dataclass(frozen=True)
class StandConfig:
    """Gains and timing of the standing controller."""

    kp_leg: float = 500.0
    """N m/rad on the 12 leg joints. 500 holds the stance; kd * dt / I stays < 2 for a 0.01 kg m^2 foot."""
    kd_leg: float = 10.0
    """N m s/rad on the legs; 10 is the stable limit for a foot in the air at 2 ms (notes.md)."""
    kp_waist: float = 300.0
    """Waist yaw carries torso and head (7.8 kg)."""
    kd_waist: float = 5.0
    kp_arm: float = 100.0
    """Arms: stiff enough that they do not swing during pushes, soft enough for contact."""
    kd_arm: float = 3.0
    ramp_time: float = 0.5
    """Seconds to blend from the pose at reset to the default pose (0 at spawn, where they are equal)."""


def _gains(cfg: StandConfig) -> tuple[np.ndarray, np.ndarray]:
    kp = np.zeros(C.NUM_MOTOR)
    kd = np.zeros(C.NUM_MOTOR)
    kp[C.LEG_SLOTS], kd[C.LEG_SLOTS] = cfg.kp_leg, cfg.kd_leg
    kp[C.WAIST_SLOT], kd[C.WAIST_SLOT] = cfg.kp_waist, cfg.kd_waist
    for slots in (C.LEFT_ARM_SLOTS, C.RIGHT_ARM_SLOTS):
        kp[slots], kd[slots] = cfg.kp_arm, cfg.kd_arm
    return kp, kd


class StandController:
    """Holds `constants.DEFAULT_Q` with stiff PD; implements the `Controller` protocol.

    After `reset` it blends from the measured pose to the default pose over `ramp_time`, so it can take
    over from any controller without a jerk. It ignores the locomotion command, except `arm_q` /
    `arm_weight` (the arm_sdk blend), so skills can still move the arms while it stands.
    """

    name = "stand"

    def __init__(self, cfg: StandConfig = StandConfig(), target: np.ndarray | None = None) -> None:
        self.cfg = cfg
        self.target = (C.DEFAULT_Q if target is None else np.asarray(target, dtype=float)).copy()
        self._cmd = LowCmd()
        self._cmd.mode[C.ACTIVE_SLOTS] = 1
        self._cmd.kp[:], self._cmd.kd[:] = _gains(cfg)
        self._cmd.q[:] = self.target
        self._start = self.target.copy()
        self._t0: float | None = None  # start of the ramp (simulated s), None when there is none

    def reset(self, state: LowState, odom: Odometry) -> None:
        self._start = self.target.copy()
        self._start[C.ACTIVE_SLOTS] = state.q[C.ACTIVE_SLOTS]
        self._t0 = state.tick / 1000.0
        self._cmd.q[:] = self._start

    def step(self, state: LowState, odom: Odometry, command: LocoCommand | None = None) -> LowCmd:
        """The LowCmd for the next 2 ms (the same object every call: copy it to keep it)."""
        q = self._cmd.q
        if self._t0 is None:
            q[:] = self.target
        else:
            t = state.tick / 1000.0 - self._t0
            a = min(1.0, t / self.cfg.ramp_time) if self.cfg.ramp_time > 0.0 else 1.0
            if a >= 1.0:
                q[:] = self.target
                self._t0 = None
            else:
                a = a * a * (3.0 - 2.0 * a)  # smoothstep: zero velocity at both ends
                q[:] = self._start + a * (self.target - self._start)
        if command is not None and command.arm_weight > 0.0:
            w = min(command.arm_weight, 1.0)
            s = C.UPPER_BODY_SLOTS
            q[s] = (1.0 - w) * q[s] + w * command.arm_q[s]
        return self._cmd
