"""Unitree's 47-number walking-policy observation, built from a LowState.

One definition for every user: the unitree-policy controller (policies/learned) feeds it to Unitree's
released network, and `openhumanoid/Walk-v0` (envs/walk.py) trains networks on it, so a policy trained
in the environment runs under the controller unchanged. The layout and scales are unitree_rl_gym's G1
config (../shared/reference/g1.md, "How Unitree trains its walking policies").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from robot.g1 import constants as C
from robot.sdk.lowlevel import LowCmd, LowState

NUM_OBS = 47
NUM_ACTIONS = 12

OBS_SLICES: dict[str, slice] = {
    "ang_vel": slice(0, 3),
    "gravity": slice(3, 6),
    "command": slice(6, 9),
    "dof_pos": slice(9, 21),
    "dof_vel": slice(21, 33),
    "last_action": slice(33, 45),
    "phase": slice(45, 47),
}
"""Where each term sits in the 47-number observation (unitree_rl_gym's G1 order)."""


class ObservationScales(Protocol):
    """What `build_observation` reads from a configuration (UnitreePolicyConfig has all of it)."""

    default_angles: tuple[float, ...]
    ang_vel_scale: float
    dof_pos_scale: float
    dof_vel_scale: float
    cmd_scale: tuple[float, float, float]
    gait_period: float


@dataclass(frozen=True)
class ObservationConfig:
    """unitree_rl_gym's G1 observation constants (legged_gym normalization, g1_env's 0.8 s gait clock)."""

    default_angles: tuple[float, ...] = tuple(float(v) for v in C.DEFAULT_Q[C.LEG_SLOTS])
    """The leg pose joint positions are measured from (and actions are offsets from), LEG_SLOTS order."""
    ang_vel_scale: float = 0.25
    dof_pos_scale: float = 1.0
    dof_vel_scale: float = 0.05
    cmd_scale: tuple[float, float, float] = (2.0, 2.0, 0.25)
    """vx, vy scaled like lin_vel (2.0), the yaw rate like ang_vel (0.25)."""
    gait_period: float = 0.8
    """Seconds per gait cycle of the phase clock."""


def gravity_orientation(quat_wxyz: np.ndarray) -> np.ndarray:
    """Gravity direction in the pelvis frame, written as Unitree's deployment writes it.

    Equal to R^T (0, 0, -1) for the world-from-pelvis rotation R of quaternion (w, x, y, z).
    """
    qw, qx, qy, qz = (float(v) for v in quat_wxyz)
    return np.array([
        2.0 * (-qz * qx + qw * qy),
        -2.0 * (qz * qy + qw * qx),
        1.0 - 2.0 * (qw * qw + qz * qz),
    ])


def build_observation(state: LowState, command: tuple[float, float, float] | np.ndarray, last_action: np.ndarray,
                      phase_time: float, cfg: ObservationScales = ObservationConfig()) -> np.ndarray:
    """The 47-number observation from a LowState, term for term as Unitree's deployment builds it.

    Args:
        state: the robot's LowState (IMU gyroscope in the pelvis frame, quaternion w, x, y, z).
        command: (vx, vy, yaw rate) in m/s and rad/s, before scaling.
        last_action: the policy's previous raw output (12), zeros at the start of an episode.
        phase_time: seconds on the gait clock; phase = (t mod period) / period.
        cfg: the scales (ObservationConfig, or UnitreePolicyConfig for the deployment's).

    Returns:
        float32 array of 47, laid out as `OBS_SLICES`.
    """
    obs = np.empty(NUM_OBS, dtype=np.float32)
    imu = state.imu_state
    legs = C.LEG_SLOTS
    phase = (phase_time % cfg.gait_period) / cfg.gait_period
    obs[OBS_SLICES["ang_vel"]] = np.asarray(imu.gyroscope) * cfg.ang_vel_scale
    obs[OBS_SLICES["gravity"]] = gravity_orientation(imu.quaternion)
    obs[OBS_SLICES["command"]] = np.asarray(command, dtype=np.float64) * np.asarray(cfg.cmd_scale)
    obs[OBS_SLICES["dof_pos"]] = (state.q[legs] - np.asarray(cfg.default_angles)) * cfg.dof_pos_scale
    obs[OBS_SLICES["dof_vel"]] = state.dq[legs] * cfg.dof_vel_scale
    obs[OBS_SLICES["last_action"]] = last_action
    obs[OBS_SLICES["phase"]] = (math.sin(2.0 * math.pi * phase), math.cos(2.0 * math.pi * phase))
    return obs


def policy_command(upper_body_pose: str = "zero", leg_kp: np.ndarray | None = None,
                   leg_kd: np.ndarray | None = None) -> LowCmd:
    """The LowCmd a 12-joint leg policy writes into: every motor enabled, legs at the default pose on
    Unitree's training gains (or `leg_kp`, `leg_kd`), the waist stiff, the arms on the SDK gains holding
    `upper_body_pose` ("zero", Unitree's welded training pose, or "default", `C.DEFAULT_Q`).

    Walk-v0 and the learned-walker controller both start from it, so a policy sees the same motors in
    training and deployment.
    """
    if upper_body_pose not in ("zero", "default"):
        raise ValueError(f"upper_body_pose must be 'zero' or 'default', got {upper_body_pose!r}")
    cmd = LowCmd()
    cmd.mode[C.ACTIVE_SLOTS] = 1
    cmd.kp[C.ACTIVE_SLOTS] = C.KP_SDK[C.ACTIVE_SLOTS]
    cmd.kd[C.ACTIVE_SLOTS] = C.KD_SDK[C.ACTIVE_SLOTS]
    cmd.kp[C.LEG_SLOTS] = C.LEG_KP_POLICY if leg_kp is None else leg_kp
    cmd.kd[C.LEG_SLOTS] = C.LEG_KD_POLICY if leg_kd is None else leg_kd
    cmd.kp[C.WAIST_SLOT], cmd.kd[C.WAIST_SLOT] = C.WAIST_KP_POLICY, C.WAIST_KD_POLICY
    cmd.q[:] = C.DEFAULT_Q
    if upper_body_pose == "zero":
        cmd.q[C.UPPER_BODY_SLOTS] = 0.0
    return cmd


LIN_VEL_SCALE = 2.0
"""legged_gym's scale for the base linear velocity (its privileged observation, and Walk-v0's
`base_velocity_obs`)."""


def body_velocity(quat_wxyz: np.ndarray, v_world: np.ndarray) -> np.ndarray:
    """A world-frame velocity expressed in the pelvis frame: R^T v for the quaternion (w, x, y, z)."""
    w, x, y, z = (float(v) for v in quat_wxyz)
    vx, vy, vz = (float(v) for v in v_world)
    return np.array([
        (1.0 - 2.0 * (y * y + z * z)) * vx + 2.0 * (x * y + w * z) * vy + 2.0 * (x * z - w * y) * vz,
        2.0 * (x * y - w * z) * vx + (1.0 - 2.0 * (x * x + z * z)) * vy + 2.0 * (y * z + w * x) * vz,
        2.0 * (x * z + w * y) * vx + 2.0 * (y * z - w * x) * vy + (1.0 - 2.0 * (x * x + y * y)) * vz,
    ])


__all__ = ["LIN_VEL_SCALE", "NUM_ACTIONS", "NUM_OBS", "OBS_SLICES", "ObservationConfig", "ObservationScales",
           "body_velocity", "build_observation", "gravity_orientation", "policy_command"]
