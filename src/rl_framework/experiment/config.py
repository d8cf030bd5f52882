"""Experiment files: one YAML file names everything a training run needs, validated before any work.

An experiment file (see ``configs/``) holds the algorithm and its parameters (schedules written
``lin_0.001`` as in rl-baselines3-zoo), the environment and its keyword arguments, wrappers
(``normalize`` = ``VecNormalize``, ``frame_stack``), ``n_envs``, ``total_timesteps``, ``seed``,
evaluation settings and, optionally, the connector the agent is shared through. ``ExperimentConfig``
is that file as a frozen dataclass; ``to_dict`` gives the *resolved* file (every key, defaults
filled in), which is saved with the agent so ``rl-framework train --config <that file>`` repeats
the run. This module imports only PyYAML: loading and checking a file costs no torch import.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rl_framework.util.checks import is_integer

#: Where the tuned experiment files that ship with the package live.
BUNDLED_CONFIGS = Path(__file__).resolve().parents[1] / "configs"
CONNECTOR_TYPES = ("local", "huggingface", "clearml")
VECTORIZATIONS = ("dummy", "subprocess")


class ExperimentError(ValueError):
    """An experiment file or override that cannot work; the message names the key and the fix."""


@dataclass(frozen=True)
class EvaluationSettings:
    """How the agent is evaluated during and after training.

    :param n_episodes: episodes of the final evaluation (and of each periodic one).
    :param frequency: environment steps between evaluations during training, each logged as an
        evaluation point of the learning curve (``eval/mean_return``); 0: only the final one.
    :param deterministic: evaluate with the most likely actions.
    :param seed: base seed of the evaluation episodes (episode ``i`` uses ``seed + i``); ``None``: unseeded.
    """

    n_episodes: int = 10
    frequency: int = 0
    deterministic: bool = True
    seed: int | None = None


@dataclass(frozen=True)
class ConnectorSettings:
    """Where ``rl-framework train`` shares the agent after training.

    :param type: ``"local"`` (registry folder), ``"huggingface"`` (Hub) or ``"clearml"``.
    :param options: the upload settings of that connector (``agent_name`` for local,
        ``repository_id`` for the Hub, ``project_name``/``task_name`` for ClearML, plus the
        shared ``n_eval_episodes``, ``video_length`` ...); checked when the connector is built.
    """

    type: str = "local"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExperimentConfig:
    """One training run, as an experiment file describes it (see the module docstring).

    :param algorithm: an SB3 name (``"PPO"``, ``"DQN"``, ...) or an imitation name (``"BC"``, ``"GAIL"``, ...).
    :param env: a gymnasium environment id (``"CartPole-v1"``; ``"module:Env-v0"`` imports ``module``).
    :param total_timesteps: the training budget (environment steps for RL).
    :param algorithm_parameters: the algorithm's constructor arguments; ``learning_rate``,
        ``clip_range``, ``clip_range_vf`` and ``delta_std`` may be ``lin_<start>`` schedules,
        ``policy_kwargs.activation_fn`` a ``torch.nn`` name, ``action_noise`` a mapping
        ``{type: normal | ornstein-uhlenbeck, std: 0.1}``.
    :param env_kwargs: keyword arguments of ``gymnasium.make``.
    :param n_envs: environment copies trained on in parallel.
    :param vectorization: ``"dummy"`` (one process) or ``"subprocess"``.
    :param seed: seeds the algorithm, its networks and the environments (``None``: random).
    :param normalize: wrap the training environments in ``VecNormalize``: ``true`` or its keyword
        arguments (``{norm_obs: true, norm_reward: false}``); the agent keeps the statistics.
    :param frame_stack: stack the last N observations (1: off); evaluation and videos stack too.
    :param checkpoint_frequency: environment steps between checkpoints in the run folder (0: none).
    :param tensorboard: write TensorBoard event files into the run folder (SB3 algorithms).
    :param evaluation: see ``EvaluationSettings``.
    :param connector: where to share the agent after training (``None``: nowhere).
    :param episodes: the demonstrations of an imitation algorithm (a dataset folder or file).
    :param expert: DAgger's expert: an agent file, run folder or registry reference.
    """

    algorithm: str
    env: str
    total_timesteps: int
    algorithm_parameters: dict[str, Any] = field(default_factory=dict)
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    n_envs: int = 1
    vectorization: str = "dummy"
    seed: int | None = None
    normalize: bool | dict[str, Any] = False
    frame_stack: int = 1
    checkpoint_frequency: int = 0
    tensorboard: bool = True
    evaluation: EvaluationSettings = field(default_factory=EvaluationSettings)
    connector: ConnectorSettings | None = None
    episodes: str | None = None
    expert: str | None = None

    def __post_init__(self) -> None:
        _check_fields(self)

    def to_dict(self) -> dict[str, Any]:
        """The resolved experiment file: every key with its value (defaults included)."""
        return dataclasses.asdict(self)

    def to_yaml(self, header: str = "") -> str:
        """The resolved experiment file as YAML text (``load_experiment`` reads it back identically).

        :param header: comment lines to put first (without ``#``).
        """
        import yaml

        comments = "".join(f"# {line}\n" for line in header.splitlines())
        return comments + yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=False)

    def with_overrides(self, overrides: Mapping[str, Any]) -> ExperimentConfig:
        """A copy with dotted keys replaced, e.g. ``{"n_envs": 4, "algorithm_parameters.learning_rate": 1e-4}``.

        :raises ExperimentError: for an unknown key, naming the accepted ones.
        """
        data = self.to_dict()
        for dotted, value in overrides.items():
            _set_dotted(data, dotted, value)
        return from_dict(data, "the overrides")


#: Top-level keys of an experiment file, with what each one takes (for messages and the README).
KEYS: dict[str, str] = {
    "algorithm": "algorithm name, e.g. PPO, DQN, SAC or BC",
    "env": "gymnasium environment id, e.g. CartPole-v1",
    "total_timesteps": "training budget, e.g. 100000",
    "algorithm_parameters": "mapping of the algorithm's constructor arguments",
    "env_kwargs": "mapping of gymnasium.make keyword arguments",
    "n_envs": "parallel environment copies (>= 1)",
    "vectorization": "dummy or subprocess",
    "seed": "int or null",
    "normalize": "false, true or a mapping of VecNormalize arguments",
    "frame_stack": "observations stacked (1 = off)",
    "checkpoint_frequency": "steps between checkpoints (0 = none)",
    "tensorboard": "true or false",
    "evaluation": "mapping with n_episodes, frequency, deterministic, seed",
    "connector": "null or a mapping with type (local, huggingface, clearml) and that connector's upload settings",
    "episodes": "demonstrations folder or file (imitation algorithms)",
    "expert": "DAgger's expert agent (file, run folder or registry name)",
}
_EVALUATION_KEYS = tuple(item.name for item in dataclasses.fields(EvaluationSettings))
_SCHEDULABLE = ("learning_rate", "clip_range", "clip_range_vf", "delta_std")


def from_dict(data: Any, source: str = "the experiment") -> ExperimentConfig:
    """Build an ``ExperimentConfig`` from a parsed experiment file.

    :param data: the mapping (e.g. ``yaml.safe_load`` of a file).
    :param source: where ``data`` came from, for messages (e.g. the file name).
    :return: the validated config.
    :raises ExperimentError: naming the bad key, what it takes and the accepted keys.
    """
    if not isinstance(data, Mapping):
        raise ExperimentError(
            f"{source} must be a YAML mapping of keys ({', '.join(KEYS)}), got {type(data).__name__}."
        )
    unknown = sorted(str(key) for key in data if key not in KEYS)
    if unknown:
        raise ExperimentError(
            f"Unknown key(s) {', '.join(map(repr, unknown))} in {source}. Accepted keys: {', '.join(KEYS)} "
            f"(algorithm settings go under algorithm_parameters)."
        )
    missing = [key for key in ("algorithm", "env", "total_timesteps") if data.get(key) is None]
    if missing:
        raise ExperimentError(
            f"{source} needs {', '.join(missing)} ({'; '.join(f'{key}: {KEYS[key]}' for key in missing)})."
        )
    values = dict(data)
    try:
        values["evaluation"] = _evaluation(values.get("evaluation"))
        values["connector"] = _connector(values.get("connector"))
        values["total_timesteps"] = _whole_number(values["total_timesteps"], "total_timesteps")
        return ExperimentConfig(**values)
    except ExperimentError as error:
        raise ExperimentError(f"{error} (in {source})") from None


def _evaluation(value: Any) -> EvaluationSettings:
    if value is None:
        return EvaluationSettings()
    if isinstance(value, EvaluationSettings):
        return value
    if not isinstance(value, Mapping):
        raise ExperimentError(f"evaluation must be a mapping with keys {', '.join(_EVALUATION_KEYS)}, got {value!r}.")
    unknown = sorted(str(key) for key in value if key not in _EVALUATION_KEYS)
    if unknown:
        raise ExperimentError(
            f"Unknown key(s) {', '.join(f'evaluation.{key}' for key in unknown)}. "
            f"Accepted: {', '.join(f'evaluation.{key}' for key in _EVALUATION_KEYS)}."
        )
    return EvaluationSettings(**value)


def _connector(value: Any) -> ConnectorSettings | None:
    if value is None or isinstance(value, ConnectorSettings):
        return value
    if isinstance(value, str):
        value = {"type": value}
    if not isinstance(value, Mapping) or "type" not in value:
        raise ExperimentError(
            f"connector must be null or a mapping with a type ({', '.join(CONNECTOR_TYPES)}) and that connector's "
            f"upload settings, e.g. {{type: local, agent_name: ppo-cartpole}}; got {value!r}."
        )
    options = {str(key): item for key, item in value.items() if key not in ("type", "options")}
    options.update(value.get("options") or {})
    return ConnectorSettings(type=value["type"], options=options)


def _whole_number(value: Any, name: str) -> int:
    """An int from an int, an integral float (``1e5``) or a numeric string (``"1e5"``, PyYAML's reading of 1e5)."""
    number = value
    if isinstance(value, str):
        try:
            number = float(value.replace("_", ""))
        except ValueError:
            number = None
    if isinstance(number, float) and math.isfinite(number) and number.is_integer():
        number = int(number)
    if not is_integer(number):
        raise ExperimentError(f"{name} must be a whole number, e.g. 100000 or 1e5, got {value!r}.")
    return int(number)


def _check_fields(config: ExperimentConfig) -> None:
    """Raise ``ExperimentError`` naming the first key whose value cannot work."""
    for name in ("algorithm", "env"):
        value = getattr(config, name)
        if not isinstance(value, str) or not value.strip():
            raise ExperimentError(f"{name} must be a non-empty string ({KEYS[name]}), got {value!r}.")
    _positive(config.total_timesteps, "total_timesteps", 1)
    _positive(config.n_envs, "n_envs", 1)
    _positive(config.frame_stack, "frame_stack", 1)
    _positive(config.checkpoint_frequency, "checkpoint_frequency", 0)
    for name in ("algorithm_parameters", "env_kwargs"):
        value = getattr(config, name)
        if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
            raise ExperimentError(f"{name} must be a mapping with string keys, got {value!r}.")
    if config.vectorization not in VECTORIZATIONS:
        raise ExperimentError(
            f"vectorization must be one of {', '.join(VECTORIZATIONS)}, got {config.vectorization!r}."
        )
    if config.seed is not None and not is_integer(config.seed):
        raise ExperimentError(f"seed must be an int or null, got {config.seed!r}.")
    if "seed" in config.algorithm_parameters:
        raise ExperimentError("algorithm_parameters.seed: set the top-level key seed instead (it seeds everything).")
    if not isinstance(config.normalize, (bool, dict)):
        raise ExperimentError(
            f"normalize must be false, true or a mapping of VecNormalize arguments, got {config.normalize!r}."
        )
    if not isinstance(config.tensorboard, bool):
        raise ExperimentError(f"tensorboard must be true or false, got {config.tensorboard!r}.")
    _check_evaluation(config.evaluation)
    _check_connector(config.connector)
    _check_parameter_values(config.algorithm_parameters)
    for name in ("episodes", "expert"):
        value = getattr(config, name)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ExperimentError(f"{name} must be a path or reference string or null ({KEYS[name]}), got {value!r}.")


def _positive(value: Any, name: str, minimum: int) -> None:
    if not is_integer(value) or value < minimum:
        raise ExperimentError(f"{name} must be an int >= {minimum} ({KEYS[name]}), got {value!r}.")


def _check_evaluation(evaluation: EvaluationSettings) -> None:
    if not is_integer(evaluation.n_episodes) or evaluation.n_episodes < 1:
        raise ExperimentError(f"evaluation.n_episodes must be an int >= 1, got {evaluation.n_episodes!r}.")
    if not is_integer(evaluation.frequency) or evaluation.frequency < 0:
        raise ExperimentError(
            f"evaluation.frequency must be an int >= 0 (steps between evaluations, 0 = only at the end), "
            f"got {evaluation.frequency!r}."
        )
    if not isinstance(evaluation.deterministic, bool):
        raise ExperimentError(f"evaluation.deterministic must be true or false, got {evaluation.deterministic!r}.")
    if evaluation.seed is not None and not is_integer(evaluation.seed):
        raise ExperimentError(f"evaluation.seed must be an int or null, got {evaluation.seed!r}.")


def _check_connector(connector: ConnectorSettings | None) -> None:
    if connector is None:
        return
    if connector.type not in CONNECTOR_TYPES:
        raise ExperimentError(f"connector.type must be one of {', '.join(CONNECTOR_TYPES)}, got {connector.type!r}.")
    if not isinstance(connector.options, dict):
        raise ExperimentError(f"connector options must be a mapping, got {connector.options!r}.")
    if "token" in connector.options:
        raise ExperimentError(
            "connector.token: never put a token in an experiment file; set HF_TOKEN or run `hf auth login`."
        )


def _check_parameter_values(parameters: dict[str, Any]) -> None:
    """Refuse values the zoo writes as Python code, and schedules on parameters that take none."""
    for name, value in parameters.items():
        if isinstance(value, str) and value.startswith("lin_") and name not in _SCHEDULABLE:
            raise ExperimentError(
                f"algorithm_parameters.{name}: only {', '.join(_SCHEDULABLE)} take lin_ schedules, got {value!r}."
            )
    for name in ("policy_kwargs", "action_noise"):
        value = parameters.get(name)
        if isinstance(value, str):
            raise ExperimentError(
                f"algorithm_parameters.{name} must be a mapping, e.g. "
                + ("{net_arch: [64, 64]}" if name == "policy_kwargs" else "{type: normal, std: 0.1}")
                + f"; got the string {value!r} (experiment files never run Python code such as the zoo's dict(...))."
            )


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``data["a"]["b"] = value`` for ``"a.b"``; only known top-level keys (and their sub-keys)."""
    head, _, rest = dotted.partition(".")
    if head not in KEYS:
        raise ExperimentError(
            f"Unknown key {dotted!r} in --set. Accepted keys: {', '.join(KEYS)}; algorithm settings go under "
            f"algorithm_parameters, e.g. --set algorithm_parameters.learning_rate=0.0003."
        )
    if not rest:
        data[head] = value
        return
    if head in ("algorithm_parameters", "env_kwargs"):
        target = data.setdefault(head, {})
        *parents, leaf = rest.split(".")
        for parent in parents:  # e.g. algorithm_parameters.policy_kwargs.net_arch
            target = target.setdefault(parent, {})
            if not isinstance(target, dict):
                raise ExperimentError(f"Cannot set {dotted!r}: {parent} is not a mapping.")
        target[leaf] = value
    elif head == "evaluation":
        data["evaluation"] = {**(data.get("evaluation") or {}), rest: value}
    elif head == "connector":
        connector = data.get("connector") or {"type": "local", "options": {}}
        if rest == "type":
            connector["type"] = value
        else:
            connector.setdefault("options", {})[rest] = value
        data["connector"] = connector
    else:
        raise ExperimentError(f"{head} has no sub-keys; use --set {head}=VALUE.")


def parse_override(text: str) -> tuple[str, Any]:
    """Split one ``--set key=value`` into the key and the YAML-parsed value (``0.001``, ``true``, ``[64, 64]``).

    :raises ExperimentError: when there is no ``=`` or the value is not valid YAML.
    """
    import yaml

    key, separator, raw = text.partition("=")
    if not separator or not key.strip():
        raise ExperimentError(f"--set takes KEY=VALUE, e.g. --set n_envs=4, got {text!r}.")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as error:
        raise ExperimentError(f"The value of --set {key.strip()} is not valid YAML ({error}).") from None
    return key.strip(), value


def find_experiment_file(name: str | os.PathLike[str]) -> Path:
    """The experiment file ``name`` refers to: a path, or the name of a bundled file (``ppo_cartpole``).

    :raises FileNotFoundError: naming the bundled files when there is neither.
    """
    path = Path(name)
    if path.is_file():
        return path
    for candidate in (BUNDLED_CONFIGS / path.name, BUNDLED_CONFIGS / f"{path.name}.yaml"):
        if str(name) == path.name and candidate.is_file():  # bare names only: a missing path stays missing
            return candidate
    raise FileNotFoundError(
        f"No experiment file '{name}'. Give a path to a YAML file, or one of the bundled names: "
        f"{', '.join(bundled_experiments())}."
    )


def bundled_experiments() -> list[str]:
    """Names of the tuned experiment files that ship with rl_framework (``ppo_cartpole``, ...)."""
    return sorted(path.stem for path in BUNDLED_CONFIGS.glob("*.yaml"))


def load_experiment(name: str | os.PathLike[str], overrides: Mapping[str, Any] | None = None) -> ExperimentConfig:
    """Read and validate an experiment file (a path or a bundled name such as ``"ppo_cartpole"``).

    :param name: the file's path, or a bundled file's name (see ``bundled_experiments``).
    :param overrides: dotted keys to replace, as ``ExperimentConfig.with_overrides`` takes them.
    :return: the validated config.
    :raises FileNotFoundError: for a missing file.
    :raises ExperimentError: for invalid YAML or an invalid key or value (naming it).
    """
    import yaml

    path = find_experiment_file(name)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise ExperimentError(
            f"'{path}' is not valid YAML{line}: {getattr(error, 'problem', error)}. Fix the file's syntax."
        ) from None
    config = from_dict(data, f"'{path}'")
    return config.with_overrides(overrides) if overrides else config
