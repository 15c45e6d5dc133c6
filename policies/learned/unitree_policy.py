"""Unitree's unitree_rl_gym velocity policies, run unchanged on our G1 through LowCmd/LowState only.

A policy trained on Unitree's own G1 model, which none of us wrote, either walks our body or it does not:
that makes it the most objective check of the robot model we have (issue 9), and it gives users of
unitree_rl_gym a sim2sim target with our cameras, skills and planner on top.

The interface mirrors Unitree's deployment (``deploy/deploy_mujoco`` and ``deploy_real``, G1 config):
a TorchScript module, input (1, 47) float32, output (1, 12), called once per 20 ms over a 500 Hz PD loop
on the 12 leg joints, target = default + 0.25 * action. The module keeps an LSTM state in its buffers,
so it must be called exactly once per control period, in order, and reset for a new episode.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from robot.control.base import LocoCommand, Odometry, blend_upper_body
# The observation lives in robot/ so that envs/ (which may not import policies/) builds the same one; the
# names stay importable from here.
from robot.control.observation import NUM_ACTIONS, NUM_OBS, OBS_SLICES, build_observation, gravity_orientation
from robot.g1 import constants as C
from robot.sdk.lowlevel import LowCmd, LowState

__all__ = ["NUM_ACTIONS", "NUM_OBS", "OBS_SLICES", "UnitreePolicyConfig", "UnitreePolicyController",
           "UnitreePolicyError", "build_observation", "gravity_orientation", "load_policy"]


class UnitreePolicyError(ValueError):
    """A file that is not a unitree_rl_gym G1 velocity policy (not TorchScript, or the wrong sizes)."""


@dataclass(frozen=True)
class UnitreePolicyConfig:
    """Unitree's deployment constants for the G1 12-DoF walking policy (deploy/configs/g1.yaml)."""

    leg_kp: tuple[float, ...] = (100.0, 100.0, 100.0, 150.0, 40.0, 40.0) * 2
    """PD stiffness per leg joint (hip pitch, roll, yaw, knee, ankle pitch, roll), left leg first."""
    leg_kd: tuple[float, ...] = (2.0, 2.0, 2.0, 4.0, 2.0, 2.0) * 2
    default_angles: tuple[float, ...] = (-0.1, 0.0, 0.0, 0.3, -0.2, 0.0) * 2
    """The pose actions are offsets from; also the obs's joint-position reference."""
    action_scale: float = 0.25
    ang_vel_scale: float = 0.25
    dof_pos_scale: float = 1.0
    dof_vel_scale: float = 0.05
    cmd_scale: tuple[float, float, float] = (2.0, 2.0, 0.25)
    gait_period: float = 0.8
    """Seconds per gait cycle of the phase clock the policy was trained with."""
    decimation: int = 10
    """Physics steps (2 ms) per policy step: 50 Hz."""
    upper_q: tuple[float, ...] = (0.0,) * 11
    """Waist and arm targets (waist yaw, left arm, right arm; rad). Unitree's training model welds them at
    zero and its real deployment holds them there; our standing pose (C.DEFAULT_Q, elbows at 0.97 rad)
    moves the CoM 1.2 cm back and slowed the policy from 0.440 to 0.381 m/s at 0.5 m/s (docs/robot.md)."""
    waist_kp: float = 300.0
    """Unitree's real deployment holds the waist at kp 300."""
    waist_kd: float = 20.0
    """Stands in for the training model's welded waist. At Unitree's kd 3 the torso decouples from the
    pelvis at the policy's 25 Hz Nyquist rate and a period-2 yaw limit cycle appears (yaw-rate error
    2.15 rad/s, heading drift 2.3 rad in 30 s); kd 20 removes it (0.11 rad/s, 0.16 rad). Stable: kd dt / I
    is about 0.3 for the torso and arms (I ~ 0.15 kg m^2 about the waist)."""
    arm_kp: tuple[float, ...] = (100.0, 100.0, 50.0, 50.0, 20.0)
    """Per arm (shoulder pitch, roll, yaw, elbow, wrist roll): Unitree's real deployment gains."""
    arm_kd: tuple[float, ...] = (2.0, 2.0, 2.0, 2.0, 1.0)
    dt: float = 0.002


def load_policy(path: str | Path) -> torch.jit.ScriptModule:
    """Load a TorchScript policy and check it maps (1, 47) to (1, 12); its state is left as loaded.

    Raises:
        FileNotFoundError: no file at `path`.
        UnitreePolicyError: not TorchScript, or other input/output sizes.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"no policy file at {path}")
    try:
        with warnings.catch_warnings():
            # torch 2.13 deprecates TorchScript, but it is the format unitree_rl_gym exports.
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(str(path), map_location="cpu")
    except Exception as err:  # torch raises RuntimeError or ValueError depending on what is wrong
        raise UnitreePolicyError(f"{path} is not a TorchScript module ({type(err).__name__}: "
                                 f"{str(err).splitlines()[0] if str(err) else ''})") from err
    module.eval()
    snapshot = _snapshot(module)
    try:
        with torch.inference_mode():
            out = module(torch.zeros(1, NUM_OBS))
    except Exception as err:
        first = str(err).strip().splitlines()
        raise UnitreePolicyError(
            f"{path} does not take a unitree_rl_gym G1 observation of shape (1, {NUM_OBS}): "
            f"{first[-1] if first else type(err).__name__}") from err
    finally:
        _restore(module, snapshot)  # the probe must not advance a recurrent state
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (1, NUM_ACTIONS):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise UnitreePolicyError(f"{path} answers {shape} to a (1, {NUM_OBS}) observation; "
                                 f"a G1 leg policy answers (1, {NUM_ACTIONS})")
    return module


def _snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: buf.detach().clone() for name, buf in module.named_buffers()}


def _restore(module: torch.nn.Module, snapshot: dict[str, torch.Tensor]) -> None:
    with torch.no_grad():
        for name, buf in module.named_buffers():
            buf.copy_(snapshot[name])


class UnitreePolicyController:
    """A unitree_rl_gym TorchScript velocity policy as a System 1 controller (the Controller protocol).

    Runs the policy every `decimation`-th call (50 Hz) and holds its leg PD targets in between; the waist
    and arms stay where Unitree's training model welds them (`cfg.upper_q`, all zero) on stiff PD, or
    follow `command.arm_q` by `arm_weight`, as arm_sdk blends them.
    The velocity command comes from the LocoCommand (vx, vy, vyaw); `height` and `walking` are ignored:
    the policy has no height input and always steps (standing still is the LocoClient's mode switch).
    `step` returns the same LowCmd object each call (the bridge copies it); copy it to keep one.

    Args:
        path: the TorchScript file (for Unitree's: deploy/pre_train/g1/motion.pt).
        cfg: deployment constants; the defaults are Unitree's G1 config.
    """

    name = "unitree-policy"

    def __init__(self, path: str | Path, cfg: UnitreePolicyConfig = UnitreePolicyConfig()) -> None:
        self.path = Path(path)
        self.cfg = cfg
        self.policy = load_policy(self.path)
        self._initial = _snapshot(self.policy)
        self._default = np.asarray(cfg.default_angles, dtype=np.float64)
        self._cmd = LowCmd()
        cmd = self._cmd
        cmd.mode[C.ACTIVE_SLOTS] = 1
        cmd.q[:] = C.DEFAULT_Q
        cmd.kp[C.LEG_SLOTS] = cfg.leg_kp
        cmd.kd[C.LEG_SLOTS] = cfg.leg_kd
        cmd.kp[C.WAIST_SLOT], cmd.kd[C.WAIST_SLOT] = cfg.waist_kp, cfg.waist_kd
        for arm in (C.LEFT_ARM_SLOTS, C.RIGHT_ARM_SLOTS):
            cmd.kp[arm], cmd.kd[arm] = cfg.arm_kp, cfg.arm_kd
        self._upper_q = np.asarray(cfg.upper_q, dtype=np.float64)
        cmd.q[C.UPPER_BODY_SLOTS] = self._upper_q
        self.action = np.zeros(NUM_ACTIONS, dtype=np.float32)
        self.obs = np.zeros(NUM_OBS, dtype=np.float32)
        self._calls = 0
        self._policy_steps = 0
        self._blended = False

    def reset(self, state: LowState, odom: Odometry) -> None:
        """New episode: the LSTM state as loaded, zero last action, the gait clock back to 0."""
        reset = getattr(self.policy, "reset", None)
        if callable(reset):
            reset()
        _restore(self.policy, self._initial)
        self.action[:] = 0.0
        self._cmd.q[C.LEG_SLOTS] = self._default
        self._calls = 0
        self._policy_steps = 0

    def step(self, state: LowState, odom: Odometry, command: LocoCommand) -> LowCmd:
        """The LowCmd for the next 2 ms; a new policy action every 20 ms."""
        cfg = self.cfg
        if self._calls % cfg.decimation == 0:
            # Unitree's deploy_real advances its counter before building the observation, so the
            # first call sees t = 20 ms.
            self._policy_steps += 1
            t = self._policy_steps * cfg.decimation * cfg.dt
            self.obs = build_observation(state, (command.vx, command.vy, command.vyaw), self.action, t, cfg)
            with torch.inference_mode():
                out = self.policy(torch.from_numpy(self.obs).unsqueeze(0))
            self.action = out.numpy().reshape(NUM_ACTIONS).astype(np.float32)
            self._cmd.q[C.LEG_SLOTS] = self._default + cfg.action_scale * self.action
        self._calls += 1
        self._blended = blend_upper_body(self._cmd.q, self._upper_q, command, self._blended)
        return self._cmd
