"""Gymnasium environments over robot/: `import envs` registers them.

| id | what | max_episode_steps |
|---|---|---|
| `openhumanoid/Walk-v0` | velocity tracking in Unitree's G1 training layout (envs/walk.py) | 1000 (20 s at 50 Hz) |

Entry points are strings, so registering imports no physics: `gymnasium.make` loads the module.
"""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

WALK_ID = "openhumanoid/Walk-v0"

if WALK_ID not in registry:
    # Unitree's 20 s episode at the 50 Hz policy rate.
    register(id=WALK_ID, entry_point="envs.walk:WalkEnv", max_episode_steps=1000)

__all__ = ["WALK_ID"]
