"""Unity ML-Agents scenes as gymnasium environments: a Unity build, or the Editor after pressing Play.

``unity_environment(file_name)`` starts (or connects to) Unity through ``mlagents_envs``'s
low-level API and returns ``UnityGymEnv``, a single-agent gymnasium env that every rl_framework
agent trains on and evaluates in like any other (``train(lambda: unity_environment(path))``).

Where it works: ``mlagents-envs`` 1.x declares ``Requires-Python >=3.10.1,<=3.10.12`` and pins
``numpy<1.24``, ``protobuf<3.21``, ``grpcio<=1.48.2`` and ``pettingzoo==1.15.0``; rl_framework's
stack needs ``numpy>=1.26``, so no Python installs both today and there is no ``unity`` extra (a
resolver cannot satisfy it). On newer Pythons pip finds only mlagents-envs 0.28.0, which cannot
be imported next to protobuf >= 4 (what tensorboard and onnx here need). Wherever the package is
missing, ``unity_environment`` raises an ``ImportError`` saying so; with the package installed
(a future mlagents-envs release, or one you patched), the adapter below works as is.

The conversion, per behaviour (one trained policy):

- observations: one observation -> its ``Box``; several vectors -> one concatenated ``Box``;
  otherwise a ``Dict`` by sensor name. Images (rank 3) are ``Box(0, 1)`` floats as ML-Agents sends them.
- actions: continuous -> ``Box(-1, 1)``; one discrete branch -> ``Discrete``; several ->
  ``MultiDiscrete``; a behaviour with both kinds is refused (SB3 has no hybrid action space).
- episode ends: a terminal step ends the episode, ``interrupted`` (Max Step reached) as
  ``truncated``, otherwise ``terminated``. Steps on which the agent requests no decision
  (Decision Period > 1) are stepped through, their rewards added to the next transition.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

#: The CPython versions mlagents-envs 1.x installs on (its ``Requires-Python``).
SUPPORTED_PYTHONS = ">=3.10.1,<=3.10.12"
_INSTALL_HINT = (
    "Unity ML-Agents environments need the mlagents-envs package, whose 1.x releases install only on CPython "
    "3.10.1 to 3.10.12 (Requires-Python {supported}; this is Python {running}) and pin numpy<1.24, which "
    "rl_framework's stack (numpy>=1.26) excludes; on newer Pythons pip finds only 0.28.0, which fails to import "
    "with protobuf>=4. See the README section 'Unity ML-Agents' for the status."
)


def unity_environment(
    file_name: str | os.PathLike[str] | None = None,
    behavior_name: str | None = None,
    worker_id: int = 0,
    base_port: int | None = None,
    seed: int = 0,
    no_graphics: bool = True,
    time_scale: float | None = None,
    timeout_wait: int = 60,
    additional_args: list[str] | None = None,
) -> UnityGymEnv:
    """Start a Unity build, or connect to the Unity Editor, as a single-agent gymnasium env.

    :param file_name: path of a Unity build (the executable or its folder); ``None`` connects
        to the Editor, where you press Play after calling this.
    :param behavior_name: the ML-Agents behaviour to control (needed when the scene has several).
    :param worker_id: port offset, so that several Unity instances can run side by side.
    :param base_port: first port (default: 5005 for builds, 5004 for the Editor).
    :param seed: the Unity simulation's random seed.
    :param no_graphics: run a build without rendering (faster; cameras then see nothing).
    :param time_scale: Unity's time scale (e.g. 20 for fast training), set through the engine
        configuration side channel; ``None`` keeps the scene's.
    :param timeout_wait: seconds to wait for Unity to answer.
    :param additional_args: extra command line arguments for the build.
    :return: the environment (close it to stop Unity).
    :raises FileNotFoundError: when ``file_name`` does not exist.
    :raises ImportError: when mlagents-envs is not installed (names the Python versions it needs).
    :raises TimeoutError: when no Unity answered within ``timeout_wait`` seconds.
    """
    if file_name is not None and not Path(file_name).exists():
        raise FileNotFoundError(
            f"No Unity build at '{file_name}'. Build the scene in the Unity Editor (File > Build Settings > Build) "
            f"and pass the path of the built executable, or pass file_name=None to train in the Editor (press Play "
            f"after calling unity_environment)."
        )
    _require_mlagents()
    from mlagents_envs.environment import UnityEnvironment
    from mlagents_envs.exception import UnityEnvironmentException, UnityTimeOutException
    from mlagents_envs.side_channel.engine_configuration_channel import EngineConfigurationChannel

    channel = EngineConfigurationChannel()
    try:
        unity = UnityEnvironment(
            file_name=None if file_name is None else str(file_name),
            worker_id=worker_id,
            base_port=base_port,
            seed=seed,
            no_graphics=no_graphics,
            timeout_wait=timeout_wait,
            additional_args=additional_args,
            side_channels=[channel],
        )
    except UnityTimeOutException as error:
        where = "the Unity Editor: open the scene and press Play" if file_name is None else f"the build '{file_name}'"
        raise TimeoutError(
            f"No Unity answered within {timeout_wait} s ({error}). Start {where} (within timeout_wait seconds of "
            f"calling unity_environment), or raise timeout_wait; check that worker_id/base_port are free."
        ) from error
    except UnityEnvironmentException as error:
        raise FileNotFoundError(
            f"Unity could not start '{file_name}': {error}. Pass the built executable of the scene for this platform."
        ) from error
    if time_scale is not None:
        channel.set_configuration_parameters(time_scale=time_scale)
    try:
        return UnityGymEnv(unity, behavior_name)
    except Exception:
        unity.close()
        raise


def _require_mlagents() -> None:
    try:
        import mlagents_envs  # noqa: F401
    except Exception as error:  # missing, or 0.28.0 failing on this protobuf ("Descriptors cannot be created")
        running = ".".join(map(str, sys.version_info[:3]))
        raise ImportError(_INSTALL_HINT.format(supported=SUPPORTED_PYTHONS, running=running)) from error


class UnityGymEnv(gym.Env):
    """One behaviour with one agent of an ``mlagents_envs`` environment, as a gymnasium env.

    Works on anything with the low-level ``BaseEnv`` interface (``behavior_specs``, ``get_steps``,
    ``set_actions``, ``step``, ``reset``, ``close``), which is what ``UnityEnvironment`` is.

    :param unity: the ``mlagents_envs`` environment (reset here to learn its behaviours).
    :param behavior_name: the behaviour to control; may be omitted when there is only one.
    :raises ValueError: for an unknown or ambiguous behaviour, or an action space SB3 cannot use.
    """

    metadata = {"render_modes": []}

    def __init__(self, unity: Any, behavior_name: str | None = None) -> None:
        self.unity = unity
        unity.reset()  # the behaviour specs arrive with the first reset
        names = list(unity.behavior_specs)
        if behavior_name is None:
            if len(names) != 1:
                raise ValueError(
                    f"The Unity scene has {len(names)} behaviours ({', '.join(names) or 'none'}); pass "
                    f"behavior_name=... to choose the one to control."
                )
            behavior_name = names[0]
        if behavior_name not in names:
            raise ValueError(f"The Unity scene has no behaviour {behavior_name!r}; it has {', '.join(names)}.")
        self.behavior_name = behavior_name
        spec = unity.behavior_specs[behavior_name]
        self._observation_specs = list(spec.observation_specs)
        self._action_spec = spec.action_spec
        self.observation_space, self._observation_names = _observation_layout(self._observation_specs)
        self.action_space = _action_space(self._action_spec, behavior_name)
        self._agent_id: Any = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        """Reset the Unity scene and return the agent's first observation.

        ``seed`` seeds only ``np_random``: Unity's own seed is set when the environment starts
        (``unity_environment(seed=...)``).
        """
        super().reset(seed=seed)
        self.unity.reset()
        decision_steps, _ = self.unity.get_steps(self.behavior_name)
        if len(decision_steps) != 1:
            raise ValueError(
                f"Behaviour {self.behavior_name!r} has {len(decision_steps)} agents asking for a decision after "
                f"reset; UnityGymEnv controls exactly one. Keep one agent of this behaviour in the scene (or one "
                f"training area)."
            )
        self._agent_id = decision_steps.agent_id[0]
        return self._observation(decision_steps.obs, 0), {}

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Send the action, advance Unity until the agent decides again or its episode ends."""
        if self._agent_id is None:
            raise RuntimeError("Call reset() before step().")
        self.unity.set_actions(self.behavior_name, self._action_tuple(action))
        reward = 0.0
        while True:
            self.unity.step()
            decision_steps, terminal_steps = self.unity.get_steps(self.behavior_name)
            if self._agent_id in list(terminal_steps.agent_id):
                index = list(terminal_steps.agent_id).index(self._agent_id)
                reward += float(terminal_steps.reward[index])
                interrupted = bool(terminal_steps.interrupted[index])
                self._agent_id = None  # the episode is over: reset() next
                return self._observation(terminal_steps.obs, index), reward, not interrupted, interrupted, {}
            if self._agent_id in list(decision_steps.agent_id):
                index = list(decision_steps.agent_id).index(self._agent_id)
                reward += float(decision_steps.reward[index])
                return self._observation(decision_steps.obs, index), reward, False, False, {}
            # no decision requested this Unity step (Decision Period > 1): Unity repeats the last action

    def close(self) -> None:
        """Stop Unity (a build's process ends; the Editor leaves Play mode)."""
        self.unity.close()

    def _observation(self, observations: list[np.ndarray], index: int) -> Any:
        rows = [np.asarray(observation[index], dtype=np.float32) for observation in observations]
        if self._observation_names is not None:  # Dict spaces sort their keys: pair by Unity's order
            return dict(zip(self._observation_names, rows, strict=True))
        return rows[0] if len(rows) == 1 else np.concatenate(rows)

    def _action_tuple(self, action: Any) -> Any:
        """The action as the ``ActionTuple`` of one agent that ``set_actions`` takes (made by the spec itself)."""
        action_tuple = self._action_spec.empty_action(1)
        values = np.asarray(action)
        if self._action_spec.continuous_size > 0:
            continuous = np.clip(values.astype(np.float32).reshape(1, -1), -1.0, 1.0)
            action_tuple.add_continuous(continuous)
        else:
            action_tuple.add_discrete(values.astype(np.int32).reshape(1, -1))
        return action_tuple


def _observation_layout(specs: list[Any]) -> tuple[gym.Space, list[str] | None]:
    """The observation space, and the sensor names in Unity's order when it is a ``Dict``."""
    boxes = [_box(tuple(spec.shape)) for spec in specs]
    if len(boxes) == 1:
        return boxes[0], None
    if all(len(box.shape) == 1 for box in boxes):
        return gym.spaces.Box(-np.inf, np.inf, (sum(box.shape[0] for box in boxes),), np.float32), None
    names = [getattr(spec, "name", "") or f"observation_{index}" for index, spec in enumerate(specs)]
    if len(set(names)) != len(names):
        names = [f"{name}_{index}" for index, name in enumerate(names)]
    return gym.spaces.Dict(dict(zip(names, boxes, strict=True))), names


def _box(shape: tuple[int, ...]) -> gym.spaces.Box:
    if len(shape) == 3:  # a camera: ML-Agents sends pixel values as floats in [0, 1]
        return gym.spaces.Box(0.0, 1.0, shape, np.float32)
    return gym.spaces.Box(-np.inf, np.inf, shape, np.float32)


def _action_space(spec: Any, behavior_name: str) -> gym.Space:
    continuous, branches = int(spec.continuous_size), tuple(int(branch) for branch in spec.discrete_branches)
    if continuous and branches:
        raise ValueError(
            f"Behaviour {behavior_name!r} has both continuous ({continuous}) and discrete {branches} actions; "
            f"Stable-Baselines3 has no hybrid action space. Give the agent one kind of action."
        )
    if continuous:
        return gym.spaces.Box(-1.0, 1.0, (continuous,), np.float32)
    if len(branches) == 1:
        return gym.spaces.Discrete(branches[0])
    if branches:
        return gym.spaces.MultiDiscrete(list(branches))
    raise ValueError(f"Behaviour {behavior_name!r} has no actions.")
