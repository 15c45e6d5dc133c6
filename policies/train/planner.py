"""Train the default planner: a small Qwen3-VL, from scratch, on frames and instructions the simulator makes.

Read top to bottom: arguments, data (regenerated, cached in the run folder), tokenizer and model, the
loop (progress bar, TensorBoard, a checkpoint every `save_every` steps), and the export of the trained
model with its model card into `<run_dir>/model/` (or `--out`, e.g. `assets/models/<name>/` to replace the
shipped default).

Why these choices (measured on the 2-core CPU machine this project targets):
- Qwen3-VL over Qwen2.5-VL: its vision tower adds a learned absolute position table to the patches, so
  "where" reaches the language model directly; with rotary positions alone a from-scratch model had not
  started to point after 10 minutes of training (../shared/reference/notes.md).
- Points are whole tokens: every multiple of 10 on the 0..1000 grid is one token, and the loss on them
  is a Gaussian over neighbouring values (sigma = one step), so a near miss costs less than a far one.
- JSON pieces of the registry's plan format are single tokens: a step is about ten tokens to generate.
- Dense losses on the image (planner_aux.py): trained on the answers alone, the model learned the
  language and barely looked (val loss 1.235 with the right frames, 1.308 with shuffled ones, after
  60 min). With every patch and image token also told what it shows and where, from the segmentation
  the simulator renders anyway, an 8-minute run reached 1.326 against 1.565 (without: 1.442 against
  1.502), pointed 3x as often on target and planned more often right, at 4 % more time a step.
- Batches of similar length (`bucket`): uniform batches padded to their longest answer and spent about
  half their compute on padding; with both changes a step takes about 0.45 s instead of 1.0-1.4 s.

Resume: run again with the same `--run-dir`; it continues from the last checkpoint (weights and Adam
state as safetensors, step and data seed as JSON).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from policies.planner.prompt import build_messages
from policies.planner.tiny import COMPACT_TEMPLATE, TinySize, make_checkpoint
from robot.skills.registry import GRID, SKILLS


@dataclass(frozen=True)
class Args:
    """Arguments of `humanoid train planner`."""

    run_dir: str = "runs/train-planner"
    """Folder for data, checkpoints and TensorBoard logs; an existing one is resumed."""
    out: str = ""
    """Where the trained model and its card are exported at the end ("": `<run_dir>/model`, so a training
    run never writes over the shipped default by accident; give assets/models/openhumanoid-planner-tiny to
    replace it, after `humanoid eval planner --planner <run_dir>/model` says the new one is better)."""
    train_scenes: int = 4000
    """Scenes rendered for training (each frame carries `per_scene` instructions)."""
    per_scene: int = 6
    """Instructions written about each training frame."""
    val_scenes: int = 60
    """Held-out scenes (test-split phrasings) for the validation numbers logged while training."""
    history_share: float = 0.1
    """Share of multi-step samples turned into re-plans (calls already run, and their results)."""
    hard_absent: float = 0.0
    """Share of absent-object samples whose colour and shape are both in view on other objects (0: drawn
    like any pair not in view, as the held-out splits are)."""
    relational: float = 1.0
    """Odds multiplier of naming an object by its place among objects of its shape ("the cube on your left",
    "la lata más cercana") where that names it (1: the held-out splits' mix)."""
    stance_camera: float = 0.0
    """Share of training frames rendered from where the head camera sits when the robot balances after Start
    (about 6 cm lower and 0.8 degrees further down than at spawn, jittered), the frames the agent plans on
    (0: every frame at the spawn pose, as the held-out splits are)."""
    minutes: float = 40.0
    """Wall-clock training budget in minutes (the loop stops at this or at `steps`)."""
    steps: int = 100000
    """Most optimiser steps."""
    batch_size: int = 16
    """Samples per step."""
    bucket: int = 8
    """A batch is drawn among the `batch_size * bucket` samples nearest one random sample in length, so
    little compute goes to padding (0: uniform batches)."""
    lr: float = 2e-3
    """Peak learning rate (AdamW, linear warm-up then cosine to 5 %)."""
    warmup: int = 150
    """Warm-up steps."""
    weight_decay: float = 0.01
    """AdamW weight decay."""
    coord_sigma: float = 1.0
    """Width of the soft label over coordinate tokens, in grid steps (0: plain cross-entropy)."""
    coord_weight: float = 2.0
    """Loss weight of coordinate tokens relative to the other answer tokens."""
    aux_patch: float = 0.5
    """Weight of the dense loss on the vision tower's patches: each predicts the colour and shape of the
    object covering it, from the rendered segmentation (planner_aux.py; 0: off)."""
    aux_token: float = 0.5
    """Weight of the dense loss on the merged image tokens: the colour-shape pairs each holds and the
    `point_2d` of the object covering it, by a linear read-out (0: off)."""
    aux_lm: float = 0.5
    """Weight of the loss that makes the language model's output head, at each image token holding an
    object, predict that object's x and y coordinate tokens (0: off)."""
    vision_lr_scale: float = 1.0
    """The vision tower's learning rate relative to `lr`."""
    text_hidden: int = 192
    """Language model width."""
    text_layers: int = 3
    """Language model layers."""
    vision_hidden: int = 96
    """Vision tower width."""
    vision_layers: int = 0
    """Vision tower layers. 0: 2 for a new checkpoint, and the checkpoint's own depth on resume. Given on
    resume and larger than the checkpoint's, the tower grows: blocks are added after the last one with
    their output projections at zero, so each adds nothing until trained and the model answers as before
    (`grow_vision`). The tower runs once a plan, in the prompt, yet each block costs latency: 2 -> 4 blocks
    took a plan from 79 to 92 ms (docs/planner.md)."""
    vocab_size: int = 1200
    """BPE vocabulary trained on the instructions (plan pieces and coordinates are added on top)."""
    image_width: int = 0
    """Frames are shrunk to this width before the model sees them (a multiple of 32), as tall as their
    aspect ratio allows on the 32 px grid. 0: 160 for a new checkpoint (15 image tokens, 160 x 96, instead
    of 80 at 320 x 256, which is what makes training from scratch fit one CPU core: at 320 a step took
    about 2.5x as long, and the dense losses fell no faster per step), and the checkpoint's own width on
    resume. Given on resume, it changes the checkpoint's input size (its processor's pixel budget; the
    vision tower's learned position table is interpolated to any patch grid, so the weights carry over)."""
    save_every: int = 200
    """Steps between checkpoints."""
    seed: int = 0
    """Seed of the scenes, the instructions and the initial weights. Training scenes start at seed x 100,000,
    so 0-8: the scenes from 900,000 are held out (validation, selection and test splits)."""
    device: str = "cpu"
    """Where to train: "cpu", "cuda" (a GPU), or "auto" (cuda when torch sees one). The model, the frames and
    the dense labels then live on that device; the data is made on the CPU either way."""
    threads: int = 1
    """torch CPU threads. One: on two cores shared with other jobs, two threads spin-wait for each other
    (measured: 5.4 s a step with two, 1.0 s with one)."""
    data_workers: int = 0
    """Processes that render the data before training (0: one per CPU core). Each scene draws from its own
    seeds, so the data is the same for any number of them."""
    progress: bool = True
    """Show progress bars."""


TRAIN_SEED0 = 0
"""Training scenes use seeds from here (`--seed` S: from S x 100,000); the run's validation scenes from
`VAL_SEED0`; the held-out splits of `humanoid eval planner` from 910,000 and 1,000,000 (evaluate.SPLITS)."""
VAL_SEED0 = 900_000
COORD_STEP = 10


def plan_tokens() -> list[str]:
    """Single tokens for the registry's JSON pieces and for points on multiples of `COORD_STEP`.

    x and y are different tokens ("350" and ", 180"), so each has its own embedding and output row.
    """
    toks = ["]", "}", "]}}", "]}", "\"}}", "\"}", "\", \"point_2d\": ["]
    for s in SKILLS.values():
        toks += [f"[{{\"skill\": \"{s.name}\"", f", {{\"skill\": \"{s.name}\""]
        for a in s.args:
            if a.type == "target":
                toks.append(f", \"{a.name}\": {{\"object\": \"")
            elif a.choices:
                toks += [f", \"{a.name}\": \"{c}\"" for c in a.choices]
            elif a.type == "number":
                toks.append(f", \"{a.name}\": ")
            else:
                toks.append(f", \"{a.name}\": \"")
    toks += [str(v) for v in range(0, GRID + 1, COORD_STEP)]
    toks += [f", {v}" for v in range(0, GRID + 1, COORD_STEP)]
    return list(dict.fromkeys(toks))


# --- data ----------------------------------------------------------------------------------------------------
def load_or_make_data(run_dir: Path, name: str, split: str, n_scenes: int, per_scene: int, seed0: int,
                      history_share: float, progress: bool, hard_absent: float = 0.0, relational: float = 1.0,
                      workers: int = 1, stance_camera: float = 0.0
                      ) -> tuple[np.ndarray, np.ndarray, list[list[int]], list[dict[str, Any]]]:
    """Frames, object-index masks, each frame's object classes (planner_aux.scene_classes) and samples of
    a split, cached as `<name>.npz` + `<name>.jsonl` in `run_dir`.

    A cache written before the classes were kept gets them re-drawn from the scene seeds, and is made
    again if they do not agree with its samples (the scene generator changed since).
    """
    from policies.train.planner_aux import scene_classes
    from policies.train.planner_data import make_split

    npz, jl = run_dir / f"{name}.npz", run_dir / f"{name}.jsonl"
    if npz.exists() and jl.exists():
        d = np.load(npz)
        samples = [json.loads(x) for x in jl.read_text().splitlines()]
        if "classes" in d:
            return d["rgb"], d["masks"], [[int(c) for c in row if c >= 0] for row in d["classes"]], samples
        classes = scene_classes([seed0 + k for k in range(len(d["rgb"]))])
        if _classes_agree(classes, d["masks"], samples):
            return d["rgb"], d["masks"], classes, samples
    rgb, masks, made = make_split(split, n_scenes, per_scene, seed0, progress, history_share, hard_absent,
                                   relational, workers, stance_camera)
    classes = scene_classes([seed0 + k for k in range(len(rgb))])
    table = np.full((len(classes), max(map(len, classes), default=1)), -1, dtype=np.int8)
    for i, row in enumerate(classes):
        table[i, :len(row)] = row
    np.savez_compressed(npz, rgb=rgb, masks=masks, classes=table)
    jl.write_text("".join(json.dumps(s.to_dict(), ensure_ascii=False) + "\n" for s in made))
    return rgb, masks, classes, [s.to_dict() for s in made]


def _classes_agree(classes: list[list[int]], masks: np.ndarray, samples: list[dict[str, Any]]) -> bool:
    """Whether re-drawn object classes match the masks and every target description of the samples."""
    from robot.sim.scene import COLOURS, SHAPES

    if any(int(m.max()) >= len(c) for m, c in zip(masks, classes)):
        return False
    for s in samples:
        for call, o in zip(s["calls"], s["objects"]):
            if o is not None and "target" in call:
                k = classes[s["frame"]][o]
                if call["target"]["object"].split()[-2:] != [list(COLOURS)[k // len(SHAPES)], SHAPES[k % len(SHAPES)]]:
                    return False
    return True


def encode(processor: Any, sample: dict[str, Any]) -> tuple[list[int], list[int]]:
    """(prompt ids with image placeholders expanded, answer ids ending in eos) of one sample."""
    return encode_all(processor, [sample])[0]


def encode_all(processor: Any, samples: list[dict[str, Any]], chunk: int = 4096) -> list[tuple[list[int], list[int]]]:
    """`encode` of every sample, the tokenizer run on batches (about 3x faster than one by one: 0.25 ms a
    sample)."""
    tok = processor.tokenizer
    merge = processor.image_processor.merge_size ** 2
    pad = processor.image_token * (int(np.prod(_GRID_THW)) // merge)
    out: list[tuple[list[int], list[int]]] = []
    for k in range(0, len(samples), chunk):
        part = samples[k:k + chunk]
        texts = [tok.apply_chat_template(build_messages(s["instruction"], s.get("history", []), ""),
                                         chat_template=processor.chat_template, add_generation_prompt=True,
                                         tokenize=False).replace(processor.image_token, pad) for s in part]
        prompts = tok(texts, add_special_tokens=False)["input_ids"]
        answers = tok([json.dumps(s["calls"], ensure_ascii=False) for s in part], add_special_tokens=False)["input_ids"]
        out += [(p, a + [tok.eos_token_id]) for p, a in zip(prompts, answers)]
    return out


def pick_device(name: str) -> str:
    """"cpu", "cuda" or "auto" -> a torch device name; a clear error where cuda is asked for and absent."""
    import torch

    if name not in ("cpu", "cuda", "auto") and not name.startswith("cuda:"):
        raise ValueError(f"--device must be cpu, cuda, cuda:N or auto, not {name!r}")
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"--device {name}: torch {torch.__version__} sees no GPU (a CPU build?); use --device cpu")
    return name


_GRID_THW = (1, 8, 10)  # set from the image processor's output in main()


def input_size(image_processor: Any, frame_hw: tuple[int, int]) -> tuple[int, int]:
    """(height, width) in pixels that Qwen's `image_processor` shrinks a frame of `frame_hw` to."""
    from PIL import Image

    grid = image_processor(images=[Image.new("RGB", (frame_hw[1], frame_hw[0]))], return_tensors="np")
    _, h, w = (int(v) for v in grid["image_grid_thw"][0])
    patch = int(image_processor.patch_size)
    return h * patch, w * patch


def set_input_width(ckpt: Path, frame_hw: tuple[int, int], width: int) -> tuple[int, int]:
    """Make the checkpoint's image processor shrink frames of `frame_hw` to `width` px wide (and as tall as the
    aspect ratio allows, rounded down to its grid); returns the new (height, width).

    Qwen's processor takes a pixel budget, not a size: it rounds the frame's sides to its grid and, above the
    budget, divides both by sqrt(pixels / budget) and rounds down. The budget written is the smallest (with
    a 0.1 % margin for rounding) at which both sides still reach the size asked for; the result is checked
    through the processor itself.
    """
    from policies.planner.loading import load_processor

    cfg_path = ckpt / "preprocessor_config.json"
    before = cfg_path.read_text()
    cfg = json.loads(before)
    grid = int(cfg["patch_size"]) * int(cfg.get("merge_size", 2))
    fh, fw = frame_hw
    if width % grid or not grid <= width < fw:
        raise ValueError(f"--image-width {width}: must be a multiple of {grid} below the frames' {fw} px")
    height = max(grid, fh * width // fw // grid * grid)
    budget = math.ceil(fh * fw * max(width / fw, height / fh) ** 2 * 1.001)
    cfg["size"] = {"shortest_edge": budget, "longest_edge": budget}
    cfg_path.write_text(json.dumps(cfg, indent=2) + "\n")
    got = input_size(load_processor(ckpt).image_processor, frame_hw)
    if got != (height, width):
        cfg_path.write_text(before)
        raise ValueError(f"--image-width {width}: the image processor gives {got[1]} x {got[0]}, "
                         f"not {width} x {height}")
    return got


def grow_vision(ckpt: Path, depth: int) -> int:
    """Deepen the checkpoint's vision tower to `depth` blocks; returns the depth it had.

    The new blocks go after the last one (the deep-stack taps and the merger keep their inputs' meaning),
    initialised as the model's own initialiser does, except their attention and MLP output projections,
    which are zero: a block adds its branches to the residual stream, so it passes its input through
    unchanged until training moves those projections (their gradients are not zero), and the grown model
    answers as before (tests/test_planner_aux.py). The optimizer's state of the old weights carries over by
    name; the new ones start fresh.
    """
    import torch
    import transformers as tf

    cfg = tf.AutoConfig.from_pretrained(ckpt)
    old = int(cfg.vision_config.depth)
    if depth < old:
        raise ValueError(f"--vision-layers {depth}: the checkpoint's vision tower has {old} blocks "
                         "and cannot shrink")
    if depth == old:
        return old
    cfg.vision_config.depth = depth
    level = tf.logging.get_verbosity()
    tf.logging.set_verbosity_error()  # the load report lists the new blocks as missing: they are, and checked below
    try:
        model, info = tf.Qwen3VLForConditionalGeneration.from_pretrained(ckpt, config=cfg, dtype=torch.float32,
                                                                         output_loading_info=True)
    finally:
        tf.logging.set_verbosity(level)
    new = tuple(f"model.visual.blocks.{i}." for i in range(old, depth))
    odd = [k for k in (*info["missing_keys"], *info["unexpected_keys"]) if not k.startswith(new)]
    if odd or len(info["missing_keys"]) == 0:
        raise ValueError(f"{ckpt}: growing the vision tower would leave other weights unloaded: {odd[:5]}")
    with torch.no_grad():
        for block in model.model.visual.blocks[old:]:
            for lin in (block.attn.proj, block.mlp.linear_fc2):
                lin.weight.zero_()
                if lin.bias is not None:
                    lin.bias.zero_()
    model.save_pretrained(ckpt)
    return old


def pixel_batch(image_processor: Any, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(pixel_values as float16, grid_thw) for every frame, through the model's own image processor."""
    from PIL import Image

    pv, grids = [], []
    for img in rgb:
        out = image_processor(images=[Image.fromarray(img)], return_tensors="np")
        pv.append(out["pixel_values"].astype(np.float16))
        grids.append(out["image_grid_thw"][0])
    return np.stack(pv), np.stack(grids)


# --- loss ------------------------------------------------------------------------------------------------------
def make_loss(groups: list[list[int]], vocab: int, sigma: float, weight: float, device: str = "cpu"):  # noqa: ANN201
    """Cross-entropy on answer tokens; a coordinate token gets a Gaussian soft label over the tokens of
    its group (x values or y values) at neighbouring values."""
    import torch

    is_coord = torch.zeros(vocab, dtype=torch.bool)
    group_of = torch.full((vocab,), -1, dtype=torch.long)
    index_of = torch.full((vocab,), -1, dtype=torch.long)
    for g, ids in enumerate(groups):
        t = torch.tensor(ids)
        is_coord[t] = True
        group_of[t] = g
        index_of[t] = torch.arange(len(ids))
    gid = torch.tensor(groups)  # groups x values
    n = gid.shape[1]
    k = torch.arange(n, dtype=torch.float32)
    soft = torch.exp(-0.5 * ((k[:, None] - k[None, :]) / max(sigma, 1e-6)) ** 2)
    soft = soft / soft.sum(1, keepdim=True)
    is_coord, group_of, index_of, gid, soft = (t.to(device) for t in (is_coord, group_of, index_of, gid, soft))

    def loss_fn(lg: torch.Tensor, lb: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """`lg`: logits of the positions that predict an answer token (K x vocabulary); `lb`: those tokens."""
        lg = lg.float()
        logp = torch.log_softmax(lg, -1)
        nll = -logp.gather(1, lb[:, None])[:, 0]
        c = is_coord[lb]
        w = torch.where(c, torch.full_like(nll, weight), torch.ones_like(nll))
        if sigma > 0 and c.any():
            q = soft[index_of[lb[c]]]
            cols = gid[group_of[lb[c]]]  # the value tokens of each one's group
            nll = nll.clone()
            nll[c] = -(q * logp[c].gather(1, cols)).sum(-1)
        loss = (w * nll).sum() / w.sum()
        with torch.no_grad():
            pred = lg.argmax(-1)
            tok_acc = (pred == lb).float().mean().item()
            coord_acc = (pred[c] == lb[c]).float().mean().item() if c.any() else float("nan")
        return loss, {"token_acc": tok_acc, "coord_acc": coord_acc}

    return loss_fn


def answer_logits(model: Any, b: dict[str, Any], labels: Any) -> tuple[Any, Any, Any]:
    """(logits of the positions that predict answer tokens, those tokens, the last hidden states).

    The output head runs only where a loss needs it: the answers are about a third of the tokens.
    """
    hidden = model.model(**b).last_hidden_state
    m = labels[:, 1:] != -100
    return model.lm_head(hidden[:, :-1][m]), labels[:, 1:][m], hidden


def check_seeds(args: Args) -> None:
    """Refuse a run whose scenes would reach the held-out ones: training scenes from `--seed` x 100,000 must
    stay below the validation scenes (900,000), and those below the selection split (910,000); the test
    split starts at 1,000,000. (`--seed 10` would train on the test split's scenes.)"""
    from policies.planner.evaluate import SELECT_SEED0

    first = TRAIN_SEED0 + args.seed * 100_000
    if first + args.train_scenes > VAL_SEED0:
        raise ValueError(f"--seed {args.seed} --train-scenes {args.train_scenes}: training scenes would reach seed "
                         f"{first + args.train_scenes - 1:,}, into the held-out scenes from {VAL_SEED0:,}")
    if VAL_SEED0 + args.val_scenes > SELECT_SEED0:
        raise ValueError(f"--val-scenes {args.val_scenes}: at most {SELECT_SEED0 - VAL_SEED0:,} (the selection "
                         f"split's scenes start at {SELECT_SEED0:,})")


def length_batches(lengths: np.ndarray, batch_size: int, window: int, rng: np.random.Generator):  # noqa: ANN201
    """A function drawing a batch of sample indices: a random sample and others of about its length.

    Padding to the longest sequence cost 40-80 % more compute than the tokens themselves with uniform
    batches (answers of 1 to 5 steps); drawn from a window of `window` neighbours in length order
    (0: uniform), a batch pads a few tokens at most.
    """
    order = np.argsort(lengths, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    n = len(order)

    def draw() -> list[int]:
        if window <= 0 or n <= window:
            return rng.integers(0, n, batch_size).tolist()
        anchor = int(rng.integers(0, n))
        start = int(min(max(rank[anchor] - window // 2, 0), n - window))
        others = order[start + rng.choice(window, batch_size - 1, replace=False)]
        return [anchor, *others.tolist()]

    return draw


# --- main ------------------------------------------------------------------------------------------------------
def main(args: Args) -> Path:
    import torch
    from torch.utils.tensorboard import SummaryWriter
    from tqdm import tqdm
    import transformers as tf

    from policies.planner.loading import load_processor
    from policies.train.planner_aux import FeatureTap, aux_loss, dense_labels, make_aux, point_label
    from safetensors.torch import load_file, save_file

    global _GRID_THW
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    if device != "cpu":
        torch.backends.cuda.matmul.allow_tf32 = True
    check_seeds(args)
    workers = args.data_workers or os.cpu_count() or 1
    run = Path(args.run_dir)
    run.mkdir(parents=True, exist_ok=True)
    (run / "args.json").write_text(json.dumps(dataclasses.asdict(args), indent=2) + "\n")

    # 1. data: training scenes, and held-out validation scenes with held-out phrasings
    # Named by size: a resumed run given more scenes regenerates (the first scenes come out the same).
    # A cache of another mix has its own name, so changing --hard-absent, --relational or --stance-camera makes
    # new data.
    name = (f"train-{args.train_scenes}x{args.per_scene}" + (f"-hard{args.hard_absent:g}" if args.hard_absent else "")
            + (f"-rel{args.relational:g}" if args.relational != 1.0 else "")
            + (f"-stance{args.stance_camera:g}" if args.stance_camera else ""))
    rgb, masks, classes, samples = load_or_make_data(run, name, "train", args.train_scenes, args.per_scene,
                                                     TRAIN_SEED0 + args.seed * 100_000, args.history_share,
                                                     args.progress, args.hard_absent, args.relational, workers,
                                                     args.stance_camera)
    vrgb, _, _, vsamples = load_or_make_data(run, "val", "test", args.val_scenes, 8, VAL_SEED0, 0.0, args.progress,
                                             workers=workers)

    # 2. tokenizer and model (a fresh checkpoint the first time; the last checkpoint on resume)
    ckpt = run / "checkpoint"
    if not (ckpt / "config.json").exists():
        corpus = [s["instruction"] for s in samples] + [json.dumps(s["calls"]) for s in samples[:3000]]
        size = TinySize(args.text_hidden, args.text_layers, max(1, args.text_hidden // 64), args.vision_hidden,
                        args.vision_layers or 2)
        width = args.image_width or 160
        make_checkpoint(ckpt, "qwen3_vl", size, corpus, args.vocab_size, plan_tokens(), COMPACT_TEMPLATE,
                        seed=args.seed, image_size=(round(rgb.shape[1] * width / rgb.shape[2]), width))
        # make_checkpoint rounds the size to the grid (the position table's size comes from it); the pixel
        # budget is then set as on resume, so every width gives what it asks (224 would round to 192).
        set_input_width(ckpt, rgb.shape[1:3], width)
        (ckpt / "trainer_state.json").write_text(json.dumps({"step": 0, "seconds": 0.0}))
    if args.vision_layers:  # first: it refuses before writing anything, and the input size is checked after
        grow_vision(ckpt, args.vision_layers)
    processor = load_processor(ckpt)
    if args.image_width and input_size(processor.image_processor, rgb.shape[1:3])[1] != args.image_width:
        set_input_width(ckpt, rgb.shape[1:3], args.image_width)
        processor = load_processor(ckpt)
    model = tf.Qwen3VLForConditionalGeneration.from_pretrained(ckpt, dtype=torch.float32).to(device)
    state = json.loads((ckpt / "trainer_state.json").read_text())
    tok = processor.tokenizer
    n_params = sum(p.numel() for p in model.parameters())

    # 3. inputs, once
    pv, grids = pixel_batch(processor.image_processor, rgb)
    _GRID_THW = tuple(int(v) for v in grids[0])
    enc = encode_all(processor, samples)
    vpv, _ = pixel_batch(processor.image_processor, vrgb)
    venc = encode_all(processor, vsamples)
    # Frames as one tensor (frames x patches x features, float16) on the training device: a batch is a gather.
    pv_t, vpv_t = torch.from_numpy(pv).to(device), torch.from_numpy(vpv).to(device)
    xs = [tok.convert_tokens_to_ids(str(v)) for v in range(0, GRID + 1, COORD_STEP)]
    ys = [tok.convert_tokens_to_ids(f", {v}") for v in range(0, GRID + 1, COORD_STEP)]
    loss_fn = make_loss([xs, ys], len(tok), args.coord_sigma, args.coord_weight, device)
    image_id = processor.image_token_id

    # 4. the training-only heads of the dense vision losses (planner_aux.py): saved beside the checkpoint
    aux_w = (args.aux_patch, args.aux_token, args.aux_lm)
    aux = tap = dense = None
    if any(w > 0 for w in aux_w):
        aux = make_aux(model.config.vision_config.hidden_size, model.config.text_config.hidden_size)
        if (ckpt / "aux_heads.safetensors").exists():
            aux.load_state_dict(load_file(ckpt / "aux_heads.safetensors"))
        aux.to(device)
        tap = FeatureTap(model)
        dense = {k: torch.from_numpy(v).to(device) for k, v in
                 dense_labels(masks, classes, (_GRID_THW[1], _GRID_THW[2]),
                              processor.image_processor.merge_size).items()}
        coord_targets = point_label(xs, ys, len(tok), COORD_STEP, args.coord_sigma, device)

    grid_rows = torch.tensor(np.stack([grids[0]] * args.batch_size))

    def batch(idx: list[int], e: list, p: torch.Tensor, ss: list) -> dict[str, torch.Tensor]:
        seqs = [e[i][0] + e[i][1] for i in idx]
        n = max(len(s) for s in seqs)
        ids = torch.full((len(idx), n), tok.pad_token_id, dtype=torch.long)
        lab = torch.full((len(idx), n), -100, dtype=torch.long)
        att = torch.zeros((len(idx), n), dtype=torch.long)
        for r, i in enumerate(idx):
            pr, an = e[i]
            ids[r, :len(pr) + len(an)] = torch.tensor(pr + an)
            lab[r, len(pr):len(pr) + len(an)] = torch.tensor(an)
            att[r, :len(pr) + len(an)] = 1
        frames = torch.tensor([ss[i]["frame"] for i in idx], device=p.device)
        grid = grid_rows[:len(idx)] if len(idx) <= len(grid_rows) else torch.tensor(np.stack([grids[0]] * len(idx)))
        out = {"input_ids": ids, "attention_mask": att, "labels": lab, "mm_token_type_ids": (ids == image_id).long(),
               "image_grid_thw": grid}
        out = {k: v.to(device, non_blocking=True) for k, v in out.items()}
        out["pixel_values"] = p[frames].reshape(-1, p.shape[-1]).float()
        return out

    named = dict(model.named_parameters())
    if aux is not None:
        named.update({f"aux.{k}": v for k, v in aux.named_parameters()})
    vision = [v for k, v in named.items() if k.startswith("model.visual.")]
    rest = [v for k, v in named.items() if not k.startswith("model.visual.")]
    opt = torch.optim.AdamW([{"params": rest, "scale": 1.0}, {"params": vision, "scale": args.vision_lr_scale}],
                            lr=args.lr, weight_decay=args.weight_decay, betas=(0.9, 0.98))
    if (ckpt / "optimizer.safetensors").exists():
        _load_optimizer(opt, named, load_file(ckpt / "optimizer.safetensors", device=device))
    budget_s = args.minutes * 60.0
    total_guess = max(args.warmup + 1, min(args.steps, state.get("planned_steps", args.steps)))

    def lr_at(step: int, frac: float) -> float:
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))

    writer = SummaryWriter(str(run / "tb"))
    rng = np.random.default_rng(args.seed + state["step"])
    draw = length_batches(np.array([len(p) + len(a) for p, a in enc]), args.batch_size, args.batch_size * args.bucket,
                          rng)
    step, spent = state["step"], state["seconds"]
    cpu0, cpu_before = time.process_time(), state.get("cpu_seconds", 0.0)
    t0 = time.time()
    bar = tqdm(total=int(budget_s), initial=int(min(spent, budget_s)), unit="s", desc="train planner",
               disable=not args.progress, bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} s [{postfix}]")
    model.train()
    last_save = time.time()
    val: dict[str, float] = {}
    while step < args.steps and spent < budget_s:
        frac = spent / budget_s
        for g in opt.param_groups:
            g["lr"] = lr_at(step, frac) * g["scale"]
        idx = draw()
        b = batch(idx, enc, pv_t, samples)
        labels = b.pop("labels")
        lg, lb, hidden = answer_logits(model, b, labels)
        loss, stats = loss_fn(lg, lb)
        if aux is not None:
            frames = torch.tensor([samples[i]["frame"] for i in idx], device=device)
            a_loss, a_stats = aux_loss(aux, tap, model.lm_head, hidden[b["input_ids"] == image_id],
                                       {k: v[frames] for k, v in dense.items()}, coord_targets, aux_w)
            loss_total = loss + a_loss
            stats.update(a_stats)
        else:
            loss_total = loss
        opt.zero_grad(set_to_none=True)
        loss_total.backward()
        torch.nn.utils.clip_grad_norm_(list(named.values()), 1.0)
        opt.step()
        step += 1
        now = time.time()
        spent_new = spent + (now - t0)
        t0 = now
        bar.update(int(min(spent_new, budget_s)) - int(min(spent, budget_s)))
        spent = spent_new
        if step % 10 == 0:
            writer.add_scalar("train/loss", loss.item(), step)
            writer.add_scalar("train/token_acc", stats["token_acc"], step)
            if not math.isnan(stats["coord_acc"]):
                writer.add_scalar("train/coord_acc", stats["coord_acc"], step)
            writer.add_scalar("train/lr", opt.param_groups[0]["lr"], step)
            for k, v in stats.items():
                if k.startswith("aux_") and not math.isnan(v):
                    writer.add_scalar(f"aux/{k[4:]}", v, step)
            bar.set_postfix_str(f"step {step} loss {loss.item():.3f} tok {stats['token_acc']:.3f}")
        if step % args.save_every == 0 or spent >= budget_s or step >= args.steps:
            model.eval()
            with torch.no_grad():
                vidx = list(range(0, len(venc), max(1, len(venc) // 64)))[:64]
                vb = batch(vidx, venc, vpv_t, vsamples)
                vl = vb.pop("labels")
                vloss, vstats = loss_fn(*answer_logits(model, vb, vl)[:2])
                # The same batch with every frame swapped for another one: how much the answers use the image.
                vb["pixel_values"] = vb["pixel_values"].roll(int(np.prod(_GRID_THW)), 0)
                vshuf, vsstats = loss_fn(*answer_logits(model, vb, vl)[:2])
            model.train()
            writer.add_scalar("val/loss", vloss.item(), step)
            writer.add_scalar("val/loss_shuffled_frames", vshuf.item(), step)
            writer.add_scalar("val/coord_acc_shuffled_frames", vsstats["coord_acc"], step)
            writer.add_scalar("val/token_acc", vstats["token_acc"], step)
            writer.add_scalar("val/coord_acc", vstats["coord_acc"], step)
            val = {"val_loss": round(vloss.item(), 4), "val_loss_shuffled_frames": round(vshuf.item(), 4),
                   "val_coord_acc": round(vstats["coord_acc"], 4),
                   "val_coord_acc_shuffled_frames": round(vsstats["coord_acc"], 4)}
            model.save_pretrained(ckpt)
            save_file(_optimizer_tensors(opt, named), ckpt / "optimizer.safetensors")
            if aux is not None:
                save_file({k: v.cpu() for k, v in aux.state_dict().items()}, ckpt / "aux_heads.safetensors")
            (ckpt / "trainer_state.json").write_text(json.dumps(
                {"step": step, "seconds": spent, "cpu_seconds": cpu_before + time.process_time() - cpu0}))
            last_save = time.time()
    del last_save, total_guess
    if tap is not None:
        tap.close()
    bar.close()
    writer.close()
    final = {"step": step, "seconds": spent, "cpu_seconds": cpu_before + time.process_time() - cpu0,
             "parameters": n_params, "train_samples": len(samples), "train_frames": int(len(rgb)),
             "image_tokens": int(np.prod(_GRID_THW)) // processor.image_processor.merge_size ** 2,
             "input_size": list(input_size(processor.image_processor, rgb.shape[1:3])), **val}
    (run / "final.json").write_text(json.dumps(final, indent=2) + "\n")
    out = Path(args.out) if args.out else run / "model"
    export(ckpt, out, args, final)
    print(f"planner exported to {out} (try it: humanoid eval planner --planner {out})", flush=True)
    return ckpt


def _optimizer_tensors(opt: Any, named: dict[str, Any]) -> dict[str, Any]:
    """AdamW state by parameter name (safetensors, not a pickle)."""
    import torch

    out = {}
    for name, p in named.items():
        st = opt.state.get(p)
        if st:
            out[f"{name}::exp_avg"] = st["exp_avg"].contiguous().cpu()
            out[f"{name}::exp_avg_sq"] = st["exp_avg_sq"].contiguous().cpu()
            out[f"{name}::step"] = torch.as_tensor(st["step"], dtype=torch.float32).reshape(1)
    return out


def _load_optimizer(opt: Any, named: dict[str, Any], tensors: dict[str, Any]) -> None:
    import torch

    for name, p in named.items():
        if f"{name}::exp_avg" in tensors:
            opt.state[p] = {"exp_avg": tensors[f"{name}::exp_avg"], "exp_avg_sq": tensors[f"{name}::exp_avg_sq"],
                            "step": torch.tensor(float(tensors[f"{name}::step"][0]))}


def export(ckpt: Path, out: Path, args: Args, final: dict[str, Any]) -> None:
    """Copy the model (weights in bfloat16 safetensors), tokenizer and processor files to `out`."""
    import shutil

    import torch
    import transformers as tf

    out.mkdir(parents=True, exist_ok=True)
    model = tf.Qwen3VLForConditionalGeneration.from_pretrained(ckpt, dtype=torch.float32)
    model.to(torch.bfloat16).save_pretrained(out)
    for f in ("tokenizer.json", "tokenizer_config.json", "preprocessor_config.json", "processor_config.json",
              "chat_template.jinja"):
        shutil.copy(ckpt / f, out / f)
    (out / "training.json").write_text(json.dumps({"args": dataclasses.asdict(args), **final}, indent=2) + "\n")
    from policies.train.planner_card import write_card

    write_card(out)


def _image_width(text: str) -> int:
    """argparse type of `--image-width`: 0, or a whole multiple of the 32 px grid (patch 16, 2x2 merge)."""
    import argparse

    from robot.argtypes import non_negative_int

    value = int(non_negative_int(text))
    if value % 32:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or a multiple of 32")
    return value


def parse_args(argv: list[str] | None = None) -> Args:
    """One flag per field of `Args`, its docstring as help."""
    from policies.train.args import parse_dataclass_args

    from robot.argtypes import non_negative_float, non_negative_int, positive_float, positive_int, unit_float

    types = {**dict.fromkeys(("train_scenes", "per_scene", "val_scenes", "steps", "batch_size", "save_every",
                              "threads", "text_hidden", "text_layers", "vision_hidden", "vision_layers",
                              "vocab_size"), positive_int),
             **dict.fromkeys(("minutes", "lr", "vision_lr_scale", "relational"), positive_float),
             **dict.fromkeys(("bucket", "warmup", "seed", "data_workers"), non_negative_int),
             "image_width": _image_width,
             **dict.fromkeys(("weight_decay", "coord_sigma", "coord_weight", "aux_patch", "aux_token", "aux_lm"),
                             non_negative_float),
             **dict.fromkeys(("history_share", "hard_absent", "stance_camera"), unit_float)}
    return parse_dataclass_args(Args, argv, "humanoid train planner", __doc__.split("\n\n")[0], types=types)


if __name__ == "__main__":
    main(parse_args())
