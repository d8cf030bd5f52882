from __future__ import annotations

import math

import pytest

from rl_framework.sweep.space import Dimension, SearchSpace

SPACE = {
    "learning_rate": {"loguniform": [1e-4, 1e-2]},
    "ent_coef": {"uniform": [0.0, 0.1]},
    "n_epochs": {"randint": [3, 6]},
    "gamma": {"choice": [0.98, 0.99]},
    "n_steps": {"grid": [64, 128]},
    "batch_size": 32,
    "policy_kwargs": {"net_arch": [16, 16]},
}


def test_a_space_reads_dimensions_and_fixed_values():
    space = SearchSpace.from_mapping(SPACE)
    assert space.dimensions["n_steps"] == Dimension("grid", (64, 128))
    assert space.fixed == {"batch_size": 32, "policy_kwargs": {"net_arch": [16, 16]}}
    assert space.names[:5] == ["learning_rate", "ent_coef", "n_epochs", "gamma", "n_steps"]
    assert space.is_random and not SearchSpace.from_mapping({"n_steps": {"grid": [1, 2]}}).is_random
    assert SearchSpace.from_mapping(None) == SearchSpace() == SearchSpace.from_mapping({})
    assert SearchSpace.from_mapping(space) is space


def test_configurations_cross_the_grid_with_seeded_draws_within_bounds():
    space = SearchSpace.from_mapping(SPACE)
    configurations = space.configurations(num_samples=3, seed=7)
    assert len(configurations) == 2 * 3
    assert [configuration["n_steps"] for configuration in configurations] == [64, 64, 64, 128, 128, 128]
    for configuration in configurations:
        assert 1e-4 <= configuration["learning_rate"] <= 1e-2
        assert 0.0 <= configuration["ent_coef"] <= 0.1
        assert configuration["n_epochs"] in (3, 4, 5)
        assert configuration["gamma"] in (0.98, 0.99)
        assert configuration["batch_size"] == 32
        assert isinstance(configuration["n_epochs"], int) and isinstance(configuration["learning_rate"], float)
    assert len({configuration["learning_rate"] for configuration in configurations}) == 6
    assert space.configurations(num_samples=3, seed=7) == configurations  # a resumed sweep sees the same
    assert space.configurations(num_samples=3, seed=8) != configurations


def test_a_pure_grid_ignores_num_samples_and_an_empty_space_is_one_configuration():
    grid = SearchSpace.from_mapping({"a": {"grid": [1, 2]}, "b": {"grid": ["x", "y"]}})
    assert grid.configurations(num_samples=5) == [
        {"a": 1, "b": "x"},
        {"a": 1, "b": "y"},
        {"a": 2, "b": "x"},
        {"a": 2, "b": "y"},
    ]
    assert SearchSpace().configurations() == [{}]


def test_loguniform_draws_are_uniform_in_the_logarithm():
    space = SearchSpace.from_mapping({"lr": {"loguniform": [1e-4, 1.0]}})
    draws = [configuration["lr"] for configuration in space.configurations(num_samples=2000, seed=0)]
    below = sum(value < 1e-2 for value in draws) / len(draws)
    assert below == pytest.approx(0.5, abs=0.05)  # half the log-range lies below 1e-2


def test_to_tune_gives_ray_domains():
    from ray.tune.search.sample import Categorical, Float, Integer

    domains = SearchSpace.from_mapping({key: value for key, value in SPACE.items() if key != "n_steps"}).to_tune()
    assert isinstance(domains["learning_rate"], Float) and isinstance(domains["n_epochs"], Integer)
    assert isinstance(domains["gamma"], Categorical)
    assert domains["batch_size"] == 32
    assert math.isclose(domains["learning_rate"].lower, 1e-4)


@pytest.mark.parametrize(
    ("space", "match"),
    [
        ({"lr": {"uniform": [1.0, 0.5]}}, r"Parameter 'lr': A uniform dimension needs \[low, high\]"),
        ({"lr": {"loguniform": [0.0, 1.0]}}, "0 < low < high"),
        ({"n": {"randint": [1.5, 4]}}, "integers"),
        ({"n": {"grid": []}}, "got an empty list"),
        ({"n": {"choice": 3}}, "a non-empty list of values"),
        ({"lr": {"uniform": [0.0]}}, r"\[low, high\]"),
    ],
)
def test_malformed_dimensions_name_the_parameter_and_the_form(space, match):
    with pytest.raises(ValueError, match=match):
        SearchSpace.from_mapping(space)


def test_bad_spaces_and_grids_with_optuna_are_refused():
    with pytest.raises(TypeError, match="must map parameter names"):
        SearchSpace.from_mapping([1, 2])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"Parameter\(s\) 'n_steps'.*write \{choice: \[...\]\}"):
        SearchSpace.from_mapping(SPACE).check_adaptive()
    with pytest.raises(ValueError, match="Unknown dimension kind 'normal'"):
        Dimension("normal", (0, 1))


def test_a_space_reads_from_yaml(tmp_path):
    file = tmp_path / "space.yaml"
    file.write_text("learning_rate: {loguniform: [1.0e-4, 1.0e-3]}\nn_steps: {grid: [64, 128]}\nbatch_size: 64\n")
    space = SearchSpace.from_yaml(file)
    assert space.dimensions["learning_rate"] == Dimension("loguniform", (1e-4, 1e-3))
    assert space.fixed == {"batch_size": 64}
    with pytest.raises(FileNotFoundError, match="missing.yaml' does not exist. Write one like"):
        SearchSpace.from_yaml(tmp_path / "missing.yaml")
