"""Build the connector an experiment file or the command line names, with defaults that fit the run.

``connector: {type: local}`` is enough: the agent name defaults to ``<algorithm>-<env>``
(``ppo-CartPole-v1``), the Hub repository to ``<your user>/<algorithm>-<env>`` (the token's
user, huggingface_sb3's naming), the ClearML task to the same name in project ``rl_framework``.
Every other key is the connector's upload setting of that name (``n_eval_episodes``,
``video_length``, ``commit_message``, ``private`` ...); ``registry`` picks the local registry
folder and ``offline: true`` runs ClearML without a server.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from rl_framework.experiment.config import ConnectorSettings, ExperimentError
from rl_framework.util.connector.base import Connector

#: Options that configure the connector itself rather than its upload config.
_CONNECTOR_OPTIONS = {"local": ("registry",), "huggingface": (), "clearml": ("offline",)}


def default_agent_name(algorithm: str, env: str) -> str:
    """``<algorithm>-<env>`` as huggingface_sb3 names agents (``ppo-CartPole-v1``), safe as a folder name."""
    from rl_framework.util.connector.huggingface_config import default_model_name

    return default_model_name(algorithm, env)


def build_connector(settings: ConnectorSettings, algorithm: str, env: str, n_eval_episodes: int) -> Connector:
    """The connector ``settings`` describe, for an agent of ``algorithm`` on ``env``.

    The Hub connector checks the token here (it needs the user name for the default repository),
    so a missing token fails before any work.

    :param settings: the connector's type and options.
    :param algorithm: the agent's algorithm (default names, the Hub's model card).
    :param env: the agent's environment id.
    :param n_eval_episodes: the upload's evaluation episodes unless the options set ``n_eval_episodes``.
    :return: the connector, ready to upload.
    :raises ExperimentError: for an option the connector does not take (listing the accepted ones).
    :raises PermissionError: for a Hub upload without a valid write token.
    """
    options = dict(settings.options)
    own = {name: options.pop(name) for name in _CONNECTOR_OPTIONS.get(settings.type, ()) if name in options}
    options.setdefault("n_eval_episodes", n_eval_episodes)
    name = default_agent_name(algorithm, env)
    if settings.type == "local":
        from rl_framework.util.connector.local import LocalConnector, LocalUploadConfig

        options.setdefault("agent_name", name)
        return LocalConnector(_config(LocalUploadConfig, options, "local"), registry_path=own.get("registry"))
    if settings.type == "huggingface":
        from rl_framework.util.connector.huggingface import HuggingFaceConnector, HuggingFaceUploadConfig

        options.setdefault("environment_name", env)
        options.setdefault("model_architecture", algorithm)
        if "repository_id" not in options:
            options["repository_id"] = f"{HuggingFaceConnector().authenticated_user()}/{name}"
        return HuggingFaceConnector(_config(HuggingFaceUploadConfig, options, "huggingface"))
    if settings.type == "clearml":
        from rl_framework.util.connector.clearml import ClearMLConnector, ClearMLUploadConfig

        if own.get("offline"):
            from clearml import Task

            Task.set_offline(True)
        options.setdefault("task_name", name)
        options.setdefault("environment_name", env)
        return ClearMLConnector(_config(ClearMLUploadConfig, options, "clearml"))
    raise ExperimentError(f"connector.type must be local, huggingface or clearml, got {settings.type!r}.")


def _config(config_class: type, options: dict[str, Any], connector: str) -> Any:
    accepted = [field.name for field in dataclasses.fields(config_class)] + list(_CONNECTOR_OPTIONS[connector])
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ExperimentError(
            f"Unknown {connector} connector option(s) {', '.join(map(repr, unknown))}. Accepted: "
            f"{', '.join(sorted(accepted))}."
        )
    return config_class(**options)
