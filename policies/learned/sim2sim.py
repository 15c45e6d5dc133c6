"""A closed loop for sim2sim checks: LowState -> controller -> LowCmd -> physics, and what it measured.

The loop is the one a deployment runs (bridge.read, controller.step, bridge.write, bridge.step); the
odometry stands in for the state estimator with the simulator's ground truth.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from robot.control.base import Controller, LocoCommand, Odometry
from robot.sdk.bridge import LowLevelBridge
from robot.sim.world import World, WorldConfig

FALL_HEIGHT = 0.5
"""Pelvis below this (m) is a fall; the G1 stands at 0.79 m and walks at about 0.75 m."""
FALL_ROLL, FALL_PITCH = 0.8, 1.0
"""unitree_rl_gym's termination angles (rad)."""


def odometry(world: World) -> Odometry:
    """Ground-truth odometry of the world's robot (the simulator as a perfect state estimator)."""
    r = world.robot
    w, x, y, z = r.base_quat
    yaw = math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
    return Odometry(position=r.base_pos.copy(), velocity=r.base_lin_vel.copy(), yaw=yaw,
                    yaw_rate=float(r.base_ang_vel[2]))


@dataclass
class WalkResult:
    """What one constant-command walk measured."""

    seconds: float
    """Simulated time walked (the full duration unless it fell)."""
    fell: bool
    distance_x: float
    """Displacement of the pelvis along the start heading, m."""
    distance_y: float
    mean_vx: float
    """Mean forward speed in the heading frame after 1 s of settling, m/s."""
    tracking_error_vx: float
    """Mean |vx - command| of the instantaneous heading-frame velocity after 1 s, m/s."""
    tracking_error_vx_cycle: float
    """The same on velocity averaged over each 0.8 s gait cycle (removes the in-step sway), m/s."""
    tracking_error_vy: float
    tracking_error_yaw: float
    heading_drift: float
    """Final yaw minus start yaw, rad."""
    min_height: float

    def as_dict(self) -> dict[str, float | bool]:
        return asdict(self)


def walk(controller: Controller, seconds: float, command: LocoCommand,
         world_cfg: WorldConfig = WorldConfig(), world: World | None = None) -> WalkResult:
    """Walk a fresh world's robot for `seconds` at a constant command and measure it.

    Samples the base every 20 ms. Stops at the first fall (pelvis below 0.5 m or tilted past
    unitree_rl_gym's termination angles).
    """
    own = world is None
    world = world or World(world_cfg)
    try:
        bridge = LowLevelBridge(world)
        r = world.robot
        controller.reset(bridge.read(), odometry(world))
        start = r.base_pos.copy()
        yaw0 = odometry(world).yaw
        settle = round(1.0 / world.dt)
        vx, vy, wz = [], [], []
        min_h = float(r.base_pos[2])
        fell = False
        n = round(seconds / world.dt)
        k = 0
        for k in range(1, n + 1):
            st = bridge.read()
            bridge.write(controller.step(st, odometry(world), command))
            bridge.step()
            if k % 10:
                continue
            od = odometry(world)
            c, s = math.cos(od.yaw), math.sin(od.yaw)
            if k > settle:
                vx.append(c * od.velocity[0] + s * od.velocity[1])
                vy.append(-s * od.velocity[0] + c * od.velocity[1])
                wz.append(od.yaw_rate)
            min_h = min(min_h, float(r.base_pos[2]))
            roll, pitch = st.imu_state.rpy[0], st.imu_state.rpy[1]
            if r.base_pos[2] < FALL_HEIGHT or abs(roll) > FALL_ROLL or abs(pitch) > FALL_PITCH:
                fell = True
                break
        d = r.base_pos - start
        c0, s0 = math.cos(yaw0), math.sin(yaw0)
        vx_a, vy_a, wz_a = np.asarray(vx), np.asarray(vy), np.asarray(wz)
        cyc = 40  # 0.8 s of 20 ms samples
        m = len(vx_a) // cyc
        cycle = vx_a[: m * cyc].reshape(m, cyc).mean(axis=1) if m else vx_a

        def mae(a: np.ndarray, target: float) -> float:
            return float(np.mean(np.abs(a - target))) if a.size else float("nan")

        yaw_end = odometry(world).yaw
        return WalkResult(
            seconds=k * world.dt, fell=fell,
            distance_x=float(c0 * d[0] + s0 * d[1]), distance_y=float(-s0 * d[0] + c0 * d[1]),
            mean_vx=float(vx_a.mean()) if vx_a.size else float("nan"),
            tracking_error_vx=mae(vx_a, command.vx), tracking_error_vx_cycle=mae(cycle, command.vx),
            tracking_error_vy=mae(vy_a, command.vy), tracking_error_yaw=mae(wz_a, command.vyaw),
            heading_drift=math.remainder(yaw_end - yaw0, 2.0 * math.pi), min_height=min_h)
    finally:
        if own:
            world.close()
