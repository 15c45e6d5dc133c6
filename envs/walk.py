"""`openhumanoid/Walk-v0`: velocity tracking for learning walkers, in Unitree's training layout."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.rendering import FollowCameraRender
from robot.control.base import Odometry
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
from robot.sdk.bridge import LowLevelBridge
from robot.sdk.lowlevel import LowState
from robot.sim._pybullet import pb
from robot.sim.world import World, WorldConfig

# legged_gym's reward scales for unitree_rl_gym's G1 (g1_config.py), before the x dt that legged_gym applies.
REWARD_SCALES: dict[str, float] = {
    "tracking_lin_vel": 1.0,
    "tracking_ang_vel": 0.5,
    "lin_vel_z": -2.0,
    "ang_vel_xy": -0.05,
    "orientation": -1.0,
    "base_height": -10.0,
    "dof_acc": -2.5e-7,
    "dof_vel": -1e-3,
    "action_rate": -0.01,
    "dof_pos_limits": -5.0,
    "alive": 0.15,
    "hip_pos": -1.0,
    "contact_no_vel": -0.2,
    "feet_swing_height": -20.0,
    "contact": 0.18,
}

DECIMATION = 10
"""Physics steps (2 ms, the PD loop) per policy step: 50 Hz."""
TRACKING_SIGMA = 0.25
BASE_HEIGHT_TARGET = 0.78
SWING_HEIGHT_TARGET = 0.08
SOFT_DOF_POS_LIMIT = 0.9
"""legged_gym shrinks the joint range to 90 % about its middle before penalising."""
STANCE_FRACTION = 0.55
"""g1_env: a foot should be in contact for the first 55 % of its gait phase."""
FOOT_PHASE_OFFSET = 0.5
CONTACT_FORCE = 1.0
"""N of contact force that counts as touching (legged_gym)."""
CLIP_OBSERVATIONS = 100.0
STANDING_SPEED = 0.2
"""Commands slower than this (m/s, planar) are set to zero: standing still is a command too."""
# legged_gym's noise scales times the observation scales (noise_level 1): ang vel 0.2, gravity 0.05,
# joint position 0.01, joint velocity 1.5 rad/s.
_NOISE = np.zeros(NUM_OBS, dtype=np.float32)
_NOISE[OBS_SLICES["ang_vel"]] = 0.2 * 0.25
_NOISE[OBS_SLICES["gravity"]] = 0.05
_NOISE[OBS_SLICES["dof_pos"]] = 0.01
_NOISE[OBS_SLICES["dof_vel"]] = 1.5 * 0.05
_LEGS = slice(int(C.LEG_SLOTS[0]), int(C.LEG_SLOTS[-1]) + 1)
"""The leg slots as a slice: a view where fancy indexing would copy."""
assert (np.arange(C.NUM_MOTOR)[_LEGS] == C.LEG_SLOTS).all()
_HIP_ROLL_YAW = np.array([1, 2, 7, 8])
"""In the 12 legs: left hip roll, yaw; right hip roll, yaw (g1_env's hip_pos term)."""


def _wrap(a: float) -> float:
    return (a + math.pi) % (2.0 * math.pi) - math.pi


class WalkEnv(FollowCameraRender, gym.Env[np.ndarray, np.ndarray]):
    """
    ## Description
    Velocity tracking for a G1 (23-DoF) on flat ground, laid out as Unitree trains its G1 walking policies
    (unitree_rl_gym; see ../shared/reference/g1.md): a 50 Hz policy sets leg joint targets for the
    500 Hz PD loop of the motors, through the same LowCmd/LowState a deployment uses. The observation is
    built by `robot.control.observation.build_observation`, the function the unitree-policy controller
    feeds Unitree's released network, so a policy trained here runs there unchanged (and Unitree's own
    policy walks here). Waist and arms are held by the motors' PD at `upper_body_pose`.

    ## Action Space
    `Box(-clip_actions, clip_actions, (12,), float32)`: joint position offsets for the 12 leg joints in
    `robot.g1.constants.LEG_SLOTS` order (left then right: hip pitch, hip roll, hip yaw, knee, ankle
    pitch, ankle roll). The PD target is `default + action_scale * action` (0.25, Unitree's), held for
    10 physics steps with Unitree's training gains (`LEG_KP_POLICY`, `LEG_KD_POLICY`); the waist is held
    stiff (`WAIST_KP_POLICY`, `WAIST_KD_POLICY`), the arms with the SDK gains.

    ## Observation Space
    `Box(-100, 100, (47,), float32)`, Unitree's G1 layout (clipped at 100 as legged_gym does):

    | index | term | scale |
    |---|---|---|
    | 0-2 | base angular velocity (pelvis IMU gyroscope, body frame) | 0.25 |
    | 3-5 | gravity direction in the pelvis frame | 1 |
    | 6-8 | command vx, vy (m/s), yaw rate (rad/s) | 2, 2, 0.25 |
    | 9-20 | leg joint positions minus the default pose | 1 |
    | 21-32 | leg joint velocities | 0.05 |
    | 33-44 | last action (raw, as clipped) | 1 |
    | 45-46 | sin, cos of the 0.8 s gait phase | 1 |

    With `obs_noise` (Unitree trains with it) uniform noise is added: 0.2 rad/s on angular velocity,
    0.05 on gravity, 0.01 rad on joint positions, 1.5 rad/s on joint velocities (before scaling).

    ## Rewards
    legged_gym's: each term of `reward_scales` has a `_reward_<term>` method; the reward is
    `sum(scale * dt * term)` with dt = 0.02 s, clipped at zero from below when `only_positive_rewards`
    (Unitree's default). `info["reward/<term>"]` holds each term's contribution (scale * dt * term).
    `info["command"]` is the command in force (vx, vy, yaw rate) and `info["velocity"]` the measured
    one (pelvis frame).
    Terms: tracking_lin_vel exp(-|v_xy cmd - v_xy|^2 / 0.25), tracking_ang_vel exp(-(wz cmd - wz)^2 / 0.25),
    lin_vel_z v_z^2, ang_vel_xy |w_xy|^2, orientation |g_xy|^2, base_height (z - 0.78)^2, dof_acc,
    dof_vel, action_rate (squared sums over the legs), dof_pos_limits (beyond 90 % of the range),
    alive 1, hip_pos (hip roll and yaw squared), contact_no_vel (squared velocity of feet in contact),
    feet_swing_height ((z_foot - 0.08)^2 for feet in the air), contact (feet whose contact matches the
    gait phase: stance for the first 55 % of each foot's cycle, the feet half a cycle apart).

    ## Starting State
    The robot spawns with its pelvis at 0.80 m, leg joints at the default pose times U(0.5, 1.5)
    (legged_gym's reset) and zero velocities. The command is drawn from `command_ranges`
    (vx, vy in +/-1 m/s; a heading in +/-pi when `heading_command`, else a yaw rate in +/-1 rad/s);
    planar commands under 0.2 m/s are zeroed (stand still). Commands are resampled every
    `resampling_time` s; with `heading_command` the yaw rate is 0.5 x the heading error, clipped to +/-1.

    ## Episode End
    Terminated (Unitree's rules) when the pelvis touches anything, |pitch| > 1.0 rad or |roll| > 0.8 rad.
    Truncated after 20 s (1000 steps) by the registered `max_episode_steps`.

    ## Arguments
    `gymnasium.make("openhumanoid/Walk-v0", render_mode=None, **kwargs)` with:
    - `render_mode`: None or "rgb_array" (640x360 from the third-person follow camera).
    - `reward_scales`: dict overriding some of `WalkEnv.reward_scales`; a zero scale drops the term.
    - `only_positive_rewards` (True), `obs_noise` (True), `action_scale` (0.25), `clip_actions` (10: the
      PD targets already reach every leg joint's limits; Unitree's 100 never binds).
    - `command_ranges`: dict with `lin_vel_x`, `lin_vel_y`, `ang_vel_yaw`, `heading` (low, high) pairs.
    - `heading_command` (True), `resampling_time` (10 s).
    - `push_interval_s` (None: no pushes; Unitree trains with 5) and `max_push_vel` (1.5 m/s): every
      interval the pelvis gets a planar impulse of mass x U(-v, v) per axis over one policy step.
    - `upper_body_pose`: "zero" (Unitree's training model welds waist and arms at zero; default) or
      "default" (`constants.DEFAULT_Q`, elbows bent), held with the SDK gains.
    - `leg_kp`, `leg_kd`: 12 PD gains for the legs (LEG_SLOTS order) in place of Unitree's training
      gains; distillation uses the model-based walker's.
    - `gait_period` (0.8 s): the phase clock's period (observation and the `contact` reward).
    - `base_velocity_obs` (False): append the pelvis's linear velocity in its own frame (x 2.0,
      legged_gym's scale; noise 0.1 m/s) as observation 47-49, the term legged_gym gives only its critic.
      A deployment needs a state estimator for it (the SDK's odometry provides one in simulation).
    - `reset_joint_scale` ((0.5, 1.5)): the range the default leg pose is scaled by at reset.
    - `friction_range` (None; Unitree trains with (0.1, 1.25)): the sole-ground friction coefficient is
      drawn from it at each reset (`self.friction`); default 0.9.
    - `added_mass_range` (None; Unitree's (-1, 3) kg): a mass drawn at each reset is added to the pelvis
      (`self.added_mass`).
    - `max_command_accel` (None): when set (m/s^2, rad/s^2), the command the policy sees and is rewarded
      on ramps from zero at reset toward the sampled one at this rate, as the LocoClient's walkers ramp
      theirs; `command_target` holds the sampled command.

    `set_command(vx, vy, vyaw)` sets the command directly (with `heading_command=False`; it holds until
    the next resampling), `low_state` and `odometry()` give what a LowLevel controller running beside
    the policy (a teacher) reads.

    ## Version History
    - v0: first version (Unitree's G1 layout on PyBullet, 500 Hz PD, upper body held).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}
    reward_scales: dict[str, float] = REWARD_SCALES

    def __init__(self, render_mode: str | None = None, reward_scales: dict[str, float] | None = None,
                 only_positive_rewards: bool = True, obs_noise: bool = True, action_scale: float = 0.25,
                 clip_actions: float = 10.0, command_ranges: dict[str, tuple[float, float]] | None = None,
                 heading_command: bool = True, resampling_time: float = 10.0, push_interval_s: float | None = None,
                 max_push_vel: float = 1.5, upper_body_pose: str = "zero", leg_kp: Any = None, leg_kd: Any = None,
                 gait_period: float = 0.8, base_velocity_obs: bool = False,
                 reset_joint_scale: tuple[float, float] = (0.5, 1.5), max_command_accel: float | None = None,
                 friction_range: tuple[float, float] | None = None,
                 added_mass_range: tuple[float, float] | None = None) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode {render_mode!r} is not one of {self.metadata['render_modes']}")
        unknown = set(reward_scales or {}) - set(REWARD_SCALES)
        if unknown:
            raise ValueError(f"unknown reward terms {sorted(unknown)}; known: {', '.join(REWARD_SCALES)}")
        if upper_body_pose not in ("zero", "default"):
            raise ValueError(f"upper_body_pose must be 'zero' or 'default', got {upper_body_pose!r}")
        self.render_mode = render_mode
        self.reward_scales = {k: v for k, v in {**REWARD_SCALES, **(reward_scales or {})}.items() if v != 0.0}
        self.only_positive_rewards = only_positive_rewards
        self.obs_noise = obs_noise
        self.action_scale = action_scale
        self.clip_actions = clip_actions
        self.command_ranges = {"lin_vel_x": (-1.0, 1.0), "lin_vel_y": (-1.0, 1.0), "ang_vel_yaw": (-1.0, 1.0),
                               "heading": (-math.pi, math.pi), **(command_ranges or {})}
        self.heading_command = heading_command
        if gait_period <= 0.0:
            raise ValueError(f"gait_period must be positive, got {gait_period}")
        self.obs_cfg = ObservationConfig(gait_period=float(gait_period))
        self.base_velocity_obs = bool(base_velocity_obs)
        self.num_obs = NUM_OBS + (3 if base_velocity_obs else 0)
        lo_s, hi_s = (float(v) for v in reset_joint_scale)
        if not 0.0 <= lo_s <= hi_s:
            raise ValueError(f"reset_joint_scale must be (low, high) with 0 <= low <= high, got {reset_joint_scale}")
        self.reset_joint_scale = (lo_s, hi_s)
        if max_command_accel is not None and not max_command_accel > 0.0:
            raise ValueError(f"max_command_accel must be positive or None, got {max_command_accel}")
        self.max_command_accel = max_command_accel
        for name, rng_ in (("friction_range", friction_range), ("added_mass_range", added_mass_range)):
            if rng_ is not None and not (len(rng_) == 2 and float(rng_[0]) <= float(rng_[1])):
                raise ValueError(f"{name} must be (low, high) with low <= high, got {rng_}")
        if friction_range is not None and float(friction_range[0]) <= 0.0:
            raise ValueError(f"friction_range must be positive, got {friction_range}")
        self.friction_range = None if friction_range is None else (float(friction_range[0]), float(friction_range[1]))
        self.added_mass_range = None if added_mass_range is None else \
            (float(added_mass_range[0]), float(added_mass_range[1]))
        self.friction = WorldConfig().ground_friction * WorldConfig().foot_friction
        """The sole-ground friction coefficient of this episode."""
        self.added_mass = 0.0
        """Kilograms added to the pelvis this episode."""
        self._noise = np.concatenate([_NOISE, np.full(3, 0.1 * LIN_VEL_SCALE, np.float32)])[:self.num_obs]
        self.dt = DECIMATION * WorldConfig().dt
        self.resample_steps = max(1, round(resampling_time / self.dt))
        self.push_steps = None if push_interval_s is None else max(1, round(push_interval_s / self.dt))
        self.max_push_vel = max_push_vel
        # (info key, scale x dt, term): bound once, the loop runs 50 times a simulated second.
        self._terms = [(f"reward/{name}", scale * self.dt, getattr(self, f"_reward_{name}"))
                       for name, scale in self.reward_scales.items()]
        self.action_space = spaces.Box(-clip_actions, clip_actions, (NUM_ACTIONS,), np.float32)
        self.observation_space = spaces.Box(-CLIP_OBSERVATIONS, CLIP_OBSERVATIONS, (self.num_obs,), np.float32)

        self._default = C.DEFAULT_Q[_LEGS].copy()
        lo, hi = C.Q_LOWER[_LEGS], C.Q_UPPER[_LEGS]
        mid, half = (lo + hi) / 2.0, (hi - lo) / 2.0 * SOFT_DOF_POS_LIMIT
        self._soft_lo, self._soft_hi = mid - half, mid + half
        gains = {}
        for name, value in (("leg_kp", leg_kp), ("leg_kd", leg_kd)):
            if value is not None:
                g = np.asarray(value, dtype=np.float64)
                if g.shape != (NUM_ACTIONS,) or not np.isfinite(g).all() or (g < 0).any():
                    raise ValueError(f"{name} must be {NUM_ACTIONS} finite non-negative gains, got {value!r}")
                gains[name] = g
        self._cmd = policy_command(upper_body_pose, **gains)
        self.world: World | None = None
        self._bridge: LowLevelBridge | None = None
        self._saved: int | None = None
        self._camera: Any = None
        self._state: LowState | None = None
        self.commands = np.zeros(3)
        """The command the observation and the rewards use: `command_target`, rate-limited when
        `max_command_accel` is set."""
        self.command_target = np.zeros(3)
        self._heading = 0.0
        self.actions = np.zeros(NUM_ACTIONS, dtype=np.float32)
        self.last_actions = np.zeros(NUM_ACTIONS, dtype=np.float32)
        self.last_dof_vel = np.zeros(NUM_ACTIONS)
        self.episode_length = 0

    # --- the world -------------------------------------------------------------------------------------
    def _build(self) -> None:
        """One world for the env's life; episodes restore its spawn state (5x faster than a new world)."""
        self.world = World(WorldConfig())
        self._bridge = LowLevelBridge(self.world)
        r = self.world.robot
        self._feet = [r.link_index["left_ankle_roll_link"], r.link_index["right_ankle_roll_link"]]
        self._mass = r.total_mass()
        self._pelvis_mass = pb.getDynamicsInfo(r.id, -1, physicsClientId=self.world.client)[0]
        self._saved = pb.saveState(physicsClientId=self.world.client)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None,
              ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if self.world is None:
            self._build()
        world, rng = self.world, self.np_random
        assert world is not None and self._bridge is not None
        pb.restoreState(self._saved, physicsClientId=world.client)
        self._randomize_dynamics()
        q = C.DEFAULT_Q.copy()
        q[_LEGS] *= rng.uniform(*self.reset_joint_scale, NUM_ACTIONS)
        world.robot.set_pose(q)  # resets joint states, zero velocities; the base stays at its spawn pose
        world.step_count = 0  # the LowState tick counts from the episode start, as after a fresh spawn
        self._cmd.q[_LEGS] = self._default
        self._bridge.write(self._cmd)
        self._state = self._bridge.read()
        self.episode_length = 0
        self.actions[:] = 0.0
        self.last_actions[:] = 0.0
        self.last_dof_vel[:] = self._state.dq[_LEGS]
        self._dq = self.last_dof_vel.copy()
        self._resample_commands()
        self.commands[:] = 0.0 if self.max_command_accel is not None else self.command_target
        self._start_camera(world)
        return self._observation(), {"command": self.commands.copy()}

    def _randomize_dynamics(self) -> None:
        """legged_gym's domain randomisation, when asked for: the friction coefficient between soles and
        ground (PyBullet multiplies the two bodies' coefficients, so the ground's is set to give it) and
        a mass added to the pelvis. Nothing is drawn when the options are off, so seeded runs stay as
        they were."""
        world, rng = self.world, self.np_random
        assert world is not None
        c = world.client
        if self.friction_range is not None:
            self.friction = float(rng.uniform(*self.friction_range))
            pb.changeDynamics(world.ground, -1, lateralFriction=self.friction / world.cfg.foot_friction,
                              physicsClientId=c)
        if self.added_mass_range is not None:
            self.added_mass = float(rng.uniform(*self.added_mass_range))
            pb.changeDynamics(world.robot.id, -1, mass=self._pelvis_mass + self.added_mass, physicsClientId=c)
            self._mass = world.robot.total_mass()

    def _resample_commands(self) -> None:
        rng, r = self.np_random, self.command_ranges
        self.command_target[0] = rng.uniform(*r["lin_vel_x"])
        self.command_target[1] = rng.uniform(*r["lin_vel_y"])
        if self.heading_command:
            self._heading = float(rng.uniform(*r["heading"]))
        else:
            self.command_target[2] = rng.uniform(*r["ang_vel_yaw"])
        if math.hypot(self.command_target[0], self.command_target[1]) <= STANDING_SPEED:
            self.command_target[:2] = 0.0
        self._heading_to_yaw_rate()

    def set_command(self, vx: float, vy: float, vyaw: float) -> None:
        """Command (vx, vy, yaw rate) from now until the next resampling (`heading_command=False` only).
        It takes effect at the next step (ramped there when `max_command_accel` is set)."""
        if self.heading_command:
            raise RuntimeError("set_command needs heading_command=False (a heading command sets the yaw rate)")
        self.command_target[:] = (float(vx), float(vy), float(vyaw))

    @property
    def low_state(self) -> LowState:
        """The LowState after the last reset or step (the same object the observation was built from)."""
        if self._state is None:
            raise RuntimeError("call reset() before reading the state")
        return self._state

    def odometry(self) -> Odometry:
        """Ground-truth odometry of the pelvis, as the SDK's SimRobot reports it."""
        if self.world is None:
            raise RuntimeError("call reset() before reading the odometry")
        r = self.world.robot
        w, x, y, z = self._state.imu_state.quaternion.tolist()  # type: ignore[union-attr]
        yaw = math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
        return Odometry(position=r.base_pos.copy(), velocity=r.base_lin_vel.copy(), yaw=yaw,
                        yaw_rate=float(r.base_ang_vel[2]))

    def _heading_to_yaw_rate(self) -> None:
        if self.heading_command:
            w, x, y, z = self._state.imu_state.quaternion.tolist()  # type: ignore[union-attr]
            yaw = math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
            self.command_target[2] = min(1.0, max(-1.0, 0.5 * _wrap(self._heading - yaw)))

    # --- stepping ----------------------------------------------------------------------------------------
    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self.world is None:
            raise RuntimeError("call reset() before step()")
        world, bridge = self.world, self._bridge
        assert bridge is not None
        a = np.clip(np.asarray(action, dtype=np.float32), -self.clip_actions, self.clip_actions)
        if a.shape != (NUM_ACTIONS,) or not np.isfinite(a).all():
            raise ValueError(f"action must be {NUM_ACTIONS} finite numbers, got {np.asarray(action)!r}")
        self.actions[:] = a
        self._cmd.q[_LEGS] = self._default + self.action_scale * a
        bridge.write(self._cmd)
        if self.push_steps is not None and self.episode_length % self.push_steps == self.push_steps - 1:
            v = self.np_random.uniform(-self.max_push_vel, self.max_push_vel, 2)
            # Over this policy step, so no push outlives an episode.
            world.apply_impulse((self._mass * v[0], self._mass * v[1], 0.0), duration=self.dt)
        for _ in range(DECIMATION):
            world.step()
        self._state = bridge.read()
        self.episode_length += 1
        if self.episode_length % self.resample_steps == 0:
            self._resample_commands()
        else:
            self._heading_to_yaw_rate()
        if self.max_command_accel is None:
            self.commands[:] = self.command_target
        else:
            step = self.max_command_accel * self.dt
            self.commands += np.clip(self.command_target - self.commands, -step, step)

        self._measure()
        terminated = self._terminated()
        info: dict[str, Any] = {}
        total = 0.0
        for key, scale, term in self._terms:
            value = scale * term()
            info[key] = value
            total += value
        if self.only_positive_rewards:
            total = max(total, 0.0)
        info["command"] = self.commands.copy()
        info["velocity"] = np.array((self._lin_vel[0], self._lin_vel[1], self._ang_vel[2]))
        obs = self._observation()
        self.last_actions[:] = self.actions
        self.last_dof_vel[:] = self._dq
        return obs, total, terminated, False, info

    def _observation(self) -> np.ndarray:
        obs = build_observation(self._state, self.commands, self.actions, self.episode_length * self.dt,  # type: ignore[arg-type]
                                self.obs_cfg)
        if self.base_velocity_obs:
            v = body_velocity(self._state.imu_state.quaternion, self.world.robot.base_lin_vel)  # type: ignore[union-attr]
            obs = np.concatenate([obs, (v * LIN_VEL_SCALE).astype(np.float32)])
        if self.obs_noise:
            obs += (2.0 * self.np_random.random(self.num_obs, dtype=np.float32) - 1.0) * self._noise
        return np.clip(obs, -CLIP_OBSERVATIONS, CLIP_OBSERVATIONS)

    def _measure(self) -> None:
        """The ground-truth quantities the rewards and terminations share, one PyBullet query each.

        Small maths in floats: at ~1-3 us a numpy call, 15 terms in numpy cost more than the env's whole
        per-step budget over the physics (measured with `humanoid bench env`).
        """
        r = self.world.robot  # type: ignore[union-attr]
        c = self.world.client  # type: ignore[union-attr]
        st = self._state
        self._q = st.q[_LEGS]  # type: ignore[union-attr]
        self._dq = st.dq[_LEGS]  # type: ignore[union-attr]
        w, x, y, z = st.imu_state.quaternion.tolist()  # type: ignore[union-attr]
        # Rows of R^T (body-from-world), R the world-from-pelvis rotation.
        r0 = (1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y + w * z), 2.0 * (x * z - w * y))
        r1 = (2.0 * (x * y - w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z + w * x))
        vx, vy, vz = r.base_lin_vel.tolist()
        self._lin_vel = (r0[0] * vx + r0[1] * vy + r0[2] * vz, r1[0] * vx + r1[1] * vy + r1[2] * vz,
                         (2.0 * (x * z + w * y)) * vx + (2.0 * (y * z - w * x)) * vy
                         + (1.0 - 2.0 * (x * x + y * y)) * vz)
        self._ang_vel = st.imu_state.gyroscope.tolist()  # type: ignore[union-attr]
        self._gravity_xy = (-r0[2], -r1[2])
        self._roll = math.atan2(2.0 * (w * x + y * z), 1.0 - 2.0 * (x * x + y * y))
        self._pitch = math.asin(max(-1.0, min(1.0, 2.0 * (w * y - z * x))))
        self._base_z = float(r.base_pos[2])
        fz = [0.0, 0.0]
        pelvis = False
        left, right = self._feet
        for p in pb.getContactPoints(bodyA=r.id, physicsClientId=c):
            link = p[3]
            if link == -1 and p[9] > CONTACT_FORCE:
                pelvis = True
            elif link == left:
                fz[0] += p[9] * p[7][2]
            elif link == right:
                fz[1] += p[9] * p[7][2]
        self._pelvis_contact = pelvis
        self._foot_contact = (fz[0] > CONTACT_FORCE, fz[1] > CONTACT_FORCE)
        states = pb.getLinkStates(r.id, self._feet, computeLinkVelocity=1, physicsClientId=c)
        self._feet_z = (states[0][4][2], states[1][4][2])
        self._feet_vel = (states[0][6], states[1][6])
        phase = (self.episode_length * self.dt) % self.obs_cfg.gait_period / self.obs_cfg.gait_period
        self._leg_phase = (phase, (phase + FOOT_PHASE_OFFSET) % 1.0)

    def _terminated(self) -> bool:
        return bool(self._pelvis_contact or abs(self._pitch) > 1.0 or abs(self._roll) > 0.8)

    # --- rewards (legged_gym's and g1_env's terms, unscaled) ------------------------------------------------
    def _reward_tracking_lin_vel(self) -> float:
        ex, ey = self.commands[0] - self._lin_vel[0], self.commands[1] - self._lin_vel[1]
        return math.exp(-(ex * ex + ey * ey) / TRACKING_SIGMA)

    def _reward_tracking_ang_vel(self) -> float:
        return math.exp(-((self.commands[2] - self._ang_vel[2]) ** 2) / TRACKING_SIGMA)

    def _reward_lin_vel_z(self) -> float:
        return self._lin_vel[2] ** 2

    def _reward_ang_vel_xy(self) -> float:
        return self._ang_vel[0] ** 2 + self._ang_vel[1] ** 2

    def _reward_orientation(self) -> float:
        return self._gravity_xy[0] ** 2 + self._gravity_xy[1] ** 2

    def _reward_base_height(self) -> float:
        return (self._base_z - BASE_HEIGHT_TARGET) ** 2

    def _reward_dof_acc(self) -> float:
        d = (self.last_dof_vel - self._dq) / self.dt
        return float(d @ d)

    def _reward_dof_vel(self) -> float:
        return float(self._dq @ self._dq)

    def _reward_action_rate(self) -> float:
        d = self.last_actions - self.actions
        return float(d @ d)

    def _reward_dof_pos_limits(self) -> float:
        q = self._q
        return float(np.maximum(self._soft_lo - q, 0.0).sum() + np.maximum(q - self._soft_hi, 0.0).sum())

    def _reward_alive(self) -> float:
        return 1.0

    def _reward_hip_pos(self) -> float:
        h = self._q[_HIP_ROLL_YAW]
        return float(h @ h)

    def _reward_contact_no_vel(self) -> float:
        return sum(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]
                   for v, on in zip(self._feet_vel, self._foot_contact) if on)

    def _reward_feet_swing_height(self) -> float:
        return sum((z - SWING_HEIGHT_TARGET) ** 2 for z, on in zip(self._feet_z, self._foot_contact) if not on)

    def _reward_contact(self) -> float:
        return float(sum((phase < STANCE_FRACTION) == on for phase, on in zip(self._leg_phase, self._foot_contact)))

    # --- rendering and closing -----------------------------------------------------------------------------
    def close(self) -> None:
        if self.world is not None:
            self.world.close()
            self.world = None
            self._bridge = None
            self._camera = None


__all__ = ["DECIMATION", "REWARD_SCALES", "WalkEnv"]
