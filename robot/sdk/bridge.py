"""The low-level channel over the simulator: LowCmd in ("rt/lowcmd"), LowState out ("rt/lowstate").

The bridge validates every LowCmd before the motors see it. A command the robot must refuse (NaN or inf,
a gain out of range, an empty slot addressed) raises LowCmdError and the motors fall back to damping
(kp 0, kd 8) at once; they never receive the bad values. The next valid LowCmd is obeyed again, as the
real motor drivers obey the latest good command.
"""

from __future__ import annotations

from robot.g1 import constants as C
from robot.sdk.lowlevel import IMUState, LowCmd, LowCmdError, LowState, quat_to_rpy
from robot.sim.world import World, imu_reading


class LowLevelBridge:
    """Unitree's low-level topics over one simulated G1.

    Args:
        world: the simulated world whose robot this bridge drives.
        check_crc: refuse a LowCmd whose `crc` is not `CRC().Crc(cmd)`, as the robot does on the wire.
            Off by default: in-process there is no wire to corrupt it, and the CRC costs ~0.1 ms.
    """

    def __init__(self, world: World, check_crc: bool = False) -> None:
        self.world = world
        self.robot = world.robot
        self.check_crc = check_crc
        self.fault: str | None = None
        """Why the last LowCmd was refused, or None; cleared by the next valid one."""
        self.damp()

    # --- rt/lowcmd -----------------------------------------------------------------------------------
    def write(self, cmd: LowCmd) -> None:
        """Hand a LowCmd to the motors; they apply it from the next physics step on."""
        try:
            cmd.validate()
            if self.check_crc:
                from robot.sdk.lowlevel import CRC

                if cmd.crc != CRC().Crc(cmd):
                    raise LowCmdError(f"crc {cmd.crc:#010x} does not match the message")
        except LowCmdError as err:
            self.damp()
            self.fault = str(err)
            raise
        self.fault = None
        r = self.robot
        r.cmd_mode[:] = cmd._mode
        r.cmd_array[:] = cmd.motor_array  # q, dq, tau, kp, kd rows, as in LowCmd

    def damp(self, kd: float = C.DAMP_KD) -> None:
        """The safe state: every motor enabled with kp 0 and kd > 0, no feed-forward torque."""
        r = self.robot
        r.cmd_mode[:] = 0
        r.cmd_mode[C.ACTIVE_SLOTS] = 1
        r.cmd_q[:] = 0.0
        r.cmd_dq[:] = 0.0
        r.cmd_tau[:] = 0.0
        r.cmd_kp[:] = 0.0
        r.cmd_kd[:] = 0.0
        r.cmd_kd[C.ACTIVE_SLOTS] = kd

    @property
    def damping(self) -> bool:
        r = self.robot
        return bool(not r.cmd_kp.any() and not r.cmd_tau.any() and r.cmd_kd[C.ACTIVE_SLOTS].min() > 0)

    # --- time ----------------------------------------------------------------------------------------
    def step(self, n: int = 1) -> None:
        """Advance the physics by n steps of 2 ms, the motors holding the latest command."""
        for _ in range(n):
            self.world.step()

    # --- rt/lowstate ---------------------------------------------------------------------------------
    def read(self) -> LowState:
        """A new LowState with the robot's state after the latest physics step."""
        r = self.robot
        # The IMU is computed when a reader first looks at it, from this step's motion (immutable tuples).
        # Its quaternion is known as is (imu_reading passes it through): fall detection reads only that.
        motion = r.motion
        imu = IMUState.deferred(_imu_values, motion, quaternion=motion[0])
        # validate() and damp() keep the empty slots' modes at 0, so the whole array copies over.
        return LowState.from_arrays(int(round(self.world.time * 1000.0)), imu, r.state_array, r.mode_temperature)


def _imu_values(quat: tuple[float, ...], ang_vel: tuple[float, ...], lin_acc: tuple[float, ...],
                ) -> tuple[tuple[float, ...], ...]:
    quat, gyro, acc = imu_reading(quat, ang_vel, lin_acc)
    return quat, gyro, acc, quat_to_rpy(*quat)
