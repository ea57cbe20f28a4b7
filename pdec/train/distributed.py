"""Data parallelism (train stage): a torch.distributed process group -> each rank's points, losses and collectives.

Each rank's share of the points, the loss scaling that makes DDP's average the single-process gradient, and the
collectives the trainer needs.

pdec grows no distribution layer of its own: the process group is torch.distributed's (``torchrun`` starts it; gloo on
CPUs, NCCL on GPUs), the network's gradients are averaged by ``DistributedDataParallel``, and the few values the
trainer must agree on (loss values, the per-term gradients of the balancer, the unknowns' gradients, the Ctrl-C flag)
go through ``torch.distributed.all_reduce``. See docs/distributed.md.

Without a process group, or with one of a single process, :class:`Shards` is the identity everywhere: the trainer runs
the single-process path, bit for bit.

The sharding rule: every rank draws the same global set of each point set (a pure function of the seed, the
resampling round and the point-set name, pdec.train.sampling) and keeps the contiguous rows ``[r N / W, (r + 1) N /
W)``, so the union over the ranks, in rank order, is the single-process set. Shards differ by at most one row; the loss
of a term on rank ``r`` is ``W * sum(residual ** 2) / (N * columns)``, so that the mean over the ranks (DDP's average of
the gradients, and of the reported values) is exactly the single-process ``mean(residual ** 2)`` over all ``N`` rows,
whatever the shard sizes (a shard may be empty: a condition at a single point lives on rank 0).
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from pdec.core.errors import PdecRunError


def group_size() -> int:
    """The number of processes in the initialised torch.distributed process group (1 without one)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def backend_for(device: str) -> str:
    """The torch.distributed backend for a device: NCCL for CUDA, gloo for the CPU."""
    return "nccl" if str(device).startswith("cuda") else "gloo"


def from_rank0(value: Any) -> Any:
    """Rank 0's ``value`` on every rank (a broadcast of a picklable object); ``value`` itself in one process."""
    if group_size() < 2:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


@contextlib.contextmanager
def process_group(device: str) -> Iterator[None]:
    """Join the process group ``torchrun`` describes (``WORLD_SIZE``, ``RANK``, ...) for the block.

    Nothing happens outside torchrun, with a single process, or when the caller already initialised a group. On
    CUDA each process takes the GPU of its ``LOCAL_RANK``. The group is destroyed when the block ends.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world < 2 or not dist.is_available() or dist.is_initialized():
        yield
        return
    if str(device).startswith("cuda"):
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend_for(device))
    try:
        yield
    finally:
        dist.destroy_process_group()


class Shards:
    """This process's share of a data-parallel run: its rows of every point set, and the collectives over the group.

    Args:
        world: the number of processes (1: the single-process path, where every method is the identity).
        rank: this process's rank.
    """

    def __init__(self, world: int = 1, rank: int = 0) -> None:
        self.world, self.rank = world, rank
        self.sizes: dict[str, tuple[int, int]] = {}  # point set -> (rows on this rank, rows on all ranks)

    @classmethod
    def current(cls) -> Shards:
        """The shards of the initialised process group (a single share without one)."""
        world = group_size()
        return cls(world, dist.get_rank()) if world > 1 else cls()

    @property
    def active(self) -> bool:
        """Whether the run is split over several processes."""
        return self.world > 1

    def rows(self, n: int) -> slice:
        """This rank's rows of a set of ``n``: ``[rank n / world, (rank + 1) n / world)``."""
        return slice(self.rank * n // self.world, (self.rank + 1) * n // self.world)

    def take(self, name: str, array: Any) -> Any:
        """This rank's rows of point set ``name`` (its points or its observed values); remembers both sizes."""
        if not self.active:
            return array
        part = array[self.rows(len(array))]
        self.sizes[name] = (len(part), len(array))
        return part

    def mean_square(self, residual: torch.Tensor, sets: Iterable[str]) -> torch.Tensor:
        """A term's loss ``mean(residual ** 2)``; on a rank, its share scaled so that the ranks' mean is the loss."""
        if not self.active:
            return residual.pow(2).mean()
        sizes = [self.sizes[s] for s in sets if s in self.sizes]
        here, total = sum(s[0] for s in sizes), sum(s[1] for s in sizes)
        if len(residual) != here:
            raise PdecRunError(
                f"a residual has {len(residual)} rows on rank {self.rank} but its point sets hold {here} points there",
                hint="the sharded loss needs one residual row per point; train this problem in one process",
            )
        columns = math.prod(residual.shape[1:])
        return residual.pow(2).sum() * (self.world / (total * columns))

    def wrap(self, net: torch.nn.Module) -> torch.nn.Module:
        """The network in ``DistributedDataParallel`` (which averages its gradients in backward); itself alone."""
        if not self.active:
            return net
        ids = [torch.cuda.current_device()] if next(net.parameters()).is_cuda else None
        # A [1, n] gradient built by the balancer may carry strides [1, 1] where DDP's bucket has [n, 1]: the same
        # layout in memory, which DDP copies correctly, but warns about on every balancer update.
        warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
        return torch.nn.parallel.DistributedDataParallel(net, device_ids=ids)

    def local(self, model: torch.nn.Module) -> contextlib.AbstractContextManager:
        """A block whose backward passes DDP leaves alone (the caller averages the gradients it needs)."""
        return (
            model.no_sync()
            if isinstance(model, torch.nn.parallel.DistributedDataParallel)
            else contextlib.nullcontext()
        )

    # ------------------------------------------------------------------------------------------------ collectives

    def values(self, losses: Mapping[str, torch.Tensor]) -> dict[str, float]:
        """The losses as floats: the mean over the ranks (NaN on any rank gives NaN on every rank)."""
        if not self.active or not losses:
            return {k: float(v.detach()) for k, v in losses.items()}
        stacked = torch.stack([v.detach().reshape(()) for v in losses.values()])
        return dict(zip(losses, self._mean(stacked).tolist(), strict=True))

    def shared(self, losses: Mapping[str, torch.Tensor], values: Mapping[str, float]) -> Mapping[str, torch.Tensor]:
        """The losses a balancer sees: the mean over the ranks as tensors (``losses`` itself in one process)."""
        if not self.active:
            return losses
        return {k: torch.tensor(values[k], dtype=torch.float64) for k in losses}

    def mean(self, value: torch.Tensor) -> torch.Tensor:
        """The mean of a scalar over the ranks, detached (``value`` itself in one process)."""
        return self._mean(value.detach().clone()) if self.active else value

    def average(self, tensors: Iterable[torch.Tensor | None]) -> None:
        """Replace each tensor (gradients; None skipped) by its mean over the ranks: one all-reduce for all of them."""
        present = [t for t in tensors if t is not None]
        if not self.active or not present:
            return
        flat = self._mean(torch.cat([t.reshape(-1) for t in present]))
        for t, part in zip(present, torch.split(flat, [t.numel() for t in present]), strict=True):
            t.copy_(part.view_as(t))

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` holds on any rank (every rank gets the same answer)."""
        if not self.active:
            return flag
        found = torch.tensor([float(flag)], device=self._device())
        dist.all_reduce(found, op=dist.ReduceOp.MAX)
        return bool(found.item())

    def gather(self, arrays: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Every rank's rows of each set, concatenated in rank order: the single-process set (end of run only)."""
        if not self.active:
            return dict(arrays)
        mine = {k: v.detach().cpu().numpy() for k, v in arrays.items()}
        every: list[Any] = [None] * self.world
        dist.all_gather_object(every, mine)
        return {k: torch.as_tensor(np.concatenate([part[k] for part in every])).to(v) for k, v in arrays.items()}

    def _mean(self, tensor: torch.Tensor) -> torch.Tensor:
        """The all-reduced mean of a tensor (a sum, then a division: gloo has no average)."""
        moved = tensor.to(self._device())
        dist.all_reduce(moved, op=dist.ReduceOp.SUM)
        return (moved / self.world).to(tensor.device)

    def _device(self) -> torch.device:
        """Where the backend's tensors live: this rank's GPU for NCCL, else the CPU."""
        return (
            torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")
        )
