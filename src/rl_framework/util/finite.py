"""Non-finite (NaN/inf) models: found before they are saved, uploaded or trained on.

A NaN reward or observation, or a learning rate that makes updates diverge, turns a policy's
weights into NaN without any error from torch or Stable-Baselines3; such an agent still "acts"
(always the same action) and would be saved and shared without a word. ``training`` checks
what the environments return (``environment.vectorize.FiniteCheckVecEnv``); ``save_to_file``
and ``upload`` check the weights with ``check_finite_agent`` unless called with ``force=True``.
"""

from __future__ import annotations

from typing import Any


class NonFiniteError(ValueError):
    """A model, action, observation or reward holds NaN or infinity."""


def non_finite_tensors(module: Any) -> list[str]:
    """Names of the parameters and buffers of a torch ``module`` that hold NaN or infinity.

    :param module: a ``torch.nn.Module`` (e.g. an SB3 policy).
    :return: the offending names, in the module's order (empty when all are finite).
    """
    import torch

    names = []
    for name, tensor in [*module.named_parameters(), *module.named_buffers()]:
        if torch.is_floating_point(tensor) and not bool(torch.isfinite(tensor).all()):
            names.append(name)
    return names


def agent_networks(agent: Any) -> Any | None:
    """The torch network an agent acts with, or ``None`` for an agent without one (a scripted policy).

    Agents expose it as ``model.policy`` (SB3 algorithms) or through ``acting_policy()``
    (every ``SB3PolicyActing`` agent); connectors never import the agent classes, so this looks
    for those names.

    :param agent: any agent.
    :return: the ``torch.nn.Module``, or ``None``.
    """
    import torch

    policy = getattr(getattr(agent, "model", None), "policy", None)
    if policy is None and callable(getattr(agent, "acting_policy", None)):
        try:
            policy = agent.acting_policy()
        except (RuntimeError, ValueError):  # no policy yet: nothing to check (saving fails on its own)
            return None
    return policy if isinstance(policy, torch.nn.Module) else None


def check_finite_agent(agent: Any, action: str, force: bool = False) -> None:
    """Refuse to ``action`` (e.g. "save", "upload") an agent whose network holds NaN or infinity.

    :param agent: the agent.
    :param action: what the caller is about to do, for the message.
    :param force: skip the check (to keep a broken model for debugging).
    :raises NonFiniteError: naming the non-finite tensors and the fixes.
    """
    if force:
        return
    network = agent_networks(agent)
    if network is None:
        return
    broken = non_finite_tensors(network)
    if broken:
        shown = ", ".join(broken[:5]) + (f" and {len(broken) - 5} more" if len(broken) > 5 else "")
        raise NonFiniteError(
            f"Refusing to {action} the agent: its model holds NaN or infinite values ({shown}), so it cannot act "
            f"sensibly. Usually the training environment returned NaN/inf rewards or observations, or the "
            f"learning rate was too high. Fix that and train again from a good checkpoint, or pass force=True to "
            f"{action} it anyway (e.g. for debugging)."
        )
