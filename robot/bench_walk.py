"""`humanoid bench walk`: falls, velocity tracking, top speed, stopping, push recovery and speed of System 1.

Everything runs through the LocoClient exactly as a user's program would (Start, Move, StopMove), on
seeded worlds. Velocity is measured as the pelvis displacement over one stride (two steps) in the
heading frame, so the sway within a step does not count as tracking error.
"""

from __future__ import annotations

import argparse
import math
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from robot.argtypes import non_negative_int, number, positive_int
from robot.bench import Result, bench
from robot.control.plugins import check_controller, make_controller

STRIDE = 0.8  # s over which the velocity is measured (two steps of the walker and more)


def _robot(seed: int, controller: str):  # noqa: ANN202 - (SimRobot, LocoClient)
    from robot.sdk.loco import LocoClient, SimRobot
    from robot.sim.world import World, WorldConfig

    robot = SimRobot(World(WorldConfig(seed=seed)), controller=make_controller(controller))
    client = LocoClient(robot)
    client.StandUp()
    robot.sleep(0.5)
    client.Start()
    robot.sleep(1.0)
    return robot, client


class _Tracker:
    """Stride-averaged body-frame velocity against the command."""

    def __init__(self, robot: Any) -> None:
        self.robot = robot
        self.hist: deque = deque()
        self.err = {"vx": [], "vy": [], "yaw": []}

    def sample(self, settled: bool) -> None:
        r = self.robot
        o = r.odometry()
        t = r.time
        self.hist.append((t, o.position[0], o.position[1], o.yaw))
        while self.hist and t - self.hist[0][0] > STRIDE:
            self.hist.popleft()
        if not settled or t - self.hist[0][0] < STRIDE - 0.01:
            return
        t0, x0, y0, yaw0 = self.hist[0]
        dt = t - t0
        dyaw = math.atan2(math.sin(o.yaw - yaw0), math.cos(o.yaw - yaw0))
        mid = yaw0 + 0.5 * dyaw
        dx, dy = o.position[0] - x0, o.position[1] - y0
        vx = (math.cos(mid) * dx + math.sin(mid) * dy) / dt
        vy = (-math.sin(mid) * dx + math.cos(mid) * dy) / dt
        c = r.command
        self.err["vx"].append(abs(vx - c.vx))
        self.err["vy"].append(abs(vy - c.vy))
        self.err["yaw"].append(abs(dyaw / dt - c.vyaw))


def random_episode(seed: int, seconds: float, controller: str) -> dict[str, Any]:
    """30 s of random commands within the limits, a new one every 2-5 s; falls and tracking errors."""
    rng = np.random.default_rng(seed)
    robot, client = _robot(seed, controller)
    lim = robot.limits
    tracker = _Tracker(robot)
    t_end = robot.time + seconds
    fell = False
    while robot.time < t_end - 1e-9 and not fell:
        # A quarter of the commands are pure: one axis only, to cover straight walking and turning.
        kind = rng.integers(4)
        vx = float(rng.uniform(lim.vx_min, 0.6)) if kind in (0, 3) else 0.0
        vy = float(rng.uniform(-0.2, 0.2)) if kind in (1, 3) else 0.0
        vyaw = float(rng.uniform(-0.6, 0.6)) if kind in (2, 3) else 0.0
        client.Move(vx, vy, vyaw, continous_move=True)
        hold = float(rng.uniform(2.0, 5.0))
        t_cmd = robot.time
        while robot.time < min(t_end, t_cmd + hold) and not fell:
            robot.step()
            if robot.world.step_count % 10 == 0:
                tracker.sample(settled=robot.time - t_cmd > 1.0)
            fell = robot.fallen
    robot.close()
    return {"fell": fell, **{k: (float(np.mean(v)) if v else float("nan")) for k, v in tracker.err.items()}}


def fixed_command(seed: int, vx: float, vy: float, vyaw: float, seconds: float, controller: str) -> dict:
    """Walk one constant command; the mean stride velocity after 2 s and whether it fell."""
    robot, client = _robot(seed, controller)
    client.Move(vx, vy, vyaw, continous_move=True)
    tracker = _Tracker(robot)
    t0 = robot.time
    while robot.time < t0 + seconds and not robot.fallen:
        robot.step()
        if robot.world.step_count % 10 == 0:
            tracker.sample(settled=robot.time - t0 > 2.0)
    fell = robot.fallen
    robot.close()
    return {"fell": fell, **{k: (float(np.mean(v)) if v else float("nan")) for k, v in tracker.err.items()}}


def stop_steps(seed: int, controller: str) -> int:
    """Steps taken after StopMove (from 0.3 m/s) until the walker stands still."""
    robot, client = _robot(seed, controller)
    client.Move(0.3, 0.0, 0.0, continous_move=True)
    robot.sleep(4.0)
    ctl = robot.controller
    if not hasattr(ctl, "steps_taken"):
        robot.close()
        return -1
    before = ctl.steps_taken
    client.StopMove()
    t0 = robot.time
    while robot.time < t0 + 5.0 and getattr(ctl, "stepping", False):
        robot.step()
    n = ctl.steps_taken - before if not robot.fallen else 99
    robot.close()
    return n


def push_survived(seed: int, impulse: float, direction: tuple[float, float], walking: bool,
                  controller: str, after: float | None = None) -> bool:
    """A 0.1 s push of `impulse` N s on the pelvis, `after` seconds after Start (standing; default 0.5)
    or after the walk command (walking at 0.3 m/s; default 2.0); survived if not fallen 4 s later."""
    robot, client = _robot(seed, controller)
    if walking:
        client.Move(0.3, 0.0, 0.0, continous_move=True)
    robot.sleep((2.0 if walking else 0.5) if after is None else after)
    yaw = robot.odometry().yaw
    dx, dy = direction
    wx, wy = math.cos(yaw) * dx - math.sin(yaw) * dy, math.sin(yaw) * dx + math.cos(yaw) * dy
    robot.world.apply_impulse((impulse * wx, impulse * wy, 0.0), duration=0.1)
    robot.sleep(4.0)
    ok = not robot.fallen
    robot.close()
    return ok


DIRECTIONS = {"forward": (1.0, 0.0), "backward": (-1.0, 0.0), "left": (0.0, 1.0), "right": (0.0, -1.0)}
# When the push comes decides as much as how hard it is: standing, the body still sways after the
# stand-up; walking, the swing foot may be anywhere in its step (docs/walking.md, eleventh session).
# So each direction is pushed at several times, and a push counts as survived only if it is survived
# at all of them. Walking: six times 0.1 s apart span one gait cycle (two 0.3 s steps).
PUSH_TIMES_STANDING = (0.5, 1.0, 1.5, 2.0)
PUSH_TIMES_WALKING = (2.0, 2.1, 2.2, 2.3, 2.4, 2.5)
PUSH_LADDER = (5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0, 45.0, 50.0)


def largest_push(seed: int, direction: tuple[float, float], walking: bool, controller: str, after: float,
                 ladder: tuple[float, ...] = PUSH_LADDER) -> float:
    """The largest impulse of the ladder survived with every smaller one (0 if none), at one push time."""
    best = 0.0
    for imp in ladder:
        if not push_survived(seed, imp, direction, walking, controller, after):
            break
        best = imp
    return best


def _speed(controller: str) -> tuple[float, float]:
    """Real-time factor with the controller on, and its cost over raw physics of the same world."""
    import pybullet as pb

    robot, client = _robot(0, controller)
    client.Move(0.4, 0.0, 0.0, continous_move=True)
    robot.sleep(1.0)
    n = 1500
    t0 = time.perf_counter()
    for _ in range(n):
        robot.step()
    stack = time.perf_counter() - t0
    state = pb.saveState(physicsClientId=robot.world.client)
    raw = 0.0
    for _ in range(n // 50):
        pb.restoreState(state, physicsClientId=robot.world.client)
        t0 = time.perf_counter()
        for _ in range(50):
            pb.stepSimulation(physicsClientId=robot.world.client)
        raw += time.perf_counter() - t0
    robot.close()
    return n * robot.world.dt / stack, stack / raw - 1.0


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--episodes", type=positive_int, default=20, help="random-command episodes (seeds S..S+N-1)")
    p.add_argument("--first-seed", type=non_negative_int, default=0, metavar="S",
                   help="seed of the first random-command episode (the walker's fixes were found on seeds 0-299)")
    p.add_argument("--seconds", type=number(float, 1.0, low_open=True), default=30.0,
                   help="simulated seconds per episode (tracking is measured after the first second)")
    p.add_argument("--controller", default="walker",
                   help="System 1: walker (model-based), learned[:PATH] (bare: the shipped policy) or unitree-policy:PATH")
    p.add_argument("--workers", type=positive_int, default=2, help="processes to run episodes in")
    p.add_argument("--quick", action="store_true",
                   help="skip the top-speed and push searches (falls, tracking and speed only)")


@bench("walk", "falls, velocity tracking, top speed, stopping, pushes and real-time factor of System 1",
       _arguments)
def bench_walk(args: argparse.Namespace) -> Result:
    from tqdm import tqdm

    ctl = args.controller
    check_controller(ctl)  # fail fast on a bad spec, without loading torch before the workers fork
    result: Result = {"controller": ctl, "episodes": args.episodes, "first_seed": args.first_seed,
                      "seconds": args.seconds}
    with ProcessPoolExecutor(max_workers=max(1, args.workers)) as pool:
        seeds = range(args.first_seed, args.first_seed + args.episodes)
        futures = [pool.submit(random_episode, seed, args.seconds, ctl) for seed in seeds]
        eps = [f.result() for f in tqdm(futures, desc="random commands", unit="episode")]
        result["falls"] = sum(e["fell"] for e in eps)
        result["fall_seeds"] = [seed for seed, e in zip(seeds, eps) if e["fell"]]
        for k in ("vx", "vy", "yaw"):
            result[f"tracking_error_{k}"] = float(np.nanmean([e[k] for e in eps]))
        # The reference commands, one axis each.
        cases = {"fwd_0.5": (0.5, 0, 0), "fwd_0.8": (0.8, 0, 0), "back_0.3": (-0.3, 0, 0),
                 "left_0.2": (0, 0.2, 0), "right_0.2": (0, -0.2, 0), "turn_0.5": (0, 0, 0.5),
                 "turn_-0.5": (0, 0, -0.5), "turn_1.0": (0, 0, 1.0)}
        futs = {name: pool.submit(fixed_command, 100, *v, 10.0, ctl) for name, v in cases.items()}
        for name, f in tqdm(futs.items(), desc="reference commands", unit="case"):
            r = f.result()
            axis = "yaw" if "turn" in name else ("vy" if name.startswith(("left", "right")) else "vx")
            result[f"error_{name}"] = r[axis]
            result[f"fell_{name}"] = r["fell"]
        if not args.quick:
            speeds = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
            futs2 = [pool.submit(fixed_command, 200, v, 0, 0, 10.0, ctl) for v in speeds]
            max_vx = 0.0
            for v, f in zip(speeds, futs2):
                r = f.result()
                if r["fell"]:
                    break
                max_vx = v
            result["max_vx"] = max_vx
            result["stop_steps"] = pool.submit(stop_steps, 300, ctl).result()
            pushes = {(walking, name, t): pool.submit(largest_push, 401 if walking else 400, d, walking, ctl, t)
                      for walking, times in ((False, PUSH_TIMES_STANDING), (True, PUSH_TIMES_WALKING))
                      for name, d in DIRECTIONS.items() for t in times}
            best = {k: f.result() for k, f in tqdm(pushes.items(), desc="pushes", unit="case")}
            for walking, key in ((False, "push_standing"), (True, "push_walking")):
                per = {name: min(v for (w, n, _), v in best.items() if w == walking and n == name)
                       for name in DIRECTIONS}
                result[f"{key}_Ns"] = min(per.values())
                for name in DIRECTIONS:
                    result[f"{key}_{name}_Ns"] = per[name]
                # How much the push time matters: the weakest direction at its luckiest push time.
                result[f"{key}_luckiest_Ns"] = min(
                    max(v for (w, n, _), v in best.items() if w == walking and n == name) for name in DIRECTIONS)
            result["push_times_standing_s"] = list(PUSH_TIMES_STANDING)
            result["push_times_walking_s"] = list(PUSH_TIMES_WALKING)
    rtf, overhead = _speed(ctl)
    result["realtime_factor"] = rtf
    result["overhead_ratio"] = overhead
    return result


# --- bench getup -----------------------------------------------------------------------------------------
def get_up_case(angle: float, impulse: float, controller: str, walk_after: float) -> dict[str, Any]:
    """Knock the standing robot over with a 0.1 s push toward `angle` (rad, world frame), wait 3 s in Damp,
    call Lie2StandUp, and, once it stands, Start and walk 0.3 m/s for `walk_after` seconds."""
    from robot.control.getup import lying
    from robot.sdk.loco import FsmId

    robot, client = _robot(0, controller)
    robot.world.apply_impulse((impulse * math.cos(angle), impulse * math.sin(angle), 0.0), duration=0.1)
    robot.sleep(3.0)
    out: dict[str, Any] = {"angle_deg": round(math.degrees(angle), 1), "impulse_Ns": impulse, "fell": robot.fallen}
    if not robot.fallen:
        robot.close()
        return out
    out["lying"] = lying(robot.bridge.read())
    out["code"] = int(client.Lie2StandUp())
    t0 = robot.time
    while robot.fsm == FsmId.LIE2STANDUP and robot.time - t0 < 30.0:
        robot.step()
    g = robot.getup
    out["seconds"] = robot.time - t0
    out["stood"] = robot.fsm == FsmId.STAND_UP and not robot.fallen
    out["tries"], out["rolls"], out["reason"] = (g.tries, g.rolls, g.reason) if g is not None else (0, 0, "")
    walked = False
    if out["stood"]:
        robot.sleep(0.5)
        client.Start()
        client.Move(0.3, 0.0, 0.0, continous_move=True)
        robot.sleep(walk_after)
        walked = not robot.fallen
    out["walked"] = walked
    robot.close()
    return out


def _getup_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--directions", type=positive_int, default=8, help="push directions, evenly spaced")
    p.add_argument("--offset", type=number(float), default=0.0,
                   help="degrees added to every push direction (0: the first push is toward +x)")
    p.add_argument("--impulses", type=_impulses, default=(30.0, 45.0, 60.0),
                   help="comma-separated push impulses in N s (each must fell the robot to count) "
                        "(default: 30,45,60)")
    p.add_argument("--walk-after", type=number(float, 0.0), default=3.0,
                   help="seconds of walking at 0.3 m/s after standing up, to count as a success")
    p.add_argument("--controller", default="walker", help="System 1 that walks before the fall and after")
    p.add_argument("--workers", type=positive_int, default=2, help="processes to run cases in")


def _impulses(text: str) -> tuple[float, ...]:
    parse = number(float, 0.0, low_open=True)
    return tuple(parse(v) for v in text.split(","))


@bench("getup", "Lie2StandUp after falls from pushes in every direction: success rate and time to stand",
       _getup_arguments)
def bench_getup(args: argparse.Namespace) -> Result:
    from tqdm import tqdm

    check_controller(args.controller)
    angles = [math.radians(args.offset) + 2.0 * math.pi * k / args.directions for k in range(args.directions)]
    cases = [(a, i) for a in angles for i in args.impulses]
    with ProcessPoolExecutor(max_workers=max(1, args.workers)) as pool:
        futures = [pool.submit(get_up_case, a, i, args.controller, args.walk_after) for a, i in cases]
        runs = [f.result() for f in tqdm(futures, desc="falls", unit="case")]
    fallen = [r for r in runs if r["fell"]]
    stood = [r for r in fallen if r["stood"]]
    result: Result = {"cases": len(runs), "falls": len(fallen), "stood_up": len(stood),
                      "walked_after": sum(r["walked"] for r in fallen),
                      "success_rate": (sum(r["walked"] for r in fallen) / len(fallen)) if fallen else float("nan"),
                      "seconds_to_stand_mean": float(np.mean([r["seconds"] for r in stood])) if stood else float("nan"),
                      "seconds_to_stand_max": float(max(r["seconds"] for r in stood)) if stood else float("nan")}
    for side in ("back", "front", "side"):
        among = [r for r in fallen if r["lying"] == side]
        result[f"lying_{side}"] = len(among)
        result[f"stood_from_{side}"] = sum(r["stood"] for r in among)
    result["failures"] = [{k: r[k] for k in ("angle_deg", "impulse_Ns", "lying", "code", "reason")}
                          for r in fallen if not r["walked"]]
    return result
