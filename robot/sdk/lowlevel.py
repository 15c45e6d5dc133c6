"""Unitree "hg" low-level messages: LowCmd, LowState, their motors and IMU, and the CRC.

Field names, slot count and motor order are those of the G1 SDK, so code reads as it would on the robot::

    cmd = LowCmd()
    cmd.motor_cmd[G1JointIndex.LeftKnee].q = 0.3
    cmd.motor_cmd[G1JointIndex.LeftKnee].kp = 100.0
    cmd.crc = CRC().Crc(cmd)

Each message stores its per-motor fields as numpy arrays of 35 slots; `motor_cmd[i]` / `motor_state[i]`
are views into them, so a controller may also write whole arrays (`cmd.q[:] = ...`) at 500 Hz.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from enum import IntEnum

import numpy as np

from robot.g1 import constants as C

NUM_MOTOR = C.NUM_MOTOR


class G1JointIndex(IntEnum):
    """Motor slots of the G1, named as in Unitree's examples."""

    LeftHipPitch = 0
    LeftHipRoll = 1
    LeftHipYaw = 2
    LeftKnee = 3
    LeftAnklePitch = 4
    LeftAnkleRoll = 5
    RightHipPitch = 6
    RightHipRoll = 7
    RightHipYaw = 8
    RightKnee = 9
    RightAnklePitch = 10
    RightAnkleRoll = 11
    WaistYaw = 12
    WaistRoll = 13  # empty on the 23-DoF body
    WaistPitch = 14  # empty on the 23-DoF body
    LeftShoulderPitch = 15
    LeftShoulderRoll = 16
    LeftShoulderYaw = 17
    LeftElbow = 18
    LeftWristRoll = 19
    LeftWristPitch = 20  # empty on the 23-DoF body
    LeftWristYaw = 21  # empty on the 23-DoF body
    RightShoulderPitch = 22
    RightShoulderRoll = 23
    RightShoulderYaw = 24
    RightElbow = 25
    RightWristRoll = 26
    RightWristPitch = 27  # empty on the 23-DoF body
    RightWristYaw = 28  # empty on the 23-DoF body
    kNotUsedJoint = 29  # arm_sdk: motor_cmd[29].q is the blend weight (0..1)


class LowCmdError(ValueError):
    """A LowCmd the robot refuses; the bridge has put the robot into damping when this is raised."""


class _View:
    """One motor's fields as attributes over the message's arrays."""

    __slots__ = ("_msg", "_i")
    _fields: tuple[str, ...] = ()

    def __init__(self, msg: object, i: int) -> None:
        self._msg = msg
        self._i = i

    def __repr__(self) -> str:
        vals = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"{type(self).__name__}({vals})"


def _field(name: str, cast: type = float) -> property:
    def get(self: _View) -> float:
        return cast(getattr(self._msg, name)[self._i])

    def set_(self: _View, value: float) -> None:
        getattr(self._msg, name)[self._i] = value

    return property(get, set_)


class MotorCmd(_View):
    """`mode` (1 enable, 0 disable), `q`, `dq`, `tau`, `kp`, `kd` of one motor."""

    __slots__ = ()
    _fields = ("mode", "q", "dq", "tau", "kp", "kd")
    mode = _field("mode", int)
    q = _field("q")
    dq = _field("dq")
    tau = _field("tau")
    kp = _field("kp")
    kd = _field("kd")


class MotorState(_View):
    """`mode`, `q`, `dq`, `ddq`, `tau_est`, `temperature` of one motor."""

    __slots__ = ()
    _fields = ("mode", "q", "dq", "ddq", "tau_est", "temperature")
    mode = _field("mode", int)
    q = _field("q")
    dq = _field("dq")
    ddq = _field("ddq")
    tau_est = _field("tau_est")
    temperature = _field("temperature", int)


def _row(i: int, doc: str) -> property:
    """One LowCmd field: a row of `motor_array`; assigning copies into it (the array is never rebound)."""

    def get(self: LowCmd) -> np.ndarray:
        return self._rows[i]

    def set_(self: LowCmd, value: object) -> None:
        self._rows[i][...] = value

    return property(get, set_, doc=doc)


class LowCmd:
    """The hg LowCmd: `mode_pr`, `mode_machine`, `motor_cmd[35]`, `crc`. All gains zero by default.

    The float fields `q, dq, tau, kp, kd` are the rows of one (5, 35) array, `motor_array`, so that
    validating and handing a command to the motors are one operation each at 500 Hz.
    """

    __slots__ = ("mode_pr", "mode_machine", "_mode", "motor_array", "_rows", "crc", "motor_cmd")

    def __init__(self) -> None:
        self.mode_pr = 0
        self.mode_machine = C.MODE_MACHINE_23DOF
        self._mode = np.zeros(NUM_MOTOR, dtype=np.int64)
        self.motor_array = np.zeros((5, NUM_MOTOR))
        self._rows = tuple(self.motor_array)
        self.crc = 0
        self.motor_cmd = tuple(MotorCmd(self, i) for i in range(NUM_MOTOR))

    @property
    def mode(self) -> np.ndarray:
        """int64 (35,): 1 enables a motor, 0 disables it."""
        return self._mode

    @mode.setter
    def mode(self, value: object) -> None:
        self._mode[...] = value

    q = _row(0, "Target joint angles, rad (35,).")
    dq = _row(1, "Target joint velocities, rad/s (35,).")
    tau = _row(2, "Feed-forward torques, N m (35,).")
    kp = _row(3, "Position gains, N m/rad (35,).")
    kd = _row(4, "Velocity gains, N m s/rad (35,).")

    def copy(self) -> LowCmd:
        out = LowCmd()
        out.copy_from(self)
        return out

    def copy_from(self, other: LowCmd) -> None:
        self.mode_pr, self.mode_machine, self.crc = other.mode_pr, other.mode_machine, other.crc
        self._mode[:] = other._mode
        self.motor_array[:] = other.motor_array

    def validate(self) -> None:
        """Raise LowCmdError naming the first motor and field the robot would refuse.

        Runs at 500 Hz on every write. A command whose bytes equal those of the last command that passed
        is let through at once (comparing ~1.7 kB costs well under a microsecond; a controller that holds
        its command, or a policy slower than the motor loop, sends the same bytes tick after tick). Any
        other command gets one vectorised bounds check over all fields (NaN fails every comparison),
        a few microseconds; only a bad one takes the slow path that names the culprit.
        """
        global _last_valid
        f = self.motor_array
        seen = (f.tobytes(), self._mode.tobytes())
        if seen == _last_valid:
            return
        # count_nonzero, not .all()/.any(): a reduction ufunc costs ~2 us on 175 elements, counting ~0.3 us.
        if not (_count_nonzero((f >= _LO) & (f <= _HI)) == _LO.size
                and not _count_nonzero(self._mode & _MODE_FORBIDDEN)):
            self._validate_slow()  # raises, unless the fast check was too strict (-0.0 on an empty slot)
        _last_valid = seen

    def _validate_slow(self) -> None:
        for name in ("q", "dq", "tau", "kp", "kd"):
            arr = getattr(self, name)
            bad = np.flatnonzero(~np.isfinite(arr))
            if bad.size:
                i = int(bad[0])
                raise LowCmdError(f"motor_cmd[{i}].{name} is {arr[i]} (not finite)")
        bad = np.flatnonzero((self.mode != 0) & (self.mode != 1))
        if bad.size:
            raise LowCmdError(f"motor_cmd[{bad[0]}].mode is {self.mode[bad[0]]}; expected 0 or 1")
        for name, hi in (("kp", C.KP_MAX), ("kd", C.KD_MAX)):
            arr = getattr(self, name)
            bad = np.flatnonzero((arr < 0.0) | (arr > hi))
            if bad.size:
                i = int(bad[0])
                raise LowCmdError(f"motor_cmd[{i}].{name} = {arr[i]:g} is outside 0..{hi:g}")
        empty = np.asarray(C.EMPTY_SLOTS)
        used = (self.mode[empty] != 0) | (self.kp[empty] != 0) | (self.kd[empty] != 0) | (self.tau[empty] != 0)
        if used.any():
            i = int(empty[np.flatnonzero(used)[0]])
            raise LowCmdError(f"motor_cmd[{i}] addresses slot {i}, which the 23-DoF G1 leaves empty")


# Bounds of the fast check in LowCmd.validate, over motor_array: (q, dq, tau, kp, kd) x 35 slots.
# A finite float passes +/-DBL_MAX; inf and NaN do not. Empty slots must carry zero tau, kp and kd (their
# q and dq are ignored).
_BIG = float(np.finfo(np.float64).max)
_EMPTY_MASK = np.zeros(NUM_MOTOR, dtype=bool)
_EMPTY_MASK[list(C.EMPTY_SLOTS)] = True
_LO = np.stack([np.full(NUM_MOTOR, -_BIG)] * 2 + [np.where(_EMPTY_MASK, 0.0, -_BIG)]
               + [np.zeros(NUM_MOTOR)] * 2)
_HI = np.stack([np.full(NUM_MOTOR, _BIG)] * 2 + [np.where(_EMPTY_MASK, 0.0, _BIG),
                                                np.where(_EMPTY_MASK, 0.0, C.KP_MAX),
                                                np.where(_EMPTY_MASK, 0.0, C.KD_MAX)])
# Bits a mode may not have: anything but bit 0 on a used slot, anything at all on an empty one.
_MODE_FORBIDDEN = np.where(_EMPTY_MASK, -1, ~1).astype(np.int64)
_count_nonzero = np.count_nonzero
_last_valid: tuple[bytes, bytes] | None = None
"""The bytes of (motor_array, mode) of the last LowCmd that passed validate(): equal bytes, equal verdict.
Shared by all commands and threads; one tuple, so a reader sees a pair that passed together."""


def _imu_field(name: str, doc: str) -> property:
    slot = "_" + name

    def get(self: IMUState) -> np.ndarray:
        if self._source is not None:
            self._compute()
        return getattr(self, slot)

    def set_(self: IMUState, value: np.ndarray) -> None:
        if self._source is not None:
            self._compute()  # the other fields keep their values
        setattr(self, slot, value)

    return property(get, set_, doc=doc)


class IMUState:
    """`quaternion` (w, x, y, z), `gyroscope` (rad/s, body frame), `accelerometer` (m/s^2), `rpy` (rad).

    The simulator builds one every 2 ms and many readers never look at it, so `deferred` makes one that
    computes its values on first access; to a reader it is the same object either way.
    """

    __slots__ = ("_quaternion", "_gyroscope", "_accelerometer", "_rpy", "temperature", "_source", "_wxyz")

    def __init__(self) -> None:
        self._quaternion = np.array([1.0, 0.0, 0.0, 0.0])
        self._gyroscope = np.zeros(3)
        self._accelerometer = np.zeros(3)
        self._rpy = np.zeros(3)
        self.temperature = 40
        self._source: tuple[Callable[..., Sequence[Sequence[float]]], tuple] | None = None
        self._wxyz: tuple[float, float, float, float] | None = None

    quaternion = _imu_field("quaternion", "(4,) w, x, y, z.")
    gyroscope = _imu_field("gyroscope", "(3,) angular velocity, rad/s, body frame.")
    accelerometer = _imu_field("accelerometer", "(3,) specific force, m/s^2, body frame.")
    rpy = _imu_field("rpy", "(3,) roll, pitch, yaw, rad.")

    @classmethod
    def from_arrays(cls, quaternion: Sequence[float], gyroscope: Sequence[float], accelerometer: Sequence[float],
                    rpy: Sequence[float], temperature: int = 40) -> IMUState:
        """An IMUState holding copies of the given values (no zero-filling).

        The four arrays are views into one new 13-float array: one allocation instead of four.
        """
        imu = cls.__new__(cls)
        imu._set(quaternion, gyroscope, accelerometer, rpy)
        imu.temperature = temperature
        imu._source = None
        imu._wxyz = None
        return imu

    @classmethod
    def deferred(cls, compute: Callable[..., Sequence[Sequence[float]]], args: tuple,
                 temperature: int = 40, quaternion: tuple[float, float, float, float] | None = None,
                 ) -> IMUState:
        """An IMUState whose values are `compute(*args)` -> (quaternion, gyroscope, accelerometer, rpy),
        computed on first access. `args` must not change afterwards (the simulator passes tuples).
        `quaternion`, when given, must be the four floats `compute` returns first: `quaternion_floats`
        then answers without computing the rest."""
        imu = cls.__new__(cls)
        imu.temperature = temperature
        imu._source = (compute, args)
        imu._wxyz = quaternion
        return imu

    def quaternion_floats(self) -> tuple[float, float, float, float]:
        """`quaternion` as four Python floats (w, x, y, z).

        Fall detection reads the quaternion every 2 ms and nothing else; a deferred reading that was
        given its quaternion answers from it and leaves the gyroscope, accelerometer and rpy uncomputed.
        """
        if self._source is not None and self._wxyz is not None:
            return self._wxyz
        w, x, y, z = self.quaternion.tolist()
        return w, x, y, z

    def _set(self, quaternion: Sequence[float], gyroscope: Sequence[float], accelerometer: Sequence[float],
             rpy: Sequence[float]) -> None:
        buf = np.array((*quaternion, *gyroscope, *accelerometer, *rpy), dtype=np.float64)
        if buf.shape != (13,):
            raise ValueError(f"expected 4 + 3 + 3 + 3 IMU values, got {buf.shape}")
        self._quaternion = buf[0:4]
        self._gyroscope = buf[4:7]
        self._accelerometer = buf[7:10]
        self._rpy = buf[10:13]

    def _compute(self) -> None:
        compute, args = self._source  # type: ignore[misc]
        self._set(*compute(*args))
        self._source = None


_MODE_MACHINE = C.MODE_MACHINE_23DOF
_NO_REMOTE = bytes(40)


class LowState:
    """The hg LowState: `tick` (ms), `imu_state`, `motor_state[35]`, `wireless_remote`, `crc`."""

    __slots__ = ("mode_pr", "mode_machine", "tick", "imu_state", "mode", "q", "dq", "ddq", "tau_est",
                 "temperature", "wireless_remote", "crc", "_motor_state")

    def __init__(self) -> None:
        self.mode_pr = 0
        self.mode_machine = C.MODE_MACHINE_23DOF
        self.tick = 0
        self.imu_state = IMUState()
        self.mode = np.zeros(NUM_MOTOR, dtype=np.int64)
        self.q = np.zeros(NUM_MOTOR)
        self.dq = np.zeros(NUM_MOTOR)
        self.ddq = np.zeros(NUM_MOTOR)
        self.tau_est = np.zeros(NUM_MOTOR)
        self.temperature = np.zeros(NUM_MOTOR, dtype=np.int64)
        self.wireless_remote = bytes(40)
        self.crc = 0
        self._motor_state: tuple[MotorState, ...] | None = None

    @classmethod
    def from_arrays(cls, tick: int, imu_state: IMUState, motor: np.ndarray, mode_temperature: np.ndarray,
                    ) -> LowState:
        """A LowState holding copies of the given arrays (the simulator builds one every 2 ms).

        Args:
            motor: (4, 35) float rows q, dq, ddq, tau_est.
            mode_temperature: (2, 35) int rows mode, temperature.
            Each is copied once; the fields are views of the copies.
        """
        st = cls.__new__(cls)
        st.mode_pr = 0
        st.mode_machine = _MODE_MACHINE
        st.tick = tick
        st.imu_state = imu_state
        m = motor.copy()
        st.q = m[0]
        st.dq = m[1]
        st.ddq = m[2]
        st.tau_est = m[3]
        m = mode_temperature.copy()
        st.mode = m[0]
        st.temperature = m[1]
        st.wireless_remote = _NO_REMOTE  # bytes are immutable: one shared object is safe
        st.crc = 0
        st._motor_state = None
        return st

    @property
    def motor_state(self) -> tuple[MotorState, ...]:
        """Per-motor views, made on first use: a LowState is built every 2 ms and most readers use the
        arrays, and 35 views cost ~10 us."""
        if self._motor_state is None:
            self._motor_state = tuple(MotorState(self, i) for i in range(NUM_MOTOR))
        return self._motor_state


# --- CRC ---------------------------------------------------------------------------------------------
# Unitree's crc32_core: CRC-32 with polynomial 0x04C11DB7, initial 0xFFFFFFFF, no reflection, no final
# xor, fed the packed message as 32-bit little-endian words, most significant bit first. That is the
# table-driven CRC-32/MPEG-2 over each word's bytes in big-endian order.
_POLY = 0x04C11DB7


def _table() -> list[int]:
    out = []
    for b in range(256):
        c = b << 24
        for _ in range(8):
            c = ((c << 1) ^ _POLY) if c & 0x80000000 else (c << 1)
        out.append(c & 0xFFFFFFFF)
    return out


_TABLE = _table()
# C layout of LowCmd_ (hg): two uint8 + 2 pad; per motor: uint8 mode + 3 pad, five float32, uint32 reserve;
# uint32 reserve[4]; uint32 crc. The CRC covers every word but the last.
_MOTOR = struct.Struct("<B3x5fI")


def crc32_core(words: np.ndarray) -> int:
    """Unitree's CRC over an array of uint32 words."""
    crc = 0xFFFFFFFF
    table = _TABLE
    for byte in words.astype(">u4").tobytes():
        crc = ((crc << 8) & 0xFFFFFFFF) ^ table[((crc >> 24) ^ byte) & 0xFF]
    return crc


def pack_lowcmd(cmd: LowCmd) -> bytes:
    """The LowCmd as the robot's C struct would hold it (little-endian, with padding)."""
    parts = [struct.pack("<BB2x", cmd.mode_pr & 0xFF, cmd.mode_machine & 0xFF)]
    for i in range(NUM_MOTOR):
        parts.append(_MOTOR.pack(int(cmd.mode[i]) & 0xFF, cmd.q[i], cmd.dq[i], cmd.tau[i], cmd.kp[i],
                                 cmd.kd[i], 0))
    parts.append(struct.pack("<4II", 0, 0, 0, 0, cmd.crc & 0xFFFFFFFF))
    return b"".join(parts)


class CRC:
    """`CRC().Crc(cmd)` as in unitree_sdk2py."""

    def Crc(self, msg: LowCmd) -> int:  # noqa: N802 - Unitree's name
        words = np.frombuffer(pack_lowcmd(msg), dtype="<u4")
        return crc32_core(words[:-1])


def quat_to_rpy(w: float, x: float, y: float, z: float) -> tuple[float, float, float]:
    """Roll, pitch, yaw (ZYX) of a unit quaternion."""
    roll = math.atan2(2.0 * (w * x + y * z), 1.0 - 2.0 * (x * x + y * y))
    pitch = math.asin(max(-1.0, min(1.0, 2.0 * (w * y - z * x))))
    return roll, pitch, quat_to_yaw(w, x, y, z)


def quat_to_yaw(w: float, x: float, y: float, z: float) -> float:
    """The yaw of `quat_to_rpy`, for readers that need nothing else."""
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
