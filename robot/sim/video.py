"""Videos of a run: the third-person view with the head-camera frame inset and an optional caption.

`Recorder` is driven by simulated time: call `record()` after every physics step and it renders a frame
whenever a frame is due (nothing renders in between, so recording costs only the frames it writes).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from robot.sim.camera import CameraConfig, FollowCamera, HeadCamera


def compose(main: np.ndarray, inset: np.ndarray | None = None, caption: str | None = None,
            inset_width: int = 200) -> np.ndarray:
    """One video frame: `main` with `inset` in its top-right corner and `caption` along the bottom.

    Args:
        main: HxWx3 uint8, the third-person view.
        inset: hxwx3 uint8 (the head camera), scaled to `inset_width` pixels across with a white border.
        caption: one or two lines of text on a dark band.
    """
    img = Image.fromarray(main)
    if inset is not None:
        h = max(1, round(inset.shape[0] * inset_width / inset.shape[1]))
        small = Image.fromarray(inset).resize((inset_width, h), Image.BILINEAR)
        x0, y0 = img.width - inset_width - 10, 10
        ImageDraw.Draw(img).rectangle([x0 - 2, y0 - 2, x0 + inset_width + 1, y0 + h + 1], fill=(255, 255, 255))
        img.paste(small, (x0, y0))
    if caption:
        draw = ImageDraw.Draw(img, "RGBA")
        font = _font(16)
        lines = caption.splitlines()[:2]
        band = 10 + 22 * len(lines)
        draw.rectangle([0, img.height - band, img.width, img.height], fill=(0, 0, 0, 150))
        for i, line in enumerate(lines):
            draw.text((10, img.height - band + 6 + 22 * i), line, fill=(255, 255, 255), font=font)
    return np.asarray(img)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has no sized default font
        return ImageFont.load_default()


class VideoWriter:
    """An H.264 mp4 through imageio-ffmpeg (yuv420p, plays in browsers and on phones).

    Frame sizes must be multiples of 8 (640x360 is): ffmpeg would otherwise rescale them.
    """

    def __init__(self, path: str | Path, fps: float = 20.0) -> None:
        import imageio.v2 as imageio

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fps = fps
        self.frames = 0
        self._writer = imageio.get_writer(str(self.path), fps=fps, codec="libx264", quality=7,
                                          macro_block_size=8, pixelformat="yuv420p",
                                          ffmpeg_log_level="error")

    def add(self, frame: np.ndarray) -> None:
        self._writer.append_data(frame)
        self.frames += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Recorder:
    """Films a world at `fps` of simulated time: follow camera, head-camera inset, caption.

    Args:
        world: the world to film.
        path: the mp4 to write.
        fps: video frames per simulated second.
        head_hz: how often the inset refreshes (ARCHITECTURE: the head camera at most 10 Hz for video).
        follow: the third-person camera (a default FollowCamera if None).
        head: the head camera (a default HeadCamera if None; pass False for no inset).
    """

    def __init__(self, world: object, path: str | Path, fps: float = 20.0, head_hz: float = 10.0,
                 follow: FollowCamera | None = None, head: HeadCamera | bool | None = None) -> None:
        self.world = world
        self.writer = VideoWriter(path, fps)
        self.follow = follow or FollowCamera(world)
        if head is False:
            self.head: HeadCamera | None = None
        else:
            self.head = head if isinstance(head, HeadCamera) else HeadCamera(world, CameraConfig())
        self.period = 1.0 / fps
        self.head_period = 1.0 / head_hz
        self.caption: str | None = None
        self._next = 0.0
        self._next_head = 0.0
        self._inset: np.ndarray | None = None

    @property
    def path(self) -> Path:
        return self.writer.path

    def record(self) -> bool:
        """Render a frame if one is due at the world's present time; True if it did."""
        now = float(self.world.time)  # type: ignore[attr-defined]
        if now + 1e-9 < self._next:
            return False
        self._next += self.period * max(1, int((now - self._next) / self.period) + 1)
        if self.head is not None and now + 1e-9 >= self._next_head:
            self._inset = self.head.capture(segmentation=False).rgb
            self._next_head = now + self.head_period
        self.writer.add(compose(self.follow.capture(), self._inset, self.caption))
        return True

    def close(self) -> None:
        self.writer.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
