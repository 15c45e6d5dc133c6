"""The transformers backend on tiny random checkpoints, through the same loading path as real ones.

Each family (Qwen2.5-VL, Qwen3-VL, SmolVLM) is built from scratch into a temporary folder with its own
tokenizer and chat template, then loaded with `from_pretrained` offline. Random weights answer nonsense,
so these check the plumbing: loading, the assembled processor, the chat template, constrained decoding
(the answer always parses and validates, even when the token budget runs out), grounding in pixels, and
one clear error for a missing or corrupt folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("transformers")

from policies.planner.grammar import PlanGrammar, TokenFilter  # noqa: E402
from policies.planner.hf import HFPlannerConfig, TransformersPlanner  # noqa: E402
from policies.planner.loading import ModelLoadError, load_processor  # noqa: E402
from policies.planner.tiny import make_checkpoint  # noqa: E402

FAMILIES = ("qwen2_5_vl", "qwen3_vl", "smolvlm")
CORPUS = ["go to the red cube", "wave with your left hand", "ve al cubo rojo y luego saluda",
          json.dumps([{"skill": "walk_to", "target": {"object": "red cube", "point_2d": [350, 620]}}])]


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    os.environ["HF_HUB_OFFLINE"] = "1"  # nothing may reach a hub
    root = tmp_path_factory.mktemp("tiny")
    return {f: make_checkpoint(root / f, f, corpus=CORPUS, vocab_size=400) for f in FAMILIES}


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)


@pytest.mark.parametrize("family", FAMILIES)
def test_tiny_checkpoint_loads_and_answers_a_valid_plan(folders: dict[str, Path], frame: np.ndarray,
                                                         family: str) -> None:
    p = TransformersPlanner(folders[family], HFPlannerConfig(max_new_tokens=48, threads=1))
    assert p.coords == ("pixels" if family == "qwen2_5_vl" else "grid")
    prompt = p.prompt("go to the red cube")
    assert "go to the red cube" in prompt and "walk_to" in prompt  # the registry's vocabulary, in its template
    out = p.plan_verbose("go to the red cube", frame)
    assert not out.fallback and not out.errors, out.raw  # constrained: the first answer parses and validates
    assert out.calls and all(c.validate() == c for c in out.calls)
    json.loads(out.raw[0])


def test_processor_is_assembled_without_torchvision(folders: dict[str, Path]) -> None:
    proc = load_processor(folders["qwen3_vl"])
    assert type(proc).__name__ == "Qwen3VLProcessor"
    assert proc.image_processor is not None and proc.tokenizer is not None


def test_constrained_random_walk_always_parses(folders: dict[str, Path]) -> None:
    """Any token sequence the filter allows is a valid plan, also when the budget forces it to close."""
    from policies.planner.base import parse_plan

    tok = load_processor(folders["qwen3_vl"]).tokenizer
    f = TokenFilter(PlanGrammar(), tok, [tok.eos_token_id])
    rng = np.random.default_rng(0)
    import torch

    for trial in range(12):
        budget = int(rng.integers(25, 60))
        f.reset(0, budget)
        ids: list[int] = []
        while len(ids) < budget:
            allowed = f(0, torch.tensor(ids, dtype=torch.long))
            pick = int(rng.choice(allowed))
            if pick == tok.eos_token_id:
                break
            ids.append(pick)
        text = tok.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)
        parse_plan(text)  # raises if not a valid plan


def test_missing_and_corrupt_folders_give_one_clear_error(folders: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        TransformersPlanner(tmp_path / "nope")
    bad = tmp_path / "corrupt"
    bad.mkdir()
    for f in folders["qwen3_vl"].iterdir():
        (bad / f.name).write_bytes(f.read_bytes())
    (bad / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelLoadError, match="cannot load the model"):
        TransformersPlanner(bad)
    (bad / "config.json").unlink()
    with pytest.raises(ModelLoadError, match="config.json"):
        TransformersPlanner(bad)
