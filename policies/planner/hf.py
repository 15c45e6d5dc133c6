"""The transformers backend: any image-text-to-text checkpoint in a local folder as a `Planner`.

Loads with `from_pretrained` (offline, no remote code; see `loading.py` for the processor), builds the
prompt with the model's own chat template, decodes greedily under the registry's grammar
(`prefix_allowed_tokens_fn`) so the answer always parses, and reads points on Qwen's 0..1000 grid or,
for Qwen2.5-VL, in absolute pixels of its resized input. The second attempt (after an invalid answer)
samples at temperature 0.7 so it can differ from the first.

The first, greedy attempt runs its own loop over the model's forward with the KV cache (`_greedy`) rather
than `generate`, for the architectures in `LEAN_MODELS`: the model gets the same inputs, so the logits and
the answer are the same bit for bit, without generate's per-token bookkeeping.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from policies.planner.base import HistoryItem, Planner, PromptTooLong
from policies.planner.grammar import GrammarConfig, PlanGrammar, TokenFilter
from policies.planner.loading import ModelLoadError, load_model, load_processor
from policies.planner.prompt import build_messages
from robot.skills.registry import GRID

PIXEL_MODELS = ("qwen2_5_vl",)
"""Model types whose grounding answers are absolute pixels of the resized input (Qwen2.5-VL)."""

LEAN_MODELS = ("qwen3_vl", "qwen2_5_vl", "smolvlm")
"""Model types whose greedy answer `_greedy` decodes: the families tests/test_planner_hf.py checks against
`generate`, logits included. Others (Qwen2-VL, Idefics3) go through `generate`."""

# Generation-config fields that would add a logits processor to greedy `generate`, with their neutral values:
# `_greedy` applies only the grammar, so a checkpoint that sets one of them goes through `generate`.
_NEUTRAL_GENERATION = {"repetition_penalty": (None, 1.0), "encoder_repetition_penalty": (None, 1.0),
                       "no_repeat_ngram_size": (None, 0), "encoder_no_repeat_ngram_size": (None, 0),
                       "bad_words_ids": (None,), "sequence_bias": (None,), "suppress_tokens": (None,),
                       "begin_suppress_tokens": (None,), "forced_bos_token_id": (None,),
                       "forced_eos_token_id": (None,), "min_length": (None, 0), "min_new_tokens": (None, 0),
                       "exponential_decay_length_penalty": (None,), "watermarking_config": (None,)}


@dataclass(frozen=True)
class HFPlannerConfig:
    """How the transformers backend runs."""

    max_new_tokens: int = 200
    """Longest answer in tokens."""
    constrained: bool = True
    """Decode under the plan grammar (off only to measure what the bare model does)."""
    coords: str = "auto"
    """"grid" (0..1000), "pixels" (absolute, of the resized input) or "auto" (pixels for Qwen2.5-VL)."""
    threads: int = 0
    """torch CPU threads (0: leave torch's setting)."""
    seed: int = 0
    """Seed of the sampled second attempt."""


class TransformersPlanner(Planner):
    """A planner backed by a local transformers checkpoint.

    Args:
        path: the model folder (config.json, *.safetensors, tokenizer and processor files).
        cfg: decoding options.
    """

    def __init__(self, path: str | Path, cfg: HFPlannerConfig = HFPlannerConfig()) -> None:
        super().__init__()
        import torch

        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.path = Path(path)
        self.cfg = cfg
        self.processor = load_processor(self.path)
        self.tokenizer = self.processor.tokenizer
        if not (getattr(self.processor, "chat_template", None) or self.tokenizer.chat_template):
            raise ModelLoadError(f"model folder {self.path} has no chat template (chat_template.jinja, "
                                 "chat_template.json, or chat_template in tokenizer_config.json)")
        self.model = load_model(self.path)
        self.model_type = str(getattr(self.model.config, "model_type", ""))
        self.name = self.path.name
        self.coords = cfg.coords if cfg.coords != "auto" else ("pixels" if self.model_type in PIXEL_MODELS else "grid")
        self._input_size: tuple[int, int] | None = None
        coord_max = GRID if self.coords == "grid" else 4096
        self.grammar = PlanGrammar(GrammarConfig(coord_max=coord_max))
        self.filter = TokenFilter(self.grammar, self.tokenizer, self._eos_ids())
        params = inspect.signature(self.model.forward).parameters
        # transformers 5 renamed the forward's `past_key_values` to `cache` (5.24 still takes both).
        self._cache_arg = "cache" if "cache" in params else "past_key_values"
        self._keep_arg = "logits_to_keep" in params
        gc = self.model.generation_config
        # Whether the greedy first attempt runs `_greedy` (else `generate`, as the sampled second one does).
        self.lean = self.model_type in LEAN_MODELS and all(
            getattr(gc, k, None) in neutral for k, neutral in _NEUTRAL_GENERATION.items())
        self.context = context_length(self.model.config)
        """Positions the language model was built for (None: the config does not say)."""

    def _eos_ids(self) -> list[int]:
        ids: list[int] = []
        for src in (self.model.generation_config.eos_token_id, self.tokenizer.eos_token_id):
            if isinstance(src, int):
                ids.append(src)
            elif isinstance(src, (list, tuple)):
                ids.extend(int(i) for i in src)
        for name in ("<|im_end|>", "<end_of_utterance>", "<|endoftext|>"):
            i = self.tokenizer.convert_tokens_to_ids(name)
            if isinstance(i, int) and i >= 0 and i != getattr(self.tokenizer, "unk_token_id", None):
                ids.append(i)
        if not ids:
            raise ValueError(f"{self.path}: the tokenizer has no end-of-sequence token")
        return sorted(set(ids))

    def input_size(self) -> tuple[int, int] | None:
        return self._input_size

    def prompt(self, instruction: str, history: Sequence[HistoryItem] = ()) -> str:
        """The prompt text, rendered by the model's chat template."""
        messages = build_messages(instruction, history)
        template = getattr(self.processor, "chat_template", None) or self.tokenizer.chat_template
        return self.tokenizer.apply_chat_template(messages, chat_template=template, add_generation_prompt=True,
                                                  tokenize=False)

    def generate(self, instruction: str, frame: np.ndarray | None, history: Sequence[HistoryItem],
                 attempt: int) -> str:
        import torch
        from PIL import Image

        if frame is None:
            frame = np.zeros((240, 320, 3), dtype=np.uint8)  # a blank view: the model can still refuse
        text = self.prompt(instruction, history)
        inputs = self.processor(text=[text], images=[Image.fromarray(frame)], return_tensors="pt")
        grid = inputs.get("image_grid_thw")
        if grid is not None:
            patch = int(getattr(self.processor.image_processor, "patch_size", 14))
            self._input_size = (int(grid[0][2]) * patch, int(grid[0][1]) * patch)
        else:
            self._input_size = (frame.shape[1], frame.shape[0])
        n = int(inputs["input_ids"].shape[1])
        if self.context is not None and n + self.cfg.max_new_tokens > self.context:
            # Past the positions it was built for, a model answers noise: say so rather than plan on it.
            raise PromptTooLong(f"The instruction is too long for {self.name}: the prompt is {n} tokens with the "
                                f"image and the history, and {self.context - self.cfg.max_new_tokens} fit before "
                                "its answer.")
        mask = inputs.get("attention_mask")
        if attempt == 0 and self.cfg.constrained and self.lean and (mask is None or bool(mask.all())):
            ids = self._greedy(inputs, n)
            return self.tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False).strip()
        kwargs: dict[str, Any] = {"max_new_tokens": self.cfg.max_new_tokens,
                                  "pad_token_id": self.tokenizer.pad_token_id or self.filter.eos_ids[0],
                                  "eos_token_id": self.filter.eos_ids}
        if self.cfg.constrained:
            self.filter.reset(n, self.cfg.max_new_tokens)
            kwargs["prefix_allowed_tokens_fn"] = self.filter.allowed_tensor
        if attempt > 0:
            torch.manual_seed(self.cfg.seed + attempt)
            kwargs.update(do_sample=True, temperature=0.7, top_k=0, top_p=1.0)
        else:
            kwargs.update(do_sample=False, temperature=None, top_k=None, top_p=None)
        with torch.inference_mode():
            out = self.model.generate(**inputs, **kwargs)
        return self.tokenizer.decode(out[0, n:], skip_special_tokens=True, clean_up_tokenization_spaces=False).strip()

    def _greedy(self, inputs: Any, n: int) -> list[int]:
        """The answer ids (without the end token) of greedy decoding under the grammar: one model call a token.

        The model sees what `generate` gives it: the prompt with its image once, then each picked token with
        the KV cache. Positions are left to the model, which counts them from the cache length (plus, for
        M-RoPE, the image's rope deltas): the values generate passes. The all-ones attention mask is left
        out, as generate leaves it out (given a mask at a decoding step, the Qwen forwards in transformers 5.24
        take positions from the whole mask and fail). So the logits are generate's bit for bit
        (tests/test_planner_hf.py), and the pick is generate's: argmax over the allowed ids, the lowest id on
        a tie. Left out is generate's bookkeeping around each call (logits processors, stopping criteria,
        growing position and token-type tensors), and, once the grammar allows only end tokens, the model
        call that generate makes to pick one of them.

        Jump-forward decoding (one call for a run of tokens the grammar forces) was measured and left out:
        the default model's tokenizer holds the JSON scaffolding as whole tokens (`, "target": {"object": "`)
        and the grammar also allows its other splits, so 10 of 774 answer tokens (40 held-out plans) had a
        single choice, never two in a row; a multi-token step also changes the logits in the last bits.
        """
        import torch

        kwargs = {k: v for k, v in inputs.items() if k != "attention_mask"}
        eos = set(self.filter.eos_ids)
        budget = self.cfg.max_new_tokens
        self.filter.reset(n, budget)
        extra: dict[str, Any] = {"use_cache": True}
        if self._keep_arg:
            extra["logits_to_keep"] = 1
        out_ids: list[int] = []
        with torch.inference_mode():
            out = self.model(**kwargs, **extra)
            while len(out_ids) < budget:
                ids = self.filter.allowed_after(out_ids)
                if all(i in eos for i in ids):
                    break
                if len(ids) == 1:
                    pick = ids[0]
                else:
                    logits = out.logits[0, -1].float()
                    allowed = self.filter.as_tensor(ids)
                    scores = torch.full_like(logits, float("-inf"))
                    scores[allowed] = logits[allowed]
                    pick = int(scores.argmax())
                    if pick in eos:
                        break
                out_ids.append(pick)
                if len(out_ids) == budget:
                    break
                extra[self._cache_arg] = getattr(out, self._cache_arg)
                out = self.model(input_ids=torch.tensor([[pick]], dtype=torch.long), **extra)
        return out_ids


def context_length(config: Any) -> int | None:
    """The language model's `max_position_embeddings` (its text config's for the VLMs), or None."""
    for c in (getattr(config, "text_config", None), config):
        v = getattr(c, "max_position_embeddings", None)
        if isinstance(v, int) and v > 0:
            return v
    return None


def describe(path: str | Path) -> dict[str, Any]:
    """Architecture facts of a model folder, for model cards and `--json` outputs."""
    cfg = json.loads((Path(path) / "config.json").read_text())
    return {"model_type": cfg.get("model_type"), "architectures": cfg.get("architectures")}


__all__ = ["LEAN_MODELS", "HFPlannerConfig", "TransformersPlanner", "context_length", "describe"]
