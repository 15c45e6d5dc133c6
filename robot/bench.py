"""`humanoid bench ...`: one function per benchmark, each returning a flat dict of measured numbers.

A benchmark registers itself with `@bench(name, help)` and declares its options in `add_arguments`; the
command line prints the dict as a table and, with `--json`, as one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from typing import Any, Callable

from robot.argtypes import non_negative_int, positive_float, positive_int

Result = dict[str, Any]


@dataclass(frozen=True)
class Bench:
    """One `humanoid bench NAME`: its help line, its options and the function that runs it."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], Result]


BENCHES: dict[str, Bench] = {}

BENCH_MODULES: tuple[str, ...] = ("robot.bench_walk", "robot.bench_skills", "robot.bench_env")
"""Modules that register more benchmarks when imported (a stub below stands in while one is absent)."""


def bench(name: str, help: str, add_arguments: Callable[[argparse.ArgumentParser], None] = lambda p: None,
          ) -> Callable[[Callable[[argparse.Namespace], Result]], Callable[[argparse.Namespace], Result]]:
    """Register `fn(args) -> dict` as `humanoid bench NAME`."""

    def deco(fn: Callable[[argparse.Namespace], Result]) -> Callable[[argparse.Namespace], Result]:
        BENCHES[name] = Bench(name, help, add_arguments, fn)
        return fn

    return deco


def load_benches() -> dict[str, Bench]:
    """All benchmarks: this module's and those of `BENCH_MODULES` that exist."""
    import importlib
    import importlib.util

    for name in BENCH_MODULES:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
    return BENCHES


def format_table(result: Result) -> str:
    """Two columns, key and value, floats to 4 significant digits."""
    width = max((len(k) for k in result), default=0)
    lines = []
    for k, v in result.items():
        if isinstance(v, float):
            v = f"{v:.4g}"
        lines.append(f"{k:<{width}}  {v}")
    return "\n".join(lines)


# --- bench sim ---------------------------------------------------------------------------------------
def _sim_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seconds", type=positive_float, default=10.0,
                   help="simulated seconds to time for each of raw physics and the stack")
    p.add_argument("--block", type=positive_int, default=25,
                   help="physics steps per timed block; raw and stack blocks alternate from one saved "
                        "standing state. Short, because without motor torques the robot sags")
    p.add_argument("--camera-frames", type=non_negative_int, default=20,
                   help="head-camera frames to time")
    p.add_argument("--seed", type=int, default=0, help="world seed")


@bench("sim", "physics speed: raw stepSimulation vs. the LowCmd/PD layer, and the head camera",
       _sim_arguments)
def bench_sim(args: argparse.Namespace) -> Result:
    """Raw stepSimulation against the LowCmd/LowState stack on the same world, from the same state.

    The robot first stands 1 s under the standing controller; that state is saved. Then short blocks
    alternate, each starting from the saved state: a raw block calls only `stepSimulation`; a stack
    block does, per step, what a 500 Hz controller loop does around physics: `bridge.write(LowCmd)`
    (validation, motor command), `bridge.step()` (motor model, physics, state read) and
    `bridge.read()` (a new LowState with IMU). The standing controller is timed apart. Restoring the
    state is not timed; it costs the first step after it nothing measurable (checked per step).
    `overhead_ratio` = stack wall time per step / raw wall time per step - 1; `cpu_overhead_ratio` is the
    same in thread CPU time; `io_floor_ratio` is the same for a third kind of block that makes only the
    PyBullet calls such a loop needs (set torques, step, read joints, base pose and velocity). The `*_us`
    breakdown times each part of a stack step on its own.
    """
    import pybullet as pb

    from robot.control.base import LocoCommand
    from robot.control.stand import StandController
    from robot.runs import odometry
    from robot.sdk.bridge import LowLevelBridge
    from robot.sim.camera import FollowCamera, HeadCamera
    from robot.sim.world import World, WorldConfig

    world = World(WorldConfig(seed=args.seed))
    try:
        c = world.client
        robot = world.robot
        bridge = LowLevelBridge(world)
        ctrl = StandController()
        state = bridge.read()
        odom = odometry(world)
        ctrl.reset(state, odom)
        command = LocoCommand(walking=False)
        for _ in range(round(1.0 / world.dt)):
            bridge.write(ctrl.step(state, odom, command))
            bridge.step()
            state = bridge.read()
        cmd = ctrl.step(state, odom, command).copy()
        bridge.write(cmd)
        saved = pb.saveState(physicsClientId=c)
        z0 = float(robot.base_pos[2])

        step_sim = pb.stepSimulation
        perf, cpu = time.perf_counter, time.thread_time
        write, step, read = bridge.write, bridge.step, bridge.read
        n = args.block
        blocks = max(2, math.ceil(args.seconds / world.dt / n))
        raw_t = stack_t = raw_cpu = stack_cpu = floor_t = 0.0
        sag = 0.0
        # The floor: the PyBullet calls any torque loop with state feedback makes (torques in; joint
        # states, base pose and velocity out), with no Python around them.
        rid, joints, torques = robot.id, robot.pb_joints, robot.tau[robot.slots].tolist()
        set_torques, joint_states, torque_mode = pb.setJointMotorControlArray, pb.getJointStates, pb.TORQUE_CONTROL
        base_pose, base_vel = pb.getBasePositionAndOrientation, pb.getBaseVelocity
        for k in range(blocks):
            orders = ((0, 1, 2), (2, 1, 0), (1, 2, 0), (0, 2, 1))[k % 4]  # rotate the order: no bias
            for arm in orders:
                pb.restoreState(saved, physicsClientId=c)
                robot.read(first=True)
                if arm == 2:
                    t0 = perf()
                    for _ in range(n):
                        set_torques(rid, joints, torque_mode, forces=torques, physicsClientId=c)
                        step_sim(physicsClientId=c)
                        joint_states(rid, joints, physicsClientId=c)
                        base_pose(rid, physicsClientId=c)
                        base_vel(rid, physicsClientId=c)
                    floor_t += perf() - t0
                elif arm == 0:
                    c0, t0 = cpu(), perf()
                    for _ in range(n):
                        step_sim(physicsClientId=c)
                    raw_t += perf() - t0
                    raw_cpu += cpu() - c0
                    robot.read(first=True)
                    sag = max(sag, z0 - float(robot.base_pos[2]))
                else:
                    c0, t0 = cpu(), perf()
                    for _ in range(n):
                        write(cmd)
                        step(1)
                        read()
                    stack_t += perf() - t0
                    stack_cpu += cpu() - c0
        steps = blocks * n
        breakdown = _breakdown(world, bridge, cmd, saved, n, blocks)

        # The standing controller, timed on its own.
        pb.restoreState(saved, physicsClientId=c)
        robot.read(first=True)
        state = bridge.read()
        reps = 2000
        t0 = perf()
        for _ in range(reps):
            ctrl.step(state, odom, command)
        ctrl_us = (perf() - t0) / reps * 1e6

        head = HeadCamera(world)
        follow = FollowCamera(world)
        head.capture()  # first render builds the renderer's caches
        t0 = perf()
        for _ in range(args.camera_frames):
            head.capture()
        camera_ms = (perf() - t0) / max(args.camera_frames, 1) * 1e3
        t0 = perf()
        frames = max(args.camera_frames // 4, 1)
        for _ in range(frames):
            follow.capture()
        follow_ms = (perf() - t0) / frames * 1e3
        pb.removeState(saved, physicsClientId=c)
    finally:
        world.close()

    raw = steps / raw_t
    stack = steps / stack_t
    return {
        "raw_steps_per_s": raw,
        "stack_steps_per_s": stack,
        "overhead_ratio": stack_t / raw_t - 1.0,
        "realtime_factor": stack * world.dt,
        # The same ratio in this thread's CPU time: steadier where other processes share the cores.
        "cpu_overhead_ratio": stack_cpu / raw_cpu - 1.0,
        # What the PyBullet calls alone cost over raw physics: no layer over PyBullet can go below it.
        "io_floor_ratio": floor_t / raw_t - 1.0,
        "camera_ms": camera_ms,
        "camera_resolution": f"{head.cfg.width}x{head.cfg.height}",
        "follow_camera_ms": follow_ms,
        "controller_us": ctrl_us,
        "raw_us": raw_t / steps * 1e6,
        "stack_us": stack_t / steps * 1e6,
        **breakdown,
        "raw_sag_mm": sag * 1e3,
        "steps": steps,
        "block_steps": n,
        "dt": world.dt,
    }


def _breakdown(world: Any, bridge: Any, cmd: Any, saved: int, n: int, blocks: int) -> Result:
    """Microseconds per step of each part of a stack step, timed part by part (world.step spelled out)."""
    import pybullet as pb

    perf = time.perf_counter
    robot = world.robot
    c = world.client
    parts = [0.0] * 5
    reps = max(1, blocks // 2)
    for _ in range(reps):
        pb.restoreState(saved, physicsClientId=c)
        robot.read(first=True)
        for _ in range(n):
            t0 = perf()
            bridge.write(cmd)
            t1 = perf()
            robot.pre_step()
            t2 = perf()
            pb.stepSimulation(physicsClientId=c)
            world.step_count += 1
            t3 = perf()
            robot.read()
            t4 = perf()
            bridge.read()
            t5 = perf()
            parts[0] += t1 - t0
            parts[1] += t2 - t1
            parts[2] += t3 - t2
            parts[3] += t4 - t3
            parts[4] += t5 - t4
    total = reps * n
    names = ("lowcmd_write_us", "motor_model_us", "physics_us", "state_read_us", "lowstate_us")
    return {k: v / total * 1e6 for k, v in zip(names, parts)}


# --- bench walk: a stub until robot/bench_walk.py registers the real one ----------------------------------
def _walk_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--episodes", type=positive_int, default=20, help="walking episodes to run")
    p.add_argument("--seed", type=int, default=0, help="seed of the first episode")


@bench("walk", "walking: velocity tracking, falls and push recovery (not implemented yet)", _walk_arguments)
def bench_walk(args: argparse.Namespace) -> Result:
    raise NotImplementedError("bench walk is not implemented yet")
