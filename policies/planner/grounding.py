"""Points in the head-camera frame: Qwen's 0..1000 grid, absolute pixels, boxes, and masks.

Conventions: `point_2d` = [x, y] with x to the right and y down, on a 0..1000 grid over the frame
(Qwen3-VL's and Qwen2-VL's convention); grid value g covers the continuous pixel coordinate
g / 1000 * size, and pixel index u has its centre at u + 0.5. Qwen2.5-VL answers in absolute pixels of
its resized input; `to_grid` converts those. A `bbox_2d` [x1, y1, x2, y2] becomes its centre.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from robot.skills.registry import GRID


def pixel_to_grid(u: float, v: float, width: int, height: int) -> tuple[int, int]:
    """Grid point of pixel (u, v) (indices, centre of the pixel)."""
    x = round((u + 0.5) / width * GRID)
    y = round((v + 0.5) / height * GRID)
    return min(max(x, 0), GRID), min(max(y, 0), GRID)


def grid_to_pixel(x: float, y: float, width: int, height: int) -> tuple[int, int]:
    """Pixel indices (column, row) under a grid point, clipped to the frame."""
    u = int(np.floor(x / GRID * width))
    v = int(np.floor(y / GRID * height))
    return min(max(u, 0), width - 1), min(max(v, 0), height - 1)


def on_mask(point: tuple[int, int] | list[int] | None, mask: np.ndarray) -> bool:
    """Whether a grid point lands on a boolean HxW mask."""
    if point is None:
        return False
    h, w = mask.shape
    u, v = grid_to_pixel(point[0], point[1], w, h)
    return bool(mask[v, u])


def mask_point(mask: np.ndarray, step: int = 10) -> tuple[int, int] | None:
    """A grid point on `step` multiples, on the mask, nearest its centroid (None for an empty mask)."""
    vs, us = np.nonzero(mask)
    if len(us) == 0:
        return None
    h, w = mask.shape
    cx, cy = pixel_to_grid(float(us.mean()), float(vs.mean()), w, h)
    best, best_d = None, float("inf")
    for dx in range(-6, 7):
        for dy in range(-6, 7):
            x = int(round(cx / step) * step + dx * step)
            y = int(round(cy / step) * step + dy * step)
            if not (0 <= x <= GRID and 0 <= y <= GRID) or not on_mask((x, y), mask):
                continue
            d = (x - cx) ** 2 + (y - cy) ** 2
            if d < best_d:
                best, best_d = (x, y), d
    if best is None:  # a sliver thinner than the step: the nearest pixel's own point
        i = int(np.argmin((us - us.mean()) ** 2 + (vs - vs.mean()) ** 2))
        best = pixel_to_grid(float(us[i]), float(vs[i]), w, h)
    return best


def to_grid(call: dict[str, Any], coords: str = "grid", image_size: tuple[int, int] | None = None) -> dict[str, Any]:
    """A decoded call with every target's `bbox_2d` turned into `point_2d` on the 0..1000 grid.

    Args:
        coords: "grid" (0..1000, Qwen3-VL) or "pixels" (absolute pixels of the model's input, Qwen2.5-VL).
        image_size: (width, height) of the model's input image, needed for "pixels".
    """
    t = call.get("target")
    if not isinstance(t, dict):
        return call
    t = dict(t)
    if "bbox_2d" in t:
        b = t.pop("bbox_2d")
        if isinstance(b, list) and len(b) == 4 and all(isinstance(v, (int, float)) for v in b):
            t.setdefault("point_2d", [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2])
    p = t.get("point_2d")
    if isinstance(p, list) and len(p) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in p):
        x, y = float(p[0]), float(p[1])
        if coords == "pixels":
            if image_size is None:
                raise ValueError("pixel coordinates need the model's input image size")
            x, y = x / image_size[0] * GRID, y / image_size[1] * GRID
            t["point_2d"] = [int(min(max(round(x), 0), GRID)), int(min(max(round(y), 0), GRID))]
        else:  # on the grid already (a box centre may be a half): round, never clamp
            t["point_2d"] = [int(round(x)), int(round(y))]
    return {**call, "target": t}


__all__ = ["grid_to_pixel", "mask_point", "on_mask", "pixel_to_grid", "to_grid"]
