"""`humanoid plan`, `humanoid eval planner` and `humanoid train planner` as subprocesses, tiny budgets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from policies.planner.cli import DEFAULT_MODEL

ROOT = Path(__file__).resolve().parents[1]


def humanoid(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "robot.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from robot.sim.scene import random_scene

    path = tmp_path_factory.mktemp("scene") / "scene.json"
    random_scene(3).save(path)
    return path


def test_plan_prints_calls_and_latency_as_json(scene: Path) -> None:
    res = humanoid("plan", "go to the red cube, then wave with your left hand", "--scene", str(scene),
                   "--planner", "keyword", "--json")
    assert res.returncode == 0, res.stderr
    last = json.loads(res.stdout.strip().splitlines()[-1])
    assert set(last) == {"calls", "latency_ms"}
    assert [c["skill"] for c in last["calls"]] == ["walk_to", "wave"]
    assert last["calls"][1]["hand"] == "left" and last["latency_ms"] > 0


def test_plan_with_a_model_folder(scene: Path, tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    from policies.planner.tiny import make_checkpoint

    folder = make_checkpoint(tmp_path / "tiny", "qwen3_vl", corpus=["go to the red cube", "wave"], vocab_size=300)
    res = humanoid("plan", "wave", "--scene", str(scene), "--planner", str(folder), "--json")
    assert res.returncode == 0, res.stderr
    calls = json.loads(res.stdout.strip().splitlines()[-1])["calls"]
    assert calls and all("skill" in c for c in calls)


@pytest.mark.parametrize("args, words", [
    (["plan", "wave", "--scene", "/no/such/scene.json", "--planner", "keyword"], "cannot read scene file"),
    (["plan", "wave", "--scene", "3", "--planner", "/no/such/model"], "does not exist"),
    (["plan", "  ", "--scene", "3", "--planner", "keyword"], "instruction is empty"),
    (["plan", "wave " * 201, "--scene", "3", "--planner", "keyword"], "too long: 1005 characters, at most 1000"),
])
def test_plan_errors_are_one_line_and_exit_2(args: list[str], words: str) -> None:
    res = humanoid(*args)
    assert res.returncode == 2
    err = [x for x in res.stderr.strip().splitlines() if not x.startswith("pybullet build time")]
    assert len(err) == 1 and words in err[0] and "Traceback" not in res.stderr


def test_eval_planner_keyword_json() -> None:
    res = humanoid("eval", "planner", "--planner", "keyword", "--scenes", "3", "--per-scene", "4", "--quiet", "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    for k in ("valid_rate", "plan_accuracy", "plan_accuracy_en", "plan_accuracy_es", "point_accuracy",
              "refusal_accuracy", "latency_ms_median"):
        assert k in out
    assert out["valid_rate"] == 1.0 and out["n_samples"] > 0


@pytest.mark.slow
def test_train_planner_smoke_and_resume(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    run, out = tmp_path / "run", tmp_path / "model"
    tiny = ["--run-dir", str(run), "--train-scenes", "3", "--per-scene", "4", "--val-scenes", "1",
            "--text-hidden", "32", "--text-layers", "1", "--vision-hidden", "32", "--vision-layers", "1",
            "--vocab-size", "300", "--batch-size", "2", "--save-every", "2", "--no-progress"]
    # without --out the model lands in the run folder, never over the shipped default
    shipped = {p.name: p.stat().st_mtime_ns for p in DEFAULT_MODEL.iterdir()}
    res = humanoid("train", "planner", *tiny, "--steps", "2")
    assert res.returncode == 0, res.stderr[-2000:]
    assert (run / "model" / "model.safetensors").exists() and f"planner exported to {run / 'model'}" in res.stdout
    assert {p.name: p.stat().st_mtime_ns for p in DEFAULT_MODEL.iterdir()} == shipped
    tiny += ["--out", str(out)]
    res = humanoid("train", "planner", *tiny, "--steps", "2")  # at step 2 already: exports again, to --out
    assert res.returncode == 0, res.stderr[-2000:]
    state = json.loads((run / "checkpoint" / "trainer_state.json").read_text())
    assert state["step"] == 2
    assert (out / "model.safetensors").exists() and (out / "tokenizer.json").exists()
    assert any((run / "tb").iterdir())
    trained = json.loads((out / "training.json").read_text())
    assert trained["input_size"] == [96, 160] and trained["image_tokens"] == 15
    # resumes from step 2, at a larger input size and with a deeper vision tower
    res = humanoid("train", "planner", *tiny, "--steps", "4", "--image-width", "224", "--vision-layers", "2")
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads((run / "checkpoint" / "trainer_state.json").read_text())["step"] == 4
    trained = json.loads((out / "training.json").read_text())
    assert trained["input_size"] == [160, 224] and trained["image_tokens"] == 35
    assert "shrunk to 224x160 (35 image tokens)" in (out / "README.md").read_text()
    assert json.loads((out / "config.json").read_text())["vision_config"]["depth"] == 2
    # a tower cannot shrink: one line, and the checkpoint (weights, input size) as it was
    before = {p.name: p.read_bytes() for p in (run / "checkpoint").iterdir()}
    res = humanoid("train", "planner", *tiny, "--steps", "6", "--image-width", "160")  # --vision-layers 1, in tiny
    assert res.returncode == 2 and "cannot shrink" in res.stderr and "Traceback" not in res.stderr
    assert {p.name: p.read_bytes() for p in (run / "checkpoint").iterdir()} == before
    assert not list(out.glob("*.bin")) and not list(out.glob("*.pt"))  # safetensors only


def test_selection_split_is_other_scenes(tmp_path: Path) -> None:
    from policies.planner.evaluate import eval_split

    test = eval_split(2, 4, tmp_path)
    select = eval_split(2, 4, tmp_path, split="select")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eval-2x4.jsonl", "eval-2x4.npz",
                                                          "select-2x4.jsonl", "select-2x4.npz"]
    assert not (test[0] == select[0]).all(axis=(1, 2, 3)).any()  # no frame in common
    assert [s["instruction"] for s in test[2]] != [s["instruction"] for s in select[2]]
    res = humanoid("eval", "planner", "--planner", "keyword", "--split", "select", "--scenes", "2", "--per-scene",
                   "4", "--cache", str(tmp_path), "--quiet", "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["split"] == "select" and out["n_samples"] == len(select[2])
    with pytest.raises(ValueError, match="unknown split"):
        eval_split(2, 4, None, split="val")



def test_stance_camera_split_is_the_same_scenes_seen_lower(tmp_path: Path) -> None:
    """`--camera stance` renders the same held-out scenes from where the head camera sits while the robot
    balances: other frames (objects higher in them), its own cache file, the spawn split unchanged."""
    from policies.planner.evaluate import eval_split

    spawn = eval_split(2, 4, tmp_path, split="select")
    stance = eval_split(2, 4, tmp_path, split="select", camera="stance")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["select-2x4-stance.jsonl", "select-2x4-stance.npz",
                                                          "select-2x4.jsonl", "select-2x4.npz"]
    assert not (spawn[0] == stance[0]).all(axis=(1, 2, 3)).any()
    for a, b in zip(spawn[1], stance[1]):  # the camera tips down: an object's pixels move up the frame
        for i in set(np.unique(a)) & set(np.unique(b)) - {-1}:
            assert np.nonzero(b == i)[0].mean() < np.nonzero(a == i)[0].mean()
    again = eval_split(2, 4, None, split="select")
    assert all(np.array_equal(x, y) for x, y in zip(spawn[:2], again[:2]))
    res = humanoid("eval", "planner", "--planner", "keyword", "--split", "select", "--camera", "stance", "--scenes",
                   "2", "--per-scene", "4", "--cache", str(tmp_path), "--quiet", "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["camera"] == "stance" and out["n_samples"] == len(stance[2])
    with pytest.raises(ValueError, match="unknown camera"):
        eval_split(2, 4, None, camera="low")
