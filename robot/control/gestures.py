"""Arm gestures as time-parametrised joint targets, played through the arm_sdk blend while the legs
balance: WaveHand (with an optional turn in place) and ShakeHand."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from robot.g1 import constants as C

_RS = C.MOTOR_INDEX["right_shoulder_pitch_joint"]
_RR = C.MOTOR_INDEX["right_shoulder_roll_joint"]
_RY = C.MOTOR_INDEX["right_shoulder_yaw_joint"]
_RE = C.MOTOR_INDEX["right_elbow_joint"]
_RW = C.MOTOR_INDEX["right_wrist_roll_joint"]


@dataclass
class Gesture:
    """Keyframes (time from start, 35-slot pose) played with smooth interpolation and a blend ramp."""

    start: float
    keys: list[tuple[float, np.ndarray]]
    yaw_rate: float | None = None
    """Turn in place at this rate while the gesture plays (WaveHand with turn_flag)."""
    ramp: float = 0.4
    name: str = "gesture"
    waves: int = 0
    _duration: float = field(init=False)

    def __post_init__(self) -> None:
        self._duration = self.keys[-1][0]

    def duration(self) -> float:
        return self._duration

    def done(self, t: float) -> bool:
        return t - self.start >= self._duration

    def sample(self, t: float) -> tuple[np.ndarray, float, float | None]:
        """Arm targets, blend weight and yaw rate at simulated time t."""
        s = t - self.start
        keys = self.keys
        q = keys[-1][1]
        for (t0, q0), (t1, q1) in zip(keys, keys[1:]):
            if s <= t1:
                a = min(1.0, max(0.0, (s - t0) / max(1e-9, t1 - t0)))
                a = 0.5 - 0.5 * math.cos(math.pi * a)
                q = q0 + a * (q1 - q0)
                break
        weight = min(1.0, s / self.ramp, max(0.0, (self._duration - s) / self.ramp))
        return q, max(0.0, weight), self.yaw_rate


def _pose(**slots: float) -> np.ndarray:
    q = C.DEFAULT_Q.copy()
    for k, v in slots.items():
        q[C.MOTOR_INDEX[k]] = v
    return q


def wave_hand(now: float, turn: bool = False, waves: int = 3, hand: str = "right") -> Gesture:
    """Raise the hand beside the head and swing the forearm `waves` times (about 3 s)."""
    s = 1.0 if hand == "left" else -1.0
    p = hand
    up = {f"{p}_shoulder_pitch_joint": -1.2, f"{p}_shoulder_roll_joint": s * 0.6,
          f"{p}_shoulder_yaw_joint": 0.0, f"{p}_elbow_joint": -0.2}
    out = dict(up, **{f"{p}_shoulder_yaw_joint": s * 0.0, f"{p}_wrist_roll_joint": 0.0,
                      f"{p}_shoulder_roll_joint": s * 0.95})
    keys = [(0.0, C.DEFAULT_Q.copy()), (0.7, _pose(**up))]
    t = 0.7
    for _ in range(waves):
        keys.append((t + 0.3, _pose(**out)))
        keys.append((t + 0.6, _pose(**up)))
        t += 0.6
    keys.append((t + 0.7, C.DEFAULT_Q.copy()))
    g = Gesture(now, keys, yaw_rate=(2.0 * math.pi / keys[-1][0]) if turn else None, name="wave", waves=waves)
    return g


def shake_hand(now: float, offer: bool = True, hand: str = "right") -> Gesture:
    """Offer the hand forward (offer=True) and hold it there, or bring it back."""
    p = hand
    s = 1.0 if hand == "left" else -1.0
    forward = _pose(**{f"{p}_shoulder_pitch_joint": -0.7, f"{p}_shoulder_roll_joint": s * 0.1,
                       f"{p}_elbow_joint": 0.5})
    if offer:
        keys = [(0.0, C.DEFAULT_Q.copy()), (1.0, forward), (1e6, forward)]
        return Gesture(now, keys, name="shake_hand")
    return Gesture(now, [(0.0, forward), (1.0, C.DEFAULT_Q.copy())], name="release", ramp=0.05)


__all__ = ["Gesture", "shake_hand", "wave_hand"]
