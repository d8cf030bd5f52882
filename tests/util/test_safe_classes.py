"""The class allowlist: every listed name resolves, anything else is refused before any import."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy

from rl_framework.util.safe_classes import (
    SAFE_CLASSES,
    UnsafeContentError,
    allow_class,
    class_reference,
    is_allowed,
    resolve_class,
)


@pytest.mark.parametrize("reference", sorted(SAFE_CLASSES))
def test_every_allowlisted_name_is_a_class_of_that_name(reference: str) -> None:
    found = resolve_class(reference, "test")
    assert isinstance(found, type)
    assert class_reference(found) == reference  # the name a saved file will carry resolves to itself


def test_a_name_outside_the_allowlist_is_refused_without_importing_its_module() -> None:
    # A fresh interpreter, so that no other test has imported the module already.
    code = (
        "import sys\n"
        "from rl_framework.util.safe_classes import UnsafeContentError, resolve_class\n"
        "try:\n"
        "    resolve_class('this_module_does_not_exist_here:Thing', 'the test class')\n"
        "except UnsafeContentError as error:\n"
        "    print('refused', 'this_module_does_not_exist_here' in sys.modules, 'allow_class' in str(error))\n"
        "try:\n"
        "    resolve_class('webbrowser:open', 'the test class')\n"
        "except UnsafeContentError:\n"
        "    print('webbrowser imported:', 'webbrowser' in sys.modules)\n"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.split() == ["refused", "False", "True", "webbrowser", "imported:", "False"]


@pytest.mark.parametrize("reference", ["os:system", "builtins:eval", "subprocess:Popen", 42, None, "torch.nn:Module"])
def test_dangerous_or_malformed_names_are_refused(reference: object) -> None:
    with pytest.raises(UnsafeContentError, match=r"the policy class is .* not on rl_framework's allowlist"):
        resolve_class(reference, "the policy class")


def test_a_registered_class_resolves_and_must_derive_from_the_base() -> None:
    class MyExtractor(torch.nn.Module):
        """A user's own class."""

    reference = class_reference(MyExtractor)
    assert not is_allowed(reference)
    allow_class(MyExtractor)
    assert resolve_class(reference, "the extractor") is MyExtractor
    with pytest.raises(ValueError, match=r"the extractor is .*MyExtractor', which is not a BasePolicy"):
        resolve_class(reference, "the extractor", BasePolicy)
    assert resolve_class(class_reference(ActorCriticPolicy), "the policy", BasePolicy) is ActorCriticPolicy
    with pytest.raises(TypeError, match="allow_class takes a class"):
        allow_class("stable_baselines3:PPO")  # type: ignore[arg-type]
