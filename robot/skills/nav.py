"""Paths around what the robot has seen: an obstacle memory and A* on a 5 cm floor grid.

Every frame a skill takes adds what it shows (objects as discs of their size, tables as points of their
top) to `Obstacles`, in the odometry frame, so things that have left the view still count. `plan` finds a
path that keeps the pelvis `ROBOT_RADIUS` from all of them (the swinging arms and feet reach about
0.25 m out), preferring more room where there is some, and shortens it to a few waypoints. Walking
straight at a target behind a table's corner ended with the pelvis on the table and a fall (1 of 1).
"""

from __future__ import annotations

import heapq
import math

import numpy as np

from robot.perception.detect import Detection

ROBOT_RADIUS = 0.32
"""m the pelvis keeps from an obstacle's edge."""
SQUEEZE_RADIUS = 0.26
"""m the pelvis keeps where no path keeps ROBOT_RADIUS: the body is about 0.45 m wide at the shoulders, so a
gap of 0.52 m still clears it (a walk_to between a table and a cylinder 0.67 m apart found no path at 0.32)."""
CELL = 0.05
COMFORT = 0.2
"""Extra room (m) the path prefers beyond ROBOT_RADIUS, at a cost, where it can have it."""


class Obstacles:
    """Obstacle points with radii, by name (the latest sighting of each replaces the earlier)."""

    def __init__(self) -> None:
        self.items: dict[str, tuple[np.ndarray, float]] = {}

    def add_detections(self, dets: list[Detection], frame_points: np.ndarray | None = None,
                       segmentation: np.ndarray | None = None) -> None:
        for d in dets:
            if d.label.shape == "table":
                if frame_points is None or segmentation is None:
                    continue
                pts = frame_points[segmentation == d.body]
                top = pts[np.abs(pts[:, 2] - d.label.size) < 0.03][:, :2]
                if len(top) < 20:
                    continue
                keep = top[np.random.default_rng(0).choice(len(top), size=min(len(top), 150), replace=False)]
                old = self.items.get(d.label.name)
                if old is not None:  # a table seen in parts over several frames: keep the union
                    keep = np.concatenate([old[0], keep])[-600:]
                self.items[d.label.name] = (keep, 0.02)
            else:
                self.items[d.label.name] = (d.position[None, :2].copy(), d.label.size / 2.0)

    def points(self, exclude: set[str] = frozenset()) -> tuple[np.ndarray, np.ndarray]:
        pts, radii = [], []
        for name, (p, r) in self.items.items():
            if name in exclude:
                continue
            pts.append(p)
            radii.append(np.full(len(p), r))
        if not pts:
            return np.zeros((0, 2)), np.zeros(0)
        return np.concatenate(pts), np.concatenate(radii)

    def clearance(self, xy: np.ndarray, exclude: set[str] = frozenset()) -> float:
        """Distance from a floor point to the nearest obstacle edge (inf with none)."""
        pts, radii = self.points(exclude)
        if len(pts) == 0:
            return math.inf
        return float(np.min(np.linalg.norm(pts - xy, axis=1) - radii))


def plan(obstacles: Obstacles, start: np.ndarray, goal: np.ndarray, exclude: set[str] = frozenset(),
         radius: float = ROBOT_RADIUS) -> list[np.ndarray] | None:
    """Waypoints from `start` to `goal` (the last is `goal`), or None if no path exists, keeping `radius`
    from every obstacle where it can and `SQUEEZE_RADIUS` where only that leaves a way through."""
    way = _plan(obstacles, start, goal, exclude, radius)
    if way is None and radius > SQUEEZE_RADIUS:
        way = _plan(obstacles, start, goal, exclude, SQUEEZE_RADIUS)
    return way


def _plan(obstacles: Obstacles, start: np.ndarray, goal: np.ndarray, exclude: set[str], radius: float
          ) -> list[np.ndarray] | None:
    """`plan` at one radius. Cells near the start and goal are always free (the robot is already there,
    and the goal may lie close to the object it approaches)."""
    start, goal = np.asarray(start, float), np.asarray(goal, float)
    pts, radii = obstacles.points(exclude)
    if len(pts) == 0 or _segment_clear(pts, radii, start, goal, radius):
        return [goal]
    lo = np.minimum(start, goal) - 1.2
    hi = np.maximum(start, goal) + 1.2
    nx, ny = (np.ceil((hi - lo) / CELL).astype(int) + 1).tolist()
    xs = lo[0] + CELL * np.arange(nx)
    ys = lo[1] + CELL * np.arange(ny)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    cells = np.stack([gx.ravel(), gy.ravel()], axis=1)
    near = np.abs(pts[:, 0] - 0.5 * (lo[0] + hi[0])) < 0.5 * (hi[0] - lo[0]) + radius + COMFORT
    near &= np.abs(pts[:, 1] - 0.5 * (lo[1] + hi[1])) < 0.5 * (hi[1] - lo[1]) + radius + COMFORT
    clear = np.full(len(cells), np.inf)
    for p, r in zip(pts[near], radii[near]):
        clear = np.minimum(clear, np.hypot(cells[:, 0] - p[0], cells[:, 1] - p[1]) - r)
    clear = clear.reshape(nx, ny)
    blocked = clear < radius
    penalty = np.clip(radius + COMFORT - clear, 0.0, None) * 4.0
    s = tuple(np.clip(np.round((start - lo) / CELL).astype(int), 0, [nx - 1, ny - 1]))
    g = tuple(np.clip(np.round((goal - lo) / CELL).astype(int), 0, [nx - 1, ny - 1]))
    for c, keep in ((s, 0.25), (g, 0.12)):  # the robot's own spot and the goal's neighbourhood
        d = np.hypot(gx - xs[c[0]], gy - ys[c[1]])
        blocked &= d > keep
    path = _astar(blocked, penalty, s, g)
    if path is None:
        return None
    way = [np.array([xs[i], ys[j]]) for i, j in path]
    way[-1] = goal
    return _shorten(way, pts, radii, radius, start)


def _astar(blocked: np.ndarray, penalty: np.ndarray, s: tuple[int, int], g: tuple[int, int]) -> list | None:
    nx, ny = blocked.shape
    steps = [(1, 0, 1.0), (-1, 0, 1.0), (0, 1, 1.0), (0, -1, 1.0), (1, 1, 1.414), (1, -1, 1.414), (-1, 1, 1.414),
             (-1, -1, 1.414)]
    best = {s: 0.0}
    came: dict[tuple[int, int], tuple[int, int]] = {}
    heap = [(math.hypot(s[0] - g[0], s[1] - g[1]), 0.0, s)]
    while heap:
        _, cost, c = heapq.heappop(heap)
        if c == g:
            out = [c]
            while c in came:
                c = came[c]
                out.append(c)
            return out[::-1]
        if cost > best.get(c, math.inf):
            continue
        for dx, dy, w in steps:
            n = (c[0] + dx, c[1] + dy)
            if not (0 <= n[0] < nx and 0 <= n[1] < ny) or blocked[n]:
                continue
            nc = cost + w * (1.0 + penalty[n])
            if nc < best.get(n, math.inf):
                best[n] = nc
                came[n] = c
                heapq.heappush(heap, (nc + math.hypot(n[0] - g[0], n[1] - g[1]), nc, n))
    return None


def _segment_clear(pts: np.ndarray, radii: np.ndarray, a: np.ndarray, b: np.ndarray, radius: float) -> bool:
    """No obstacle edge within `radius` of the segment a-b (the ends are allowed to be close)."""
    ab = b - a
    L2 = float(ab @ ab)
    t = np.clip(((pts - a) @ ab) / max(L2, 1e-12), 0.0, 1.0)
    d = np.linalg.norm(pts - (a + t[:, None] * ab), axis=1) - radii
    inner = (t > 1e-3) & (t < 1.0 - 1e-3)
    return bool(np.all(d[inner] >= radius)) if inner.any() else True


def _shorten(way: list[np.ndarray], pts: np.ndarray, radii: np.ndarray, radius: float,
             start: np.ndarray) -> list[np.ndarray]:
    """Greedy line-of-sight shortcuts over the grid path (with a little extra room)."""
    out = []
    here = start
    i = 0
    while i < len(way):
        j = len(way) - 1
        while j > i and not _segment_clear(pts, radii, here, way[j], radius + 0.05):
            j -= 1
        out.append(way[j])
        here = way[j]
        i = j + 1
    return out


__all__ = ["CELL", "ROBOT_RADIUS", "Obstacles", "plan"]
