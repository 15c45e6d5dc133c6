"""The PyBullet world: ground, gravity, a fixed 500 Hz step, and the G1 body driven by joint torques.

Only joint torques move the robot. The motor model applies, at every physics step and for every motor,
``tau + kp (q_cmd - q) + kd (dq_cmd - dq)`` clipped to the motor's effort limit, exactly as G1's motor
drivers do with a LowCmd. After spawning, nothing writes the base pose or velocity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pybullet as pb

from robot.g1 import constants as C
from robot.g1.description import URDF_PATH

# Self-collision of the robot's own links: on (skipping each link's ancestors), then narrowed by collision
# filter groups so that only one leg meets the other. Bullet's own groups are the low six bits (dynamic
# bodies 1, static ones such as the ground 2, ...), so the robot's links take bits above them.
_SELF_COLLISION = pb.URDF_USE_SELF_COLLISION | pb.URDF_USE_SELF_COLLISION_EXCLUDE_ALL_PARENTS
_WORLD, _LEFT_LEG, _RIGHT_LEG, _BODY = 0x3F, 0x40, 0x80, 0x100

GRAVITY = 9.81
MOTOR_TEMPERATURE = 40
"""What the simulated motors report as their temperature, deg C (the sim has no thermal model)."""
_NO_JOINT_ACC = (0.0,) * len(C.ACTIVE_SLOTS)


@dataclass(frozen=True)
class WorldConfig:
    """How the simulated world is built."""

    dt: float = 0.002
    """Physics step in seconds (500 Hz, the rate of G1's low-level loop)."""
    gui: bool = False
    """Open PyBullet's window (needs a display); headless DIRECT otherwise."""
    seed: int = 0
    """Seed of the world's random generator (scenes, pushes, noise)."""
    solver_iterations: int = 50
    """Constraint solver iterations per step; cost grows about linearly (notes.md)."""
    ground_friction: float = 1.0
    """lateralFriction of the ground. PyBullet multiplies it with the sole's."""
    foot_friction: float = 0.9
    """lateralFriction of the soles: with the ground's 1.0, mu = 0.9, rubber on a hard floor."""
    spawn_xy: tuple[float, float] = (0.0, 0.0)
    spawn_yaw: float = 0.0
    spawn_height: float = C.SPAWN_HEIGHT
    urdf: Path = URDF_PATH
    leg_self_collision: bool = True
    """The legs collide with each other (thigh, shin and sole against the other leg's), as real legs do,
    so a step that crosses the other leg has to go around it. No other pair of the robot's own links
    collides (PyBullet's default leaves out all self-collision)."""


class Robot:
    """The G1 body in a PyBullet client: joints by name, a motor model, and its measured state.

    State arrays use G1's 35 motor slots. `pre_step` applies the motor torques for the coming physics
    step; `read` reads the state the step produced (one read per step, shared by all users).
    Commands live in `cmd_array` (rows q, dq, tau, kp, kd; `cmd_q` ... are its rows) and `cmd_mode`;
    the measured joint state in `state_array` (rows q, dq, ddq, tau; `q` ... are its rows); the base in
    `base_pos` and `base_quat`. Write them in place, never rebind them. `read` refills the measured
    arrays in place every step: copy what you keep (a LowState holds copies).
    """

    def __init__(self, client: int, cfg: WorldConfig) -> None:
        self.client = client
        c = math.cos(cfg.spawn_yaw / 2.0)
        s = math.sin(cfg.spawn_yaw / 2.0)
        self.id = pb.loadURDF(
            str(cfg.urdf), [cfg.spawn_xy[0], cfg.spawn_xy[1], cfg.spawn_height], [0.0, 0.0, s, c],
            flags=pb.URDF_USE_INERTIA_FROM_FILE | (_SELF_COLLISION if cfg.leg_self_collision else 0),
            physicsClientId=client)
        self.link_index: dict[str, int] = {pb.getBodyInfo(self.id, physicsClientId=client)[0].decode(): -1}
        joint_index: dict[str, int] = {}
        for i in range(pb.getNumJoints(self.id, physicsClientId=client)):
            info = pb.getJointInfo(self.id, i, physicsClientId=client)
            joint_index[info[1].decode()] = i
            self.link_index[info[12].decode()] = i
        missing = [j.name for j in C.JOINTS if j.name not in joint_index]
        if missing:
            raise RuntimeError(f"{cfg.urdf} lacks joints {missing}")
        self.joint_index = joint_index
        self.slots = C.ACTIVE_SLOTS
        self.pb_joints = [joint_index[j.name] for j in C.JOINTS]
        if cfg.leg_self_collision:
            # Self-collision is on for the whole body once loaded so; the filter groups keep only leg
            # against leg (and every link against the world, as before).
            legs = {side: {i for n, i in self.link_index.items()
                           if n.startswith(side) and any(k in n for k in ("hip", "knee", "ankle"))}
                    for side in ("left_", "right_")}
            for link in self.link_index.values():
                if link in legs["left_"]:
                    group, mask = _LEFT_LEG, _WORLD | _RIGHT_LEG
                elif link in legs["right_"]:
                    group, mask = _RIGHT_LEG, _WORLD | _LEFT_LEG
                else:
                    group, mask = _BODY, _WORLD
                pb.setCollisionFilterGroupMask(self.id, link, group, mask, physicsClientId=client)
        for link in range(-1, pb.getNumJoints(self.id, physicsClientId=client)):
            friction = cfg.foot_friction if link in (self.link_index["left_ankle_roll_link"],
                                                      self.link_index["right_ankle_roll_link"]) else 0.6
            pb.changeDynamics(self.id, link, lateralFriction=friction, linearDamping=0.0, angularDamping=0.0,
                              jointDamping=0.0, physicsClientId=client)
        # Free the joints from PyBullet's default velocity motors so only our torques act.
        pb.setJointMotorControlArray(self.id, self.pb_joints, pb.VELOCITY_CONTROL,
                                     forces=[0.0] * len(self.pb_joints), physicsClientId=client)
        # Base pose: PyBullet reports the inertial frame; keep its offset to give the URDF pelvis frame.
        dyn = pb.getDynamicsInfo(self.id, -1, physicsClientId=client)
        self._inertial_pos, self._inertial_orn = dyn[3], dyn[4]
        self._inv_inertial = pb.invertTransform(self._inertial_pos, self._inertial_orn)
        # Effort limits over all 35 slots (zero on the empty ones), so the motor model runs on whole
        # arrays: numpy fancy indexing costs ~1 us a call here, a third of a 23-joint PD. Row 0 is the upper
        # torque limit, row 1 the lower one, so one multiply by "motor enabled" gives both.
        self._effort = np.stack([C.EFFORT_LIMIT, -C.EFFORT_LIMIT])
        self._limit = np.zeros((2, C.NUM_MOTOR))
        self._limit_hi, self._limit_lo = self._limit
        self._enabled = np.zeros(C.NUM_MOTOR, dtype=bool)
        self._limit_modes: bytes | None = None  # the cmd_mode bytes the limits were computed for
        self._err = np.zeros((2, C.NUM_MOTOR))
        self._err_q, self._err_dq = self._err
        # Motor commands, 35 slots (what the drivers hold). The float fields are rows of one array so the
        # PD runs on q and dq together; write them in place (`robot.cmd_q[:] = ...`). `cmd_mode` is row 0 of
        # `mode_temperature`, whose row 1 is the motors' temperature (a constant 40 C here): a LowState
        # copies both with one call.
        self.mode_temperature = np.zeros((2, C.NUM_MOTOR), dtype=np.int64)
        self.cmd_mode, self.motor_temperature = self.mode_temperature
        self.motor_temperature[self.slots] = MOTOR_TEMPERATURE
        self.cmd_array = np.zeros((5, C.NUM_MOTOR))
        self.cmd_q, self.cmd_dq, self.cmd_tau, self.cmd_kp, self.cmd_kd = self.cmd_array
        self._cmd_qdq, self._cmd_gains = self.cmd_array[0:2], self.cmd_array[3:5]
        # Measured state, 35 slots: q, dq, ddq and the applied torque are the rows of `state_array`, so the PD
        # reads q and dq together and a LowState copies all four at once. The base position and quaternion
        # (w, x, y, z) follow them in the same buffer, so `read` fills all it measures (the 23 joints' q, dq
        # and ddq, then the base's 7 numbers) with one fancy assignment from a Python list: numpy costs ~1 us
        # a call warm, several after a physics step has cooled the caches.
        n = C.NUM_MOTOR
        self._measured = np.zeros(4 * n + 7)
        self.state_array = self._measured[:4 * n].reshape(4, n)
        self._qdq = self.state_array[0:2]
        self.q, self.dq, self.ddq, self.tau = self.state_array
        self.base_pos, self.base_quat = self._measured[4 * n:4 * n + 3], self._measured[4 * n + 3:]
        self.base_quat[0] = 1.0
        self._measured_index = np.concatenate([np.asarray(self.slots) + row * n for row in range(3)]
                                              + [np.arange(4 * n, 4 * n + 7)])
        self._vel: tuple[float, ...] = (0.0,) * len(self.slots)  # the previous step's joint velocities
        self._lin = self._ang = self._acc = (0.0, 0.0, 0.0)
        self.motion: tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]] = (
            (1.0, 0.0, 0.0, 0.0), self._ang, self._acc)
        """The pelvis's quaternion (w, x, y, z), world angular velocity and world linear acceleration after
        the latest step: new tuples each step, never changed, so a reader may keep them (`imu_reading`)."""
        self._dt = cfg.dt

    def set_pose(self, q: np.ndarray) -> None:
        """Set joint angles at spawn (before the first step); the base is left to the physics."""
        for slot, j in zip(self.slots, self.pb_joints):
            pb.resetJointState(self.id, j, float(q[slot]), 0.0, physicsClientId=self.client)
        self.read(first=True)

    def pre_step(self) -> None:
        """Apply the motor model's torques for the coming step: tau + kp e_q + kd e_dq, clipped.

        Runs at 500 Hz, where numpy's ~1 us per call dominates 35-element maths: in-place ops on whole
        35-slot arrays (the empty slots have a zero effort limit, so they clip to zero), no fancy
        indexing until the final gather. `humanoid bench sim` times it (`motor_model_us`).
        """
        tau = self.tau
        err = self._err
        np.subtract(self._cmd_qdq, self._qdq, out=err)  # q_cmd - q, dq_cmd - dq
        np.multiply(err, self._cmd_gains, out=err)  # kp e_q, kd e_dq
        np.add(self.cmd_tau, self._err_q, out=tau)
        np.add(tau, self._err_dq, out=tau)
        # A disabled motor (mode 0) gives no torque: its limits are zero. Rows: +limit, -limit. They change
        # only with the modes, which seldom change: comparing bytes is cheaper than two ufunc calls.
        modes = self.cmd_mode.tobytes()
        if modes != self._limit_modes:
            np.not_equal(self.cmd_mode, 0, out=self._enabled)
            np.multiply(self._effort, self._enabled, out=self._limit)
            self._limit_modes = modes
        np.minimum(tau, self._limit_hi, out=tau)
        np.maximum(tau, self._limit_lo, out=tau)
        pb.setJointMotorControlArray(self.id, self.pb_joints, pb.TORQUE_CONTROL,
                                     forces=tau[self.slots].tolist(), physicsClientId=self.client)

    def read(self, first: bool = False) -> None:
        """Read joint and base state after a physics step.

        Most of its cost is the three PyBullet calls. Around them it works on the Python floats PyBullet
        returns and touches numpy once (one fancy assignment for joints and base): each numpy call on a
        small array costs ~1 us, more than the arithmetic it would do.
        """
        c = self.client
        # PyBullet first, then the arithmetic: stepSimulation leaves the caches cold, and each switch
        # between PyBullet and numpy code costs more than the call itself (measured: a first numpy call
        # after a step ~9 us, the next ones ~1 us).
        joints = pb.getJointStates(self.id, self.pb_joints, physicsClientId=c)
        com, com_orn = pb.getBasePositionAndOrientation(self.id, physicsClientId=c)
        lin, ang = pb.getBaseVelocity(self.id, physicsClientId=c)
        pos, orn = pb.multiplyTransforms(com, com_orn, *self._inv_inertial)
        # PyBullet's base velocity is the inertial frame's; move it to the pelvis origin: v + w x r
        # (written out: np.cross costs ~50 us a call on this numpy).
        rx, ry, rz = pos[0] - com[0], pos[1] - com[1], pos[2] - com[2]
        wx, wy, wz = ang
        v = (lin[0] + (wy * rz - wz * ry), lin[1] + (wz * rx - wx * rz), lin[2] + (wx * ry - wy * rx))
        q, dq, _, _ = zip(*joints)
        if first:
            ddq = _NO_JOINT_ACC
            self._acc = (0.0, 0.0, 0.0)
        else:
            dt = self._dt
            ddq = [(a - b) / dt for a, b in zip(dq, self._vel)]  # self._vel: the previous step's
            p = self._lin
            self._acc = ((v[0] - p[0]) / dt, (v[1] - p[1]) / dt, (v[2] - p[2]) / dt)
        self._vel = dq
        self._lin = v
        self._ang = ang
        quat = (orn[3], orn[0], orn[1], orn[2])
        self.motion = (quat, ang, self._acc)
        self._measured[self._measured_index] = [*q, *dq, *ddq, *pos, *quat]

    # Base velocities as arrays on demand: most steps only the LowState (built from the floats) needs them.
    @property
    def base_lin_vel(self) -> np.ndarray:
        """Pelvis-origin linear velocity, world frame (a new array)."""
        return np.array(self._lin)

    @property
    def base_ang_vel(self) -> np.ndarray:
        """Angular velocity, world frame (a new array)."""
        return np.array(self._ang)

    @property
    def base_lin_acc(self) -> np.ndarray:
        """Pelvis-origin linear acceleration over the last step, world frame (a new array)."""
        return np.array(self._acc)

    def imu(self) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
        """The pelvis IMU's quaternion (w, x, y, z), gyroscope (rad/s) and accelerometer (m/s^2), body frame.

        The accelerometer measures specific force, acceleration minus gravity, at the pelvis origin.
        """
        return imu_reading(*self.motion)

    def rotation(self) -> np.ndarray:
        """World-from-pelvis rotation matrix."""
        w, x, y, z = self.base_quat.tolist()
        return np.array(pb.getMatrixFromQuaternion((x, y, z, w))).reshape(3, 3)

    def link_pose(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Position and quaternion (w, x, y, z) of a link's URDF frame (ground truth)."""
        i = self.link_index[name]
        if i == -1:
            return self.base_pos.copy(), self.base_quat.copy()
        st = pb.getLinkState(self.id, i, computeForwardKinematics=True, physicsClientId=self.client)
        x, y, z, w = st[5]
        return np.asarray(st[4]), np.array([w, x, y, z])

    def center_of_mass(self) -> np.ndarray:
        """Whole-body centre of mass in the world frame (ground truth)."""
        c = self.client
        pos, orn = pb.getBasePositionAndOrientation(self.id, physicsClientId=c)
        total = pb.getDynamicsInfo(self.id, -1, physicsClientId=c)[0]
        acc = total * np.asarray(pos)
        for i in range(pb.getNumJoints(self.id, physicsClientId=c)):
            m = pb.getDynamicsInfo(self.id, i, physicsClientId=c)[0]
            acc += m * np.asarray(pb.getLinkState(self.id, i, physicsClientId=c)[0])
            total += m
        return acc / total

    def total_mass(self) -> float:
        c = self.client
        return sum(pb.getDynamicsInfo(self.id, i, physicsClientId=c)[0]
                   for i in range(-1, pb.getNumJoints(self.id, physicsClientId=c)))


def imu_reading(quat: tuple[float, ...], ang_vel: tuple[float, ...], lin_acc: tuple[float, ...],
                ) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
    """What the pelvis IMU reads from the pelvis's motion (`Robot.motion`): quaternion (w, x, y, z),
    gyroscope (rad/s) and accelerometer (specific force, m/s^2), both in the pelvis frame.

    Plain floats: numpy's ~1 us per call would dominate 3-vector maths.
    """
    w, x, y, z = quat
    # The world-from-pelvis rotation R (as Bullet builds it, dividing by |q|^2); body = R^T world.
    s = 2.0 / (w * w + x * x + y * y + z * z)
    r00, r01, r02 = 1.0 - s * (y * y + z * z), s * (x * y - w * z), s * (x * z + w * y)
    r10, r11, r12 = s * (x * y + w * z), 1.0 - s * (x * x + z * z), s * (y * z - w * x)
    r20, r21, r22 = s * (x * z - w * y), s * (y * z + w * x), 1.0 - s * (x * x + y * y)
    gx, gy, gz = ang_vel
    ax, ay, az = lin_acc
    az += GRAVITY
    gyro = (r00 * gx + r10 * gy + r20 * gz, r01 * gx + r11 * gy + r21 * gz, r02 * gx + r12 * gy + r22 * gz)
    accel = (r00 * ax + r10 * ay + r20 * az, r01 * ax + r11 * ay + r21 * az, r02 * ax + r12 * ay + r22 * az)
    return quat, gyro, accel


class World:
    """A PyBullet client with the ground and one G1, stepped at a fixed dt.

    Deterministic for a seed: the same commands give the same trajectory, bit for bit.
    """

    def __init__(self, cfg: WorldConfig = WorldConfig()) -> None:
        self.cfg = cfg
        self.dt = cfg.dt
        self.rng = np.random.default_rng(cfg.seed)
        if cfg.gui:
            self.client = pb.connect(pb.GUI)
            if self.client < 0:
                raise RuntimeError("could not open PyBullet's window: no display here (drop --gui)")
            pb.configureDebugVisualizer(pb.COV_ENABLE_GUI, 0, physicsClientId=self.client)
        else:
            self.client = pb.connect(pb.DIRECT)
        c = self.client
        pb.resetSimulation(physicsClientId=c)
        pb.setGravity(0.0, 0.0, -GRAVITY, physicsClientId=c)
        pb.setTimeStep(cfg.dt, physicsClientId=c)
        pb.setPhysicsEngineParameter(numSolverIterations=cfg.solver_iterations, deterministicOverlappingPairs=1,
                                     physicsClientId=c)
        self.ground = self._make_ground()
        self.robot = Robot(c, cfg)
        self.robot.set_pose(C.DEFAULT_Q)
        self.step_count = 0
        self.bodies: dict[str, int] = {}
        self._pre_step_hooks: list = []

    def _make_ground(self) -> int:
        c = self.client
        shape = pb.createCollisionShape(pb.GEOM_BOX, halfExtents=[50.0, 50.0, 0.05], physicsClientId=c)
        visual = pb.createVisualShape(pb.GEOM_BOX, halfExtents=[50.0, 50.0, 0.05],
                                      rgbaColor=[0.78, 0.76, 0.72, 1.0], physicsClientId=c)
        ground = pb.createMultiBody(0.0, shape, visual, [0.0, 0.0, -0.05], physicsClientId=c)
        pb.changeDynamics(ground, -1, lateralFriction=self.cfg.ground_friction, physicsClientId=c)
        return ground

    @property
    def time(self) -> float:
        """Simulated seconds since the world was built."""
        return self.step_count * self.dt

    def add_pre_step_hook(self, fn) -> None:  # noqa: ANN001 - a callable(world) run before each step
        """Run `fn(world)` before every physics step (external forces such as pushes)."""
        self._pre_step_hooks.append(fn)

    def remove_pre_step_hook(self, fn) -> None:  # noqa: ANN001
        self._pre_step_hooks.remove(fn)

    def step(self) -> None:
        """One physics step: motor torques in, state out."""
        for fn in self._pre_step_hooks:
            fn(self)
        self.robot.pre_step()
        pb.stepSimulation(physicsClientId=self.client)
        self.step_count += 1
        self.robot.read()

    def apply_impulse(self, impulse: tuple[float, float, float], duration: float = 0.1,
                      link: str = "pelvis") -> None:
        """Push a link with a constant force of impulse / duration over the next `duration` seconds."""
        force = [v / duration for v in impulse]
        steps = max(1, round(duration / self.dt))
        remaining = [steps]
        index = self.robot.link_index[link]

        def push(world: World) -> None:
            pos = world.robot.link_pose(link)[0] if index != -1 else world.robot.base_pos
            pb.applyExternalForce(world.robot.id, index, force, pos.tolist(), pb.WORLD_FRAME,
                                  physicsClientId=world.client)
            remaining[0] -= 1
            if remaining[0] <= 0:
                world.remove_pre_step_hook(push)

        self.add_pre_step_hook(push)

    def close(self) -> None:
        if self.client is not None and pb.isConnected(self.client):
            pb.disconnect(self.client)
        self.client = None  # type: ignore[assignment]

    def __enter__(self) -> World:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
