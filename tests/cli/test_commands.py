"""evaluate, record, push, pull, list and plot on a trained run, as a user types them; their error paths."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from stable_baselines3 import PPO

HF_TOKEN = "hf_WriteTokenForTests0123456789abcdef"


def test_evaluate_prints_mean_std_iqm_and_episodes(trained_run, invoke):
    run, _ = trained_run
    text = invoke("evaluate", str(run), "--episodes", "5", "--seed", "0").output
    assert re.search(r"run on CartPole-v1 \(deterministic\): mean return [\d.]+ ± [\d.]+, IQM [\d.]+ \(95% CI", text)
    assert text.rstrip().endswith("5 episodes")
    report = json.loads(
        invoke("evaluate", str(run / "agent.zip"), "-n", "4", "--stochastic", "--json").output.split("\n")[-2]
    )
    assert report["n_episodes"] == 4 and report["deterministic"] is False and len(report["episode_returns"]) == 4
    assert report["mean_return"] == pytest.approx(np.mean(report["episode_returns"]))
    assert report["environment"] == "CartPole-v1"  # from the run's experiment, which also caps episodes at 40 steps
    assert max(report["episode_returns"]) <= 40
    quiet = invoke("evaluate", str(run), "-n", "2", "--progress", "off").output
    assert "Evaluating" not in quiet and "2 episodes" in quiet


def test_record_writes_a_video(trained_run, invoke, tmp_path):
    run, _ = trained_run
    result = invoke("record", str(run), "--steps", "12", "--out", "clip.mp4")
    assert "Recording: 100% 12/12 steps" in result.output
    assert (tmp_path / "clip.mp4").stat().st_size > 1000
    assert "Recorded run on CartPole-v1: clip.mp4" in result.output


def test_push_list_pull_and_plot_through_the_local_registry(trained_run, invoke, tmp_path):
    run, _ = trained_run
    pushed = invoke("push", str(run), "--to", "local", "--name", "tiny-ppo", "-n", "2", "--option", "video_length=8")
    version = tmp_path / "registry" / "tiny-ppo" / "v1"
    assert f"Shared run: {version}" in pushed.output
    names = {path.name for path in version.iterdir()}
    assert {
        "agent.zip",
        "metadata.json",
        "replay.mp4",
        "learning_curve.png",
        "metrics.jsonl",
        "experiment.yaml",
    } <= names
    # The registry version carries the run's whole training log and its resolved experiment.
    assert (version / "metrics.jsonl").read_text().count("episode/return") == (run / "metrics.jsonl").read_text().count(
        "episode/return"
    )
    assert yaml.safe_load((version / "experiment.yaml").read_text()) == yaml.safe_load(
        (run / "experiment.yaml").read_text()
    )

    listing = json.loads(invoke("list", "--json").output)
    assert [(row["name"], row["versions"], row["algorithm"]) for row in listing["agents"]] == [("tiny-ppo", [1], "PPO")]
    assert re.search(r"tiny-ppo\s+1 \(latest v1\)\s+PPO\s+CartPole-v1\s+[\d.]+ ± [\d.]+", invoke("list").output)

    invoke("pull", "tiny-ppo:1", "--out", "pulled")
    assert {"agent.zip", "metadata.json", "metrics.jsonl", "experiment.yaml"} <= {
        p.name for p in Path("pulled").iterdir()
    }
    assert "pulled on CartPole-v1" in invoke("evaluate", "pulled", "-n", "2").output
    pull_again = invoke("pull", "tiny-ppo", "--out", "pulled", expect=1)
    assert "'pulled' exists and is not empty. Choose another --out folder." in pull_again.output

    invoke("plot", str(run), "tiny-ppo:latest", "-o", "curves.png", "--title", "two runs")
    with Image.open("curves.png") as image:
        assert image.format == "PNG"
        pixels = np.asarray(image.convert("RGB")).astype(int)
    drawn = np.abs(pixels - 255).sum(axis=2) > 120  # neither white background nor light grid
    assert drawn.sum() > 3000
    assert drawn[:, pixels.shape[1] // 2 :].sum() > 500  # the curves reach across the plot


def test_empty_registry_and_missing_agents_say_what_to_do(invoke):
    assert "No agents in" in invoke("list").output and "rl-framework push AGENT --to local" in invoke("list").output
    missing = invoke("evaluate", "nobody", expect=1)
    assert re.search(r"Error: No agent 'nobody': .*agents there: none", missing.output)
    no_env = invoke("plot", "nothing-here", expect=1)
    assert "Error: No run or agent 'nothing-here'" in no_env.output
    bad_suffix = invoke("plot", ".", "-o", "curve.jpg", expect=2)
    assert "give a file ending in .png" in bad_suffix.output


def test_an_agent_file_alone_names_its_algorithm_and_the_user_names_the_environment(trained_run, invoke, tmp_path):
    run, _ = trained_run
    bare = tmp_path / "bare" / "agent.zip"
    bare.parent.mkdir()
    bare.write_bytes((run / "agent.zip").read_bytes())
    missing_env = invoke("evaluate", str(bare), "-n", "2", expect=1)
    assert "do not say which environment it plays: pass --env ENV_ID" in missing_env.output
    result = invoke("evaluate", str(bare), "-e", "CartPole-v1", "-n", "2")  # the file's header names PPO
    assert "agent on CartPole-v1 (deterministic)" in result.output

    PPO("MlpPolicy", "CartPole-v1", n_steps=32, batch_size=32).save(tmp_path / "model.zip")  # plain SB3: no header
    unknown = invoke("evaluate", "model.zip", "-e", "CartPole-v1", expect=1)
    assert "Cannot tell which algorithm 'model.zip' was trained with" in unknown.output
    assert "Pass --algorithm, e.g. --algorithm PPO" in unknown.output
    assert "model on CartPole-v1" in invoke("evaluate", "model.zip", "-a", "PPO", "-e", "CartPole-v1", "-n", "2").output


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """The stand-in Hub (tests/util/connector/hub_server.py), with huggingface_hub pointed at it."""
    import huggingface_hub.constants as constants
    import huggingface_hub.file_download as file_download
    from hub_server import HubServer

    server = HubServer({HF_TOKEN: ("alice", "write")}).start()
    home = tmp_path / "hf_home"
    template = server.url + "/{repo_id}/resolve/{revision}/{filename}"
    for name, value in {"HF_ENDPOINT": server.url, "HF_HOME": str(home), "HF_TOKEN": HF_TOKEN}.items():
        monkeypatch.setenv(name, value)
    settings = {
        "ENDPOINT": server.url,
        "HUGGINGFACE_CO_URL_TEMPLATE": template,
        "HF_HOME": str(home),
        "HF_HUB_CACHE": str(home / "hub"),
        "HF_TOKEN_PATH": str(home / "token"),
        "HF_STORED_TOKENS_PATH": str(home / "stored_tokens"),
        "HF_HUB_DISABLE_XET": True,
        "HF_HUB_OFFLINE": False,
    }
    for name, value in settings.items():
        monkeypatch.setattr(constants, name, value)
    monkeypatch.setattr(file_download, "HUGGINGFACE_CO_URL_TEMPLATE", template)
    yield server
    server.stop()


def test_push_to_the_hub_embeds_curve_video_and_experiment_and_keeps_the_users_card(trained_run, invoke, hub):
    run, _ = trained_run
    invoke("push", str(run), "--to", "huggingface", "-n", "2", "--option", "video_length=8")
    repo = "alice/ppo-CartPole-v1"  # the token's user and huggingface_sb3's <algo>-<env> name
    files = hub.files(repo)
    assert {"ppo-CartPole-v1.zip", "learning_curve.png", "replay.mp4", "experiment.yaml", "logs/metrics.jsonl"} <= set(
        files
    )
    card = files["README.md"].decode()
    assert "![Learning curve](learning_curve.png)" in card and '<video src="replay.mp4"' in card
    assert "rl-framework train --config experiment.yaml" in card

    # The user edits the card: a license, a tag and their own section outside the generated block.
    head = hub.state.repositories[repo]
    edited = card.replace("---\n", "---\nlicense: mit\n", 1).replace("tags:\n", "tags:\n- my-tag\n", 1)
    edited += "\n## Notes from the author\n\nTrained on a laptop.\n"
    sha = hub.state.new_commit(head, head.branches["main"], {**files, "README.md": edited.encode()}, "Edit card")
    head.branches["main"] = sha

    invoke("push", str(run), "--to", "huggingface", "--repo-id", repo, "-n", "3", "--option", "video_length=8")
    updated = hub.files(repo)["README.md"].decode()
    assert "## Notes from the author\n\nTrained on a laptop." in updated
    metadata = yaml.safe_load(updated.split("---\n")[1])
    assert (
        metadata["license"] == "mit" and "my-tag" in metadata["tags"] and "reinforcement-learning" in metadata["tags"]
    )
    assert "over 3 deterministic episodes" in updated and "over 2 deterministic episodes" not in updated
    assert updated.count("rl_framework: generated section begins") == 1

    pulled = invoke("pull", f"hf:{repo}", "--out", "from-hub")
    assert "Pulled alice/ppo-CartPole-v1 into from-hub" in pulled.output
    assert "from-hub on CartPole-v1" in invoke("evaluate", "from-hub", "-n", "2").output
    invoke("plot", f"hf:{repo}", "-o", "hub.png")
    with Image.open("hub.png") as image:
        assert image.format == "PNG"


def test_a_hub_repository_made_without_rl_framework_is_found_by_its_file_name(invoke, hub, tmp_path):
    from hub_server import Repository

    # huggingface_sb3's layout: only "<algo>-<env>.zip" (here a plain SB3 save), no metadata.json.
    PPO("MlpPolicy", "CartPole-v1", n_steps=32, batch_size=32, seed=0).save(tmp_path / "plain.zip")
    repository = Repository(owner="sb3", private=False)
    files = {"ppo-CartPole-v1.zip": (tmp_path / "plain.zip").read_bytes(), "README.md": b"# a zoo agent\n"}
    repository.branches["main"] = hub.state.new_commit(repository, None, files, "zoo upload")
    hub.state.repositories["sb3/ppo-CartPole-v1"] = repository

    result = invoke("evaluate", "sb3/ppo-CartPole-v1", "-e", "CartPole-v1", "-n", "2")
    assert "sb3/ppo-CartPole-v1 on CartPole-v1 (deterministic): mean return" in result.output
    no_env = invoke("evaluate", "sb3/ppo-CartPole-v1", expect=1)
    assert "do not say which environment it plays: pass --env ENV_ID" in no_env.output
