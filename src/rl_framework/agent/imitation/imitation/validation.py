"""Behavioural cloning's loss on held-out episodes, to see over- or under-fitting while cloning.

``ImitationAgent("BC", {"validation_episodes": held_out})`` (also DAgger) computes BC's own loss
(negative log-likelihood of the demonstrated actions minus the entropy bonus, plus the L2 term)
on every transition of ``held_out`` after each pass over the training demonstrations and at the
end of every ``train`` call. Each value is logged through the connector as
``bc/validation_loss``, ``bc/validation_neglogp`` and ``bc/validation_prob_true_act`` at the
number of samples cloned so far, and kept in ``agent.trainer.validation.history``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch as th
from imitation.util import util

if TYPE_CHECKING:
    from imitation.algorithms.bc import BC

    from rl_framework.data.episode_sequence import EpisodeSequence
    from rl_framework.util.connector.base import Connector

#: The BC loss terms logged for the validation episodes.
LOGGED_TERMS = ("loss", "neglogp", "prob_true_act")


class BCValidation:
    """Validation episodes of a BC run and the losses measured on them.

    :param episodes: the held-out episodes (an ``EpisodeSequence``, a dataset path or a list of
        imitation trajectories).
    :param batch_size: transitions per forward pass (memory bound; the result is exact).
    """

    def __init__(self, episodes: Any, batch_size: int = 1024) -> None:
        from rl_framework.agent.imitation_learning_agent import as_episode_sequence

        self.episodes: EpisodeSequence = as_episode_sequence(episodes)
        if self.episodes.n_transitions == 0:
            raise ValueError(
                "validation_episodes holds no transitions: pass held-out episodes recorded like the demos."
            )
        self.batch_size = batch_size
        #: ``(samples cloned, {"loss": ..., "neglogp": ..., "prob_true_act": ...})`` per measurement.
        self.history: list[tuple[int, dict[str, float]]] = []

    def measure(self, bc: BC, samples: int, connector: Connector | None) -> dict[str, float]:
        """Compute BC's loss terms on all validation transitions (no gradient), record and log them.

        :param bc: the BC trainer whose policy and loss are measured.
        :param samples: demonstration samples cloned so far (the logging step).
        :param connector: receives ``bc/validation_<term>`` values, if given.
        :return: the mean of each loss term over the validation transitions.
        """
        policy = bc.policy
        was_training = policy.training
        policy.set_training_mode(False)
        totals = dict.fromkeys(LOGGED_TERMS, 0.0)
        count = 0
        try:
            with th.no_grad():
                for batch in self.episodes.transition_batches(self.batch_size, shuffle=False):
                    observations = util.safe_to_tensor(batch["obs"], device=policy.device)
                    actions = util.safe_to_tensor(batch["acts"], device=policy.device)
                    metrics = bc.loss_calculator(policy, observations, actions)
                    for term in LOGGED_TERMS:
                        totals[term] += float(getattr(metrics, term)) * len(batch["acts"])
                    count += len(batch["acts"])
        finally:
            policy.set_training_mode(was_training)
        means = {term: total / count for term, total in totals.items()}
        self.history.append((samples, means))
        if connector is not None:
            for term, value in means.items():
                connector.log_value(f"bc/validation_{term}", value, samples)
        return means
