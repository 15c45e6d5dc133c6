"""`humanoid bench skills`: each skill on seeded scenes, judged by the simulator's ground truth.

Every (seed, skill) pair is one episode in a fresh scene (`random_scene(seed)` with one table), so a
failure never carries over. The skill's call is drawn from the seed: a visible floor object for walk_to,
face, look_at and point_at, the cube on the table for touch, a floor cube or cylinder for push, a
distance, direction or angle for walk and turn. Success is `robot.sim.predicates.skill_done` (the
vocabulary's numbers), not the skill's own report; `agree_<skill>` says how often the two agreed.
"""

from __future__ import annotations

import argparse
import math
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from robot.argtypes import non_negative_int, positive_int
from robot.bench import Result, bench

SKILLS = ("walk_to", "walk", "turn", "face", "look_at", "point_at", "wave", "touch", "push", "squat", "stand",
          "stop")


def make_call(skill: str, seed: int, spec: Any, visible: list[str]) -> dict[str, Any] | None:
    """The call to test `skill` with in this scene (None if the scene has nothing it applies to)."""
    rng = np.random.default_rng([seed, SKILLS.index(skill)])
    # Targets in view at the start when there are any; otherwise out of view, which the skill must find
    # by turning (in a quarter of the scenes the table hides the middle of the view).
    floor = [o for o in spec.objects if o.on is None and o.name in visible] or \
        [o for o in spec.objects if o.on is None]

    def target(o: Any) -> dict[str, Any]:
        return {"object": f"{o.colour} {o.shape}"}

    if skill in ("walk_to", "face", "look_at", "point_at"):
        if not floor:
            return None
        o = floor[int(rng.integers(len(floor)))]
        call = {"skill": skill, "target": target(o), "_name": o.name}
        if skill == "point_at":
            call["hand"] = "auto"
        return call
    if skill == "touch":
        on = [o for o in spec.objects if o.on is not None]
        return None if not on else {"skill": skill, "target": target(on[0]), "hand": "auto", "_name": on[0].name}
    if skill == "push":
        pushable = [o for o in spec.objects if o.on is None and o.shape != "ball" and o.size >= 0.09]
        ok = [o for o in pushable if o.name in visible] or pushable
        if not ok:
            return None
        o = ok[int(rng.integers(len(ok)))]
        return {"skill": skill, "target": target(o), "distance": round(float(rng.uniform(0.3, 0.6)), 2),
                "_name": o.name}
    if skill == "walk":
        return {"skill": skill, "distance": round(float(rng.uniform(0.3, 0.8)), 2),
                "direction": str(rng.choice(["forward", "backward", "left", "right"]))}
    if skill == "turn":
        return {"skill": skill, "degrees": round(float(rng.choice([-1, 1]) * rng.uniform(30, 180)), 1)}
    if skill == "wave":
        return {"skill": skill, "hand": str(rng.choice(["left", "right"]))}
    return {"skill": skill}


def episode(seed: int, skill: str) -> dict[str, Any]:
    """One skill call on scene `seed`; the ground truth's verdict and the skill's own."""
    from robot.perception.detect import detect
    from robot.sim.predicates import Before, WaveWatcher, object_position, skill_done
    from robot.sim.scene import random_scene
    from robot.skills.session import SkillSession

    spec = random_scene(seed, n_tables=(1, 1))
    t0 = time.perf_counter()
    with SkillSession(spec) as s:
        frame = s.runner.ctx.look()
        visible = [d.label.name for d in detect(frame, s.catalogue) if d.pixels >= 60 and not d.touches_border]
        call = make_call(skill, seed, spec, visible)
        if call is None:
            return {"seed": seed, "skill": skill, "skipped": True}
        name = call.pop("_name", None)
        if skill == "stand":  # stand from a squat
            s.run({"skill": "squat"})
        if skill == "stop":  # stop from walking
            s.runner.ctx.ensure_walking()
            s.runner.ctx.driving = True
            s.client.Move(0.25, 0.0, 0.0, True)
            s.robot.sleep(1.5)
        waves = WaveWatcher(s.world) if skill == "wave" else None
        before = Before.take(s.world)
        result = s.run(call)
        done, numbers = skill_done(s.world, skill, call, before, name, waves)
        if skill == "stop" and done:
            # Still means it stays put (station keeping holds it): the pelvis' mean position over the next
            # second against the one after, so the step-to-step sway (about 6 cm) does not count as drift.
            means = []
            for _ in range(2):
                xs = []
                for _ in range(20):
                    s.robot.sleep(0.05)
                    xs.append(s.world.robot.base_pos[:2].copy())
                means.append(np.mean(xs, axis=0))
            drift = float(np.linalg.norm(means[1] - means[0]))
            numbers["drift_1s_m"] = drift
            done = drift < 0.05
        fell = bool(s.robot.fallen)
        # Bystanders knocked more than 5 cm on the way (the target of touch and push may move).
        objects = {o.name for o in spec.objects} - {name}
        disturbed = sorted(n for n in objects
                           if float(np.linalg.norm(object_position(s.world, n)[:2] - before.objects[n][:2])) > 0.05)
    return {"disturbed": disturbed, "seed": seed, "skill": skill, "call": call, "success": bool(done), "self_ok": bool(result.ok),
            "reason": result.reason, "sim_s": result.seconds, "wall_s": time.perf_counter() - t0, "fell": fell,
            "truth": {k: round(float(v), 4) for k, v in numbers.items()}, "measured": result.measured}


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seeds", type=positive_int, default=3,
                   help="scenes per skill (seeds 0..N-1); docs/skills.md reports 20")
    p.add_argument("--first-seed", type=non_negative_int, default=0, help="first scene seed")
    p.add_argument("--skills", default=",".join(SKILLS), help="comma-separated skills to run")
    p.add_argument("--workers", type=positive_int, default=1,
                   help="processes (each episode is one single-threaded simulation)")
    p.add_argument("--episodes-out", default=None, metavar="FILE",
                   help="also write every episode (call, verdicts, numbers) as JSON lines to FILE")


@bench("skills", "each skill over seeded scenes: success by ground truth and mean simulated seconds", _arguments)
def bench_skills(args: argparse.Namespace) -> Result:
    from tqdm import tqdm

    skills = [s.strip() for s in args.skills.split(",") if s.strip()]
    bad = [s for s in skills if s not in SKILLS]
    if bad:
        raise ValueError(f"unknown skill(s) {bad}; known: {', '.join(SKILLS)}")
    jobs = [(seed, sk) for seed in range(args.first_seed, args.first_seed + args.seeds) for sk in skills]
    t0 = time.perf_counter()
    if args.workers == 1:
        eps = [episode(*j) for j in tqdm(jobs, desc="skills", unit="episode")]
    else:
        with ProcessPoolExecutor(max_workers=args.workers) as pool:
            futs = [pool.submit(episode, *j) for j in jobs]
            eps = [f.result() for f in tqdm(futs, desc="skills", unit="episode")]
    if args.episodes_out:
        import json

        with open(args.episodes_out, "w") as f:
            for e in eps:
                f.write(json.dumps(e, default=str) + "\n")
    result: Result = {"seeds": args.seeds}
    ran = [e for e in eps if not e.get("skipped")]
    for sk in skills:
        es = [e for e in ran if e["skill"] == sk]
        if not es:
            result[f"success_{sk}"] = float("nan")
            continue
        result[f"success_{sk}"] = sum(e["success"] for e in es) / len(es)
        result[f"seconds_{sk}"] = float(np.mean([e["sim_s"] for e in es]))
        result[f"agree_{sk}"] = sum(e["success"] == e["self_ok"] for e in es) / len(es)
        result[f"episodes_{sk}"] = len(es)
    result["success_rate"] = sum(e["success"] for e in ran) / max(1, len(ran))
    result["falls"] = sum(e["fell"] for e in ran)
    result["disturbed_objects"] = sum(len(e.get("disturbed", [])) for e in ran)
    result["skipped"] = len(eps) - len(ran)
    result["sim_seconds"] = float(sum(e["sim_s"] for e in ran))
    result["wall_seconds"] = time.perf_counter() - t0
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in result.items()}


__all__ = ["SKILLS", "bench_skills", "episode", "make_call"]
