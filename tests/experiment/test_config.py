from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rl_framework.experiment.config import (
    BUNDLED_CONFIGS,
    ConnectorSettings,
    ExperimentConfig,
    ExperimentError,
    bundled_experiments,
    from_dict,
    load_experiment,
    parse_override,
)

REPOSITORY_CONFIGS = Path(__file__).resolve().parents[2] / "configs"
#: The classic-control set the issue names: CartPole (PPO, A2C, DQN), Acrobot and MountainCar (DQN),
#: MountainCarContinuous and Pendulum (SAC, TD3).
CLASSIC_CONTROL = {
    "ppo_cartpole": ("PPO", "CartPole-v1", 100_000),
    "a2c_cartpole": ("A2C", "CartPole-v1", 500_000),
    "dqn_cartpole": ("DQN", "CartPole-v1", 50_000),
    "dqn_acrobot": ("DQN", "rl_framework/Acrobot-v1", 100_000),
    "dqn_mountaincar": ("DQN", "MountainCar-v0", 120_000),
    "sac_mountaincar_continuous": ("SAC", "MountainCarContinuous-v0", 50_000),
    "td3_mountaincar_continuous": ("TD3", "MountainCarContinuous-v0", 300_000),
    "sac_pendulum": ("SAC", "Pendulum-v1", 20_000),
    "td3_pendulum": ("TD3", "Pendulum-v1", 20_000),
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "experiment.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_bundled_files_cover_classic_control_and_are_the_repository_configs():
    assert set(bundled_experiments()) == set(CLASSIC_CONTROL)
    for name, (algorithm, env, steps) in CLASSIC_CONTROL.items():
        config = load_experiment(name)
        assert (config.algorithm, config.env, config.total_timesteps) == (algorithm, env, steps)
        assert config.algorithm_parameters["policy"] == "MlpPolicy"
        repository_file = REPOSITORY_CONFIGS / f"{name}.yaml"
        assert repository_file.read_bytes() == (BUNDLED_CONFIGS / f"{name}.yaml").read_bytes()
        assert load_experiment(repository_file) == config  # configs/<name>.yaml, by path


def test_zoo_values_are_kept_exactly():
    ppo = load_experiment("ppo_cartpole")
    assert ppo.n_envs == 8 and ppo.seed == 0
    assert ppo.algorithm_parameters["learning_rate"] == "lin_0.001"
    assert ppo.algorithm_parameters["clip_range"] == "lin_0.2"
    assert ppo.algorithm_parameters["n_steps"] == 32 and ppo.algorithm_parameters["batch_size"] == 256
    td3 = load_experiment("td3_mountaincar_continuous")
    assert td3.algorithm_parameters["action_noise"] == {"type": "ornstein-uhlenbeck", "std": 0.5}
    assert load_experiment("dqn_cartpole").algorithm_parameters["policy_kwargs"] == {"net_arch": [256, 256]}


def test_the_configs_ship_in_the_package():
    from importlib import resources

    package_files = {item.name for item in resources.files("rl_framework.configs").iterdir()}
    assert {f"{name}.yaml" for name in CLASSIC_CONTROL} <= package_files
    pyproject = (REPOSITORY_CONFIGS.parent / "pyproject.toml").read_text(encoding="utf-8")
    assert '"rl_framework.configs" = ["*.yaml"]' in pyproject  # package data: present after `pip install .`


def test_resolved_file_round_trips(tmp_path):
    config = load_experiment("sac_pendulum", overrides={"n_envs": 2, "evaluation.frequency": 0})
    text = config.to_yaml("a header line")
    assert text.startswith("# a header line\n")
    assert load_experiment(write(tmp_path, text)) == config
    assert set(yaml.safe_load(text)) == set(config.to_dict())  # every key, defaults included


def test_zoo_style_numbers_are_whole_numbers(tmp_path):
    # PyYAML reads 1e5 (no dot) as a string, as the zoo's files show with their !!float tags.
    config = load_experiment(write(tmp_path, "algorithm: PPO\nenv: CartPole-v1\ntotal_timesteps: 1e5\n"))
    assert config.total_timesteps == 100_000
    text = "algorithm: PPO\nenv: x\ntotal_timesteps: 2.0e+4\n"
    assert load_experiment(write(tmp_path, text)).total_timesteps == 20_000


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            "algorithm: PPO\nenv: CartPole-v1\ntotal_timesteps: 10\nn_env: 4\n",
            r"Unknown key\(s\) 'n_env'.*Accepted keys: ",
        ),
        ("algorithm: PPO\nenv: CartPole-v1\n", "needs total_timesteps"),
        ("- a\n- b\n", "must be a YAML mapping"),
        ("algorithm: PPO\nenv: [\n", "not valid YAML at line"),
        ("algorithm: PPO\nenv: CartPole-v1\ntotal_timesteps: many\n", "total_timesteps must be a whole number"),
        ("algorithm: PPO\nenv: CartPole-v1\ntotal_timesteps: 10\nn_envs: 0\n", "n_envs must be an int >= 1"),
        ("algorithm: PPO\nenv: CartPole-v1\ntotal_timesteps: 10\nvectorization: threads\n", "vectorization must"),
        (
            "algorithm: PPO\nenv: CartPole-v1\ntotal_timesteps: 10\nevaluation: {episodes: 3}\n",
            r"evaluation\.episodes.*Accepted: evaluation\.n_episodes",
        ),
        (
            "algorithm: PPO\nenv: CartPole-v1\ntotal_timesteps: 10\nconnector: {type: dropbox}\n",
            "connector.type must be one of local, huggingface, clearml",
        ),
        (
            "algorithm: PPO\nenv: CartPole-v1\ntotal_timesteps: 10\nconnector: {type: huggingface, token: hf_x}\n",
            "never put a token",
        ),
        (
            "algorithm: DQN\nenv: CartPole-v1\ntotal_timesteps: 10\nalgorithm_parameters:\n"
            "  policy_kwargs: dict(net_arch=[64, 64])\n",
            r"policy_kwargs must be a mapping.*never run Python code",
        ),
        (
            "algorithm: PPO\nenv: CartPole-v1\ntotal_timesteps: 10\nalgorithm_parameters: {gamma: lin_0.9}\n",
            "only learning_rate, clip_range, clip_range_vf, delta_std take lin_ schedules",
        ),
        (
            "algorithm: PPO\nenv: CartPole-v1\ntotal_timesteps: 10\nalgorithm_parameters: {seed: 1}\n",
            "set the top-level key seed",
        ),
        ("algorithm: PPO\nenv: CartPole-v1\ntotal_timesteps: 10\nnormalize: yes please\n", "normalize must be"),
    ],
)
def test_bad_files_name_the_key_and_the_fix(tmp_path, text, match):
    with pytest.raises(ExperimentError, match=match):
        load_experiment(write(tmp_path, text))


def test_missing_file_lists_the_bundled_names(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"No experiment file 'ppo_cartpol'.*ppo_cartpole"):
        load_experiment("ppo_cartpol")
    with pytest.raises(FileNotFoundError, match="No experiment file"):
        load_experiment(tmp_path / "ppo_cartpole.yaml")  # a path is never replaced by a bundled name


def test_overrides_set_dotted_keys():
    config = load_experiment("ppo_cartpole").with_overrides(
        {
            "n_envs": 2,
            "algorithm_parameters.learning_rate": 0.0003,
            "algorithm_parameters.policy_kwargs.net_arch": [32],
            "evaluation.n_episodes": 5,
            "connector.type": "huggingface",
            "connector.private": True,
        }
    )
    assert config.n_envs == 2 and config.evaluation.n_episodes == 5
    assert config.algorithm_parameters["learning_rate"] == 0.0003
    assert config.algorithm_parameters["policy_kwargs"] == {"net_arch": [32]}
    assert config.connector == ConnectorSettings("huggingface", {"private": True})


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ({"learning_rate": 0.1}, r"Unknown key 'learning_rate' in --set.*algorithm_parameters\.learning_rate"),
        ({"n_envs.x": 1}, "n_envs has no sub-keys"),
        ({"n_envs": "four"}, "n_envs must be an int"),
    ],
)
def test_bad_overrides_name_the_key(override, match):
    with pytest.raises(ExperimentError, match=match):
        load_experiment("ppo_cartpole").with_overrides(override)


def test_parse_override_reads_yaml_values():
    assert parse_override("n_envs=4") == ("n_envs", 4)
    assert parse_override("algorithm_parameters.policy_kwargs.net_arch=[64, 64]")[1] == [64, 64]
    assert parse_override("tensorboard=false") == ("tensorboard", False)
    with pytest.raises(ExperimentError, match="--set takes KEY=VALUE"):
        parse_override("n_envs")


def test_direct_construction_is_validated_too():
    with pytest.raises(ExperimentError, match="total_timesteps must be an int >= 1"):
        ExperimentConfig("PPO", "CartPole-v1", 0)
    with pytest.raises(ExperimentError, match="algorithm must be a non-empty string"):
        from_dict({"algorithm": " ", "env": "CartPole-v1", "total_timesteps": 5})


def test_loading_an_experiment_imports_no_torch():
    script = (
        "import sys\nfrom rl_framework.experiment import load_experiment\nload_experiment('ppo_cartpole')\n"
        "print(sorted({'torch', 'gymnasium', 'stable_baselines3'} & set(sys.modules)))"
    )
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"
