"""Find the objects a description names in a head-camera frame, and turn pixels into world points.

The detector is the simulator's segmentation mask: each pixel carries the PyBullet body id it shows, and
a `Catalogue` (built from the scene description) says what each body is (colour, shape, size). That is
ground truth standing in for a learned detector; the rest is what a real pipeline does with one: masks
to pixel centroids, depth and intrinsics to world points, and a description ("the big red cube") to the
best-matching instance. The colour a mask *looks* is also measured from the RGB (`colour_of_pixels`), so
tests can check that the rendered colours agree with the labels. Translating other languages ("cubo
rojo") is the planner's job, not this one's.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from robot.sim.camera import Frame
from robot.sim.scene import BIG_SIZE, COLOURS, SHAPES, SceneSpec

GRID = 1000  # point_2d grid (Qwen3-VL's), as robot.skills.registry.GRID

SHAPE_WORDS: dict[str, str] = {
    "cube": "cube", "cubes": "cube", "box": "cube", "boxes": "cube", "block": "cube", "blocks": "cube",
    "ball": "ball", "balls": "ball", "sphere": "ball", "spheres": "ball",
    "cylinder": "cylinder", "cylinders": "cylinder", "can": "cylinder", "tube": "cylinder",
    "table": "table", "tables": "table", "desk": "table",
}
SIZE_WORDS: dict[str, str] = {"big": "big", "large": "big", "huge": "big", "small": "small", "little": "small",
                              "tiny": "small"}
COLOUR_WORDS: dict[str, str] = {**{c: c for c in COLOURS}, "violet": "purple", "grey": "white"}
MIN_PIXELS = 12
"""Masks smaller than this are ignored: a few pixels at the image edge give no usable centroid."""


@dataclass(frozen=True)
class Label:
    """What a body is, as the catalogue knows it."""

    name: str
    shape: str  # cube, ball, cylinder or table
    colour: str | None
    size: float
    """m: an object's size, a table's top height."""

    @property
    def size_word(self) -> str:
        return "big" if self.size >= BIG_SIZE else "small"


@dataclass
class Catalogue:
    """Body id -> label: the detector's class output (from the scene description, see the module doc)."""

    labels: dict[int, Label] = field(default_factory=dict)

    @staticmethod
    def from_scene(spec: SceneSpec, bodies: dict[str, int]) -> Catalogue:
        labels = {}
        for o in spec.objects:
            if o.name in bodies:
                labels[bodies[o.name]] = Label(o.name, o.shape, o.colour, o.size)
        for t in spec.tables:
            if t.name in bodies:
                labels[bodies[t.name]] = Label(t.name, "table", None, t.size[2])
        return Catalogue(labels)


@dataclass(frozen=True)
class Query:
    """A parsed description: any of colour, shape and size word; None where the words leave it open."""

    colour: str | None = None
    shape: str | None = None
    size: str | None = None
    text: str = ""

    def matches(self, label: Label) -> bool:
        if self.shape is None and label.shape == "table":
            return False  # "the red one" never means a table
        return ((self.colour is None or self.colour == label.colour)
                and (self.shape is None or self.shape == label.shape)
                and (self.size is None or label.shape == "table" or self.size == label.size_word))

    @property
    def empty(self) -> bool:
        return self.colour is None and self.shape is None and self.size is None


def parse_description(text: str) -> Query:
    """Read colour, shape and size words from an English description ("the big blue ball")."""
    colour = shape = size = None
    for word in re.findall(r"[a-z]+", text.lower()):
        colour = COLOUR_WORDS.get(word, colour)
        shape = SHAPE_WORDS.get(word, shape)
        size = SIZE_WORDS.get(word, size)
    return Query(colour, shape, size, text)


@dataclass
class Detection:
    """One instance in a frame.

    Attributes:
        label: what it is.
        body: PyBullet body id (from the mask).
        pixels: mask size.
        centroid: (u, v) pixel centroid of the mask.
        bbox: (u0, v0, u1, v1), inclusive.
        surface: world point at the median of the mask's unprojected pixels (on the visible surface).
        position: estimated centre of the object (see `_centre`; the label gives its size); for a
            table, the nearest visible point of its top.
        touches_border: the mask reaches the image edge (partly out of view).
    """

    label: Label
    body: int
    pixels: int
    centroid: tuple[float, float]
    bbox: tuple[int, int, int, int]
    surface: np.ndarray
    position: np.ndarray
    touches_border: bool

    def point_2d(self, frame: Frame) -> tuple[int, int]:
        """The centroid on the 0..1000 grid (what a planner answers)."""
        return pixel_to_grid(frame, *self.centroid)


def detect(frame: Frame, catalogue: Catalogue) -> list[Detection]:
    """Every catalogued body visible in the frame, largest first."""
    seg = frame.segmentation
    ids, counts = np.unique(seg, return_counts=True)
    out = []
    h, w = seg.shape
    for body, n in zip(ids.tolist(), counts.tolist()):
        label = catalogue.labels.get(body)
        if label is None or n < MIN_PIXELS:
            continue
        vs, us = np.nonzero(seg == body)
        pts = _points(frame, us, vs)
        if label.shape == "table":
            # The top's nearest visible point is where a robot walks to; its top's height is known.
            top = pts[pts[:, 2] > label.size - 0.05]
            pts_use = top if len(top) >= MIN_PIXELS else pts
            d = np.linalg.norm(pts_use[:, :2] - frame.position[:2], axis=1)
            surface = pts_use[int(np.argmin(d))]
            position = surface.copy()
        else:
            surface = np.median(pts, axis=0)
            position = _centre(pts, label, frame.position)
        border = bool(us.min() == 0 or vs.min() == 0 or us.max() == w - 1 or vs.max() == h - 1)
        out.append(Detection(label, body, n, (float(us.mean()), float(vs.mean())),
                             (int(us.min()), int(vs.min()), int(us.max()), int(vs.max())), surface, position, border))
    out.sort(key=lambda d: -d.pixels)
    return out


def _centre(pts: np.ndarray, label: Label, eye: np.ndarray) -> np.ndarray:
    """An object's centre from its visible surface points and its known size.

    Cubes and cylinders are seen from above (the camera is 1.2 m up): the centroid of the top face's
    points is the centre in x, y. A ball's visible cap has its mean 2/3 of a radius toward the camera
    from the centre. Measured error about 1 cm at 0.5-3 m (tests/test_perception.py).
    """
    half = label.size / 2.0
    top_z = float(np.percentile(pts[:, 2], 97))
    if label.shape in ("cube", "cylinder"):
        top = pts[pts[:, 2] > top_z - 0.012]
        if len(top) >= MIN_PIXELS:
            c = top.mean(axis=0)
            return np.array([c[0], c[1], top_z - half])
    mean = pts.mean(axis=0)
    ray = mean - eye
    ray /= max(float(np.linalg.norm(ray)), 1e-9)
    c = mean + ray * half * (2.0 / 3.0 if label.shape == "ball" else 0.8)
    c[2] = top_z - half
    return c


def find(frame: Frame, catalogue: Catalogue, description: str,
         detections: list[Detection] | None = None) -> list[Detection]:
    """Detections matching a description, best first (the nearest, as a person means "the red cube").
    Pass `detections` when `detect` already ran on this frame."""
    q = parse_description(description)
    if q.empty:
        return []
    hits = [d for d in (detect(frame, catalogue) if detections is None else detections) if q.matches(d.label)]
    hits.sort(key=lambda d: float(np.linalg.norm(d.position[:2] - frame.position[:2])))
    return hits


def resolve(frame: Frame, catalogue: Catalogue, description: str,
            point_2d: tuple[int, int] | list[int] | None = None,
            detections: list[Detection] | None = None) -> Detection | None:
    """The target a planner means: the instance under `point_2d` if it matches the description,
    otherwise the best match for the description alone (ARCHITECTURE.md, "A target is ...")."""
    hits = find(frame, catalogue, description, detections)
    if point_2d is not None and hits:
        u, v = grid_to_pixel(frame, point_2d)
        body = _body_near(frame, u, v)
        for d in hits:
            if d.body == body:
                return d
    return hits[0] if hits else None


def _body_near(frame: Frame, u: float, v: float, radius: int = 4) -> int:
    """The body at a pixel, or the most common one within `radius` pixels (a point on an edge)."""
    h, w = frame.segmentation.shape
    ui, vi = min(max(int(round(u)), 0), w - 1), min(max(int(round(v)), 0), h - 1)
    patch = frame.segmentation[max(vi - radius, 0):vi + radius + 1, max(ui - radius, 0):ui + radius + 1]
    centre = int(frame.segmentation[vi, ui])
    ids, counts = np.unique(patch, return_counts=True)
    return centre if centre in ids.tolist() and centre >= 0 else int(ids[np.argmax(counts)])


def _points(frame: Frame, us: np.ndarray, vs: np.ndarray) -> np.ndarray:
    k = frame.intrinsics
    z = frame.depth[vs, us].astype(np.float64)
    p = np.stack([(us - k.cx) / k.fx * z, (vs - k.cy) / k.fy * z, z], axis=1)
    return p @ frame.rotation.T + frame.position


# --- pixels, the 0..1000 grid and world points -----------------------------------------------------------
def grid_to_pixel(frame: Frame, point_2d: tuple[int, int] | list[int]) -> tuple[float, float]:
    """A 0..1000 grid point (Qwen's convention: 0 is the left/top edge, 1000 the right/bottom edge) as
    a pixel (u, v) in the frame's pixel-centre coordinates."""
    k = frame.intrinsics
    return point_2d[0] / GRID * k.width - 0.5, point_2d[1] / GRID * k.height - 0.5


def pixel_to_grid(frame: Frame, u: float, v: float) -> tuple[int, int]:
    k = frame.intrinsics
    return (int(round(min(max((u + 0.5) / k.width * GRID, 0), GRID))),
            int(round(min(max((v + 0.5) / k.height * GRID, 0), GRID))))


def pixel_to_world(frame: Frame, u: float, v: float) -> np.ndarray:
    """The world point seen at pixel (u, v), from the depth image and the intrinsics."""
    return frame.unproject(u, v)


def grid_to_world(frame: Frame, point_2d: tuple[int, int] | list[int]) -> np.ndarray:
    """The world point under a planner's `point_2d`."""
    return frame.unproject(*grid_to_pixel(frame, point_2d))


def colour_of_pixels(rgb: np.ndarray) -> str:
    """The palette colour nearest to pixels' mean in chromaticity and brightness (shading-tolerant)."""
    m = rgb.reshape(-1, 3).astype(float).mean(axis=0) / 255.0

    def dist(ref: tuple[float, float, float]) -> float:
        r = np.asarray(ref)
        return float(np.linalg.norm(m - r * (m.max() / max(r.max(), 1e-6))) + abs(m.mean() - 0.75 * r.mean()))

    return min(COLOURS, key=lambda c: dist(COLOURS[c]))


def bearing(frame: Frame, point: np.ndarray) -> float:
    """Horizontal angle (rad, positive left) of a world point from the camera's forward direction."""
    fwd = frame.rotation[:, 2]
    heading = math.atan2(fwd[1], fwd[0])
    d = np.asarray(point)[:2] - frame.position[:2]
    a = math.atan2(d[1], d[0]) - heading
    return (a + math.pi) % (2 * math.pi) - math.pi


__all__ = ["Catalogue", "Detection", "Label", "Query", "SHAPES", "bearing", "colour_of_pixels", "detect", "find",
           "grid_to_pixel", "grid_to_world", "parse_description", "pixel_to_grid", "pixel_to_world", "resolve"]
