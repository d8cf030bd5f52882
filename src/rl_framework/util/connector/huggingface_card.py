"""The files that make a Hub repository look like every other RL model on the HuggingFace Hub.

Beside the agent file, huggingface_sb3's ``package_to_hub`` layout has ``config.json`` (the SB3
model's data plus system info), ``results.json`` (the evaluation) and a ``README.md`` model card
whose YAML metadata (``library_name``, tags, ``model-index`` with ``mean_reward``) feeds the Hub's
search and the RL leaderboard. ``write_hub_files`` writes them into an upload bundle.
"""

from __future__ import annotations

import datetime
import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rl_framework.util.files import atomic_write_text

if TYPE_CHECKING:
    from rl_framework.util.connector.bundle import AgentBundle
    from rl_framework.util.connector.huggingface_config import HuggingFaceUploadConfig

CONFIG_FILE = "config.json"
RESULTS_FILE = "results.json"
MODEL_CARD_FILE = "README.md"
SB3_LIBRARY = "stable-baselines3"
#: The generated part of the model card lies between these markers; uploads replace only it.
CARD_BEGIN = "<!-- rl_framework: generated section begins; every upload rewrites it, edit outside it -->"
CARD_END = "<!-- rl_framework: generated section ends -->"


def sb3_model_data(agent_file: Path) -> dict[str, Any] | None:
    """The JSON ``data`` member of an SB3 zip (class, spaces, hyperparameters), or ``None`` for other files."""
    if not zipfile.is_zipfile(agent_file):
        return None
    with zipfile.ZipFile(agent_file) as archive:
        if "data" not in archive.namelist() or "policy.pth" not in archive.namelist():
            return None
        data: dict[str, Any] = json.loads(archive.read("data"))
        return data


def write_hub_files(
    bundle: AgentBundle, config: HuggingFaceUploadConfig, agent_class: type, existing_card: str | None = None
) -> tuple[Path, ...]:
    """Write ``config.json``, ``results.json`` (if the bundle was evaluated) and ``README.md`` into the bundle.

    :param bundle: the prepared upload (agent file, metadata, evaluation, video).
    :param config: the upload settings (repository, environment, architecture).
    :param agent_class: the uploaded agent's class, for the usage snippet.
    :param existing_card: the repository's current ``README.md``: only its generated block and
        our metadata keys are replaced, everything the user wrote stays (``merge_model_card``).
    :return: the written files.
    """
    sb3_data = sb3_model_data(bundle.agent_file)
    written = [_write_config(bundle, sb3_data)]
    if bundle.evaluation is not None:
        written.append(_write_results(bundle, config))
    library = SB3_LIBRARY if sb3_data is not None else "rl_framework"
    card = merge_model_card(existing_card, model_card(bundle, config, agent_class, library))
    written.append(atomic_write_text(bundle.folder / MODEL_CARD_FILE, card))
    return tuple(written)


def _write_config(bundle: AgentBundle, sb3_data: dict[str, Any] | None) -> Path:
    config: dict[str, Any] = dict(sb3_data or {})
    if sb3_data is not None:
        import stable_baselines3

        config["system_info"] = stable_baselines3.get_system_info(print_info=False)[0]
    config["rl_framework"] = bundle.metadata
    return atomic_write_text(bundle.folder / CONFIG_FILE, json.dumps(config, indent=2))


def _write_results(bundle: AgentBundle, config: HuggingFaceUploadConfig) -> Path:
    assert bundle.evaluation is not None
    results = {
        "mean_reward": bundle.evaluation.mean_reward,
        "std_reward": bundle.evaluation.std_reward,
        "is_deterministic": config.deterministic_evaluation,
        "n_eval_episodes": len(bundle.evaluation.episode_returns),
        "eval_datetime": datetime.datetime.now().isoformat(),
    }
    return atomic_write_text(bundle.folder / RESULTS_FILE, json.dumps(results, indent=2))


def card_metadata(bundle: AgentBundle, config: HuggingFaceUploadConfig, library: str) -> str:
    """The model card's YAML block: library, tags and (when evaluated) a ``model-index`` with ``mean_reward``."""
    from huggingface_hub import EvalResult, ModelCardData

    tags = [config.environment_name, "reinforcement-learning", "deep-reinforcement-learning", library, "rl_framework"]
    eval_results = None
    if bundle.evaluation is not None:
        eval_results = [
            EvalResult(
                task_type="reinforcement-learning",
                task_name="reinforcement-learning",
                dataset_type=config.environment_name,
                dataset_name=config.environment_name,
                metric_type="mean_reward",
                metric_name="mean_reward",
                metric_value=f"{bundle.evaluation.mean_reward:.2f} +/- {bundle.evaluation.std_reward:.2f}",
                verified=False,
            )
        ]
    data = ModelCardData(
        library_name=library,
        tags=list(dict.fromkeys(tags)),
        model_name=config.model_architecture,
        eval_results=eval_results,
    )
    return data.to_yaml()


def usage_snippet(config: HuggingFaceUploadConfig, agent_class: type, algorithm: str | None) -> str:
    """Python code that downloads this repository's agent with rl_framework and evaluates it.

    :param config: the upload settings (repository, file and environment names).
    :param agent_class: the agent's class (rl_framework's own agents import from ``rl_framework.agent``).
    :param algorithm: the algorithm name passed to the agent's constructor (``None``: no argument).
    :return: the code.
    """
    module = "rl_framework.agent" if agent_class.__module__.startswith("rl_framework.agent") else agent_class.__module__
    arguments = json.dumps(algorithm) if algorithm else ""
    return (
        f"from {module} import {agent_class.__name__}\n"
        "from rl_framework.util.connector import HuggingFaceConnector, HuggingFaceDownloadConfig\n"
        "\n"
        "connector = HuggingFaceConnector(\n"
        "    download_config=HuggingFaceDownloadConfig(\n"
        f"        repository_id={json.dumps(config.repository_id)}, file_name={json.dumps(config.agent_file_name)}\n"
        "    )\n"
        ")\n"
        f"agent = {agent_class.__name__}({arguments})\n"
        "agent.download(connector)\n"
        f"mean_reward, std_reward = agent.evaluate({json.dumps(config.environment_name)}, n_eval_episodes=10, "
        "deterministic=True)\n"
    )


def model_card(bundle: AgentBundle, config: HuggingFaceUploadConfig, agent_class: type, library: str) -> str:
    """The whole ``README.md``: YAML metadata, description, evaluation, usage snippets and parameters.

    :param bundle: the prepared upload.
    :param config: the upload settings.
    :param agent_class: the uploaded agent's class, for the usage snippet.
    :param library: ``"stable-baselines3"`` for SB3 zips (adds the plain SB3 snippet), else ``"rl_framework"``.
    :return: the model card's text.
    """
    name, environment = config.model_architecture, config.environment_name
    # Agents without an algorithm class (scripted or custom ones) record None.
    recorded = bundle.metadata.get("algorithm")
    algorithm = str(recorded) if recorded else None
    sections = [
        f"---\n{card_metadata(bundle, config, library)}\n---\n{CARD_BEGIN}\n",
        f"# **{name}** agent playing **{environment}**\n\n"
        f"This is a trained **{name}** agent playing **{environment}**, trained and shared with "
        f"`rl_framework` ({library} format). Agent file: `{config.agent_file_name}`.\n",
        "## Evaluation\n\n" + _evaluation_text(bundle, config),
        *_training_sections(bundle),
        f"## Usage (with rl_framework)\n\n```python\n{usage_snippet(config, agent_class, algorithm)}```\n",
    ]
    if library == SB3_LIBRARY:
        sb3_class = algorithm or name
        download = f"load_from_hub({json.dumps(config.repository_id)}, {json.dumps(config.agent_file_name)})"
        sections.append(
            "## Usage (with Stable-Baselines3)\n\n```python\n"
            "from huggingface_sb3 import load_from_hub\n"
            f"from stable_baselines3 import {sb3_class}\n\n"
            f"model = {sb3_class}.load({download})\n```\n"
        )
    parameters = json.dumps(bundle.metadata.get("algorithm_parameters", {}), indent=2)
    versions = json.dumps(bundle.metadata.get("library_versions", {}), indent=2)
    sections.append(f"## Training parameters\n\n```json\n{parameters}\n```\n")
    sections.append(f"## Library versions\n\n```json\n{versions}\n```\n{CARD_END}\n")
    return "\n".join(sections)


def _training_sections(bundle: AgentBundle) -> list[str]:
    """The learning curve beside the replay video, and how to repeat the training (when known)."""
    sections = []
    curve = bundle.metadata.get("learning_curve")
    if curve or bundle.video_file is not None:
        cells = [
            ("Learning curve", f"![Learning curve]({curve})") if curve else None,
            ("Replay", f'<video src="{bundle.video_file.name}" controls autoplay loop muted width="400"></video>')
            if bundle.video_file is not None
            else None,
        ]
        shown = [cell for cell in cells if cell is not None]
        sections.append(
            "## Training\n\n"
            + f"| {' | '.join(title for title, _ in shown)} |\n"
            + f"|{' --- |' * len(shown)}\n"
            + f"| {' | '.join(content for _, content in shown)} |\n"
        )
    experiment = bundle.metadata.get("experiment")
    if experiment:
        import yaml

        text = yaml.safe_dump(experiment, sort_keys=False)
        sections.append(
            "## Reproduce\n\nThe resolved experiment file (`experiment.yaml` in this repository) repeats the training:"
            f" `rl-framework train --config experiment.yaml`.\n\n```yaml\n{text}```\n"
        )
    return sections


def fetch_model_card(api: Any, repository_id: str) -> str | None:
    """The current ``README.md`` of a Hub repository, ``None`` when it has none (a new repository).

    :param api: an authenticated ``huggingface_hub.HfApi``.
    :param repository_id: the repository.
    """
    from huggingface_hub.utils import EntryNotFoundError

    try:
        path = api.hf_hub_download(repository_id, MODEL_CARD_FILE)
    except EntryNotFoundError:
        return None
    return Path(path).read_text(encoding="utf-8")


def merge_model_card(existing: str | None, generated: str) -> str:
    """Update a user's model card with a newly generated one, keeping everything the user wrote.

    The block between ``CARD_BEGIN`` and ``CARD_END`` is replaced (a card without the markers gets
    the block first, its own text after); in the YAML metadata our keys (``library_name``,
    ``model_name``, ``model-index``) are replaced, tags are merged and every other key is kept.

    :param existing: the repository's current card (``None``: a new repository).
    :param generated: the card ``model_card`` made for this upload.
    :return: the card to upload.
    """
    if not existing or not existing.strip():
        return generated
    import yaml

    new_metadata, new_body = _split_front_matter(generated)
    old_metadata, old_body = _split_front_matter(existing)
    metadata = {**old_metadata, **new_metadata}
    tags = [*new_metadata.get("tags", []), *old_metadata.get("tags", [])]
    metadata["tags"] = list(dict.fromkeys(tags))
    block = new_body[new_body.index(CARD_BEGIN) :]
    block = block[: block.index(CARD_END) + len(CARD_END)]
    if CARD_BEGIN in old_body and CARD_END in old_body:
        start, end = old_body.index(CARD_BEGIN), old_body.index(CARD_END) + len(CARD_END)
        body = old_body[:start] + block + old_body[end:]
    else:
        body = f"{block}\n\n{old_body.lstrip()}"
    return f"---\n{yaml.safe_dump(metadata, sort_keys=False)}---\n{body}"


def _split_front_matter(card: str) -> tuple[dict[str, Any], str]:
    """The card's YAML metadata block as a dict (``{}`` without one) and the text after it."""
    import yaml

    if card.startswith("---\n"):
        end = card.find("\n---\n", 4)
        if end != -1:
            metadata = yaml.safe_load(card[4:end]) or {}
            return (metadata if isinstance(metadata, dict) else {}), card[end + len("\n---\n") :]
    return {}, card


def _evaluation_text(bundle: AgentBundle, config: HuggingFaceUploadConfig) -> str:
    video = "\nReplay: `replay.mp4`.\n" if bundle.video_file is not None else ""
    if bundle.evaluation is None:
        return f"Not evaluated at upload (no evaluation environment was given).\n{video}"
    mode = "deterministic" if config.deterministic_evaluation else "stochastic"
    return (
        f"Mean reward **{bundle.evaluation.mean_reward:.2f} +/- {bundle.evaluation.std_reward:.2f}** over "
        f"{len(bundle.evaluation.episode_returns)} {mode} episodes "
        f"(mean episode length {bundle.evaluation.mean_length:.1f}); see `results.json`.\n{video}"
    )
