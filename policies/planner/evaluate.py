"""`humanoid eval planner`: a planner and the keyword baseline on held-out frames and phrasings.

The test split is generated apart from training: scene seeds from `EVAL_SEED0` (training uses seeds
below 900,000) and the phrasing templates that training never sees (planner_data.TEST_SHARE of them).
The selection split (`--split select`) is made the same way on other scenes (seeds from `SELECT_SEED0`):
choose between checkpoints and settings on it, and measure only the chosen one on the test split, so the
test split's figures stay an estimate for scenes nobody chose on.

Numbers:
- valid_rate: share of instructions whose first answer parsed and validated.
- plan_accuracy (and _en, _es): share of instructions to carry out whose plan is entirely right: same
  skills in the same order, same arguments (after defaults), and every target's description naming the
  intended object (its colour and shape, and its size if a size is given).
- point_accuracy: share of the targets of those instructions whose `point_2d` lands on the intended
  object's pixels (a missing step or point counts as a miss).
- refusal_accuracy: share of instructions to refuse (object not in view, not a robot action, unsafe)
  answered with `refuse`; false_refusal_rate: share of instructions to carry out that were refused.
- latency_ms_median: median wall time of one `plan` call, on the threads torch is given (1 by default).

`breakdown` splits the same answers by kind (for finding what fails, not targets): plan accuracy by the
number of steps, and by how the instruction names its objects ("colour": every target's colour is said;
"place": some target is named only by its place among objects of its shape, "the closest can", "el cubo
de la derecha", so its colour must come from the frame), and refusal accuracy by why the instruction is
to be refused (absent object, off-topic, unsafe).
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import numpy as np

from policies.planner.base import Planner
from policies.planner.grounding import on_mask
from policies.planner.lexicon import COLOUR_WORDS, SHAPE_WORDS, SIZE_WORDS, words
from robot.skills.registry import SkillCall

EVAL_SEED0 = 1_000_000
SELECT_SEED0 = 910_000
SPLITS = {"test": EVAL_SEED0, "select": SELECT_SEED0}
"""First scene seed of each held-out split. Both use the held-out phrasings. The training run's own
validation scenes start at 900,000 (`--val-scenes`, 60 by default), below the selection split's."""
CAMERAS = {"spawn": 0.0, "stance": 1.0}
"""Where a held-out split's frames are rendered from: `make_split`'s `stance_camera` share for each."""
KEYS = ("valid_rate", "plan_accuracy", "plan_accuracy_en", "plan_accuracy_es", "point_accuracy", "refusal_accuracy",
        "false_refusal_rate", "latency_ms_median")


def eval_split(n_scenes: int = 100, per_scene: int = 6, cache: str | Path | None = None,
               progress: bool = False, split: str = "test", camera: str = "spawn"
               ) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]], list[list[dict]]]:
    """(rgb, object-index masks, samples, scene objects) of a held-out split ("test" or "select"), cached
    in `cache` if given. `camera`: "spawn" renders the frames at the spawn pose (the split the model card
    reports); "stance" from where the head camera sits while the robot balances after `Start`, the frames the
    agent plans on (0.5-1.5 times `planner_data.STANCE_CAMERA` lower and tipped down; the same scenes and
    instructions, but for objects that the lower camera shows or hides)."""
    from policies.train.planner_data import make_split

    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} ({', '.join(SPLITS)})")
    if camera not in CAMERAS:
        raise ValueError(f"unknown camera {camera!r} ({', '.join(CAMERAS)})")
    if cache is not None:
        cache = Path(cache)
        name = f"{'eval' if split == 'test' else split}-{n_scenes}x{per_scene}"
        name += "-stance" if camera == "stance" else ""
        npz, jl = cache / f"{name}.npz", cache / f"{name}.jsonl"
        if npz.exists() and jl.exists():
            d = np.load(npz)
            return d["rgb"], d["masks"], [json.loads(x) for x in jl.read_text().splitlines()], []
    rgb, masks, samples = make_split("test", n_scenes, per_scene, SPLITS[split], progress,
                                     stance_camera=CAMERAS[camera])
    out = [s.to_dict() for s in samples]
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(npz, rgb=rgb, masks=masks)
        jl.write_text("".join(json.dumps(s, ensure_ascii=False) + "\n" for s in out))
    return rgb, masks, out, []


def _attrs(desc: str) -> tuple[str | None, str | None, str | None]:
    ws = words(desc)
    return (next((COLOUR_WORDS[w] for w in ws if w in COLOUR_WORDS), None),
            next((SHAPE_WORDS[w] for w in ws if w in SHAPE_WORDS), None),
            next((SIZE_WORDS[w] for w in ws if w in SIZE_WORDS), None))


def _call_right(pred: SkillCall, gold: dict[str, Any]) -> bool:
    g = SkillCall.from_dict(gold)
    if pred.skill != g.skill:
        return False
    for k, v in g.args.items():
        if k == "target":
            pc, ps, pz = _attrs(str((pred.args.get("target") or {}).get("object", "")))
            gc, gs, gz = _attrs(v["object"])
            if pc != gc or ps != gs or (pz is not None and gz is not None and pz != gz):
                return False
        elif isinstance(v, float):
            if not isinstance(pred.args.get(k), float) or abs(pred.args[k] - v) > 1e-6:
                return False
        elif pred.args.get(k) != v:
            return False
    return True


def score(planner: Planner, rgb: np.ndarray, masks: np.ndarray, samples: list[dict[str, Any]],
          progress: bool = False) -> dict[str, float]:
    """The numbers of the module docstring for one planner."""
    from tqdm import tqdm

    from policies.planner.base import HistoryItem

    valid, lat = [], []
    acc: dict[str, list[bool]] = {"en": [], "es": []}
    points: list[bool] = []
    refusals: list[bool] = []
    false_ref: list[bool] = []
    by_steps: dict[str, list[bool]] = {}
    by_reference: dict[str, list[bool]] = {"colour": [], "place": []}
    by_kind: dict[str, list[bool]] = {}
    for s in tqdm(samples, desc=f"eval {planner.name}", unit="plan", disable=not progress):
        hist = [HistoryItem(SkillCall.from_dict(h["call"]), h["ok"], h.get("reason", "")) for h in s.get("history", [])]
        out = planner.plan_verbose(s["instruction"], rgb[s["frame"]], hist)
        valid.append(not out.errors)
        lat.append(out.latency_ms)
        calls = out.calls
        if s["kind"] != "plan":
            refusals.append(len(calls) == 1 and calls[0].skill == "refuse")
            by_kind.setdefault(s["kind"], []).append(refusals[-1])
            continue
        false_ref.append(any(c.skill == "refuse" for c in calls))
        right = len(calls) == len(s["calls"]) and all(_call_right(p, g) for p, g in zip(calls, s["calls"]))
        acc[s["lang"]].append(right)
        by_steps.setdefault(str(len(s["calls"])), []).append(right)
        by_reference["place" if _names_by_place(s) else "colour"].append(right)
        for i, (g, obj) in enumerate(zip(s["calls"], s["objects"])):
            if obj is None or "target" not in g:
                continue
            p = calls[i].args.get("target") if i < len(calls) else None
            pt = p.get("point_2d") if isinstance(p, dict) else None
            points.append(on_mask(pt, masks[s["frame"]] == obj))

    def mean(x: list[bool]) -> float:
        return round(float(np.mean(x)), 4) if x else float("nan")

    return {"valid_rate": mean(valid), "plan_accuracy": mean(acc["en"] + acc["es"]),
            "plan_accuracy_en": mean(acc["en"]), "plan_accuracy_es": mean(acc["es"]),
            "point_accuracy": mean(points), "refusal_accuracy": mean(refusals),
            "false_refusal_rate": mean(false_ref),
            "latency_ms_median": round(statistics.median(lat), 2) if lat else float("nan"),
            "n_plans": len(acc["en"]) + len(acc["es"]), "n_refusals": len(refusals), "n_points": len(points),
            "breakdown": {
                "plan_accuracy_by_steps": {k: mean(v) for k, v in sorted(by_steps.items())},
                "plans_by_steps": {k: len(v) for k, v in sorted(by_steps.items())},
                "plan_accuracy_by_reference": {k: mean(v) for k, v in by_reference.items()},
                "plans_by_reference": {k: len(v) for k, v in by_reference.items()},
                "refusal_accuracy_by_kind": {k: mean(v) for k, v in sorted(by_kind.items())},
                "refusals_by_kind": {k: len(v) for k, v in sorted(by_kind.items())}}}


def _names_by_place(sample: dict[str, Any]) -> bool:
    """Whether some target of the sample's plan is named without its colour (by its place among objects of its
    shape: the generator leaves the colour out exactly then)."""
    said = {COLOUR_WORDS[w] for w in words(sample["instruction"]) if w in COLOUR_WORDS}
    return any(_attrs(c["target"]["object"])[0] not in said for c in sample["calls"] if "target" in c)


BREAKDOWN_GROUPS = (("steps", "plan_accuracy_by_steps", "plans_by_steps"),
                    ("reference", "plan_accuracy_by_reference", "plans_by_reference"),
                    ("kind", "refusal_accuracy_by_kind", "refusals_by_kind"))
"""`score`'s breakdown: (what it splits by, its accuracy key, its count key)."""


def breakdown_rows(breakdown: dict[str, dict[str, Any]]) -> list[tuple[str, str, int, str]]:
    """(what it splits by, the group's value, its count, the accuracy key) for every row of a breakdown."""
    return [(by, k, breakdown[count][k], acc) for by, acc, count in BREAKDOWN_GROUPS for k in breakdown[acc]]


def format_table(results: dict[str, dict[str, float]]) -> str:
    """Planners side by side, one metric a row."""
    names = list(results)
    rows = [("metric", *names)]
    for k in (*KEYS, "n_plans", "n_refusals", "n_points"):
        rows.append((k, *(f"{results[n].get(k, float('nan')):g}" for n in names)))
    if all("breakdown" in results[n] for n in names):  # the breakdown: counts from the first column
        labels = {"steps": "plan, {} step(s)", "reference": "plan, by {}", "kind": "refusal, {}"}
        for by, k, n, group in breakdown_rows(results[names[0]]["breakdown"]):
            rows.append((f"{labels[by].format(k)} (n={n})",
                         *(f"{results[c]['breakdown'][group].get(k, float('nan')):g}" for c in names)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows)


__all__ = ["BREAKDOWN_GROUPS", "CAMERAS", "EVAL_SEED0", "KEYS", "SELECT_SEED0", "SPLITS", "breakdown_rows", "eval_split",
           "format_table", "score"]
