"""A training run's bookkeeping, beside the loop of ``act.train``: opening the run (the resume choice, the
run folder), the JSON-lines log, the finiteness checks, the checkpoint policy, stop signals and trackers.

:func:`open_run` decides where a run starts and prepares its folder; a :class:`RunBook` is told of each
finished step (:meth:`RunBook.step_done`) and writes the final checkpoint (:meth:`RunBook.finish`). Only the
main process (rank 0) writes files; every process takes the same decisions.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import torch
from tqdm.auto import tqdm

from act import distributed
from act.checkpoint import (EMPTY_LOG_ACCUM, checkpoint_path, latest_checkpoint, load_checkpoint, prune_checkpoints,
                            restore_train_state, resume_path, save_checkpoint, train_state)
from act.config import ExperimentConfig, save_config, to_dict
from act.errors import InputError, UserError
from act.method import Method
from act.provenance import provenance, write_json_atomic
from act.resume import choose_checkpoint, clear_run, run_signature, truncate_log
from act.stopping import Diverged, Preempted, all_finite
from act.tracking import Tracker


def open_run(cfg: ExperimentConfig, run_dir: Path, resume: Optional[str], method: Method, optimizers: Dict[str, Any],
             scalers: Dict[str, Any], device: torch.device) -> Tuple[int, Dict[str, Any], Optional[Path]]:
    """Chooses the checkpoint to continue from (``resume``, see ``act.train.train``), restores it, and prepares
    the run folder: what its history does not contain goes, config.yaml and run.json are written.

    Returns (start step, the log's running sums at that step, the checkpoint or None)."""
    world, main = distributed.world_size(), distributed.is_main()
    # Rank 0 chooses; its choice, or its error, reaches every process (none waits on a dead rank 0).
    choice: Tuple[Optional[Path], Optional[str]] = (None, None)
    state: Optional[Dict[str, Any]] = None
    if main:
        try:
            path, state = choose_checkpoint(run_signature(cfg, world, device.type), run_dir, resume)
            choice = (path, None)
        except UserError as e:
            choice = (None, str(e))
    ckpt_file, error = distributed.broadcast_object(choice)
    if error is not None:
        raise InputError(error)
    if main:  # every input checked: the run's folder may exist now
        (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
        # One header per attempt: the workflow appends every attempt's output to one log.
        print(f"=== act train {run_dir}: start {datetime.datetime.now().astimezone().isoformat(timespec='seconds')} on "
              f"{socket.gethostname()}, pid {os.getpid()}, {world} process(es), "
              f"{'resuming ' + str(ckpt_file) if ckpt_file else 'from step 0'} ===", file=sys.stderr, flush=True)
    start, restored = 0, EMPTY_LOG_ACCUM
    if ckpt_file is not None:
        if state is None:  # the other ranks load it themselves
            state = load_checkpoint(ckpt_file, map_location=device)
        start, log_accum = restore_train_state(state, method, optimizers, scalers)
        if world == 1:  # several processes: rank 0's sums alone would not be the global batch's
            restored = log_accum
        del state
    if main:  # what this run's history does not contain goes: all of it on a fresh start or on a resume
        # from another folder's checkpoint, else what lies past the resumed step
        own = ckpt_file is not None and Path(ckpt_file).resolve().parent == (run_dir / "checkpoints").resolve()
        clear_run(run_dir, after_step=start if own else -1)
    for net in (*method.networks.values(), *method.averaged.values()):
        distributed.broadcast_module(net)  # identical starts even if initialisation RNG differed
    if main:
        truncate_log(run_dir / "train_log.jsonl", start)
        save_config(cfg, run_dir / "config.yaml")
        write_json_atomic(run_dir / "run.json", provenance({
            "run_dir": str(run_dir), "resumed_from": str(ckpt_file) if ckpt_file else None, "start_step": start,
            "device": str(device), "world_size": world, "backend": distributed.backend(),
            "batch_size_per_process": cfg.train.batch_size // world}))
    return start, restored, ckpt_file


class RunBook:
    """What happens between training steps: log records, checks, checkpoints, stop signals, trackers.

    Log: a record every ``train.log_every`` steps (and at the last), the mean of each logged value over the
    steps since the previous record (values logged on some steps only, such as R1, over those), averaged
    over processes. Checkpoints: ``train.ckpt_every`` (evaluation points, step-*.pt), every
    ``train.ckpt_minutes`` and on a stop signal (resume-*.pt), never over a good one with non-finite weights.
    ``deferred`` (``train.sync: log``) collects per-phase "something was not finite" flags, read at log steps.
    """

    def __init__(self, cfg: ExperimentConfig, run_dir: Path, method: Method, optimizers: Dict[str, Any],
                 scalers: Dict[str, Any], dataset: Any, device: torch.device, start: int,
                 restored: Dict[str, Any], ckpt_file: Optional[Path], progress: bool) -> None:
        tc = cfg.train
        self.cfg, self.run_dir, self.method, self.optimizers, self.scalers = cfg, run_dir, method, optimizers, scalers
        self.dataset, self.device, self.data_shape = dataset, device, tuple(dataset[0][0].shape)
        self.world, self.main = distributed.world_size(), distributed.is_main()
        self.images_per_step = tc.batch_size * method.images_per_step_factor  # over all processes
        self.log_path = run_dir / "train_log.jsonl"
        self.t0 = time.perf_counter()
        self.bar = tqdm(total=tc.steps, initial=start, disable=not (progress and self.main),
                        desc=f"train {cfg.method.name}", dynamic_ncols=True)
        # key -> (sum, count): some terms (R1) are logged only on their steps; and the steps summed
        self.accum: Dict[str, Tuple[float, int]] = {k: tuple(v) for k, v in restored["sums"].items()}
        self.accum_steps = int(restored["steps"])
        self.last_good: Optional[Path] = Path(ckpt_file) if ckpt_file else None  # the newest, finite by construction
        self.last_save = time.monotonic()
        self.deferred: Optional[Dict[str, torch.Tensor]] = {} if tc.sync == "log" else None
        self.last_checked = start
        # train.tensorboard / train.wandb: the log records and a sample grid per checkpoint (rank 0 only)
        self.tracker = Tracker(run_dir, tc.tensorboard, tc.wandb, self.main, config=to_dict(cfg),
                               run_name=run_dir.name, start_step=start)

    # -- checks -----------------------------------------------------------------------------------
    def check_deferred(self, done: int) -> None:
        """train.sync=log: the finiteness flags of the steps since the last check; ``done`` is checked then."""
        bad = [phase for phase, flag in (self.deferred or {}).items() if bool(flag)]
        if bad:
            raise Diverged(done, f"{bad[0]} loss or gradient (in steps {self.last_checked + 1}-{done}: train.sync=log "
                                 f"reads the checks at log steps; sync=step names the exact step)", self.last_good)
        if self.deferred:
            self.deferred.clear()
        self.last_checked = done

    def check_weights(self, done: int) -> None:
        self.check_deferred(done)
        nets = (*self.method.networks.values(), *self.method.averaged.values())
        if not all_finite(t for net in nets for t in net.state_dict().values()):
            raise Diverged(done, "weights", self.last_good)  # never written over a good checkpoint

    # -- log --------------------------------------------------------------------------------------
    def add(self, logs: Dict[str, Any]) -> None:
        for k, v in logs.items():
            total, count = self.accum.get(k, (0.0, 0))
            self.accum[k] = (total + v, count + 1)
        self.accum_steps += 1

    def write_record(self, step: int) -> None:
        """The record of steps up to ``step + 1``: means since the last record, schedule values, progress."""
        tc, done = self.cfg.train, step + 1
        self.check_deferred(done)
        means = {k: float(total) / count for k, (total, count) in self.accum.items()}
        if self.world > 1:  # the global batch's values
            keys = sorted(means)
            means.update(zip(keys, distributed.all_reduce_mean([means[k] for k in keys], self.device)))
        record = {"step": done, **means, **self.method.scalars(step), "lr": tc.lr,
                  "images_seen": done * self.images_per_step, "wall_time": time.perf_counter() - self.t0}
        if self.accum_steps != done - (done - 1) // tc.log_every * tc.log_every:
            # a multi-process resume's first record, or train.log_every changed on a resume
            record["steps_averaged"] = self.accum_steps
        if self.main:
            with open(self.log_path, "a") as f:
                f.write(json.dumps(record) + "\n")
        self.tracker.scalars(done, record)
        self.bar.set_postfix({k: f"{v:.4g}" for k, v in record.items() if k.startswith("loss")})
        self.accum, self.accum_steps = {}, 0

    # -- checkpoints ------------------------------------------------------------------------------
    def track_samples(self, done: int) -> None:
        if not self.tracker.active:
            return
        from act.sampling import generate

        s = self.cfg.sample
        net = self.method.sampling_network().eval()
        with torch.no_grad():
            images, _ = generate(net, min(s.grid_size, 64) or 16, self.data_shape, s.sigmas, seed=s.seed,
                                 batch_size=64, device=self.device,
                                 num_classes=int(getattr(self.dataset, "num_classes", 0)), progress=False)
        net.train()
        if len(self.data_shape) == 3:  # images; 2-D toy points have no grid
            self.tracker.images(done, "samples", images.clamp(-1, 1))

    def save(self, path: Path, done: int) -> None:
        self.check_weights(done)
        self.track_samples(done)
        save_checkpoint(path, train_state(self.method, self.optimizers, self.scalers, done, self.cfg, self.dataset,
                                          {"steps": self.accum_steps, "sums": dict(self.accum)}))
        prune_checkpoints(self.run_dir, self.cfg.train.keep_checkpoints)
        self.last_good, self.last_save = path, time.monotonic()

    # -- between steps ----------------------------------------------------------------------------
    def step_done(self, step: int, logs: Dict[str, Any], signame: Optional[str]) -> bool:
        """After training step ``step``: its logged values, a record and checkpoints when due, and a stop
        (Preempted, after a checkpoint) on a signal to any process. True after the last step."""
        tc, done = self.cfg.train, step + 1
        self.add(logs)
        if done % tc.log_every == 0 or done == tc.steps:
            self.write_record(step)
        self.bar.update(1)
        if done == tc.steps:
            return True  # the final checkpoint is finish()'s
        if self.world > 1:  # every process stops after the same step (any of them may have been signalled)
            flags = distributed.all_reduce_mean([1.0 if signame else 0.0], self.device)
            signame = signame or ("a signal to another process" if flags[0] > 0 else None)
        timed = tc.ckpt_minutes and time.monotonic() - self.last_save >= 60 * tc.ckpt_minutes
        if self.main and tc.ckpt_every and done % tc.ckpt_every == 0:
            self.save(checkpoint_path(self.run_dir, done), done)
        elif self.main and (signame or timed):
            self.save(resume_path(self.run_dir, done), done)
        if signame:
            distributed.barrier()  # the checkpoint exists when any process stops
            raise Preempted(signame, done, latest_checkpoint(self.run_dir) or self.run_dir)
        return False

    def finish(self) -> Path:
        """The final checkpoint, as checkpoints/step-<steps>.pt and model.pt."""
        tc = self.cfg.train
        self.bar.close()
        if self.main:
            self.check_weights(tc.steps)
            self.track_samples(tc.steps)
            self.tracker.close()
            final = train_state(self.method, self.optimizers, self.scalers, tc.steps, self.cfg, self.dataset)
            save_checkpoint(checkpoint_path(self.run_dir, tc.steps), final)
            save_checkpoint(self.run_dir / "model.pt", final)
            prune_checkpoints(self.run_dir, tc.keep_checkpoints)  # and no resume-only points left in a finished run
        distributed.barrier()  # model.pt exists when any process returns
        return self.run_dir / "model.pt"
