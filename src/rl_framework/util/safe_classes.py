"""The classes an agent file may name: an allowlist, never a free import of a string read from a file.

An agent file names classes (its policy, activation function, optimiser, feature extractor,
buffer) as ``"module:QualifiedName"`` strings. ``resolve_class`` turns such a string into the
class only when it is on ``SAFE_CLASSES`` (or was registered in this process with
``allow_class``); a file naming anything else (``"os:system"``, a class from an unknown package)
is refused before any module is imported.

Register your own classes (a custom feature extractor or policy) before loading a file that
names them::

    from rl_framework.util.safe_classes import allow_class

    allow_class(MyFeaturesExtractor)
"""

from __future__ import annotations

import importlib

#: Classes every agent file may name: SB3 and sb3-contrib policies, feature extractors and buffers,
#: imitation's policies, torch activation functions and optimisers. Each is only imported when named.
SAFE_CLASSES: frozenset[str] = frozenset(
    {
        # Stable-Baselines3 policies (the values of each algorithm's ``policy_aliases``)
        "stable_baselines3.common.policies:ActorCriticPolicy",
        "stable_baselines3.common.policies:ActorCriticCnnPolicy",
        "stable_baselines3.common.policies:MultiInputActorCriticPolicy",
        "stable_baselines3.dqn.policies:DQNPolicy",
        "stable_baselines3.dqn.policies:CnnPolicy",
        "stable_baselines3.dqn.policies:MultiInputPolicy",
        "stable_baselines3.sac.policies:SACPolicy",
        "stable_baselines3.sac.policies:CnnPolicy",
        "stable_baselines3.sac.policies:MultiInputPolicy",
        "stable_baselines3.td3.policies:TD3Policy",
        "stable_baselines3.td3.policies:CnnPolicy",
        "stable_baselines3.td3.policies:MultiInputPolicy",
        # sb3-contrib policies
        "sb3_contrib.ars.policies:ARSPolicy",
        "sb3_contrib.ars.policies:ARSLinearPolicy",
        "sb3_contrib.crossq.policies:CrossQPolicy",
        "sb3_contrib.common.maskable.policies:MaskableActorCriticPolicy",
        "sb3_contrib.common.maskable.policies:MaskableActorCriticCnnPolicy",
        "sb3_contrib.common.maskable.policies:MaskableMultiInputActorCriticPolicy",
        "sb3_contrib.qrdqn.policies:QRDQNPolicy",
        "sb3_contrib.qrdqn.policies:CnnPolicy",
        "sb3_contrib.qrdqn.policies:MultiInputPolicy",
        "sb3_contrib.common.recurrent.policies:RecurrentActorCriticPolicy",
        "sb3_contrib.common.recurrent.policies:RecurrentActorCriticCnnPolicy",
        "sb3_contrib.common.recurrent.policies:RecurrentMultiInputActorCriticPolicy",
        "sb3_contrib.tqc.policies:TQCPolicy",
        "sb3_contrib.tqc.policies:CnnPolicy",
        "sb3_contrib.tqc.policies:MultiInputPolicy",
        # imitation's policies and extractor
        "imitation.policies.base:FeedForward32Policy",
        "imitation.policies.base:SAC1024Policy",
        "imitation.policies.base:NormalizeFeaturesExtractor",
        # feature extractors
        "stable_baselines3.common.torch_layers:FlattenExtractor",
        "stable_baselines3.common.torch_layers:NatureCNN",
        "stable_baselines3.common.torch_layers:CombinedExtractor",
        # buffers
        "stable_baselines3.common.buffers:RolloutBuffer",
        "stable_baselines3.common.buffers:DictRolloutBuffer",
        "stable_baselines3.common.buffers:ReplayBuffer",
        "stable_baselines3.common.buffers:DictReplayBuffer",
        "stable_baselines3.common.buffers:NStepReplayBuffer",
        "sb3_contrib.common.maskable.buffers:MaskableRolloutBuffer",
        "sb3_contrib.common.maskable.buffers:MaskableDictRolloutBuffer",
        "sb3_contrib.common.recurrent.buffers:RecurrentRolloutBuffer",
        "sb3_contrib.common.recurrent.buffers:RecurrentDictRolloutBuffer",
        # torch activation functions
        *(
            f"torch.nn.modules.activation:{name}"
            for name in (
                "CELU",
                "ELU",
                "GELU",
                "GLU",
                "Hardshrink",
                "Hardsigmoid",
                "Hardswish",
                "Hardtanh",
                "LeakyReLU",
                "LogSigmoid",
                "Mish",
                "PReLU",
                "ReLU",
                "ReLU6",
                "RReLU",
                "SELU",
                "SiLU",
                "Sigmoid",
                "Softplus",
                "Softsign",
                "Tanh",
                "Tanhshrink",
            )
        ),
        "torch.nn.modules.linear:Identity",
        # torch optimisers (and SB3's TensorFlow-like RMSprop)
        "torch.optim.adam:Adam",
        "torch.optim.adamw:AdamW",
        "torch.optim.adamax:Adamax",
        "torch.optim.adagrad:Adagrad",
        "torch.optim.adadelta:Adadelta",
        "torch.optim.nadam:NAdam",
        "torch.optim.radam:RAdam",
        "torch.optim.rmsprop:RMSprop",
        "torch.optim.sgd:SGD",
        "stable_baselines3.common.sb2_compat.rmsprop_tf_like:RMSpropTFLike",
    }
)

_registered: dict[str, type] = {}


class UnsafeContentError(ValueError):
    """A file needs unpickling, or names a class outside the allowlist, and the caller did not opt in.

    The message names what was refused and how to opt in (only for files from a trusted source).
    """


def class_reference(cls: type) -> str:
    """The ``"module:QualifiedName"`` string that names ``cls`` in agent files."""
    return f"{cls.__module__}:{cls.__qualname__}"


def allow_class(cls: type) -> None:
    """Let agent files name ``cls`` (e.g. your own feature extractor) in this process.

    Call it before loading a file that names the class. Only register classes whose
    construction from a file's JSON values you are happy to run.

    :param cls: the class to allow.
    :raises TypeError: if ``cls`` is not a class.
    """
    if not isinstance(cls, type):
        raise TypeError(f"allow_class takes a class, got {type(cls).__name__}: pass the class itself.")
    _registered[class_reference(cls)] = cls


def is_allowed(reference: str) -> bool:
    """Whether a file may name ``reference`` (on the allowlist or registered with ``allow_class``)."""
    return reference in SAFE_CLASSES or reference in _registered


def resolve_class(reference: object, what: str, base: type | None = None) -> type:
    """The class a file names, if the allowlist permits it.

    :param reference: the ``"module:QualifiedName"`` string read from a file.
    :param what: what the class is for, for messages (e.g. "the policy class in 'agent.zip'").
    :param base: the class must derive from it (e.g. SB3's ``BasePolicy``).
    :return: the class.
    :raises UnsafeContentError: when the name is not allowed (nothing is imported then).
    :raises ValueError: when an allowed name cannot be imported or is not a ``base``.
    """
    if not isinstance(reference, str) or not is_allowed(reference):
        raise UnsafeContentError(
            f"{what} is {reference!r}, which is not on rl_framework's allowlist of classes a file may name "
            f"(a file could otherwise make us import and run any code). If it is your own class and you trust "
            f"the file, register it first: rl_framework.util.safe_classes.allow_class(TheClass)."
        )
    found = _registered.get(reference) or _import(reference, what)
    if base is not None and not issubclass(found, base):
        raise ValueError(f"{what} is {reference!r}, which is not a {base.__name__}. The file is damaged.")
    return found


def _import(reference: str, what: str) -> type:
    module_name, _, qualified_name = reference.partition(":")
    try:
        target: object = importlib.import_module(module_name)
        for part in qualified_name.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as error:
        package = module_name.split(".")[0]
        hint = " Install it with: pip install 'rl_framework[contrib]'." if package == "sb3_contrib" else ""
        raise ValueError(
            f"{what} is {reference!r}, which cannot be imported here ({error}). Install the package '{package}' "
            f"in the version the file was saved with.{hint}"
        ) from error
    if not isinstance(target, type):
        raise ValueError(f"{what} is {reference!r}, which is not a class. The file is damaged.")
    return target
