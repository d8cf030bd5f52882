"""The best agent's multi-seed report in the local registry metadata and in the Hub model card."""

from __future__ import annotations

import json

import pytest

from rl_framework.sweep.publish import publish_best, report_markdown
from rl_framework.util.connector.bundle import bundle_agent
from rl_framework.util.connector.huggingface_card import CARD_BEGIN, CARD_END, write_hub_files
from rl_framework.util.connector.huggingface_config import HuggingFaceUploadConfig
from rl_framework.util.connector.local import LocalConnector, LocalDownloadConfig, LocalUploadConfig

REPORT = {
    "algorithm": "PPO",
    "environment": "CartPole-v1",
    "configuration": {"learning_rate": 0.001},
    "runs": 3,
    "seeds": [0, 1, 2],
    "final_returns": [500.0, 480.0, 120.0],
    "mean": 366.67,
    "iqm": 366.67,
    "ci95": [120.0, 500.0],
    "interval_method": "95% percentile interval of the IQM from a stratified bootstrap over runs",
    "n_eval_episodes": 10,
    "deterministic": True,
    "total_timesteps": 20000,
    "agent_seed": 0,
    "agent_final_return": 500.0,
    "agent_trial": "abc_00000",
}


def test_the_local_registry_version_carries_the_report_and_still_verifies(trained_ppo_agent, tmp_path):
    destination = LocalUploadConfig(agent_name="ppo-best", n_eval_episodes=2)
    location = publish_best(trained_ppo_agent, REPORT, destination, tmp_path, "CartPole-v1")
    metadata = json.loads((tmp_path / "ppo-best" / "v1" / "metadata.json").read_text())
    assert location == str(tmp_path / "ppo-best" / "v1")
    assert metadata["multi_seed_evaluation"] == REPORT
    assert metadata["evaluation"]["n_eval_episodes"] == 2  # the usual single evaluation stays beside it
    downloaded = LocalConnector(download_config=LocalDownloadConfig("ppo-best"), registry_path=tmp_path).download()
    assert downloaded.name == "agent.zip"


def test_the_hub_card_gets_the_section_inside_its_generated_block(trained_ppo_agent, tmp_path):
    from rl_framework.sweep.hub import ReportingHuggingFaceConnector

    config = HuggingFaceUploadConfig(
        repository_id="alice/ppo-CartPole-v1", environment_name="CartPole-v1", model_architecture="PPO"
    )
    bundle = bundle_agent(trained_ppo_agent, tmp_path / "bundle", config.upload_options(), "CartPole-v1")
    write_hub_files(bundle, config, type(trained_ppo_agent))
    connector = ReportingHuggingFaceConnector(REPORT, upload_config=config, local_directory=tmp_path / "hub")
    uploads = connector._files_to_upload(bundle, config)  # the hook an upload calls right before its commit
    card = uploads["README.md"].read_text()
    section = card.index("## Multi-seed evaluation")
    assert (
        card.index(CARD_BEGIN) < card.index("## Evaluation") < section < card.index("## Usage") < card.index(CARD_END)
    )
    assert (
        "| Interquartile mean (IQM) | 366.67 |" in card
        and "| 95% confidence interval of the IQM | [120.00, 500.00] |" in card
    )
    assert "10 deterministic episodes" in card and "seeds 0, 1, 2" in card
    assert json.loads(uploads["metadata.json"].read_text())["multi_seed_evaluation"]["runs"] == 3
    assert json.loads(uploads["config.json"].read_text())["rl_framework"]["multi_seed_evaluation"]["seeds"] == [0, 1, 2]


def test_the_section_states_stochastic_evaluation_and_other_destinations_are_refused(trained_ppo_agent, tmp_path):
    assert "10 stochastic episodes" in report_markdown({**REPORT, "deterministic": False})
    with pytest.raises(TypeError, match="publish must be a LocalUploadConfig or a HuggingFaceUploadConfig"):
        publish_best(trained_ppo_agent, REPORT, "my-registry", tmp_path, "CartPole-v1")
