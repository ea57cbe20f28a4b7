"""Shared test fixtures."""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """Small PINN steps run far faster on one thread (and do not fight other processes for the cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
