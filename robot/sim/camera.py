"""Cameras: G1's head RGB-D camera (a D435 on the torso) and a third-person follow camera for videos.

Both render with PyBullet's software ER_TINY_RENDERER, so frames are the same with or without a display
and deterministic for a seed. Costs measured on this 2-core machine (see `humanoid bench sim`): the head
camera at 320x240 takes about 10 ms a frame, the follow camera at 640x360 about 20 ms.

Conventions of a `Frame`: pixel (u, v) counts columns right and rows down from the top-left pixel's
centre; the camera (optical) frame is OpenCV's: x right, y down, z forward; depth is the z coordinate of
the surface point in that frame, in metres (not the length of the ray).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pybullet as pb

from robot.g1 import constants as C

# Rotation from the optical frame (x right, y down, z forward) to a "body" camera frame (x forward,
# y left, z up): the columns are the optical axes seen from the body frame.
_BODY_FROM_OPTICAL = np.array([[0.0, 0.0, 1.0],
                               [-1.0, 0.0, 0.0],
                               [0.0, -1.0, 0.0]])


@dataclass(frozen=True)
class CameraConfig:
    """Image size, field of view and clipping planes of a pinhole camera with square pixels."""

    width: int = 320
    """Pixels across. 320x240 keeps a planner's image-token count small (about 100 tokens in Qwen2.5-VL)."""
    height: int = 240
    hfov_deg: float = 69.0
    """Horizontal field of view: the D435 colour sensor's 69 deg. Its sensor is 16:9 (69 x 42 deg); at
    4:3 with square pixels the vertical field follows from the aspect ratio (about 55 deg)."""
    near: float = 0.05
    """Near clipping plane, m. Nearer surfaces are cut away (the D435's minimum depth is about 0.1 m)."""
    far: float = 10.0
    """Far clipping plane, m; depth saturates here (also where nothing is hit)."""

    @property
    def vfov_deg(self) -> float:
        return math.degrees(2.0 * math.atan(math.tan(math.radians(self.hfov_deg) / 2.0)
                                            * self.height / self.width))


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics in pixels (OpenCV convention: (cx, cy) is the image centre in pixel indices)."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def matrix(self) -> np.ndarray:
        """The 3x3 camera matrix K."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @staticmethod
    def from_config(cfg: CameraConfig) -> Intrinsics:
        fx = (cfg.width / 2.0) / math.tan(math.radians(cfg.hfov_deg) / 2.0)
        fy = (cfg.height / 2.0) / math.tan(math.radians(cfg.vfov_deg) / 2.0)
        return Intrinsics(fx, fy, (cfg.width - 1) / 2.0, (cfg.height - 1) / 2.0, cfg.width, cfg.height)


@dataclass
class Frame:
    """One RGB-D image with everything needed to turn its pixels into world points.

    Attributes:
        rgb: HxWx3 uint8.
        depth: HxW float32, metres along the optical axis; `far` where nothing was hit.
        segmentation: HxW int32, the PyBullet body unique id seen at each pixel, -1 for background.
        intrinsics: fx, fy, cx, cy of the image.
        position: camera centre in the world, (3,).
        rotation: world-from-optical rotation, 3x3 (columns: the optical x right, y down, z forward).
        time: simulated seconds when it was taken.
    """

    rgb: np.ndarray
    depth: np.ndarray
    segmentation: np.ndarray
    intrinsics: Intrinsics
    position: np.ndarray
    rotation: np.ndarray
    time: float = 0.0

    def unproject(self, u: float, v: float, depth: float | None = None) -> np.ndarray:
        """World point seen at pixel (u, v), at `depth` metres or at the depth image's value there."""
        k = self.intrinsics
        if depth is None:
            ui = min(max(int(round(u)), 0), k.width - 1)
            vi = min(max(int(round(v)), 0), k.height - 1)
            depth = float(self.depth[vi, ui])
        p_cam = np.array([(u - k.cx) / k.fx * depth, (v - k.cy) / k.fy * depth, depth])
        return self.position + self.rotation @ p_cam

    def project(self, point: np.ndarray | tuple[float, float, float]) -> tuple[float, float, float]:
        """Pixel (u, v) of a world point and its depth; depth <= 0 means it is behind the camera."""
        p = self.rotation.T @ (np.asarray(point, dtype=float) - self.position)
        k = self.intrinsics
        z = float(p[2])
        if z <= 1e-9:
            return float("nan"), float("nan"), z
        return k.fx * p[0] / z + k.cx, k.fy * p[1] / z + k.cy, z

    def points(self) -> np.ndarray:
        """HxWx3 world points of every pixel (a point cloud in image layout)."""
        k = self.intrinsics
        v, u = np.mgrid[0:k.height, 0:k.width]
        z = self.depth.astype(np.float64)
        p_cam = np.stack([(u - k.cx) / k.fx * z, (v - k.cy) / k.fy * z, z], axis=-1)
        return p_cam @ self.rotation.T + self.position


SKY_RGB = (226, 233, 240)
GROUND_SHADE = 0.945
"""Brightness the tiny renderer gives an upward face under our light (measured: 188/199 on the ground)."""
GROUND_TILE = 1.0
"""Side of the ground's checker squares, m: gives videos a sense of motion and the planner of distance."""


def render(client: int, cfg: CameraConfig, position: np.ndarray, rotation: np.ndarray,
           segmentation: bool = True, ground: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render rgb, depth (m) and segmentation from a camera at `position` with world-from-optical `rotation`.

    Args:
        segmentation: fill the mask (otherwise it is all -1; the render is a little cheaper).
        ground: body id of a flat ground whose top face is the plane z = 0. The tiny renderer spends
            most of a frame filling the huge ground triangles (measured: 33 of 38 ms at 320x240), so the
            ground is hidden during the render and drawn analytically into the empty pixels instead
            (ray-plane intersection, ~2 ms): same depth and mask, flat shading with a 1 m checker.
            Only for DIRECT clients; a GUI would see the ground flicker.
    """
    forward = rotation[:, 2]
    up = -rotation[:, 1]
    eye = np.asarray(position, dtype=float)
    view = pb.computeViewMatrix(eye.tolist(), (eye + forward).tolist(), up.tolist())
    proj = pb.computeProjectionMatrixFOV(cfg.vfov_deg, cfg.width / cfg.height, cfg.near, cfg.far)
    flags = 0 if segmentation else pb.ER_NO_SEGMENTATION_MASK
    ground_rgba = None
    if ground is not None:
        ground_rgba = pb.getVisualShapeData(ground, physicsClientId=client)[0][7]
        pb.changeVisualShape(ground, -1, rgbaColor=[*ground_rgba[:3], 0.0], physicsClientId=client)
    try:
        _, _, rgba, zbuf, seg = pb.getCameraImage(
            cfg.width, cfg.height, view, proj, shadow=0, lightDirection=[0.4, -0.3, 1.0],
            renderer=pb.ER_TINY_RENDERER, flags=flags, physicsClientId=client)
    finally:
        if ground_rgba is not None:
            pb.changeVisualShape(ground, -1, rgbaColor=list(ground_rgba), physicsClientId=client)
    rgba = np.asarray(rgba, dtype=np.uint8).reshape(cfg.height, cfg.width, 4)
    zbuf = np.asarray(zbuf, dtype=np.float32).reshape(cfg.height, cfg.width)
    # OpenGL depth buffer d in [0, 1] -> metres along the optical axis: z = f n / (f - (f - n) d).
    n, f = cfg.near, cfg.far
    depth = (f * n / (f - (f - n) * zbuf)).astype(np.float32)
    if segmentation:
        mask = np.asarray(seg, dtype=np.int32).reshape(cfg.height, cfg.width)
    else:
        mask = np.full((cfg.height, cfg.width), -1, dtype=np.int32)
    if ground_rgba is not None:
        # The tiny renderer leaves empty pixels at the largest float32 below 1.
        rgba = _paint_ground(cfg, eye, rotation, zbuf >= _EMPTY_Z, rgba, depth,
                             mask if segmentation else None, ground, ground_rgba)
    return rgba[:, :, :3].copy(), depth, mask


_EMPTY_Z = np.nextafter(np.float32(1.0), np.float32(0.0))


def _paint_ground(cfg: CameraConfig, eye: np.ndarray, rotation: np.ndarray, empty: np.ndarray,
                  rgba: np.ndarray, depth: np.ndarray, mask: np.ndarray | None, ground: int,
                  ground_rgba: tuple[float, ...]) -> np.ndarray:
    """Draw the plane z = 0 (and the sky above the horizon) into the pixels nothing was rendered in.

    The pixel ray (a_u, b_v, 1) in the optical frame is separable in u and v, so every world-frame
    quantity is a row plus a column vector, and colours are composed as one uint32 per RGBA pixel:
    about 3 ms at 320x240, against 33 ms for the renderer to fill the ground's triangles.
    """
    k = Intrinsics.from_config(cfg)
    a = (np.arange(cfg.width) - k.cx) / k.fx
    b = ((np.arange(cfg.height) - k.cy) / k.fy)[:, None]
    r = rotation

    def world(i: int) -> np.ndarray:  # component i of the world-frame ray, scaled to z_optical = 1
        return r[i, 0] * a + r[i, 1] * b + r[i, 2]

    rz = world(2)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = -eye[2] / rz  # ray parameter = depth along the optical axis, as the rays have z = 1
        hit = empty & (rz < -1e-9) & (t <= cfg.far)
        x = eye[0] + t * world(0)
        y = eye[1] + t * world(1)
        odd = ((np.floor(x / GROUND_TILE) + np.floor(y / GROUND_TILE)) % 2.0) == 1.0
    base = np.array(ground_rgba[:3]) * 255.0 * GROUND_SHADE
    even_c, odd_c, sky_c = (_pack(c) for c in (base, base * 0.94, SKY_RGB))
    background = np.where(hit, np.where(odd, odd_c, even_c), sky_c)
    pixels = rgba.view(np.uint32).reshape(cfg.height, cfg.width)
    out = np.where(empty, background, pixels)
    np.copyto(depth, t, where=hit, casting="unsafe")
    if mask is not None:
        np.copyto(mask, ground, where=hit, casting="unsafe")
    return out.view(np.uint8).reshape(cfg.height, cfg.width, 4)


def _pack(rgb: np.ndarray | tuple[float, ...]) -> np.uint32:
    """An opaque RGBA colour as the uint32 that its four bytes read as."""
    c = np.round(np.clip(np.asarray(rgb, dtype=float), 0, 255)).astype(np.uint8)
    return np.array([c[0], c[1], c[2], 255], dtype=np.uint8).view(np.uint32)[0]


def _analytic_ground(world: object) -> int | None:
    """The world's ground id where it may be drawn analytically (headless worlds), else None."""
    cfg = getattr(world, "cfg", None)
    if cfg is not None and getattr(cfg, "gui", False):
        return None
    return getattr(world, "ground", None)


def _rot_y(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


class HeadCamera:
    """The D435 on G1's torso: at `HEAD_CAMERA_POS` in torso_link, looking forward, pitched down.

    Args:
        world: the world whose robot carries the camera (any object with `client` and `robot`).
        cfg: resolution and field of view.
        position: mount point in the torso_link frame (constants.HEAD_CAMERA_POS).
        pitch: downward tilt in rad (constants.HEAD_CAMERA_PITCH, about 48 deg as on G1).
    """

    def __init__(self, world: object, cfg: CameraConfig = CameraConfig(),
                 position: tuple[float, float, float] = C.HEAD_CAMERA_POS,
                 pitch: float = C.HEAD_CAMERA_PITCH) -> None:
        self.world = world
        self.cfg = cfg
        self.intrinsics = Intrinsics.from_config(cfg)
        self.mount_pos = np.asarray(position, dtype=float)
        # torso-from-optical: pitch the forward axis down about the torso's y axis.
        self.mount_rot = _rot_y(pitch) @ _BODY_FROM_OPTICAL

    def pose(self) -> tuple[np.ndarray, np.ndarray]:
        """Camera centre and world-from-optical rotation, from the torso's pose now."""
        pos, quat = self.world.robot.link_pose("torso_link")  # type: ignore[attr-defined]
        w, x, y, z = quat
        r_torso = np.array(pb.getMatrixFromQuaternion((x, y, z, w))).reshape(3, 3)
        return pos + r_torso @ self.mount_pos, r_torso @ self.mount_rot

    def capture(self, segmentation: bool = True) -> Frame:
        """Render the present view."""
        pos, rot = self.pose()
        client = self.world.client  # type: ignore[attr-defined]
        rgb, depth, mask = render(client, self.cfg, pos, rot, segmentation, _analytic_ground(self.world))
        return Frame(rgb, depth, mask, self.intrinsics, pos, rot, float(getattr(self.world, "time", 0.0)))


class FollowCamera:
    """A third-person camera that follows the pelvis at a fixed offset, smoothed, for videos.

    Args:
        world: the world to film.
        cfg: image size and field of view (rgb only; 640x360 by default).
        distance: metres from the pelvis.
        yaw_deg: direction the camera looks in, world frame (0: along +x). The default -140 puts it in
            front of the robot and to its left, a three-quarter view of a robot facing +x.
        pitch_deg: elevation, negative looks down.
        smoothing: time constant in s of the low-pass on the followed point (no jitter from the gait).
    """

    def __init__(self, world: object, cfg: CameraConfig = CameraConfig(640, 360, 60.0, 0.05, 30.0),
                 distance: float = 2.6, yaw_deg: float = -140.0, pitch_deg: float = -18.0,
                 smoothing: float = 0.3) -> None:
        self.world = world
        self.cfg = cfg
        self.distance = distance
        self.yaw = math.radians(yaw_deg)
        self.pitch = math.radians(pitch_deg)
        self.smoothing = smoothing
        self._target: np.ndarray | None = None
        self._last_time = 0.0

    def _follow(self) -> np.ndarray:
        robot = self.world.robot  # type: ignore[attr-defined]
        goal = np.array([robot.base_pos[0], robot.base_pos[1], 0.75])
        now = float(getattr(self.world, "time", 0.0))
        if self._target is None or self.smoothing <= 0.0:
            self._target = goal
        else:
            a = 1.0 - math.exp(-max(now - self._last_time, 0.0) / self.smoothing)
            self._target = self._target + a * (goal - self._target)
        self._last_time = now
        return self._target

    def capture(self) -> np.ndarray:
        """The present view as HxWx3 uint8."""
        target = self._follow()
        # Direction from camera to target.
        cp, sp = math.cos(self.pitch), math.sin(self.pitch)
        forward = np.array([cp * math.cos(self.yaw), cp * math.sin(self.yaw), sp])
        eye = target - self.distance * forward
        right = np.cross(forward, [0.0, 0.0, 1.0])
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)
        rot = np.stack([right, down, forward], axis=1)
        rgb, _, _ = render(self.world.client, self.cfg, eye, rot, False,  # type: ignore[attr-defined]
                           _analytic_ground(self.world))
        return rgb
