"""PettingZoo ``ParallelEnv`` as an SB3 ``VecEnv``: one slot per agent, one shared policy.

Every agent of every environment copy is one slot of the VecEnv, so SB3 (and imitation, and our
evaluation) treat the agents as independent environments that happen to step together: all
agents act through the same policy (parameter sharing). This needs every agent to have the same
observation and action space.

Why our own adapter rather than SuperSuit's ``pettingzoo_env_to_vec_env_v1``: on this stack
(SB3 2.9, gymnasium 0.29) SB3's ``seed=`` fails on SuperSuit's vec env (``'ConcatVecEnv' object
has no attribute 'seed'``). This adapter is an SB3 ``VecEnv`` itself, so seeding, ``VecNormalize``,
our evaluation and connector logging work unchanged; it records each agent's episodes as a
``Monitor`` would, handles agents that finish early, closes only what it made, and needs nothing
but ``pettingzoo``.

Inputs: a ``ParallelEnv`` instance or a list of them is recognised directly; a factory of
``ParallelEnv`` objects when ``as_env`` first calls it (it raises ``ParallelEnvMade``, which
training and evaluation catch), so no factory is ever called just to see what it makes.

Life cycle of a slot: it acts while its agent is alive. When the agent terminates or is
truncated the slot reports ``done`` with Monitor-style ``info["episode"]`` (return, length) and
``info["terminal_observation"]``. Until every agent of that copy is done the dead slot sees zero
observations and reward 0 and its actions are dropped (SuperSuit calls this "black death"); when
the copy resets, dead slots report one more ``done`` without ``"episode"`` so that no return is
bootstrapped across episodes and nothing is counted twice.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvObs, VecEnvStepReturn

from rl_framework.util.checks import positive_int

#: A PettingZoo ``ParallelEnv`` (typed loosely: pettingzoo is an optional dependency).
ParallelEnvironment = Any


def is_parallel_env(candidate: Any) -> bool:
    """Return whether ``candidate`` is a PettingZoo ``ParallelEnv`` (never imports pettingzoo itself).

    A ``ParallelEnv`` can only exist once pettingzoo is imported, so an unimported pettingzoo means no.
    """
    module = sys.modules.get("pettingzoo.utils.env")
    return module is not None and isinstance(candidate, module.ParallelEnv)


class ParallelEnvMade(TypeError):
    """An environment factory made a PettingZoo ``ParallelEnv`` where a gymnasium env was expected.

    ``as_env`` raises it when it first calls a factory; training and evaluation catch it and use
    ``env`` as the first copy of a ``MultiAgentVecEnv`` (so a factory is never called just to look).
    Elsewhere it is an error whose message names where multi-agent envs are accepted.

    :param env: the ParallelEnv the factory made (the catcher owns it).
    :param factory: the factory that made it.
    """

    def __init__(self, env: ParallelEnvironment, factory: Any) -> None:
        super().__init__(
            f"The environment factory {factory!r} made a PettingZoo ParallelEnv ({type(env).__name__}). Multi-agent "
            f"environments are accepted by train (vectorization='dummy'), evaluate, record_video and agent_episodes; "
            f"elsewhere pass a gymnasium env."
        )
        self.env = env
        self.factory = factory


class MultiAgentVecEnv(VecEnv):
    """An SB3 ``VecEnv`` over PettingZoo ``ParallelEnv`` copies, one slot per agent (parameter sharing).

    Slots are ordered copy by copy, agents in ``possible_agents`` order. Each slot behaves like
    an environment wrapped in SB3's ``Monitor`` (``env_is_wrapped(Monitor)`` is true): finished
    episodes carry ``info["episode"] = {"r", "l", "t"}``. ``seed(s)`` makes copy ``k``'s next
    reset use ``s + (index of its first slot)``. ``render()`` tiles one frame per copy.

    :param envs: the environment copies; every agent must share one observation and action space.
    :param owned: which copies ``close()`` closes (made here from a factory); a user's own
        ``ParallelEnv`` stays open.
    :raises ValueError: when the agents' spaces differ, or an observation space is a ``Dict``/``Tuple``.
    """

    def __init__(self, envs: Sequence[ParallelEnvironment], owned: Sequence[bool]) -> None:
        if len(envs) == 0 or len(owned) != len(envs):
            raise ValueError("MultiAgentVecEnv needs at least one environment and one owned flag per environment.")
        self.envs = list(envs)
        self._owned = list(owned)
        #: ``(copy index, agent id)`` of every slot.
        self.slots: list[tuple[int, Any]] = [(k, agent) for k, env in enumerate(envs) for agent in env.possible_agents]
        observation_space, action_space = _shared_spaces(self.envs)
        self._first_slot = [self.slots.index((k, env.possible_agents[0])) for k, env in enumerate(envs)]
        self._alive: list[set[Any]] = [set() for _ in envs]
        n_slots = len(self.slots)
        self._observations = np.zeros((n_slots, *(observation_space.shape or ())), observation_space.dtype)
        self._returns = np.zeros(n_slots)
        self._lengths = np.zeros(n_slots, dtype=np.int64)
        self._actions: np.ndarray | None = None
        self._start = time.time()
        #: Finished episodes of each copy (an episode of a copy ends when all its agents are done).
        self.copy_episodes = [0 for _ in envs]
        super().__init__(n_slots, observation_space, action_space)

    # -- stepping -------------------------------------------------------------------------------
    def reset(self) -> VecEnvObs:
        """Reset every copy (with the seeds/options set by ``seed``/``set_options``); return all observations."""
        for k in range(len(self.envs)):
            self._reset_copy(k)
        self._reset_seeds()
        self._reset_options()
        return self._observations.copy()

    def _reset_copy(self, k: int) -> None:
        first = self._first_slot[k]
        options = self._options[first] or None
        observations, infos = self.envs[k].reset(seed=self._seeds[first], options=options)
        self._alive[k] = set(self.envs[k].agents)
        for slot, (_, agent) in self._slots_of(k):
            self._observations[slot] = observations[agent] if agent in observations else 0
            self._returns[slot], self._lengths[slot] = 0.0, 0
            self.reset_infos[slot] = dict(infos.get(agent, {}))

    def step_async(self, actions: np.ndarray) -> None:
        """Remember one action per slot for ``step_wait``."""
        self._actions = np.asarray(actions)

    def step_wait(self) -> VecEnvStepReturn:
        """Step every copy with its live agents' actions; reset copies whose agents are all done."""
        if self._actions is None:
            raise RuntimeError("step_wait() called without step_async(actions): call step(actions) instead.")
        rewards = np.zeros(self.num_envs, dtype=np.float32)
        dones = np.zeros(self.num_envs, dtype=bool)
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for k, env in enumerate(self.envs):
            self._step_copy(k, env, rewards, dones, infos)
        self._actions = None
        return self._observations.copy(), rewards, dones, infos

    def _step_copy(
        self, k: int, env: ParallelEnvironment, rewards: np.ndarray, dones: np.ndarray, infos: list[dict[str, Any]]
    ) -> None:
        assert self._actions is not None
        slots = self._slots_of(k)
        acting = {agent: self._actions[slot] for slot, (_, agent) in slots if agent in env.agents}
        observations, step_rewards, terminations, truncations, step_infos = env.step(acting)
        alive = self._alive[k]
        for slot, (_, agent) in slots:
            if agent not in alive:
                continue
            self._observations[slot] = observations[agent] if agent in observations else 0
            rewards[slot] = step_rewards.get(agent, 0.0)
            self._returns[slot] += rewards[slot]
            self._lengths[slot] += 1
            infos[slot] = dict(step_infos.get(agent, {}))
            terminated, truncated = bool(terminations.get(agent, False)), bool(truncations.get(agent, False))
            gone = agent not in env.agents  # removed without a flag: treat as truncated
            if terminated or truncated or gone:
                self._finish(slot, agent, alive, terminated, dones, infos)
        if alive and env.agents:
            return
        for slot, (_, agent) in slots:
            if agent in alive:  # still alive as the copy ended: its episode is cut off
                self._finish(slot, agent, alive, False, dones, infos)
            elif not dones[slot]:  # died earlier: close its zero-observation stretch
                dones[slot] = True
                infos[slot] = {"terminal_observation": self._observations[slot].copy(), "TimeLimit.truncated": False}
        self.copy_episodes[k] += 1
        self._reset_copy(k)

    def _finish(
        self, slot: int, agent: Any, alive: set[Any], terminated: bool, dones: np.ndarray, infos: list[dict[str, Any]]
    ) -> None:
        """End the slot's episode: Monitor-style statistics, terminal observation, then zero observations."""
        dones[slot] = True
        infos[slot]["terminal_observation"] = self._observations[slot].copy()
        infos[slot]["TimeLimit.truncated"] = not terminated
        infos[slot]["episode"] = {
            "r": float(self._returns[slot]),
            "l": int(self._lengths[slot]),
            "t": round(time.time() - self._start, 6),
        }
        self._returns[slot], self._lengths[slot] = 0.0, 0
        self._observations[slot] = 0
        alive.discard(agent)

    def alive(self, slot: int) -> bool:
        """Whether the slot's agent is acting in its copy's current episode (not done yet)."""
        k, agent = self.slots[slot]
        return agent in self._alive[k]

    def _slots_of(self, k: int) -> list[tuple[int, tuple[int, Any]]]:
        first = self._first_slot[k]
        return list(enumerate(self.slots[first : first + len(self.envs[k].possible_agents)], start=first))

    # -- VecEnv plumbing ------------------------------------------------------------------------
    def close(self) -> None:
        """Close the copies made here (never a ``ParallelEnv`` the user passed)."""
        for env, owned in zip(self.envs, self._owned, strict=True):
            if owned:
                env.close()

    def get_images(self) -> Sequence[np.ndarray | None]:
        """One rendered frame per copy (the agents of a copy share its frame)."""
        return [env.render() for env in self.envs]

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """The attribute of each slot's copy; the shared spaces for ``observation_space``/``action_space``."""
        if attr_name in ("observation_space", "action_space") and hasattr(self, attr_name):
            return [getattr(self, attr_name) for _ in self._get_indices(indices)]
        return [getattr(self.envs[self.slots[i][0]], attr_name, None) for i in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Set the attribute on the copies the slots belong to."""
        for k in sorted({self.slots[i][0] for i in self._get_indices(indices)}):
            setattr(self.envs[k], attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **kwargs: Any
    ) -> list[Any]:
        """Call the method once per copy involved; every slot of a copy gets that call's result."""
        chosen = list(self._get_indices(indices))
        results = {
            k: getattr(self.envs[k], method_name)(*method_args, **kwargs)
            for k in sorted({self.slots[i][0] for i in chosen})
        }
        return [results[self.slots[i][0]] for i in chosen]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        """True for ``Monitor`` only: the slots report Monitor's episode statistics themselves."""
        return [wrapper_class is Monitor for _ in self._get_indices(indices)]


def _shared_spaces(envs: Sequence[ParallelEnvironment]) -> tuple[gym.Space, gym.Space]:
    """The one observation and action space of all agents (parameter sharing needs them equal)."""
    first_env, first_agent = envs[0], envs[0].possible_agents[0]
    observation_space, action_space = first_env.observation_space(first_agent), first_env.action_space(first_agent)
    for env in envs:
        for agent in env.possible_agents:
            for kind, shared, own in (
                ("observation", observation_space, env.observation_space(agent)),
                ("action", action_space, env.action_space(agent)),
            ):
                if own != shared:
                    raise ValueError(
                        f"Agent {agent!r} has the {kind} space {own} but agent {first_agent!r} has {shared}. One "
                        f"shared policy needs one space for every agent: pad the spaces (e.g. SuperSuit's "
                        f"pad_observations_v0 / pad_action_space_v0) or train one agent per group of agents."
                    )
    if isinstance(observation_space, (gym.spaces.Dict, gym.spaces.Tuple)):
        raise ValueError(
            f"Multi-agent training supports array observation spaces, not {observation_space}. Flatten the "
            f"observations (e.g. SuperSuit's flatten_v0) or use one of the agent's array entries."
        )
    return observation_space, action_space


def multi_agent_vec_env(environments: Any, n_copies: int = 1) -> MultiAgentVecEnv | None:
    """A ``MultiAgentVecEnv`` for a ``ParallelEnv`` or a list starting with one, else ``None``.

    A ``ParallelEnv`` instance is the only copy and stays open; a list may mix instances and
    factories of them. Factories alone are recognised when first called (``ParallelEnvMade``,
    see ``from_first_product``).

    :param environments: what the user passed as training or evaluation environments.
    :param n_copies: copies asked for (an instance cannot be copied).
    :return: the VecEnv, or ``None`` for anything else.
    :raises ValueError: when several copies are asked of a ``ParallelEnv`` instance.
    """
    if is_parallel_env(environments):
        if positive_int(n_copies, "n_envs") > 1:
            raise ValueError(
                f"Cannot make {n_copies} copies of a ParallelEnv instance. Pass a factory instead, e.g. "
                f"training_environments=lambda: simple_spread_v3.parallel_env(), n_envs={n_copies}."
            )
        return MultiAgentVecEnv([environments], [False])
    if isinstance(environments, Sequence) and not isinstance(environments, str) and len(environments) > 0:
        if is_parallel_env(environments[0]):
            return _from_entries(list(environments))
    return None


def from_first_product(made: ParallelEnvMade, environments: Any, n_copies: int) -> MultiAgentVecEnv:
    """The ``MultiAgentVecEnv`` of a factory (or list) whose first product turned out to be a ``ParallelEnv``.

    :param made: what the first call raised; its env becomes copy 0 (owned: closed with the VecEnv).
    :param environments: the factory, or the list whose first entry it was.
    :param n_copies: copies of a factory in all (ignored for a list).
    :return: the VecEnv.
    """
    if isinstance(environments, Sequence) and not isinstance(environments, str):
        rest = list(environments[1:])
    else:
        rest = [environments] * (positive_int(n_copies, "n_envs") - 1)
    return _from_entries([made.env, *rest], first_owned=True)


def multi_agent_training_env(training_environments: Any, n_envs: int, vectorization: str) -> MultiAgentVecEnv | None:
    """The training VecEnv for multi-agent input (``build_vec_env``'s hook), or ``None`` for anything else.

    :param training_environments: what ``train`` received.
    :param n_envs: copies asked for.
    :param vectorization: must be ``"dummy"``: the copies step in the training process.
    :return: the VecEnv, or ``None``.
    :raises ValueError: for ``vectorization="subprocess"`` with multi-agent input.
    """
    vec_env = multi_agent_vec_env(training_environments, n_envs)
    if vec_env is not None and vectorization != "dummy":
        vec_env.close()
        raise ValueError(
            f"PettingZoo environments step inside the training process; vectorization={vectorization!r} is not "
            f"supported for them. Pass vectorization='dummy' (the default) and n_envs copies of a factory."
        )
    return vec_env


def _from_entries(entries: list[Any], first_owned: bool = False) -> MultiAgentVecEnv:
    """Instantiate the factories among ``entries``; close everything made here if anything fails."""
    envs: list[Any] = []
    owned: list[bool] = []
    try:
        for index, entry in enumerate(entries):
            env = entry if is_parallel_env(entry) else _call_factory(entry)
            envs.append(env)
            owned.append(env is not entry or (index == 0 and first_owned))
        return MultiAgentVecEnv(envs, owned)
    except Exception:
        for env, made in zip(envs, owned, strict=False):
            if made:
                env.close()
        raise


def _call_factory(entry: Callable[[], Any]) -> Any:
    env = entry() if callable(entry) else entry
    if not is_parallel_env(env):
        raise TypeError(
            f"A list of multi-agent environments must hold only PettingZoo ParallelEnvs or factories of them; "
            f"{entry!r} gave {type(env).__name__}. Convert AEC environments with "
            f"pettingzoo.utils.conversions.aec_to_parallel."
        )
    return env


def evaluation_copies(n_eval_episodes: int, n_agents: int, max_parallel_environments: int) -> int:
    """Copies of a factory evaluation makes: enough for about one episode per agent slot, capped."""
    return max(1, min(math.ceil(n_eval_episodes / max(n_agents, 1)), max_parallel_environments))
