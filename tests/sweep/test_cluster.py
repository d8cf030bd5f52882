"""A two-node Ray cluster on loopback runs a sweep's trials on both nodes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sweep_agents
from sweep_agents import NoisyExpertAgent

from rl_framework.sweep.config import SweepConfig
from rl_framework.sweep.results import FINISHED
from rl_framework.sweep.runner import run_sweep, start_ray
from rl_framework.sweep.spec import TrainingSpec


@pytest.fixture(scope="module")
def two_node_cluster() -> Iterator[str]:
    """A head and a worker node of 1 CPU each, both on 127.0.0.1; yields the head's address."""
    import ray
    from ray import cloudpickle
    from ray._private import ray_constants
    from ray.cluster_utils import Cluster

    cloudpickle.register_pickle_by_value(sweep_agents)
    with pytest.MonkeyPatch.context() as patch:
        # Without it Ray (2.60) rewrites localhost to the machine's own address and the driver
        # hangs connecting to it; with it both nodes come up on 127.0.0.1. The nodes (subprocesses)
        # read the variable; this process read it when ray was imported, so its constant is set too.
        patch.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        patch.setattr(ray_constants, "ENABLE_RAY_CLUSTER", False)
        patch.setenv("RAY_USAGE_STATS_ENABLED", "0")
        patch.delenv("RAY_ADDRESS", raising=False)
        if ray.is_initialized():
            ray.shutdown()
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
        cluster.add_node(num_cpus=1)
        try:
            yield cluster.address
        finally:
            ray.shutdown()
            cluster.shutdown()


def test_trials_run_on_both_nodes_of_a_cluster(two_node_cluster, tmp_path):
    import ray

    assert two_node_cluster.startswith("127.0.0.1:")
    spec = TrainingSpec(NoisyExpertAgent, "CartPole-v1", 400, {"seconds_per_step": 0.005})
    config = SweepConfig(
        seeds=2,
        search_space={"noise": {"uniform": [0.1, 0.5]}, "halving": 100},
        eval_frequency=200,
        n_eval_episodes=2,
        address=two_node_cluster,
        output_dir=tmp_path,
    )
    result = run_sweep(spec, config, verbose=False)
    assert len(ray.nodes()) == 2 and {node["NodeManagerAddress"] for node in ray.nodes()} == {"127.0.0.1"}
    assert [record.status for record in result.records] == [FINISHED, FINISHED]
    (summary,) = result.summaries
    assert sorted(summary.seeds) == [0, 1] and 0.1 <= summary.parameters["noise"] <= 0.5
    nodes = {json.loads((Path(record.agent_location) / "agent.zip").read_text())["node"] for record in result.records}
    assert len(nodes) == 2  # one trial per node: each node has one CPU and the trials overlap


def test_a_sweep_without_address_starts_its_own_ray_beside_a_running_cluster(two_node_cluster, tmp_path):
    """A `ray start` cluster on the machine neither hijacks a local sweep nor makes it refuse ``num_cpus``."""
    import ray

    ray.shutdown()  # the driver left the cluster; the cluster's nodes keep running
    try:
        start_ray(SweepConfig(seeds=1, num_cpus=1, output_dir=tmp_path))  # what run_sweep does first
        (node,) = ray.nodes()  # a runtime of its own: one node, not the cluster's two
        assert node["Resources"]["CPU"] == 1 and node["NodeManagerAddress"] == "127.0.0.1"
        assert ray.get_runtime_context().gcs_address != two_node_cluster
    finally:
        ray.shutdown()
