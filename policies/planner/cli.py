"""The planner's commands behind `humanoid plan`, `humanoid eval planner` and `humanoid train planner`.

robot/cli.py parses the options and calls these lazily, so the rest of the tool starts without torch.
Errors a user can make raise ValueError with one line (the CLI prints it and exits with code 2).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from policies.planner.base import Planner, check_instruction

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "assets" / "models" / "openhumanoid-planner-tiny"


def load_planner(spec: str, threads: int = 1) -> Planner:
    """"keyword", "default" (the shipped model) or a model folder."""
    from policies.planner.loading import ModelLoadError

    if spec == "keyword":
        from policies.planner.keyword import KeywordPlanner

        return KeywordPlanner()
    path = DEFAULT_MODEL if spec == "default" else Path(spec)
    if spec == "default" and not (path / "config.json").exists():
        raise ValueError(f"the default planner is not in {path}; train it with `humanoid train planner` "
                         "or use --planner keyword")
    try:
        from policies.planner.hf import HFPlannerConfig, TransformersPlanner

        return TransformersPlanner(path, HFPlannerConfig(threads=threads))
    except ModelLoadError as err:
        raise ValueError(str(err)) from None


def scene_frame(scene: str) -> tuple[Any, Any]:
    """(SceneSpec, head-camera Frame at the robot's start) for "demo", a scene file or an integer seed."""
    from robot.demo import load_scene
    from robot.sim.camera import HeadCamera
    from robot.sim.scene import make_world

    spec = load_scene(scene)
    world = make_world(spec)
    try:
        frame = HeadCamera(world).capture()
    finally:
        world.close()
    return spec, frame


def run_plan(instruction: str, scene: str, planner: str = "default", threads: int = 1) -> dict[str, Any]:
    """The plan for the scene's first head-camera frame, without running it."""
    check_instruction(instruction)
    _, frame = scene_frame(scene)
    p = load_planner(planner, threads)
    out = p.plan_verbose(instruction, frame)
    return {"calls": [c.to_dict() for c in out.calls], "latency_ms": round(out.latency_ms, 2), "raw": out.raw,
            "planner": p.name, "valid": not out.errors}


def run_eval(planner: str = "default", scenes: int = 100, per_scene: int = 6, baseline: bool = True,
             threads: int = 1, progress: bool = True, cache: str | None = None, split: str = "test",
             camera: str = "spawn") -> dict[str, Any]:
    """Scores of `planner` and of the keyword baseline on a held-out split ("test" or "select"), its frames
    from the spawn pose's camera or the balancing stance's (`camera`)."""
    import torch

    from policies.planner.evaluate import eval_split, score
    from policies.planner.keyword import KeywordPlanner

    torch.set_num_threads(threads)
    rgb, masks, samples, _ = eval_split(scenes, per_scene, cache, progress, split, camera)
    p = load_planner(planner, threads)
    t0 = time.time()
    result: dict[str, Any] = {"planner": planner if planner in ("default", "keyword") else str(planner)}
    result.update(score(p, rgb, masks, samples, progress))
    if baseline and planner != "keyword":
        result["keyword"] = score(KeywordPlanner(), rgb, masks, samples, progress)
    result["split"] = split
    result["camera"] = camera
    result["n_samples"] = len(samples)
    result["wall_s"] = round(time.time() - t0, 1)
    return result


def eval_table(result: dict[str, Any]) -> str:
    from policies.planner.evaluate import format_table

    cols = {result.get("planner", "planner"): result}
    if "keyword" in result:
        cols["keyword (baseline)"] = result["keyword"]
    return format_table(cols)


def run_train(argv: list[str]) -> Path:
    from policies.train.planner import main, parse_args

    return main(parse_args(argv))


def plan_lines(result: dict[str, Any]) -> str:
    lines = [f"{i + 1}. {json.dumps(c, ensure_ascii=False)}" for i, c in enumerate(result["calls"])]
    lines.append(f"({result['planner']}, {result['latency_ms']:.0f} ms{'' if result['valid'] else ', after an invalid answer'})")
    return "\n".join(lines)


__all__ = ["DEFAULT_MODEL", "eval_table", "load_planner", "plan_lines", "run_eval", "run_plan", "run_train", "scene_frame"]
