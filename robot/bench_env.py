"""`humanoid bench env`: what `openhumanoid/Walk-v0` costs over the physics it runs.

robot/ may not import envs/ (ARCHITECTURE.md), so the environment class reaches this benchmark through
`WALK_ENV`, which the face (robot/cli.py) fills with a loader that imports envs/ only when it runs.
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Callable

from robot.argtypes import positive_int
from robot.bench import Result, bench

WALK_ENV: Callable[[], tuple[type, int]] | None = None
"""Returns (the Walk-v0 env class, physics steps per env step); set by robot/cli.py."""


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--steps", type=positive_int, default=1500, help="env steps to time (50 Hz; 10 physics steps each)")
    p.add_argument("--block", type=positive_int, default=3,
                   help="env steps per timed block; env and raw blocks alternate from one saved standing "
                        "state. Short, because raw physics has no motor torques and the robot sags")
    p.add_argument("--seed", type=int, default=0, help="reset seed")


@bench("env", "Walk-v0 env steps per second next to raw physics on the same world", _arguments)
def bench_env(args: argparse.Namespace) -> Result:
    """Walk-v0 steps against bare `stepSimulation` on the env's own world, from the same state.

    The robot stands 1 s under zero actions (the PD holding the default pose); that state is saved.
    Then short blocks alternate (order rotated), each from the saved state:
    - env: `env.step(zeros)`: LowCmd write, 10 x (motor model, physics, state read), LowState,
      observation, 15 reward terms, termination;
    - raw: `stepSimulation` 10 times per env step (`raw_steps_per_s` counts these physics steps);
    - stack: what a 50 Hz deployment loop does without the env: LowCmd write, 10 x `World.step`,
      LowState read (the robot's own 500 Hz motor model and state read are in here).
    `overhead_ratio` = env wall time per physics step / raw wall time per physics step - 1;
    `env_layer_ratio` = env / stack - 1, what the environment itself adds; `cpu_*` the same in thread CPU
    time (steadier when other processes share the cores). Restoring the state is not timed.
    """
    import numpy as np
    import pybullet as pb

    if WALK_ENV is None:
        raise ValueError("bench env needs the Walk-v0 environment: run it through `humanoid bench env`")
    WalkEnv, DECIMATION = WALK_ENV()

    env = WalkEnv(obs_noise=True)
    try:
        t0 = time.perf_counter()
        env.reset(seed=args.seed)
        resets = 5
        for _ in range(resets):
            env.reset()
        reset_ms = (time.perf_counter() - t0) / (resets + 1) * 1e3
        env.reset(seed=args.seed)
        zeros = np.zeros(env.action_space.shape, dtype=np.float32)
        for _ in range(50):
            env.step(zeros)
        world = env.world
        assert world is not None
        c = world.client
        saved = pb.saveState(physicsClientId=c)
        perf, cpu = time.perf_counter, time.thread_time
        step_sim = pb.stepSimulation
        n = args.block
        blocks = max(2, math.ceil(args.steps / n))
        wall = [0.0, 0.0, 0.0]  # env, raw, stack
        cpu_s = [0.0, 0.0, 0.0]
        bridge, cmd, world_step = env._bridge, env._cmd, world.step  # noqa: SLF001 - the env's own loop parts
        assert bridge is not None
        for k in range(blocks):
            for arm in ((0, 1, 2), (2, 1, 0), (1, 2, 0), (0, 2, 1))[k % 4]:  # rotate the order: no bias
                pb.restoreState(saved, physicsClientId=c)
                world.robot.read(first=True)
                c0, t0 = cpu(), perf()
                if arm == 0:
                    for _ in range(n):
                        env.step(zeros)
                elif arm == 1:
                    for _ in range(n * DECIMATION):
                        step_sim(physicsClientId=c)
                else:
                    for _ in range(n):
                        bridge.write(cmd)
                        for _ in range(DECIMATION):
                            world_step()
                        bridge.read()
                wall[arm] += perf() - t0
                cpu_s[arm] += cpu() - c0
        pb.removeState(saved, physicsClientId=c)
    finally:
        env.close()
    steps = blocks * n
    physics = steps * DECIMATION
    env_t, raw_t, stack_t = wall
    return {
        "env_steps_per_s": steps / env_t,
        "raw_steps_per_s": physics / raw_t,
        "env_physics_steps_per_s": physics / env_t,
        "stack_physics_steps_per_s": physics / stack_t,
        "overhead_ratio": env_t / raw_t - 1.0,
        "env_layer_ratio": env_t / stack_t - 1.0,
        "cpu_overhead_ratio": cpu_s[0] / cpu_s[1] - 1.0,
        "cpu_env_layer_ratio": cpu_s[0] / cpu_s[2] - 1.0,
        "env_step_us": env_t / steps * 1e6,
        "stack_us_per_env_step": stack_t / steps * 1e6,
        "raw_us_per_env_step": raw_t / steps * 1e6,
        "realtime_factor": steps / env_t * env.dt,
        "reset_ms": reset_ms,
        "steps": steps,
        "decimation": DECIMATION,
    }


__all__ = ["bench_env"]
