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

GRAVITY = 9.81


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


class Robot:
    """The G1 body in a PyBullet client: joints by name, a motor model, and its measured state.

    State arrays use G1's 35 motor slots. `pre_step` applies the motor torques for the coming physics
    step; `read` reads the state the step produced (one read per step, shared by all users).
    Commands live in `cmd_array` (rows q, dq, tau, kp, kd; `cmd_q` ... are its rows) and `cmd_mode`;
    the measured joint state in `state_array` (rows q, dq, ddq, tau; `q` ... are its rows). Write them
    in place, never rebind them.
    """

    def __init__(self, client: int, cfg: WorldConfig) -> None:
        self.client = client
        c = math.cos(cfg.spawn_yaw / 2.0)
        s = math.sin(cfg.spawn_yaw / 2.0)
        self.id = pb.loadURDF(
            str(cfg.urdf), [cfg.spawn_xy[0], cfg.spawn_xy[1], cfg.spawn_height], [0.0, 0.0, s, c],
            flags=pb.URDF_USE_INERTIA_FROM_FILE, physicsClientId=client)
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
        # arrays: numpy fancy indexing costs ~1 us a call here, a third of a 23-joint PD.
        self._effort = C.EFFORT_LIMIT.copy()
        self._limit = np.zeros(C.NUM_MOTOR)
        self._err = np.zeros((2, C.NUM_MOTOR))
        self._js = np.zeros((3, len(self.slots)))  # q, dq, ddq of the 23 joints, as PyBullet orders them
        # Motor commands, 35 slots (what the drivers hold). The float fields are rows of one array so the
        # PD runs on q and dq together; write them in place (`robot.cmd_q[:] = ...`).
        self.cmd_mode = np.zeros(C.NUM_MOTOR, dtype=np.int64)
        self.cmd_array = np.zeros((5, C.NUM_MOTOR))
        self.cmd_q, self.cmd_dq, self.cmd_tau, self.cmd_kp, self.cmd_kd = self.cmd_array
        # Measured state, 35 slots: q, dq, ddq and the applied torque are the rows of `state_array`, so the PD
        # reads q and dq together and a LowState copies all four at once.
        self.state_array = np.zeros((4, C.NUM_MOTOR))
        self._qdq = self.state_array[0:2]
        self.q, self.dq, self.ddq, self.tau = self.state_array
        self.base_pos = np.zeros(3)
        self.base_quat = np.array([1.0, 0.0, 0.0, 0.0])  # w, x, y, z
        self._lin = self._ang = self._acc = (0.0, 0.0, 0.0)
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
        cmd = self.cmd_array
        err = self._err
        tau = self.tau
        lim = self._limit
        np.subtract(cmd[0:2], self._qdq, out=err)  # q_cmd - q, dq_cmd - dq
        np.multiply(err, cmd[3:5], out=err)  # kp e_q, kd e_dq
        np.add(cmd[2], err[0], out=tau)
        np.add(tau, err[1], out=tau)
        # A disabled motor (mode 0) gives no torque: its limit is zero.
        np.multiply(self._effort, self.cmd_mode != 0, out=lim)
        np.minimum(tau, lim, out=tau)
        np.negative(lim, out=lim)
        np.maximum(tau, lim, out=tau)
        pb.setJointMotorControlArray(self.id, self.pb_joints, pb.TORQUE_CONTROL,
                                     forces=tau[self.slots].tolist(), physicsClientId=self.client)

    def read(self, first: bool = False) -> None:
        """Read joint and base state after a physics step.

        Most of its cost is the three PyBullet calls; the rest avoids small numpy calls (each ~1 us).
        """
        c = self.client
        pos, vel, _, _ = zip(*pb.getJointStates(self.id, self.pb_joints, physicsClientId=c))
        js = self._js
        if first:
            js[2] = 0.0
        else:  # js[1] still holds the previous step's velocities
            np.subtract(vel, js[1], out=js[2])
            np.divide(js[2], self._dt, out=js[2])
        js[0] = pos
        js[1] = vel
        self.state_array[0:3, self.slots] = js
        com, com_orn = pb.getBasePositionAndOrientation(self.id, physicsClientId=c)
        pos, orn = pb.multiplyTransforms(com, com_orn, *self._inv_inertial)
        lin, ang = pb.getBaseVelocity(self.id, physicsClientId=c)
        # PyBullet's base velocity is the inertial frame's; move it to the pelvis origin: v + w x r
        # (written out: np.cross costs ~50 us a call on this numpy).
        rx, ry, rz = pos[0] - com[0], pos[1] - com[1], pos[2] - com[2]
        wx, wy, wz = ang
        v = (lin[0] + (wy * rz - wz * ry), lin[1] + (wz * rx - wx * rz), lin[2] + (wx * ry - wy * rx))
        if first:
            self._acc = (0.0, 0.0, 0.0)
        else:
            p, dt = self._lin, self._dt  # still the previous step's
            self._acc = ((v[0] - p[0]) / dt, (v[1] - p[1]) / dt, (v[2] - p[2]) / dt)
        self._lin = v
        self._ang = ang
        self._quat = (orn[3], orn[0], orn[1], orn[2])
        self.base_pos[:] = pos
        self.base_quat[:] = self._quat

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
        Plain floats: the LowState is built from them every 2 ms, and numpy's per-call cost would
        dominate 3-vector maths.
        """
        w, x, y, z = self._quat
        # The world-from-pelvis rotation R (as Bullet builds it, dividing by |q|^2); body = R^T world.
        s = 2.0 / (w * w + x * x + y * y + z * z)
        r00, r01, r02 = 1.0 - s * (y * y + z * z), s * (x * y - w * z), s * (x * z + w * y)
        r10, r11, r12 = s * (x * y + w * z), 1.0 - s * (x * x + z * z), s * (y * z - w * x)
        r20, r21, r22 = s * (x * z - w * y), s * (y * z + w * x), 1.0 - s * (x * x + y * y)
        gx, gy, gz = self._ang
        ax, ay, az = self._acc
        az += GRAVITY
        gyro = (r00 * gx + r10 * gy + r20 * gz, r01 * gx + r11 * gy + r21 * gz, r02 * gx + r12 * gy + r22 * gz)
        accel = (r00 * ax + r10 * ay + r20 * az, r01 * ax + r11 * ay + r21 * az, r02 * ax + r12 * ay + r22 * az)
        return self._quat, gyro, accel

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
