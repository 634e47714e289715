"""The training loop shared by every method (CT, iCT, ACT), written once.

RAdam with a constant learning rate per trained network, stepped in the method's
phase order; every random draw of step k comes from generators seeded by
(seed, k), so resuming from a checkpoint continues the run exactly. The run's bookkeeping
(resume, JSON-lines log, tqdm progress, atomic checkpoints, signals, trackers) is
``act.run_book``'s; this module is the step and the loop. CPU or CUDA, optional
bf16/fp16 autocast (fp32 weights).

Under torchrun (``torchrun --standalone --nproc_per_node=8 -m act.cli train -c ... -o ...``)
the same loop runs data-parallel (act.distributed): ``train.batch_size`` is the global
batch, process r takes the r-th contiguous slice of each step's indices and draws its
noise from its own generator (rank 0's is the single-process one), each phase's
gradients are averaged in one all-reduce before the optimiser step, logged losses are
averaged over processes, and only rank 0 writes files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

import torch
from torch.utils.data import DataLoader, Dataset

from act import distributed
from act.config import ExperimentConfig
from act.data import build_dataset
from act.devices import resolve_device
from act.errors import ConfigError
from act.method import Method, logged, set_trainable
from act.registry import build_method
from act.rng import DATA_STREAM, epoch_permutation_generator, per_step_generator, rank_step_generator, seeded_global_rng
from act.run_book import RunBook, open_run
from act.stopping import Diverged, Preempted, StopSignals, all_finite, finite_flag, nonfinite_term

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}  # act.config.PRECISIONS


def apply_determinism(tc: Any) -> None:
    """The determinism switches of a config's ``train`` section, set once (and recorded with the config)."""
    torch.backends.cuda.matmul.allow_tf32 = tc.tf32
    torch.backends.cudnn.allow_tf32 = tc.tf32
    torch.backends.cudnn.benchmark = tc.cudnn_benchmark
    torch.use_deterministic_algorithms(tc.deterministic, warn_only=True)


def build_data(d: Any):
    """The dataset of a config's ``data`` section."""
    repeated = sorted(set(d.options) & {"root", "split", "resolution", "download"})
    if repeated:
        raise ConfigError(f"data.options repeats {repeated}: set data.{repeated[0]} itself instead")
    return build_dataset(d.name, root=d.root, split=d.split, resolution=d.resolution, download=d.download, **d.options)


class StepBatches(Dataset):
    """Item k is the batch of training step ``start + k``: indices from epoch-wise permutations
    seeded by (seed, epoch), so the data order is a pure function of the step.

    ``batch`` is the global batch; process ``rank`` of ``world`` gets its contiguous slice of
    it (and of the step's flips), so the union over processes is the single-process batch.
    """

    def __init__(self, dataset: Any, batch: int, seed: int, start: int, hflip: bool, rank: int = 0, world: int = 1) -> None:
        if batch % world:
            raise ValueError(f"global batch of {batch} images does not split over {world} processes")
        self.dataset, self.batch, self.seed, self.start, self.hflip = dataset, batch, seed, start, hflip
        local = batch // world
        self.part = slice(rank * local, (rank + 1) * local)
        self.n = len(dataset)
        self._perm_epoch, self._perm = -1, None

    def __len__(self) -> int:
        return 2**62

    def _permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._perm_epoch:
            g = epoch_permutation_generator(self.seed, epoch)
            self._perm, self._perm_epoch = torch.randperm(self.n, generator=g), epoch
        return self._perm

    def indices(self, step: int) -> torch.Tensor:
        pos, need, out = step * self.batch, self.batch, []
        while need:  # a batch may straddle an epoch boundary
            epoch, offset = divmod(pos, self.n)
            take = min(need, self.n - offset)
            out.append(self._permutation(epoch)[offset : offset + take])
            pos, need = pos + take, need - take
        return torch.cat(out)

    def __getitem__(self, k: int) -> Tuple[torch.Tensor, torch.Tensor]:
        step = self.start + k
        x, y = self.dataset.get_batch(self.indices(step)[self.part])
        if self.hflip and x.ndim == 4:
            g = per_step_generator(self.seed, step, torch.device("cpu"), stream=DATA_STREAM)
            flip = torch.rand(self.batch, generator=g)[self.part] < 0.5  # drawn for the global batch
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        return x, y


def _autocast(device: torch.device, precision: str):
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose from {sorted(PRECISIONS)}")
    dtype = PRECISIONS[precision]
    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)


def compile_networks(method: Method) -> None:
    """torch.compile, in place (the method keeps calling the same module objects), the networks
    the method allows: AOTAutograd has no double backward, so ACT's R1 keeps D eager."""
    for name in method.compilable:
        method.networks[name].compile()


def place(method: Method, device: torch.device, channels_last: bool = False) -> None:
    """The method's networks on ``device``; ``channels_last``: their 4-D weights in NHWC memory, the layout
    cuDNN's tensor-core convolutions read without a transpose (batches follow through :func:`to_layout`)."""
    method.to(device)
    if channels_last:
        for net in (*method.networks.values(), *method.averaged.values()):
            net.to(memory_format=torch.channels_last)


def to_layout(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last) if channels_last and x.ndim == 4 else x


def build_optimizers(method: Method, tc: Any, device: torch.device) -> Tuple[Dict[str, torch.optim.Optimizer], Dict[str, Any]]:
    """One RAdam (constant lr, no weight decay; the phase's lr and betas) and one GradScaler per phase.

    ``tc.compile_optimizer``: torch has fused kernels for Adam(W), SGD and Adagrad but not RAdam, so the
    fused path is a torch.compile'd ``step`` (inductor fuses the foreach update into a few kernels).
    The step's maths is unchanged; the first step pays the compilation."""
    optimizers = {
        phase.name: torch.optim.RAdam(method.networks[phase.name].parameters(), lr=phase.lr, betas=phase.betas,
                                      weight_decay=0.0, foreach=True)  # CPU too: its default is a per-tensor loop
        for phase in method.phases
    }
    if getattr(tc, "compile_optimizer", False):
        for opt in optimizers.values():
            opt.step = torch.compile(opt.step, fullgraph=False)  # GradScaler.step(opt) calls it
    use_scaler = tc.precision == "fp16" and device.type == "cuda"
    scalers = {phase.name: torch.amp.GradScaler(device.type, enabled=use_scaler) for phase in method.phases}
    return optimizers, scalers


def train_step(method: Method, optimizers: Dict[str, Any], scalers: Dict[str, Any], x: torch.Tensor,
               labels: Optional[torch.Tensor], step: int, generator: torch.Generator, device: torch.device,
               precision: str, deferred: Optional[Dict[str, torch.Tensor]] = None) -> Dict[str, Any]:
    """One training step: for each phase, loss -> backward -> gradient all-reduce -> optimiser step -> its hook.

    Returns the logged values, 0-d device tensors or numbers (read them at log steps: reading is a host
    synchronisation). ``deferred`` None checks the loss and gradients are finite now (one synchronisation per
    phase; a divergence names its exact step); a dict instead collects a per-phase device flag "something was
    not finite" for the caller to read at its log steps (``train.sync: log``)."""
    logs: Dict[str, Any] = {}
    for spec in method.phases:
        phase = spec.name
        set_trainable(method, phase)
        opt = optimizers[phase]
        opt.zero_grad(set_to_none=True)
        with _autocast(device, precision):
            losses, stats = spec(method.nets, x, labels, step=step, generator=generator)
        phase_logs = logged(stats)
        loss = losses.float().mean()
        finite = torch.isfinite(loss)
        if deferred is None:
            finite = bool(finite)  # one host synchronisation per phase
        scalers[phase].scale(loss).backward()
        distributed.all_reduce_gradients(method.networks[phase].parameters())  # scaled: one inf decision
        # After the all-reduce every process holds the same gradients, so all of them stop at this step.
        # fp16's scaler skips steps with inf gradients itself; a non-finite loss stops it too.
        grads = (p.grad for p in method.networks[phase].parameters())
        if deferred is not None:
            ok = finite & finite_flag(grads) if not scalers[phase].is_enabled() else finite
            deferred[phase] = deferred[phase] | ~ok if phase in deferred else ~ok
        elif not finite:
            raise Diverged(step + 1, f"{nonfinite_term(phase_logs) or phase + ' loss'} ({phase} phase)", None)
        elif not scalers[phase].is_enabled() and not all_finite(grads):
            raise Diverged(step + 1, f"{phase} gradient ({phase} phase)", None)
        scalers[phase].step(opt)
        scalers[phase].update()
        logs.update(phase_logs)
        if spec.after is not None:
            logs.update(spec.after(step, stats) or {})
    return logs


def train(cfg: ExperimentConfig, run_dir: Union[str, Path], resume: Optional[str] = "auto", progress: bool = True) -> Path:
    """Train ``cfg`` into ``run_dir``; returns the final checkpoint ``run_dir/model.pt``.

    ``resume``: "auto" continues from the newest checkpoint in ``run_dir`` if any (an error if it
    was written under another config, process count or device type), "same-config" likewise but
    starts afresh on such a change, a path continues from that file, None or "none" starts afresh
    (removing earlier checkpoints and log). Under torchrun every process
    calls this; it joins (and afterwards leaves) the process group the launcher describes.
    """
    apply_determinism(cfg.train)
    device, created = distributed.init(resolve_device(cfg.train.device))
    try:
        return _train(cfg, Path(run_dir), resume, progress, device)
    finally:
        if created:
            distributed.destroy()


def _build_data_rank0_first(cfg: ExperimentConfig) -> Any:
    """Rank 0 builds (and downloads) the dataset before the others, so they never race on a download."""
    if not distributed.is_main():
        distributed.barrier()
    dataset = build_data(cfg.data)
    if distributed.is_main():
        distributed.barrier()
    return dataset


def _train(cfg: ExperimentConfig, run_dir: Path, resume: Optional[str], progress: bool, device: torch.device) -> Path:
    tc = cfg.train
    rank, world = distributed.rank(), distributed.world_size()
    if tc.batch_size % world or (tc.batch_size // world) % cfg.method.batch_multiple:
        raise ConfigError(f"train.batch_size={tc.batch_size} is the global batch per step: it must divide over the "
                          f"{world} process(es) into parts that are multiples of {cfg.method.batch_multiple} "
                          f"({cfg.method.name})")
    # Data and networks first: a missing dataset or a preset that does not fit it stops the run
    # before its folder exists.
    dataset = _build_data_rank0_first(cfg)
    data_shape = tuple(dataset[0][0].shape)
    with seeded_global_rng(tc.seed, torch.device("cpu")):  # initial weights are a function of the seed
        method = build_method(cfg, data_shape, int(getattr(dataset, "num_classes", 0)), world_size=world)
    place(method, device, tc.channels_last)
    optimizers, scalers = build_optimizers(method, tc, device)
    start, restored, ckpt_file = open_run(cfg, run_dir, resume, method, optimizers, scalers, device)
    if tc.compile:
        compile_networks(method)
    book = RunBook(cfg, run_dir, method, optimizers, scalers, dataset, device, start, restored, ckpt_file, progress)
    batches = StepBatches(dataset, book.images_per_step, tc.seed, start, cfg.data.hflip, rank=rank, world=world)
    loader = DataLoader(batches, batch_size=None, num_workers=cfg.data.num_workers, pin_memory=device.type == "cuda")
    it = iter(loader)
    # SIGTERM / SIGUSR1 (a scheduler's time limit or preemption) end the current step, then a checkpoint
    # and Preempted; a non-finite value ends the run with Diverged, naming the last good checkpoint.
    with StopSignals() as stop:
        try:
            for step in range(start, tc.steps):
                x, y = next(it)
                x = to_layout(x.to(device, non_blocking=True), tc.channels_last)
                labels = y.to(device, non_blocking=True) if getattr(dataset, "num_classes", 0) else None
                g = rank_step_generator(tc.seed, step, device, rank)
                logs = train_step(method, optimizers, scalers, x, labels, step, g, device, tc.precision, book.deferred)
                if book.step_done(step, logs, stop.received):
                    break
        except Diverged as e:
            book.tracker.close()  # what the trackers hold reaches their files
            raise Diverged(e.step, e.term, book.last_good) from None
        except Preempted:
            book.tracker.close()
            raise
    return book.finish()
