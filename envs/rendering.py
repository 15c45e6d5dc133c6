"""`render()` for the environments: frames from the third-person camera that follows the robot."""

from __future__ import annotations

from typing import Any

import numpy as np


class FollowCameraRender:
    """Mixin for an env with `render_mode` ("rgb_array" or None) that keeps its robot's world."""

    render_mode: str | None
    _camera: Any = None

    def _start_camera(self, world: Any) -> None:
        """Called by reset: a camera on this episode's world when frames are asked for."""
        if self.render_mode == "rgb_array":
            from robot.sim.camera import FollowCamera

            self._camera = FollowCamera(world)

    def render(self) -> np.ndarray | None:
        """The third-person RGB frame (HxWx3 uint8) of the present state, or None without rgb_array."""
        if self.render_mode != "rgb_array":
            return None
        if self._camera is None:
            raise RuntimeError("call reset() before render()")
        return self._camera.capture()
