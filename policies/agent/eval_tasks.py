"""`humanoid eval tasks`: the task suite through the agent loop, scored on the simulator's ground truth.

Each episode is one task drawn for a seed (envs/tasks.py) in a fresh scene with the G1 standing; the
agent (policies/agent/loop.py) plans with the chosen planner and runs the calls; a `Judge` checks the
task's subgoals after every call. The `oracle` planner emits the episode's ground-truth plan (the rest of
it after each success), so its score measures the skills and the controller alone.

Scores: success per task, `success@k` over chains of at least k steps (the first k subgoals done, in
order, as CALVIN counts), the average number of subgoals a chain completes, falls and wall-clock seconds
per episode.
"""

from __future__ import annotations

import json
import math
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Sequence

from policies.planner.base import HistoryItem, Planner
from robot.skills.registry import plan_to_json

MAX_CHAIN = 5


class OraclePlanner(Planner):
    """Answers with the episode's ground-truth plan, minus the calls that already succeeded."""

    name = "oracle"

    def __init__(self, episode: Any = None) -> None:
        super().__init__()
        self.episode = episode

    def generate(self, instruction: str, frame: Any, history: Sequence[HistoryItem], attempt: int) -> str:
        plan = self.episode.plan
        done = sum(1 for h in history if h.ok)
        rest = plan[done:]
        return plan_to_json(rest) if rest else '[{"skill": "done"}]'


class JudgedRunner:
    """The skill runner, with the episode's judge updated after every call."""

    def __init__(self, runner: Any, judge: Any) -> None:
        self.runner, self.judge = runner, judge

    def run(self, call: Any) -> Any:
        result = self.runner.run(call)
        self.judge.update()
        return result


_PLANNERS: dict[str, Planner] = {}


def _planner(spec: str, threads: int) -> Planner:
    """One planner per process (a model loads once, however many episodes run)."""
    if spec not in _PLANNERS:
        from policies.planner.cli import load_planner

        _PLANNERS[spec] = load_planner(spec, threads)
    return _PLANNERS[spec]


def episode(task_id: str, seed: int, split: str = "train", planner: str = "oracle", threads: int = 1,
            task_files: Sequence[str] = ()) -> dict[str, Any]:
    """Run one episode; what happened, JSON-ready."""
    from envs.tasks import Judge, Suite
    from policies.agent.loop import Agent, AgentConfig
    from robot.skills.session import SkillSession

    t0 = time.perf_counter()
    ep = Suite.load(*task_files).sample(task_id, seed, split)
    plan = OraclePlanner(ep) if planner == "oracle" else _planner(planner, threads)
    with SkillSession(ep.scene) as session:
        judge = Judge(session.world, ep)
        sim0 = session.world.time
        agent = Agent(plan, JudgedRunner(session.runner, judge), look=session.runner.ctx.look,
                      cfg=AgentConfig(max_steps=2 * len(ep.subgoals) + 2))
        out = agent.run(ep.instruction)
        judge.update()
        judge.close()
        fell = bool(session.robot.fallen)
        sim_s = session.world.time - sim0
    return {"task": task_id, "kind": ep.kind, "split": split, "seed": seed, "instruction": ep.instruction,
            "subgoals": len(ep.subgoals), "completed": judge.completed, "success": judge.success, "fell": fell,
            "status": out.status, "message": out.message, "calls": [h.call.to_dict() for h in out.history],
            "results": [{"ok": h.ok, "reason": h.reason} for h in out.history], "plans": out.plans,
            "sim_s": round(sim_s, 3), "wall_s": round(time.perf_counter() - t0, 3)}


def _episode_args(kw: dict[str, Any]) -> dict[str, Any]:
    return episode(**kw)


def score(episodes: list[dict[str, Any]], task_ids: Sequence[str]) -> dict[str, Any]:
    """The suite's numbers from episode records (see the module docstring)."""

    def mean(xs: list[float]) -> float | None:
        return sum(xs) / len(xs) if xs else None

    single = [e for e in episodes if e["kind"] == "single"]
    chain = [e for e in episodes if e["kind"] == "chain"]
    out: dict[str, Any] = {
        "success_rate": mean([float(e["success"]) for e in episodes]),
        "success_rate_single": mean([float(e["success"]) for e in single]),
        "success_rate_chain": mean([float(e["success"]) for e in chain]),
    }
    for k in range(1, MAX_CHAIN + 1):
        out[f"success@{k}"] = mean([float(e["completed"] >= k) for e in chain if e["subgoals"] >= k])
    out["avg_chain_length"] = mean([float(e["completed"]) for e in chain])
    out["falls_per_episode"] = mean([float(e["fell"]) for e in episodes])
    out["wall_s_per_episode"] = mean([e["wall_s"] for e in episodes])
    out["sim_s_per_episode"] = mean([e["sim_s"] for e in episodes])
    for t in task_ids:
        out[f"success_{t}"] = mean([float(e["success"]) for e in episodes if e["task"] == t])
    out["episodes"] = len(episodes)
    out["episodes_single"] = len(single)
    out["episodes_chain"] = len(chain)
    return out


def run_eval(planner: str = "oracle", episodes: int = 30, tasks: str = "all", split: str = "train",
             first_seed: int = 0, workers: int = 1, threads: int = 1, task_files: Sequence[str] = (),
             runs_dir: str | Path | None = "runs", progress: bool = True) -> dict[str, Any]:
    """Run `episodes` episodes, spread round-robin over the selected tasks, and score them.

    Episode i runs task `ids[i % len(ids)]` on seed `first_seed + i`, so a run is reproducible and a
    larger one extends a smaller. With `runs_dir`, writes runs/eval-tasks-<time>/ with config.json and
    episodes.jsonl (one episode a line).
    """
    from envs.tasks import SPLITS, Suite

    if planner != "oracle":
        _planner(planner, threads)  # a bad planner spec fails now, in one line, not in a worker
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
    if episodes < 1 or workers < 1:
        raise ValueError("--episodes and --workers must be at least 1")
    for f in task_files:
        if not Path(f).is_file():
            raise ValueError(f"no task file at {f}")
    suite = Suite.load(*task_files)
    ids = suite.select(tasks)
    jobs = [dict(task_id=ids[i % len(ids)], seed=first_seed + i, split=split, planner=planner, threads=threads,
                 task_files=tuple(task_files)) for i in range(episodes)]
    run_dir = None
    if runs_dir is not None:
        from robot.runs import make_run_dir, write_config

        run_dir = make_run_dir("eval-tasks", runs_dir)
        write_config(run_dir, {"planner": planner, "episodes": episodes, "tasks": ids, "split": split,
                               "first_seed": first_seed, "workers": workers, "task_files": list(task_files)})
    from tqdm import tqdm

    t0 = time.perf_counter()
    results: list[dict[str, Any]] = []
    bar = tqdm(total=len(jobs), desc="eval tasks", unit="episode", disable=not progress)
    if workers == 1:
        it = (episode(**j) for j in jobs)
        for r in it:
            results.append(r)
            bar.update()
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for r in pool.map(_episode_args, jobs):
                results.append(r)
                bar.update()
    bar.close()
    if run_dir is not None:
        with (run_dir / "episodes.jsonl").open("w") as f:
            for r in results:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    out = {"planner": planner, "split": split, **score(results, ids),
           "wall_s": round(time.perf_counter() - t0, 2)}
    if run_dir is not None:
        out["run_dir"] = str(run_dir)
    return out


def format_table(result: dict[str, Any]) -> str:
    """Key and value, two columns; rates as percentages."""
    width = max(len(k) for k in result)
    lines = []
    for k, v in result.items():
        if isinstance(v, float) and math.isfinite(v):
            v = f"{100 * v:.1f} %" if (k.startswith("success") and v <= 1.0) else f"{v:.4g}"
        elif v is None:
            v = "-"
        lines.append(f"{k:<{width}}  {v}")
    return "\n".join(lines)


__all__ = ["JudgedRunner", "OraclePlanner", "episode", "format_table", "run_eval", "score"]
