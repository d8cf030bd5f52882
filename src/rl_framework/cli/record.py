"""``rl-framework record``: record a replay video of an agent."""

from __future__ import annotations

import click

from rl_framework.cli.common import REGISTRY_OPTION_HELP, echo, environment_of, load_source, progress
from rl_framework.cli.options import allow_pickle_option, common_options


@click.command()
@click.argument("agent")
@click.option("--out", "-o", "output", default="replay.mp4", show_default=True, help="Video file (.mp4 or .gif).")
@click.option("--env", "-e", help="Environment id (default: the one the agent was trained on).")
@click.option("--steps", type=click.IntRange(min=1), default=1000, show_default=True, help="Environment steps.")
@click.option("--fps", type=click.IntRange(min=1), default=30, show_default=True, help="Frames per second.")
@click.option("--deterministic/--stochastic", default=True, show_default=True, help="Most likely or sampled actions.")
@click.option("--seed", type=int, help="Seed of the first episode.")
@click.option("--algorithm", "-a", help="The agent's algorithm, when its files do not say it.")
@click.option("--registry", help=REGISTRY_OPTION_HELP)
@allow_pickle_option
@common_options
def command(
    agent: str,
    output: str,
    env: str | None,
    steps: int,
    fps: int,
    deterministic: bool,
    seed: int | None,
    algorithm: str | None,
    registry: str | None,
    allow_pickle: bool,
) -> None:
    """Record AGENT playing into a video (AGENT: file, run folder, registry name[:version] or Hub repo)."""
    from rl_framework.util.video import video_format_of

    video_format_of(output)  # a bad suffix fails before the agent is loaded
    source = load_source(agent, algorithm, registry, allow_pickle)
    factory = environment_of(source, env)
    from rl_framework.experiment.environments import ReportingWrapper
    from rl_framework.util.video import record_video

    with progress("Recording", steps, "steps") as display:
        environment = factory.with_options(
            render_mode="rgb_array", wrapper=lambda env: ReportingWrapper(env, on_step=display.advance)
        )()
        try:
            path = record_video(
                source.agent, environment, output, n_steps=steps, fps=fps, deterministic=deterministic, seed=seed
            )
        finally:
            environment.close()
    echo(f"Recorded {source.label} on {factory.env_id}: {path}")
