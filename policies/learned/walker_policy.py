"""A learned walker: an MLP over Walk-v0's observation that sets the 12 leg joints' PD targets at 50 Hz.

It is trained by `humanoid train walker` (policies/train/walker.py): distilled from the model-based walker
(behaviour cloning, then DAgger) and optionally refined with PPO. Saved as a folder in the Hugging Face
layout, `config.json` next to `model.safetensors`, written by `save_pretrained` and read back by
`from_pretrained`, which checks every tensor's name and shape against the config and refuses anything else.

The config carries everything the policy was trained with (gains, gait clock, action scale, command
ramp), so `LearnedWalkerController` deploys it on exactly the motors and observation it learned on.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from robot.control.base import LocoCommand, Odometry, blend_upper_body
from robot.control.observation import (
    LIN_VEL_SCALE,
    NUM_ACTIONS,
    NUM_OBS,
    OBS_SLICES,
    ObservationConfig,
    body_velocity,
    build_observation,
    policy_command,
)
from robot.g1 import constants as C
from robot.sdk.lowlevel import LowCmd, LowState

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
FORMAT = "openhumanoid-walker-policy"
TICK = 0.002
"""Seconds between controller calls (the SDK's 500 Hz)."""


class WalkerPolicyError(ValueError):
    """A folder that is not a fitting walker policy (bad config, missing or mismatched tensors)."""


@dataclass
class WalkerPolicyConfig:
    """The network's shape and the deployment it was trained for (stored as config.json)."""

    obs_dim: int = NUM_OBS + 3
    """47 (Unitree's layout) or 50 (plus the pelvis's linear velocity, `base_velocity_obs`)."""
    act_dim: int = NUM_ACTIONS
    hidden: list[int] = field(default_factory=lambda: [256, 256])
    activation: str = "elu"
    init_log_std: float = -1.5
    """Log standard deviation of the Gaussian PPO samples actions from (the mean is the action)."""
    action_scale: float = 0.25
    """PD target = default pose + action_scale x action."""
    decimation: int = 10
    """2 ms ticks per policy step (10: 50 Hz)."""
    gait_period: float = 0.8
    """Seconds per cycle of the phase clock in the observation."""
    leg_kp: list[float] = field(default_factory=lambda: [float(v) for v in C.LEG_KP_POLICY])
    leg_kd: list[float] = field(default_factory=lambda: [float(v) for v in C.LEG_KD_POLICY])
    upper_body_pose: str = "default"
    """How Walk-v0 held the waist and arms in training: "zero" or "default"."""
    max_accel: float = 1.0
    """The velocity command is rate-limited to this, m/s^2 and rad/s^2, before the policy sees it (the
    teacher's ramp, so the student sees the command the teacher walked by)."""
    ignore_terms: list[str] = field(default_factory=list)
    """Observation terms (names in `OBS_SLICES`) the network does not see: they are zeroed after
    normalisation. A student distilled from a teacher ignores `last_action`: the teacher's actions are
    smooth, so a student that sees its last action learns to copy it, and copies its own errors once it
    drives (the copycat problem of behaviour cloning)."""
    velocity_gain: float = 0.0
    """Deployment only: integral gain of a velocity loop around the policy, per gait period. Once a
    gait period the controller compares the pelvis's stride velocity (odometry) with the command over
    the same time and trims the command the policy sees by `velocity_gain` x the error, as the
    model-based walker trims its plan; 0 turns it off. A distilled policy cannot see its teacher's own
    velocity loop (the teacher's integrator is hidden state), so it drifts where the teacher was trimmed."""
    max_velocity_trim: list[float] = field(default_factory=lambda: [0.2, 0.15, 0.3])
    """Largest trim of (vx, vy, yaw rate), m/s and rad/s."""
    trained_by: str = ""
    """A line on how the weights were made (filled in by the trainer)."""

    def __post_init__(self) -> None:
        if self.obs_dim not in (NUM_OBS, NUM_OBS + 3):
            raise WalkerPolicyError(f"obs_dim must be {NUM_OBS} or {NUM_OBS + 3} (Walk-v0's layouts), "
                                    f"got {self.obs_dim}")
        if self.act_dim != NUM_ACTIONS:
            raise WalkerPolicyError(f"act_dim must be {NUM_ACTIONS} (the leg joints), got {self.act_dim}")
        if self.activation not in _ACTIVATIONS:
            raise WalkerPolicyError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {self.activation!r}")
        if not self.hidden or any(int(h) < 1 for h in self.hidden):
            raise WalkerPolicyError(f"hidden must list positive layer sizes, got {self.hidden}")
        for name in ("leg_kp", "leg_kd"):
            v = getattr(self, name)
            if len(v) != NUM_ACTIONS or not all(math.isfinite(x) and x >= 0 for x in v):
                raise WalkerPolicyError(f"{name} must be {NUM_ACTIONS} finite non-negative gains, got {v}")
        unknown = set(self.ignore_terms) - set(OBS_SLICES)
        if unknown:
            raise WalkerPolicyError(f"ignore_terms {sorted(unknown)} are not observation terms ({', '.join(OBS_SLICES)})")
        if self.decimation < 1 or self.gait_period <= 0 or self.action_scale <= 0:
            raise WalkerPolicyError("decimation, gait_period and action_scale must be positive")
        trim = self.max_velocity_trim
        if not (math.isfinite(self.velocity_gain) and 0.0 <= self.velocity_gain <= 1.0) or len(trim) != 3 \
                or not all(math.isfinite(x) and x >= 0 for x in trim):
            raise WalkerPolicyError(f"velocity_gain must be in [0, 1] and max_velocity_trim three non-negative "
                                    f"limits, got {self.velocity_gain} and {trim}")

    @property
    def base_velocity_obs(self) -> bool:
        return self.obs_dim == NUM_OBS + 3

    def env_kwargs(self) -> dict[str, Any]:
        """Walk-v0 arguments that reproduce the deployment this policy expects."""
        return {"leg_kp": list(self.leg_kp), "leg_kd": list(self.leg_kd), "gait_period": self.gait_period,
                "base_velocity_obs": self.base_velocity_obs, "upper_body_pose": self.upper_body_pose,
                "action_scale": self.action_scale, "max_command_accel": self.max_accel}

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "config") -> WalkerPolicyConfig:
        if data.get("format") != FORMAT:
            raise WalkerPolicyError(f"{where} is not a walker policy config (format {data.get('format')!r}, "
                                    f"expected {FORMAT!r})")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known - {"format"}
        if unknown:
            raise WalkerPolicyError(f"{where} has unknown keys {sorted(unknown)}")
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except TypeError as err:
            raise WalkerPolicyError(f"{where}: {err}") from None

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, **asdict(self)}


_ACTIVATIONS = {"elu": nn.ELU, "tanh": nn.Tanh, "relu": nn.ReLU}


class WalkerPolicy(nn.Module):
    """Observation -> normalised -> MLP -> 12 joint-position offsets (the Gaussian's mean).

    The observation normaliser (`obs_mean`, `obs_std`) is part of the weights, so a checkpoint is
    self-contained; `log_std` is the exploration noise PPO learns and deployment ignores.
    """

    def __init__(self, config: WalkerPolicyConfig) -> None:
        super().__init__()
        self.config = config
        act = _ACTIVATIONS[config.activation]
        layers: list[nn.Module] = []
        size = config.obs_dim
        for h in config.hidden:
            layers += [nn.Linear(size, int(h)), act()]
            size = int(h)
        layers.append(nn.Linear(size, config.act_dim))
        self.net = nn.Sequential(*layers)
        self.register_buffer("obs_mean", torch.zeros(config.obs_dim))
        self.register_buffer("obs_std", torch.ones(config.obs_dim))
        self.log_std = nn.Parameter(torch.full((config.act_dim,), float(config.init_log_std)))
        mask = torch.ones(config.obs_dim)
        for term in config.ignore_terms:
            mask[OBS_SLICES[term]] = 0.0
        self.register_buffer("input_mask", mask, persistent=False)  # from the config, not the weights

    def set_normalizer(self, mean: np.ndarray, std: np.ndarray) -> None:
        """Fix the observation normaliser (from the data); terms that never vary get unit scale."""
        with torch.no_grad():
            self.obs_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
            self.obs_std.copy_(torch.as_tensor(np.maximum(std, 1e-2), dtype=torch.float32))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net((obs - self.obs_mean) / self.obs_std * self.input_mask)

    @torch.no_grad()
    def act(self, obs: np.ndarray) -> np.ndarray:
        """The deterministic action for one observation (numpy in, numpy out)."""
        x = torch.from_numpy(np.asarray(obs, dtype=np.float32)).unsqueeze(0)
        return self.forward(x)[0].numpy()

    # --- persistence ---------------------------------------------------------------------------------
    def save_pretrained(self, folder: str | Path) -> Path:
        """Write config.json and model.safetensors into `folder`, each replaced atomically."""
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tensors = {k: v.detach().contiguous().clone() for k, v in self.state_dict().items()}
        _atomic(folder / WEIGHTS_NAME, lambda p: save_file(tensors, str(p), metadata={"format": FORMAT}))
        text = json.dumps(self.config.to_dict(), indent=2) + "\n"
        _atomic(folder / CONFIG_NAME, lambda p: p.write_text(text))
        return folder

    @classmethod
    def from_pretrained(cls, folder: str | Path, obs_dim: int | None = None) -> WalkerPolicy:
        """Load a policy saved by `save_pretrained`.

        Args:
            folder: the folder with config.json and model.safetensors.
            obs_dim: the observation size the caller will feed; a checkpoint for another size is refused.

        Raises:
            FileNotFoundError: no such folder, or a file missing from it.
            WalkerPolicyError: a config that does not parse or fit, or tensors whose names or shapes
                differ from what the config builds.
        """
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        folder = Path(folder).expanduser()
        if not folder.is_dir():
            raise FileNotFoundError(f"no walker policy folder at {folder}")
        for name in (CONFIG_NAME, WEIGHTS_NAME):
            if not (folder / name).is_file():
                raise FileNotFoundError(f"{folder} has no {name} (a walker policy folder holds {CONFIG_NAME} "
                                        f"and {WEIGHTS_NAME})")
        try:
            data = json.loads((folder / CONFIG_NAME).read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise WalkerPolicyError(f"{folder / CONFIG_NAME} is not valid JSON: {err}") from None
        if not isinstance(data, dict):
            raise WalkerPolicyError(f"{folder / CONFIG_NAME} is not a JSON object")
        config = WalkerPolicyConfig.from_dict(data, where=str(folder / CONFIG_NAME))
        if obs_dim is not None and config.obs_dim != obs_dim:
            raise WalkerPolicyError(f"{folder} was trained on {config.obs_dim} observations; this caller feeds "
                                    f"{obs_dim}")
        try:
            tensors = load_file(str(folder / WEIGHTS_NAME))
        except (SafetensorError, OSError, ValueError) as err:
            raise WalkerPolicyError(f"{folder / WEIGHTS_NAME} is not a readable safetensors file: {err}") from None
        model = cls(config)
        expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        got = {k: tuple(v.shape) for k, v in tensors.items()}
        if expected != got:
            missing = sorted(set(expected) - set(got))
            extra = sorted(set(got) - set(expected))
            wrong = sorted(f"{k} {got[k]} (config builds {expected[k]})" for k in set(got) & set(expected)
                           if got[k] != expected[k])
            raise WalkerPolicyError(f"{folder / WEIGHTS_NAME} does not fit its config: "
                                    + "; ".join(p for p in (f"missing {missing}" if missing else "",
                                                            f"unexpected {extra}" if extra else "",
                                                            f"wrong shapes {wrong}" if wrong else "") if p))
        bad = [k for k, v in tensors.items() if not torch.isfinite(v).all()]
        if bad:
            raise WalkerPolicyError(f"{folder / WEIGHTS_NAME} holds non-finite values in {bad}")
        model.load_state_dict(tensors, strict=True)
        model.eval()
        return model


def _atomic(path: Path, write: Any) -> None:
    """Write through a temporary file in the same folder, then rename over `path`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a saved model is an ordinary file
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class LearnedWalkerController:
    """A `WalkerPolicy` as System 1 (the Controller protocol of robot/control): `--controller learned:PATH`.

    Every `decimation`-th call it builds Walk-v0's observation from the LowState (and the odometry's
    velocity when the policy was trained with it), runs the network and sets the leg PD targets
    `default + action_scale x action`; in between the targets are held and the motors' PD runs. The
    velocity command is ramped at `max_accel` first, as in training. The policy always steps, as
    Unitree's learned walkers do: standing still is stepping in place at zero command. Waist and arms are
    held where training held them, or follow `command.arm_q` by `arm_weight` (arm_sdk's blend).
    `step` returns the same LowCmd object each call (the bridge copies it).
    """

    name = "learned"

    def __init__(self, policy: WalkerPolicy | str | Path) -> None:
        if not isinstance(policy, WalkerPolicy):
            policy = WalkerPolicy.from_pretrained(policy)
        self.policy = policy.eval()
        cfg = policy.config
        self.cfg = cfg
        self.obs_cfg = ObservationConfig(gait_period=cfg.gait_period)
        self._default = np.asarray(self.obs_cfg.default_angles, dtype=np.float64)
        self._cmd: LowCmd = policy_command(cfg.upper_body_pose, np.asarray(cfg.leg_kp), np.asarray(cfg.leg_kd))
        self._upper_q = self._cmd.q[C.UPPER_BODY_SLOTS].copy()
        self.action = np.zeros(NUM_ACTIONS, dtype=np.float32)
        self.obs = np.zeros(cfg.obs_dim, dtype=np.float32)
        self.ramped = np.zeros(3)
        self.trim = np.zeros(3)
        """The velocity loop's present trim of the command (zero unless `velocity_gain` > 0)."""
        self._period = max(1, round(cfg.gait_period / (cfg.decimation * TICK)))
        self._window: list[tuple[float, float, float, np.ndarray]] = []
        self._calls = 0
        self._policy_steps = 0
        self._blended = False

    def reset(self, state: LowState, odom: Odometry) -> None:
        """New episode: zero last action and ramped command, the gait clock back to 0."""
        self.action[:] = 0.0
        self.ramped[:] = 0.0
        self.trim[:] = 0.0
        self._window = []
        self._cmd.q[C.LEG_SLOTS] = self._default
        self._calls = 0
        self._policy_steps = 0

    def observe(self, state: LowState, odom: Odometry, command: LocoCommand) -> np.ndarray:
        """Advance the command ramp one policy step and build the observation the network sees."""
        cfg = self.cfg
        if self._policy_steps > 0:  # as Walk-v0: the first observation shows the ramp's zero start
            step = cfg.max_accel * cfg.decimation * TICK
            target = (command.vx, command.vy, command.vyaw)
            for i in range(3):
                self.ramped[i] += min(step, max(-step, target[i] - self.ramped[i]))
        t = self._policy_steps * cfg.decimation * TICK
        if cfg.velocity_gain > 0.0:
            self._track_velocity(odom)
        obs = build_observation(state, self.ramped + self.trim, self.action, t, self.obs_cfg)
        if cfg.base_velocity_obs:
            v = body_velocity(state.imu_state.quaternion, odom.velocity) * LIN_VEL_SCALE
            obs = np.concatenate([obs, v.astype(np.float32)])
        return obs

    def _track_velocity(self, odom: Odometry) -> None:
        """Integral velocity loop, once a gait period (two steps, which average out the sway): the trim
        moves by `velocity_gain` x (command - measured stride velocity in the mid-heading frame)."""
        self._window.append((float(odom.position[0]), float(odom.position[1]), float(odom.yaw), self.ramped.copy()))
        if len(self._window) <= self._period:
            return
        (x0, y0, yaw0, _), (x1, y1, yaw1, _) = self._window[0], self._window[-1]
        wanted = np.mean([w[3] for w in self._window[1:]], axis=0)
        self._window = self._window[-1:]
        dt = self._period * self.cfg.decimation * TICK
        dyaw = math.atan2(math.sin(yaw1 - yaw0), math.cos(yaw1 - yaw0))
        mid = yaw0 + 0.5 * dyaw
        c, s = math.cos(mid), math.sin(mid)
        dx, dy = x1 - x0, y1 - y0
        measured = np.array([c * dx + s * dy, -s * dx + c * dy, dyaw]) / dt
        cap = np.asarray(self.cfg.max_velocity_trim)
        self.trim = np.clip(self.trim + self.cfg.velocity_gain * (wanted - measured), -cap, cap)

    def step(self, state: LowState, odom: Odometry, command: LocoCommand) -> LowCmd:
        """The LowCmd for the next 2 ms; a new action every `decimation` calls."""
        cfg = self.cfg
        if self._calls % cfg.decimation == 0:
            self.obs = self.observe(state, odom, command)
            a = self.policy.act(self.obs)
            if not np.isfinite(a).all():
                # Never garbage to the motors: keep the last targets; the fall detector takes it from here.
                a = self.action
            self.action = np.clip(a, -10.0, 10.0).astype(np.float32)
            self._cmd.q[C.LEG_SLOTS] = self._default + cfg.action_scale * self.action
            self._policy_steps += 1
        self._calls += 1
        self._blended = blend_upper_body(self._cmd.q, self._upper_q, command, self._blended)
        return self._cmd


__all__ = ["CONFIG_NAME", "OBS_SLICES", "WEIGHTS_NAME", "LearnedWalkerController", "WalkerPolicy",
           "WalkerPolicyConfig", "WalkerPolicyError"]
