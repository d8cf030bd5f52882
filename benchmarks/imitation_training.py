"""``ImitationAgent`` (BC, GAIL) against the imitation library's own ``BC`` and ``GAIL`` on the same data.

The demonstrations are scripted-expert CartPole episodes (``cartpole_dataset.py``). Sides:

- BC, ``imitation default`` / ``imitation 1 thread``: ``imitation.algorithms.bc.BC`` built on the
  episodes as in-memory ``Transitions`` (``EpisodeSequence.to_transitions()``), its own default policy
  (32x32 MLP) and a logger that writes nothing, ``bc.train(n_batches=...)``, with torch's default thread
  count or inside ``torch.set_num_threads(1)``;
- BC, ``train in-memory``: ``ImitationAgent("BC").train(episodes, "CartPole-v1", total_timesteps=samples)``
  on the same episodes in memory; ``train memory-mapped``: the same episodes read from their dataset
  folder (``EpisodeSequence.from_dataset``, streamed from the memory-mapped Arrow files);
- GAIL, ``imitation default`` / ``imitation 1 thread``: ``imitation.algorithms.adversarial.gail.GAIL``
  with a PPO learner and ``BasicRewardNet`` (``RunningNorm`` inputs) on ``n_envs`` CartPole copies with
  ``RolloutInfoWrapper``; ``train``: ``ImitationAgent("GAIL")`` with the same learner settings.

BC figures are throughputs (samples per second) over the reference's; targets: in memory >= 1.0x
imitation's BC (default threads) and >= 0.98x on the same thread count (``train`` <= 1.02x its time),
memory-mapped >= 0.9x. GAIL figures are time ratios: <= 1.0x imitation default, <= 1.02x on the same
thread count. Beside a busy core: BC throughput >= 5x and GAIL time <= 0.2x imitation default.

Run: ``python benchmarks/imitation_training.py [--samples 320000] [--repeats 3] [--quick]``
"""

from __future__ import annotations

import os

# imitation's GAIL draws a "round" bar per run, on both sides; tqdm reads TQDM_DISABLE when it is imported
os.environ["TQDM_DISABLE"] = "1"

import tempfile  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from benchmark_tools import Figure, alternating, busy_core, describe, parser, ratio, report, timed  # noqa: E402
from cartpole_dataset import write_dataset  # noqa: E402
from imitation.algorithms.adversarial.gail import GAIL  # noqa: E402
from imitation.algorithms.bc import BC  # noqa: E402
from imitation.data.wrappers import RolloutInfoWrapper  # noqa: E402
from imitation.rewards.reward_nets import BasicRewardNet  # noqa: E402
from imitation.util.logger import configure  # noqa: E402
from imitation.util.networks import RunningNorm  # noqa: E402
from stable_baselines3 import PPO  # noqa: E402
from stable_baselines3.common.env_util import make_vec_env  # noqa: E402

from rl_framework.agent import ImitationAgent  # noqa: E402
from rl_framework.data import EpisodeSequence  # noqa: E402
from rl_framework.util.threads import torch_threads  # noqa: E402

BATCH_SIZE = 32  # imitation's BC default
LEARNER = {"n_steps": 128, "batch_size": 64, "n_epochs": 4, "device": "cpu"}
QUICK_LEARNER = {"n_steps": 32, "batch_size": 64, "n_epochs": 1, "device": "cpu"}
# imitation's BC logger converts its loss with float(tensor), which warns on every log line (both sides)
warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad", category=UserWarning)


def quiet_logger(folder: Path):  # noqa: ANN201 - imitation's HierarchicalLogger
    return configure(str(folder), format_strs=[])


def imitation_bc(transitions, samples: int, threads: int, scratch: Path) -> None:  # noqa: ANN001
    with torch_threads(threads):
        env_spaces = make_vec_env("CartPole-v1")
        bc = BC(
            observation_space=env_spaces.observation_space,
            action_space=env_spaces.action_space,
            rng=np.random.default_rng(0),
            demonstrations=transitions,
            batch_size=BATCH_SIZE,
            custom_logger=quiet_logger(scratch),
        )
        bc.train(n_batches=samples // BATCH_SIZE, progress_bar=False)
        env_spaces.close()


def our_bc(episodes: EpisodeSequence, samples: int) -> None:
    agent = ImitationAgent("BC", {"batch_size": BATCH_SIZE, "seed": 0})
    agent.train(episodes, "CartPole-v1", total_timesteps=samples, progress_bar=False)


def imitation_gail(transitions, steps: int, n_envs: int, threads: int, scratch: Path, learner: dict) -> None:  # noqa: ANN001
    with torch_threads(threads):
        venv = make_vec_env("CartPole-v1", n_envs=n_envs, wrapper_class=RolloutInfoWrapper, seed=0)
        generator = PPO("MlpPolicy", venv, seed=0, **learner)
        reward_net = BasicRewardNet(venv.observation_space, venv.action_space, normalize_input_layer=RunningNorm)
        trainer = GAIL(
            demonstrations=transitions,
            demo_batch_size=64,
            venv=venv,
            gen_algo=generator,
            reward_net=reward_net,
            allow_variable_horizon=True,
            custom_logger=quiet_logger(scratch),
            log_dir=scratch,
        )
        trainer.train(steps)
        venv.close()


def our_gail(episodes: EpisodeSequence, steps: int, n_envs: int, learner: dict) -> None:
    agent = ImitationAgent("GAIL", {"seed": 0, "learner_parameters": dict(learner)})
    agent.train(episodes, "CartPole-v1", total_timesteps=steps, n_envs=n_envs, progress_bar=False)


def throughput_figures(times: dict[str, list[float]], condition: str, targets: dict[str, str]) -> list[Figure]:
    """Throughput of our sides over each imitation side: reference time / our time for the same samples."""
    detail = f"{condition}: " + "; ".join(f"{side}: {describe(values)}" for side, values in times.items())
    return [
        Figure(
            f"BC {ours} samples/s / imitation BC ({reference.split(' ', 1)[1]}), {condition}",
            ratio(times[reference], times[ours]),
            targets.get(f"{ours}|{reference}", ""),
            detail,
        )
        for ours in times
        if not ours.startswith("imitation")
        for reference in times
        if reference.startswith("imitation")
    ]


def time_figures(times: dict[str, list[float]], condition: str, targets: dict[str, str]) -> list[Figure]:
    detail = f"{condition}: " + "; ".join(f"{side}: {describe(values)}" for side, values in times.items())
    return [
        Figure(
            f"GAIL train / imitation GAIL ({reference.split(' ', 1)[1]}), {condition}",
            ratio(times["train"], times[reference]),
            targets.get(reference, ""),
            detail,
        )
        for reference in times
        if reference.startswith("imitation")
    ]


def cpu_figures(bc_cpu: dict[str, list[float]], gail_cpu: dict[str, list[float]]) -> list[Figure]:
    """The same-thread comparisons in CPU time, which other processes on a shared machine disturb much less."""
    sides = {**bc_cpu, **{f"GAIL {side}": values for side, values in gail_cpu.items()}}
    detail = "quiet CPU time: " + "; ".join(f"{side}: {describe(values)}" for side, values in sides.items())
    return [
        Figure(
            "BC train in-memory samples per CPU second / imitation BC (1 thread), quiet",
            ratio(bc_cpu["imitation 1 thread"], bc_cpu["train in-memory"]),
            ">= 0.98",
            detail,
        ),
        Figure(
            "GAIL train / imitation GAIL (1 thread), CPU time, quiet",
            ratio(gail_cpu["train"], gail_cpu["imitation 1 thread"]),
            "<= 1.02",
            detail,
        ),
    ]


def main() -> None:
    arguments = parser(__doc__)
    arguments.add_argument("--episodes", type=int, default=40, help="500-step expert episodes")
    arguments.add_argument("--samples", type=int, default=320_000, help="BC samples per run")
    arguments.add_argument("--busy-samples", type=int, default=32_000)
    arguments.add_argument("--gail-steps", type=int, default=4096)
    arguments.add_argument("--n-envs", type=int, default=4)
    arguments.add_argument("--repeats", type=int, default=3)
    arguments.add_argument("--busy-repeats", type=int, default=1)
    args = arguments.parse_args()
    learner = LEARNER
    if args.quick:
        args.episodes, args.samples, args.busy_samples, args.gail_steps = 2, 320, 320, 128
        args.repeats = args.busy_repeats = 1
        learner = QUICK_LEARNER
    default_threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory(prefix="rl_framework-bench-") as scratch:
        folder = Path(scratch) / "episodes"
        write_dataset(folder, args.episodes * 500)
        mapped = EpisodeSequence.from_dataset(folder)
        in_memory = EpisodeSequence.from_trajectories(list(mapped))
        transitions = in_memory.to_transitions()
        logs = Path(scratch) / "logs"
        bc_sides = {
            "imitation default": timed(lambda: imitation_bc(transitions, args.samples, default_threads, logs)),
            "imitation 1 thread": timed(lambda: imitation_bc(transitions, args.samples, 1, logs)),
            "train in-memory": timed(lambda: our_bc(in_memory, args.samples)),
            "train memory-mapped": timed(lambda: our_bc(mapped, args.samples)),
        }
        steps, n_envs = args.gail_steps, args.n_envs
        gail_sides = {
            "imitation default": timed(
                lambda: imitation_gail(transitions, steps, n_envs, default_threads, logs, learner)
            ),
            "imitation 1 thread": timed(lambda: imitation_gail(transitions, steps, n_envs, 1, logs, learner)),
            "train": timed(lambda: our_gail(in_memory, steps, n_envs, learner)),
        }
        if not args.quick:
            our_bc(in_memory, 64 * BATCH_SIZE)  # warm-up: lazy imports, torch kernels
        bc_quiet = alternating(bc_sides, args.repeats)
        gail_quiet = alternating(gail_sides, args.repeats)
        bc_cpu = {side: run.cpu for side, run in bc_sides.items()}
        gail_cpu = {side: run.cpu for side, run in gail_sides.items()}
        busy_bc_sides = {
            "imitation default": timed(lambda: imitation_bc(transitions, args.busy_samples, default_threads, logs)),
            "train in-memory": timed(lambda: our_bc(in_memory, args.busy_samples)),
        }
        busy_gail_sides = {
            "imitation default": timed(
                lambda: imitation_gail(transitions, steps, n_envs, default_threads, logs, learner)
            ),
            "train": timed(lambda: our_gail(in_memory, steps, n_envs, learner)),
        }
        with busy_core():
            bc_busy = alternating(busy_bc_sides, args.busy_repeats)
            gail_busy = alternating(busy_gail_sides, args.busy_repeats)
    bc_targets = {
        "train in-memory|imitation default": ">= 1.0",
        "train in-memory|imitation 1 thread": ">= 0.98",
        "train memory-mapped|imitation default": ">= 0.9",
        "train memory-mapped|imitation 1 thread": ">= 0.9",
    }
    figures = throughput_figures(bc_quiet, "quiet", bc_targets)
    figures += time_figures(gail_quiet, "quiet", {"imitation default": "<= 1.0", "imitation 1 thread": "<= 1.02"})
    figures += cpu_figures(bc_cpu, gail_cpu)
    figures += throughput_figures(bc_busy, "one core busy", {"train in-memory|imitation default": ">= 5"})
    figures += time_figures(gail_busy, "one core busy", {"imitation default": "<= 0.2"})
    notes = [
        f"{args.episodes} expert episodes ({args.episodes * 500} transitions); BC batch {BATCH_SIZE}, "
        f"{args.samples} samples per run ({args.busy_samples} beside the busy core); GAIL {args.gail_steps} "
        f"learner steps on {args.n_envs} envs, PPO {learner}; {args.repeats} quiet / {args.busy_repeats} busy "
        f"rounds; torch default threads {default_threads}"
    ]
    report(figures, args.json, notes, args.quick)


if __name__ == "__main__":
    main()
