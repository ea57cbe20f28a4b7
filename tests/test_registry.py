"""One registry per extension axis: the settings' choices are its names, and every entry loads."""

import pytest

from pdec.core import registry, settings
from pdec.core.settings import Settings
from pdec.train.balance import Balancer

AXES = [registry.WEIGHTINGS, registry.SAMPLERS, registry.ACTIVATIONS, registry.NETWORKS]


def test_settings_choices_come_from_the_registries():
    assert settings.WEIGHTINGS == registry.WEIGHTINGS.names
    assert settings.SAMPLERS == registry.SAMPLERS.names
    assert settings.ACTIVATIONS == registry.ACTIVATIONS.names


@pytest.mark.parametrize("axis", AXES, ids=lambda a: a.axis)
def test_every_entry_loads(axis):
    for name in axis.names:
        assert callable(axis.load(name)), name


def test_every_weighting_is_a_balancer_named_as_registered():
    for name in registry.WEIGHTINGS.names:
        cls = registry.WEIGHTINGS.load(name)
        assert issubclass(cls, Balancer) and cls.name == name
        assert cls(("pde:a", "bc:b"), Settings()).weights == {"pde:a": 1.0, "bc:b": 1.0} or name == "fixed"


def test_an_unknown_name_lists_the_choices():
    with pytest.raises(ValueError, match="unknown sampler 'nope'; choices: random, lhs"):
        registry.SAMPLERS.load("nope")
