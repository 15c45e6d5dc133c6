"""The transformers backend: any image-text-to-text checkpoint in a local folder as a `Planner`.

Loads with `from_pretrained` (offline, no remote code; see `loading.py` for the processor), builds the
prompt with the model's own chat template, decodes greedily under the registry's grammar
(`prefix_allowed_tokens_fn`) so the answer always parses, and reads points on Qwen's 0..1000 grid or,
for Qwen2.5-VL, in absolute pixels of its resized input. The second attempt (after an invalid answer)
samples at temperature 0.7 so it can differ from the first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from policies.planner.base import HistoryItem, Planner
from policies.planner.grammar import GrammarConfig, PlanGrammar, TokenFilter
from policies.planner.loading import load_model, load_processor
from policies.planner.prompt import build_messages
from robot.skills.registry import GRID

PIXEL_MODELS = ("qwen2_5_vl",)
"""Model types whose grounding answers are absolute pixels of the resized input (Qwen2.5-VL)."""


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
        self.model = load_model(self.path)
        self.tokenizer = self.processor.tokenizer
        self.model_type = str(getattr(self.model.config, "model_type", ""))
        self.name = self.path.name
        self.coords = cfg.coords if cfg.coords != "auto" else ("pixels" if self.model_type in PIXEL_MODELS else "grid")
        self._input_size: tuple[int, int] | None = None
        coord_max = GRID if self.coords == "grid" else 4096
        self.grammar = PlanGrammar(GrammarConfig(coord_max=coord_max))
        self.filter = TokenFilter(self.grammar, self.tokenizer, self._eos_ids())

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


def describe(path: str | Path) -> dict[str, Any]:
    """Architecture facts of a model folder, for model cards and `--json` outputs."""
    cfg = json.loads((Path(path) / "config.json").read_text())
    return {"model_type": cfg.get("model_type"), "architectures": cfg.get("architectures")}


__all__ = ["HFPlannerConfig", "TransformersPlanner", "describe"]
