"""Dense auxiliary losses that teach the default planner's vision pathway what is where (training only).

Trained on the answer alone, the from-scratch planner learned the language side and barely used the
image (its first model card: loss with shuffled frames within 6 % of the loss with the right ones;
points collapsed to a few frequent values). The generator already renders every frame's segmentation,
so each image token can be told what it shows, from the first step:

- patch class: every 16 px patch of the vision tower's last layer predicts the colour and shape of the
  object that covers most of it, or background (cross-entropy, 8 x 3 + 1 classes);
- token contents: every merged image token (what the language model reads) predicts which colour-shape
  pairs it holds (binary cross-entropy) and, where one holds an object, that object's `point_2d`
  (the answer's point, on the 0..1000 grid, as a fraction), by a linear read-out, so the position a
  plan must copy is in the token's embedding in a form the language model can read;
- point tokens: at each image token that holds an object, the language model's own output head
  predicts the x and y coordinate tokens of that object's point (half the target's mass on each),
  which trains the path from "where" features to coordinate tokens before any plan needs it.

The heads here are small linear layers outside the model: they are saved with the training checkpoint
(for resuming) and never exported, so the shipped model stays a plain Qwen3-VL.
"""

from __future__ import annotations

from typing import Any

import numpy as np

N_CLASSES = 24
"""Colour-shape pairs: class = colour index * 3 + shape index (robot.sim.scene's COLOURS and SHAPES)."""
BACKGROUND = N_CLASSES
MIN_PATCH_PIXELS = 12
"""An object "covers" a patch (or a token) with at least this many pixels of the full frame there."""


def scene_classes(seeds: list[int]) -> list[list[int]]:
    """Per scene seed, the class of each object in `spec.objects` order (what the mask indices mean).

    Re-draws the scene exactly as planner_data.render_scene does, without rendering it.
    """
    from robot.sim.scene import COLOURS, SHAPES, random_scene

    colours, out = list(COLOURS), []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        spec = random_scene(seed, field_of_view_deg=float(rng.choice([50.0, 70.0, 90.0])))
        out.append([colours.index(o.colour) * len(SHAPES) + SHAPES.index(o.shape) for o in spec.objects])
    return out


def dense_labels(masks: np.ndarray, classes: list[list[int]], grid_hw: tuple[int, int],
                 merge: int = 2) -> dict[str, np.ndarray]:
    """Targets of the auxiliary heads for every frame, in the image processor's patch order.

    Args:
        masks: N x H x W object indices (-1: none), at the frame's full size.
        classes: per frame, the class of each object index (`scene_classes`).
        grid_hw: the patch grid of the model's input (rows, columns), e.g. (8, 10) for 160 x 128.
        merge: the spatial merge size (Qwen's 2x2).

    Returns:
        patch: N x P int64 class per patch (BACKGROUND where no object covers it);
        present: N x T x 24 float, the classes each merged token holds;
        point: N x T x 2 float, the `point_2d` / 1000 of the object covering most of the token (NaN: none).
    """
    from policies.planner.grounding import mask_point

    n, h, w = masks.shape
    gh, gw = grid_hw
    th, tw = gh // merge, gw // merge
    rows = np.linspace(0, h, gh + 1).round().astype(int)
    cols = np.linspace(0, w, gw + 1).round().astype(int)
    patch = np.full((n, th, tw, merge, merge), BACKGROUND, dtype=np.int64)
    present = np.zeros((n, th, tw, N_CLASSES), dtype=np.float32)
    point = np.full((n, th, tw, 2), np.nan, dtype=np.float32)
    for f in range(n):
        m = masks[f].astype(np.int64)
        n_obj = len(classes[f])
        pts = {}
        for i in range(n_obj):
            if (m == i).any():
                p = mask_point(m == i)
                pts[i] = (p[0] / 1000.0, p[1] / 1000.0)
        for r in range(gh):
            for c in range(gw):
                cnt = np.bincount(m[rows[r]:rows[r + 1], cols[c]:cols[c + 1]].ravel() + 1, minlength=n_obj + 1)[1:]
                if cnt.max(initial=0) >= MIN_PATCH_PIXELS:
                    patch[f, r // merge, c // merge, r % merge, c % merge] = classes[f][int(cnt.argmax())]
        for r in range(th):
            for c in range(tw):
                block = m[rows[r * merge]:rows[(r + 1) * merge], cols[c * merge]:cols[(c + 1) * merge]]
                cnt = np.bincount(block.ravel() + 1, minlength=n_obj + 1)[1:]
                for i in np.nonzero(cnt >= MIN_PATCH_PIXELS)[0]:
                    present[f, r, c, classes[f][i]] = 1.0
                if cnt.max(initial=0) >= MIN_PATCH_PIXELS:
                    point[f, r, c] = pts[int(cnt.argmax())]
    return {"patch": patch.reshape(n, -1), "present": present.reshape(n, th * tw, N_CLASSES),
            "point": point.reshape(n, th * tw, 2)}


def make_aux(vision_hidden: int, text_hidden: int):  # noqa: ANN201 - a torch.nn.Module
    """The training-only heads: patch classes (vision width) and token contents and point (text width)."""
    import torch

    class AuxHeads(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.patch = torch.nn.Linear(vision_hidden, N_CLASSES + 1)
            self.token = torch.nn.Linear(text_hidden, N_CLASSES + 2)

    return AuxHeads()


class FeatureTap:
    """Forward hooks on a Qwen3-VL's vision tower: the last block's patch features (the merger's input)
    and the merged image tokens (its output), for the auxiliary heads."""

    def __init__(self, model: Any) -> None:
        self.patches = self.tokens = None
        visual = model.model.visual
        self._h = visual.merger.register_forward_hook(self._hook)

    def _hook(self, module: Any, inputs: Any, output: Any) -> None:
        self.patches, self.tokens = inputs[0], output

    def close(self) -> None:
        self._h.remove()


def aux_loss(heads: Any, tap: FeatureTap, lm_head: Any, img_hidden: Any, labels: dict[str, Any],
             coord_targets: Any, weights: tuple[float, float, float]) -> tuple[Any, dict[str, float]]:
    """The three auxiliary losses of the module docstring, weighted and summed.

    Args:
        lm_head: the language model's output head.
        img_hidden: its last hidden states at the image tokens, batch by batch (the merged tokens' order).
        labels: this batch's rows of `dense_labels` as tensors (patch, present, point).
        coord_targets: (vocabulary-sized soft label of a point's x and y, from `point_label`): a function.
        weights: of the patch, token and point-token losses.
    """
    import torch
    import torch.nn.functional as F

    w_patch, w_token, w_lm = weights
    stats: dict[str, float] = {}
    total = img_hidden.new_zeros(())
    patch_lab = labels["patch"].reshape(-1)
    pl = heads.patch(tap.patches.float())
    l_patch = F.cross_entropy(pl, patch_lab)
    with torch.no_grad():
        obj = patch_lab != BACKGROUND
        stats["aux_patch_acc_obj"] = (pl[obj].argmax(-1) == patch_lab[obj]).float().mean().item() if obj.any() else float("nan")
    total = total + w_patch * l_patch
    tok = heads.token(tap.tokens.float())
    present = labels["present"].reshape(-1, N_CLASSES)
    point = labels["point"].reshape(-1, 2)
    has = ~torch.isnan(point[:, 0])
    l_present = F.binary_cross_entropy_with_logits(tok[:, :N_CLASSES], present)
    l_point = F.smooth_l1_loss(torch.sigmoid(tok[has, N_CLASSES:]), point[has], beta=0.05) if has.any() else tok.sum() * 0
    total = total + w_token * (l_present + 10.0 * l_point)
    stats["aux_patch"], stats["aux_present"], stats["aux_point"] = l_patch.item(), l_present.item(), l_point.item()
    if w_lm > 0 and has.any():
        q = coord_targets(point[has])
        l_lm = -(q * torch.log_softmax(lm_head(img_hidden[has]).float(), -1)).sum(-1).mean()
        total = total + w_lm * l_lm
        stats["aux_lm"] = l_lm.item()
    return total, stats


def point_label(xs: list[int], ys: list[int], vocab: int, step: int, sigma: float,  # noqa: ANN201
                device: str = "cpu"):
    """A function: points (K x 2, fractions of the grid, on `device`) -> K x vocab soft labels, half the mass
    on a Gaussian over the x tokens and half on one over the y tokens (sigma in grid steps)."""
    import torch

    xi, yi = torch.tensor(xs, device=device), torch.tensor(ys, device=device)
    k = torch.arange(len(xs), dtype=torch.float32, device=device)

    def fn(p: torch.Tensor) -> torch.Tensor:
        out = torch.zeros((p.shape[0], vocab), device=p.device)
        for col, ids in ((0, xi), (1, yi)):
            c = p[:, col:col + 1] * 1000.0 / step
            g = torch.exp(-0.5 * ((k[None, :] - c) / max(sigma, 0.5)) ** 2)
            out[:, ids] = 0.5 * g / g.sum(1, keepdim=True)
        return out

    return fn


__all__ = ["BACKGROUND", "FeatureTap", "N_CLASSES", "aux_loss", "dense_labels", "make_aux", "point_label",
           "scene_classes"]
