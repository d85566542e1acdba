"""Fixtures of the ml tests."""

import pytest
import torch
from ml_toy import TOY


@pytest.fixture(autouse=True, scope="session")
def _few_threads():
    """The machines running the tests are small and shared: keep torch to one thread."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def x_test():
    """50 x drawn at theta = 1 (MadMiner's evaluation setup)."""
    return TOY.simulate(1.0, n=50, seed=7)[0]
