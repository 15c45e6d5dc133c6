"""The default planner's model card (README.md in its folder): architecture, data, training, measured numbers.

`export` in planner.py writes it after training; `python -m policies.train.planner_card FOLDER --eval FILE`
adds the numbers `humanoid eval planner --json` printed (kept beside it as eval.json).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

ROWS = (("valid_rate", "1.0"), ("plan_accuracy", ">= 0.95"), ("plan_accuracy_en", ">= 0.95"),
        ("plan_accuracy_es", ">= 0.95"), ("point_accuracy", ">= 0.9"), ("refusal_accuracy", ">= 0.95"),
        ("false_refusal_rate", "-"), ("latency_ms_median", "<= 100"))


def write_card(folder: str | Path, metrics: dict[str, Any] | None = None) -> Path:
    folder = Path(folder)
    cfg = json.loads((folder / "config.json").read_text())
    tr = json.loads((folder / "training.json").read_text())
    args = tr["args"]
    t, v = cfg["text_config"], cfg["vision_config"]
    size_mb = (folder / "model.safetensors").stat().st_size / 1e6
    tok = json.loads((folder / "tokenizer.json").read_text())
    n_vocab = len(tok["model"]["vocab"]) + len(tok.get("added_tokens", []))
    lines = [
        "---", "license: apache-2.0", "library_name: transformers", "pipeline_tag: image-text-to-text", "---", "",
        "# openhumanoid-planner-tiny", "",
        "The default System 2 planner of openhumanoid: reads an instruction (English or Spanish) and the G1 head-camera",
        "frame, and answers a JSON list of skill calls from the skill registry, with targets as a description and a",
        "`point_2d` on Qwen's 0..1000 grid. A real transformers architecture (`Qwen3VLForConditionalGeneration`),",
        "trained from scratch on simulator data; it loads with `from_pretrained` like any Qwen3-VL checkpoint",
        "(`humanoid plan ... --planner default`). Decoding runs under the registry's grammar, so answers always parse.",
        "", "## Architecture", "",
        f"- Language model: hidden {t['hidden_size']}, {t['num_hidden_layers']} layers, {t['num_attention_heads']} heads "
        f"({t.get('num_key_value_heads')} key/value), head dim {t.get('head_dim')}, MLP {t['intermediate_size']}, "
        f"M-RoPE sections {t.get('rope_parameters', {}).get('mrope_section')}.",
        f"- Vision tower: hidden {v['hidden_size']}, {v['depth']} layers, patch {v['patch_size']}, 2x2 merge, learned "
        f"position table of {v['num_position_embeddings']}, DeepStack from layer(s) {v.get('deepstack_visual_indexes')}.",
        f"- {tr['parameters'] / 1e6:.2f} M parameters; weights in bfloat16 safetensors, {size_mb:.1f} MB.",
        f"- Input: the 320x240 frame shrunk to {args['image_width']} px wide (15 image tokens); the chat template",
        "  is Qwen's without the system message (the weights carry the vocabulary).",
        f"- Tokenizer: byte-level BPE of {args['vocab_size']} trained on the instructions, plus the registry's JSON",
        f"  pieces and one token per coordinate value (x: \"350\", y: \", 180\"; steps of 10): {n_vocab} tokens.",
        "", "## Data", "",
        f"- {tr.get('train_frames', args['train_scenes'])} head-camera frames of seeded random scenes (seeds from "
        f"{args['seed'] * 100_000}), {args['per_scene']} instructions each: {tr.get('train_samples', '?')} samples,",
        "  half English, half Spanish: synonyms, word orders, politeness, typos, relative references (\"the ball on",
        "  your left\", \"el cubo más cercano\"), pronouns, chains of up to 5 steps joined by then / y luego and others.",
        "- Targets: the registry's JSON; descriptions in English (\"[size] colour shape\"), points on the object's",
        "  pixels nearest its centroid, on multiples of 10.",
        "- Refusals (20 %): an object not in view, a request that is not a robot action, an unsafe request.",
        f"- {int(args['history_share'] * 100)} % of multi-step samples are re-plans (calls already run, with results).",
        "- Held out from training: 20 % of the phrasing templates, and scene seeds from 900,000 (validation) and",
        "  1,000,000 (evaluation).",
        "", "## Training", "",
        "```", "humanoid train planner --run-dir runs/train-planner   # regenerates the data; resumable", "```", "",
        f"- {tr['step']} steps of batch {args['batch_size']}, AdamW lr {args['lr']} (warm-up {args['warmup']}, cosine),",
        f"  Gaussian soft labels on coordinate tokens (sigma {args['coord_sigma']} step, weight {args['coord_weight']}).",
        f"- {tr['seconds'] / 60:.1f} min wall, {tr.get('cpu_seconds', 0) / 60:.1f} min CPU on one thread of a 2-core",
        "  machine shared with other jobs (in two sessions: 35 min on 1,000 frames x 12 instructions, then resumed",
        "  with `--train-scenes 4000 --per-scene 6 --minutes 60` on 4,000 frames x 6).", "",
    ]
    if metrics:
        kw = metrics.get("keyword", {})
        lines += ["## Measured (held-out split)", "",
                  f"`humanoid eval planner --json --scenes {metrics.get('scenes', 100)} --per-scene "
                  f"{metrics.get('per_scene', 6)}` ({metrics.get('n_samples')} instructions):", "",
                  "| metric | this model | keyword baseline | target |", "|---|---|---|---|"]
        for k, target in ROWS:
            lines.append(f"| {k} | {metrics.get(k)} | {kw.get(k, '-')} | {target} |")
        lines += ["", "It falls far short of the issue's targets and below the keyword baseline. Diagnosis: the model",
                  "has learned the language side (skills, order, arguments, text refusals) but barely uses the image:",
                  "on validation batches the loss with the right frames is 1.235, with shuffled frames 1.308 and with",
                  "one frame for all 1.270, and coordinate-token accuracy does not change. So points collapse to a",
                  "few frequent values, descriptions that must be read from the frame are guesses, and absent-object",
                  "refusals are near chance. See Limits for what would fix it.", ""]
    lines += ["## Limits", "",
              "- Tiny and trained for half an hour of CPU: the vision pathway has not learned yet (above). What we",
              "  expect to fix it, untested for lack of budget: more image tokens (320 px, 80 tokens), hours rather",
              "  than minutes of training (or a GPU), or a pretrained vision tower. Until then the keyword planner",
              "  is the more accurate choice on this simulator's scenes; plug a real Qwen2.5-VL or Qwen3-VL folder in",
              "  with `--planner PATH` for a model that sees.",
              "- It knows this simulator's 8 colours and 3 shapes, the generator's phrasings, and frames from the",
              "  robot's start pose. Descriptions are always English, whatever the instruction's language.",
              "- Latency: about 19 generated tokens for a typical plan at 7-30 ms a token on one CPU thread, most of",
              "  it the transformers generate loop. The table's median was measured with a cold grammar cache and",
              "  the machine's load average at 4-5; warm, at load 2.2, the median was 137 ms (200 ms CPU a plan).",
              "  Both are above the 100 ms target."]
    (folder / "README.md").write_text("\n".join(lines) + "\n")
    if metrics:
        (folder / "eval.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return folder / "README.md"


if __name__ == "__main__":
    p = argparse.ArgumentParser(description="write the planner's model card")
    p.add_argument("folder")
    p.add_argument("--eval", help="a file with the JSON last line of `humanoid eval planner --json`")
    a = p.parse_args()
    m = None
    if a.eval:
        m = json.loads(Path(a.eval).read_text().strip().splitlines()[-1])
    print(write_card(a.folder, m))
