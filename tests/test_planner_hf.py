"""The transformers backend on tiny random checkpoints, through the same loading path as real ones.

Each family (Qwen2.5-VL, Qwen3-VL, SmolVLM) is built from scratch into a temporary folder with its own
tokenizer and chat template, then loaded with `from_pretrained` offline. Random weights answer nonsense,
so these check the plumbing: loading, the assembled processor, the chat template, constrained decoding
(the answer always parses and validates, even when the token budget runs out), grounding in pixels, the
planner's greedy loop against `generate` (same logits, same answer; also on the shipped model), and one
clear error for a missing or corrupt folder.
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


def test_an_incomplete_folder_names_what_it_lacks(folders: dict[str, Path], tmp_path: Path) -> None:
    """Each of these used to surface as transformers' own message (a JSON decoder's, or one cut off mid-word)
    without the file's name."""
    def copy(name: str) -> Path:
        d = tmp_path / name
        d.mkdir()
        for f in folders["qwen3_vl"].iterdir():
            (d / f.name).write_bytes(f.read_bytes())
        return d

    d = copy("bad-config")
    (d / "config.json").write_text("{")
    with pytest.raises(ModelLoadError, match=r"config.json is not valid JSON"):
        TransformersPlanner(d)
    (d / "config.json").write_text('{"hidden_sizes": [256, 256]}')  # a walker policy's folder, say
    with pytest.raises(ModelLoadError, match=r"config.json names no model_type"):
        TransformersPlanner(d)
    d = copy("no-tokenizer")
    for name in ("tokenizer.json", "tokenizer.model", "vocab.json", "vocab.txt"):
        (d / name).unlink(missing_ok=True)
    with pytest.raises(ModelLoadError, match=r"has no tokenizer \(none of tokenizer.json"):
        TransformersPlanner(d)
    d = copy("no-template")
    (d / "chat_template.jinja").unlink(missing_ok=True)
    (d / "chat_template.json").unlink(missing_ok=True)
    cfg = json.loads((d / "tokenizer_config.json").read_text())
    cfg.pop("chat_template", None)
    (d / "tokenizer_config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match=r"has no chat template"):
        TransformersPlanner(d)


def test_prompt_past_the_model_context_is_refused_without_generating(folders: dict[str, Path],
                                                                     frame: np.ndarray) -> None:
    p = TransformersPlanner(folders["qwen3_vl"], HFPlannerConfig(max_new_tokens=48, threads=1))
    assert p.context == 2048  # the config's max_position_embeddings (text_config's)
    assert not p.plan_verbose("go to the red cube", frame).fallback
    # A budget that leaves 8 positions for the prompt: the image alone takes more.
    p = TransformersPlanner(folders["qwen3_vl"], HFPlannerConfig(max_new_tokens=2040, threads=1))
    out = p.plan_verbose("go to the red cube", frame)
    assert out.fallback and out.raw == [] and [c.skill for c in out.calls] == ["refuse"]
    reason = out.calls[0].args["reason"]
    assert reason.startswith(f"The instruction is too long for {p.name}: the prompt is ") and "8 fit" in reason


def _lm_head_outputs(model: object) -> tuple[list, object]:
    """Every logits tensor the model's head computes, recorded by a forward hook (and the hook's handle)."""
    seen: list = []
    handle = model.lm_head.register_forward_hook(lambda mod, args, out: seen.append(out[0, -1].clone()))
    return seen, handle


def _same_as_generate(p: TransformersPlanner, instruction: str, frame: np.ndarray,
                      history: tuple = ()) -> tuple[list[int], list[int]]:
    """(`_greedy`'s ids, generate's ids without the end token) for one prompt, after checking that every logit
    `_greedy` saw is bit for bit one that `generate` saw at the same step (positions, cache and image included)."""
    import torch
    from PIL import Image

    inputs = p.processor(text=[p.prompt(instruction, history)], images=[Image.fromarray(frame)], return_tensors="pt")
    n = int(inputs["input_ids"].shape[1])
    seen, handle = _lm_head_outputs(p.model)
    try:
        lean = p._greedy(inputs, n)
        lean_logits, seen[:] = list(seen), []
        p.filter.reset(n, p.cfg.max_new_tokens)
        with torch.inference_mode():
            out = p.model.generate(**inputs, max_new_tokens=p.cfg.max_new_tokens, eos_token_id=p.filter.eos_ids,
                                   pad_token_id=p.filter.eos_ids[0], prefix_allowed_tokens_fn=p.filter.allowed_tensor,
                                   do_sample=False, temperature=None, top_k=None, top_p=None)
    finally:
        handle.remove()
    ref = out[0, n:].tolist()
    while ref and ref[-1] in p.filter.eos_ids:
        ref.pop()
    assert 0 < len(lean_logits) <= len(seen)
    for a, b in zip(lean_logits, seen):
        assert torch.equal(a, b)
    return lean, ref


@pytest.mark.parametrize("family", FAMILIES)
def test_greedy_loop_is_generate_token_for_token(folders: dict[str, Path], frame: np.ndarray, family: str) -> None:
    """The planner's own greedy loop gives generate's answer and logits (M-RoPE positions for the Qwens)."""
    p = TransformersPlanner(folders[family], HFPlannerConfig(max_new_tokens=40, threads=1))
    assert p.lean
    answers = {}
    for instruction, f in (("go to the red cube", frame), ("wave with your left hand", frame[::-1].copy()),
                           ("ve al cubo rojo y luego saluda", np.zeros_like(frame))):
        lean, ref = _same_as_generate(p, instruction, f)
        assert lean == ref
        answers[instruction] = ref
    # The first attempt goes through the loop; the sampled second one still through generate.
    calls: list[int] = []
    generate = p.model.generate
    p.model.generate = lambda *a, **k: calls.append(1) or generate(*a, **k)
    text = p.tokenizer.decode(answers["go to the red cube"], skip_special_tokens=True,
                              clean_up_tokenization_spaces=False)
    assert p.generate("go to the red cube", frame, [], 0) == text.strip() and not calls
    assert isinstance(p.generate("go to the red cube", frame, [], 1), str) and calls == [1]


def test_greedy_loop_is_generate_on_the_shipped_model() -> None:
    """The default checkpoint: generate's plans and logits on held-out instructions, frames and histories."""
    from policies.planner.base import HistoryItem
    from policies.planner.cli import DEFAULT_MODEL
    from policies.planner.evaluate import EVAL_SEED0
    from policies.train.planner_data import make_split
    from robot.skills.registry import SkillCall

    if not (DEFAULT_MODEL / "model.safetensors").exists():
        pytest.skip("no default planner checkpoint")
    rgb, _, samples = make_split("test", 2, 4, EVAL_SEED0, history_share=0.5)
    p = TransformersPlanner(DEFAULT_MODEL, HFPlannerConfig(threads=1))
    assert p.lean
    for s in samples:
        history = tuple(HistoryItem(SkillCall.from_dict(h["call"]), h["ok"], h.get("reason", "")) for h in s.history)
        lean, ref = _same_as_generate(p, s.instruction, rgb[s.frame], history)
        assert lean == ref
        json.loads(p.tokenizer.decode(lean, skip_special_tokens=True))
