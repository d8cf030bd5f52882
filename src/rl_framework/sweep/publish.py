"""Push the sweep's best agent with its multi-seed numbers in the registry metadata and the Hub model card.

A single evaluation of the best run is the number a reader sees first, and alone it overstates
what the configuration achieves. So the push also records the configuration's mean, IQM and 95 %
interval over runs, with the seeds, the episode count and whether evaluation was deterministic:
in ``metadata.json`` (key ``multi_seed_evaluation``) for every destination, and as a section of
the model card on the HuggingFace Hub.

The connectors offer no public hook for extra metadata, so two small subclasses add the report at
the last moment before the files become visible: ``LocalConnector._publish`` (the staging folder
is complete, the version not yet published) and ``HuggingFaceConnector._files_to_upload`` (the
bundle and model card are written, the commit not yet made).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rl_framework.util.connector.bundle import METADATA_FILE
from rl_framework.util.connector.huggingface_config import HuggingFaceUploadConfig
from rl_framework.util.connector.local import LocalConnector, LocalUploadConfig
from rl_framework.util.files import atomic_write_text

if TYPE_CHECKING:
    from rl_framework.agent.base_agent import BaseAgent
    from rl_framework.sweep.results import ConfigurationSummary, TrialRecord
    from rl_framework.sweep.spec import TrainingSpec

#: The key of the report in ``metadata.json`` (and in ``config.json`` on the Hub).
REPORT_KEY = "multi_seed_evaluation"


def multi_seed_report(
    summary: ConfigurationSummary,
    record: TrialRecord,
    spec: TrainingSpec,
    n_eval_episodes: int,
    deterministic: bool,
) -> dict[str, Any]:
    """What is stored with the best agent: its configuration's numbers over runs, and how they were measured.

    :param summary: the best configuration's summary.
    :param record: the run whose agent is stored.
    :param spec: what the trials trained.
    :param n_eval_episodes: episodes per evaluation.
    :param deterministic: whether evaluations were deterministic.
    :return: a JSON-compatible dict.
    """
    from rl_framework.sweep.results import INTERVAL_METHOD

    return {
        "algorithm": spec.algorithm_name,
        "environment": spec.environment_name,
        "configuration": summary.parameters,
        "runs": len(summary.final_returns),
        "seeds": summary.seeds,
        "final_returns": summary.final_returns,
        "mean": summary.mean,
        "iqm": summary.iqm,
        "ci95": [summary.ci_low, summary.ci_high],
        "interval_method": INTERVAL_METHOD,
        "n_eval_episodes": n_eval_episodes,
        "deterministic": deterministic,
        "total_timesteps": spec.total_timesteps,
        "agent_seed": record.seed,
        "agent_final_return": record.final_return,
        "agent_trial": record.trial_id,
    }


def add_report_to_metadata(metadata_file: Path, report: dict[str, Any]) -> None:
    """Add ``report`` under ``multi_seed_evaluation`` to a bundle's ``metadata.json`` (atomically).

    :param metadata_file: the ``metadata.json`` of a bundle that is not published yet.
    :param report: the multi-seed report.
    """
    metadata = json.loads(metadata_file.read_text(encoding="utf-8"))
    metadata[REPORT_KEY] = report
    atomic_write_text(metadata_file, json.dumps(metadata, indent=2))


def report_markdown(report: dict[str, Any]) -> str:
    """The model card section with the multi-seed numbers.

    :param report: the multi-seed report (see ``SweepRunner``'s ``best`` entry in ``results.json``).
    :return: Markdown text starting with ``## Multi-seed evaluation``.
    """
    mode = "deterministic" if report["deterministic"] else "stochastic"
    seeds = ", ".join(str(seed) for seed in report["seeds"])
    low, high = report["ci95"]
    parameters = json.dumps(report["configuration"]) if report["configuration"] else "the defaults"
    return (
        "## Multi-seed evaluation\n\n"
        f"This agent is the best run of a sweep (`rl_framework.sweep`). Its configuration ({parameters}) was "
        f"trained {report['runs']} times for {report['total_timesteps']} steps, with seeds {seeds}; each run's "
        f"score is its final evaluation: the mean return of {report['n_eval_episodes']} {mode} episodes.\n\n"
        "| Over runs | Return |\n|---|---|\n"
        f"| Mean | {report['mean']:.2f} |\n"
        f"| Interquartile mean (IQM) | {report['iqm']:.2f} |\n"
        f"| 95% confidence interval of the IQM | [{low:.2f}, {high:.2f}] |\n"
        f"| This run (seed {report['agent_seed']}) | {report['agent_final_return']:.2f} |\n\n"
        f"Interval: {report['interval_method']}. Episodes per evaluation: {report['n_eval_episodes']}; "
        f"deterministic: {str(report['deterministic']).lower()}; seeds: {seeds}.\n"
    )


def add_report_to_card(card_file: Path, report: dict[str, Any]) -> None:
    """Insert the multi-seed section into a model card's generated block, before its usage section.

    Inside the block, a later plain upload (which rewrites the block) drops the section instead of
    leaving stale numbers behind; a card without the block gets it before its first usage section,
    or at the end.

    :param card_file: the bundle's ``README.md``.
    :param report: the multi-seed report.
    """
    from rl_framework.util.connector.huggingface_card import CARD_BEGIN, CARD_END

    card = card_file.read_text(encoding="utf-8")
    begin, end = card.find(CARD_BEGIN), card.find(CARD_END)
    has_block = 0 <= begin < end
    usage = card.find("\n## Usage", begin if has_block else 0, end if has_block else len(card))
    at = usage + 1 if usage >= 0 else (end if has_block else len(card))
    card = card[:at] + report_markdown(report) + "\n" + card[at:]
    atomic_write_text(card_file, card)


class ReportingLocalConnector(LocalConnector):
    """A ``LocalConnector`` whose uploads carry a multi-seed report in ``metadata.json``.

    :param report: the multi-seed report.
    :param kwargs: ``LocalConnector``'s arguments.
    """

    def __init__(self, report: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.report = report

    def _publish(self, staging: Path, agent_name: str) -> Path:
        add_report_to_metadata(staging / METADATA_FILE, self.report)
        return super()._publish(staging, agent_name)


def publish_best(
    agent: BaseAgent,
    report: dict[str, Any],
    destination: Any,
    registry_path: str | os.PathLike[str],
    evaluation_environment: Any,
    token: str | None = None,
) -> str:
    """Upload ``agent`` with ``report`` to ``destination``, evaluated on ``evaluation_environment``.

    :param agent: the best agent.
    :param report: its configuration's multi-seed report.
    :param destination: a ``LocalUploadConfig`` (into ``registry_path``) or a ``HuggingFaceUploadConfig``.
    :param registry_path: the local registry of a ``LocalUploadConfig``.
    :param evaluation_environment: the environment of the evaluation stored with the agent.
    :param token: the HuggingFace token (``None``: ``HF_TOKEN`` or the stored login).
    :return: where the agent went (version folder or repository URL).
    :raises TypeError: for another kind of destination.
    """
    if isinstance(destination, LocalUploadConfig):
        connector: Any = ReportingLocalConnector(report, upload_config=destination, registry_path=registry_path)
    elif isinstance(destination, HuggingFaceUploadConfig):
        from rl_framework.sweep.hub import ReportingHuggingFaceConnector

        connector = ReportingHuggingFaceConnector(report, upload_config=destination, token=token)
    else:
        raise TypeError(
            f"publish must be a LocalUploadConfig or a HuggingFaceUploadConfig, got {type(destination).__name__}."
        )
    return str(agent.upload(connector, evaluation_environment=evaluation_environment))
