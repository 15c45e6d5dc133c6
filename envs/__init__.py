"""Gymnasium environments over robot/: `import envs` registers them.

| id | what | max_episode_steps |
|---|---|---|
| `openhumanoid/Walk-v0` | velocity tracking in Unitree's G1 training layout (envs/walk.py) | 1000 (20 s at 50 Hz) |
| `openhumanoid/Command-v0` | instructions from the task suite, one skill call a step (envs/command.py) | 10 skill calls |

Entry points are strings, so registering imports no physics: `gymnasium.make` loads the module.
"""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

WALK_ID = "openhumanoid/Walk-v0"
COMMAND_ID = "openhumanoid/Command-v0"

if WALK_ID not in registry:
    # Unitree's 20 s episode at the 50 Hz policy rate.
    register(id=WALK_ID, entry_point="envs.walk:WalkEnv", max_episode_steps=1000)
if COMMAND_ID not in registry:
    # The longest chain is 5 calls; 10 leaves room for a retry after each failure.
    register(id=COMMAND_ID, entry_point="envs.command:CommandEnv", max_episode_steps=10)

__all__ = ["COMMAND_ID", "WALK_ID"]
