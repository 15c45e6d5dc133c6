"""The model card of a trained walker policy: what it is, how it was trained, what it measured.

`python -m policies.train.walker_card FOLDER [BENCH_JSON]` (re)writes FOLDER/README.md from the folder's
config.json and curve.jsonl (the training curve the trainer logged) and, if given, the JSON object
`humanoid bench walk --controller learned:FOLDER --json` printed (kept as FOLDER/bench.json).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

BENCH_KEYS = ("episodes", "falls", "tracking_error_vx", "tracking_error_vy", "tracking_error_yaw", "max_vx",
              "push_standing_Ns", "push_walking_Ns", "realtime_factor")


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 100 else f"{v:.0f}"
    return str(v)


def write_card(folder: Path, bench: dict[str, Any] | None = None, note: str | None = None) -> Path:
    """Write FOLDER/README.md; `note` (kept as FOLDER/card_note.md) says which round ships and why."""
    folder = Path(folder)
    cfg = json.loads((folder / "config.json").read_text())
    rows = [json.loads(line) for line in (folder / "curve.jsonl").read_text().splitlines()] \
        if (folder / "curve.jsonl").exists() else []
    if bench is None and (folder / "bench.json").exists():
        bench = json.loads((folder / "bench.json").read_text())
    elif bench is not None:
        (folder / "bench.json").write_text(json.dumps(bench, indent=2) + "\n")
    if note is not None:
        (folder / "card_note.md").write_text(note.strip() + "\n")
    elif (folder / "card_note.md").exists():
        note = (folder / "card_note.md").read_text()
    n_params = None
    try:
        from safetensors import safe_open

        with safe_open(str(folder / "model.safetensors"), "np") as f:
            n_params = sum(math.prod(f.get_slice(k).get_shape()) for k in f.keys() if k.startswith("net."))
    except Exception:  # noqa: BLE001 - the card is documentation; a count it cannot make is left out
        pass
    lines = [
        f"# {folder.name}",
        "",
        "A learned walking policy for openhumanoid's G1 (23-DoF) in PyBullet: an MLP that reads "
        f"`openhumanoid/Walk-v0`'s {cfg['obs_dim']}-number observation and sets the 12 leg joints' PD targets "
        f"at {500 // cfg['decimation']} Hz. Use it as System 1 with `--controller learned` (this folder) or "
        "`--controller learned:PATH` (another one), in `humanoid demo`, `humanoid bench walk` and the skills.",
        "",
        "## Model",
        f"- MLP {cfg['obs_dim']} -> {' -> '.join(str(h) for h in cfg['hidden'])} -> {cfg['act_dim']}, "
        f"{cfg['activation']}, observation normaliser inside the weights"
        + (f"; {n_params:,} weights" if n_params else "") + "; safetensors, float32.",
        "- Observation: Unitree's G1 layout (angular velocity, gravity, command, leg joint positions and "
        "velocities, last action, gait phase)"
        + (", plus the pelvis's linear velocity in its own frame (x 2)" if cfg["obs_dim"] == 50 else "")
        + (f"; the network ignores {', '.join(cfg['ignore_terms'])} (zeroed)" if cfg.get("ignore_terms") else "")
        + f"; the gait clock's period is {cfg['gait_period']:.2f} s; the command is ramped at "
          f"{cfg['max_accel']} m/s^2 before the policy sees it.",
        f"- Action: leg PD target = default pose + {cfg['action_scale']} x action, on the gains it was "
        f"trained with: kp {cfg['leg_kp'][:6]}, kd {cfg['leg_kd'][:6]} (per leg: hip pitch, roll, yaw, knee, "
        "ankle pitch, roll). Waist and arms are held at the standing pose.",
        "- It always steps, as Unitree's learned walkers do: standing still is stepping in place.",
    ]
    if cfg.get("velocity_gain"):
        lines.append(
            f"- Deployed with a velocity loop around the network: once a gait period the controller trims the "
            f"command the network sees by {cfg['velocity_gain']} x (command - measured stride velocity), "
            f"at most {cfg['max_velocity_trim']} (vx, vy, yaw rate), as the model-based walker trims its plan "
            "(the distilled network cannot see its teacher's own velocity loop). Training did not use it.")
    lines += [
        "",
        "## Training",
        f"Made by `{cfg.get('trained_by') or 'humanoid train walker'}` (policies/train/walker.py): the "
        "model-based DCM walker, retuned to run at 50 Hz, drives Walk-v0 with random commands (held 2-5 s), "
        "small action noise and pushes in round 0 (behaviour cloning); in round r the student acts at each "
        "step with probability 1 - beta^r while the walker labels every state (DAgger's mixture policy), "
        "and the student is refit on all the data so far (Huber loss). The round with the fewest falls in "
        "its student-only evaluation (then the most return) is exported.",
        "",
    ]
    if note:
        lines += [note.strip(), ""]
    if rows:
        lines += ["Training curve (wall-clock seconds on 2 shared CPU cores; `eval` columns are student-only "
                  "20 s episodes after the round; errors are per-step absolute errors, not stride-averaged):", "",
                  "| round | wall s | samples | loss | eval falls/episode | eval return/step | eval vx err |",
                  "|---|---|---|---|---|---|---|"]
        for r in rows:
            if "round" not in r:
                continue
            lines.append(f"| {r['round']} | {r['wall_s']:.0f} | {r['samples']} | {r['loss']:.4f} | "
                         f"{_fmt(r.get('eval/falls_per_episode', '-'))} | {_fmt(r.get('eval/return_per_step', '-'))}"
                         f" | {_fmt(r.get('eval/err_vx', '-'))} |")
        ppo_rows = [r for r in rows if "update" in r]
        if ppo_rows:
            last = ppo_rows[-1]
            lines += ["", f"PPO refinement: {last['update']} updates, {last['steps']} steps, "
                          f"{last['wall_s']:.0f} s; last mean reward {last['mean_reward']:.4f}."]
        lines.append("")
    if bench:
        lines += ["## Measured", "",
                  f"`humanoid bench walk --controller learned:{folder} --episodes {bench.get('episodes')} --json`:",
                  "", "| key | value |", "|---|---|"]
        for k in BENCH_KEYS:
            if k in bench:
                lines.append(f"| {k} | {_fmt(bench[k])} |")
        lines.append("")
    lines += ["## Reproduce", "",
              "```", "humanoid train walker --method dagger --minutes 30 --out " + str(folder), "```", ""]
    (folder / "README.md").write_text("\n".join(lines))
    return folder / "README.md"


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: python -m policies.train.walker_card FOLDER [BENCH_JSON]")
    bench = json.loads(Path(sys.argv[2]).read_text()) if len(sys.argv) == 3 else None
    print(write_card(Path(sys.argv[1]), bench))
