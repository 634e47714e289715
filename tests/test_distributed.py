"""Data-parallel training (act.distributed): two gloo processes on the CPU, global batch, gradient sync."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from act.errors import ConfigError
from act.rng import per_step_generator, rank_step_generator
from act.train import StepBatches
from test_training import toy_cfg

WORLD = 2
STEPS = 6
BATCH = 16
SPAWN_TIMEOUT_S = 120  # a rank stuck in a collective must fail the test, not hang it


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _act_cfg(**extra):
    return toy_cfg("act", steps=STEPS, **{"method.distance": "l2", "method.r1_interval": 2, **extra})


def _launch(rank: int, port: int) -> None:
    """The environment torchrun gives each worker; act.train joins the group from it."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE=str(WORLD))


def _worker(rank: int, out: str, ports: list) -> None:
    import torch.distributed as dist

    import act.train as T
    from act import distributed

    torch.set_num_threads(1)
    out = Path(out)
    result = {}

    # gradient all-reduce and weight broadcast, on a group of our own
    _launch(rank, ports[0])
    dist.init_process_group("gloo")
    lin = nn.Linear(3, 2)
    for i, p in enumerate(lin.parameters()):
        p.grad = torch.full_like(p, float(rank + 1) * (i + 1))  # rank 0: 1, 2; rank 1: 2, 4
    distributed.all_reduce_gradients(lin.parameters())
    result["grads"] = [p.grad.tolist() for p in lin.parameters()]
    with torch.no_grad():
        lin.weight.fill_(float(rank))
    distributed.broadcast_module(lin)
    result["broadcast_weight"] = lin.weight.flatten().tolist()
    result["mean"] = distributed.all_reduce_mean([float(rank), 10.0 * rank], torch.device("cpu"))
    dist.destroy_process_group()

    built = {}
    build_method = T.build_method

    def capture(*args, **kwargs):  # keep this process's method to compare weights across ranks
        built["method"] = build_method(*args, **kwargs)
        return built["method"]

    T.build_method = capture

    def run(name, cfg, port, resume=None):
        _launch(rank, port)
        T.train(cfg, out / name, resume=resume, progress=False)
        m = built["method"]
        torch.save({"networks": {k: v.state_dict() for k, v in m.networks.items()},
                    "averaged": {k: v.state_dict() for k, v in m.averaged.items()},
                    "world_size": getattr(m.phases[-1].after, "world_size", None)}, out / f"{name}_rank{rank}.pt")

    run("ct", toy_cfg(steps=STEPS), ports[1])
    run("act", _act_cfg(), ports[2])
    if rank == 0:  # a resumed two-process run continues the uninterrupted one exactly
        (out / "resumed" / "checkpoints").mkdir(parents=True)
        shutil.copy(out / "ct" / "checkpoints" / "step-0000003.pt", out / "resumed" / "checkpoints")
    run("resumed", toy_cfg(steps=STEPS), ports[3], resume="auto")

    _launch(rank, ports[4])
    try:
        T.train(toy_cfg(steps=STEPS, **{"train.batch_size": 15}), out / "odd", progress=False)
    except ConfigError as e:
        result["odd_error"] = str(e)
    result["group_left"] = not distributed.is_distributed()
    (out / f"result_rank{rank}.json").write_text(json.dumps(result))


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    """One spawn of two processes that runs every distributed scenario; the tests read its files."""
    import torch.multiprocessing as mp

    out = tmp_path_factory.mktemp("ddp")
    t0 = time.perf_counter()
    ctx = mp.spawn(_worker, args=(str(out), [_free_port() for _ in range(5)]), nprocs=WORLD, join=False)
    while not ctx.join(timeout=1):
        if time.perf_counter() - t0 > SPAWN_TIMEOUT_S:
            for p in ctx.processes:
                p.kill()
            pytest.fail(f"distributed workers still running after {SPAWN_TIMEOUT_S} s")
    return out, [json.loads((out / f"result_rank{r}.json").read_text()) for r in range(WORLD)]


def _load(out, name, rank):
    return torch.load(out / f"{name}_rank{rank}.pt", weights_only=True)


def _assert_same(a, b):
    for group in ("networks", "averaged"):
        assert a[group].keys() == b[group].keys()
        for net in a[group]:
            for k in a[group][net]:
                assert torch.equal(a[group][net][k], b[group][net][k]), (group, net, k)


def test_gradient_all_reduce_averages(two_ranks):
    _, results = two_ranks
    for r in results:
        weight, bias = r["grads"]
        assert weight == [[1.5] * 3] * 2 and bias == [3.0] * 2  # means of 1, 2 and of 2, 4
        assert r["broadcast_weight"] == [0.0] * 6  # rank 0's weights everywhere
        assert r["mean"] == [0.5, 5.0]


def test_ct_two_processes_stay_identical_and_log_the_global_batch(two_ranks):
    out, _ = two_ranks
    _assert_same(_load(out, "ct", 0), _load(out, "ct", 1))
    run = out / "ct"
    assert (run / "model.pt").is_file() and (run / "config.yaml").is_file()
    log = [json.loads(l) for l in (run / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [2, 4, 6]  # one writer: each interval once
    assert log[-1]["images_seen"] == STEPS * BATCH
    info = json.loads((run / "run.json").read_text())
    assert info["world_size"] == WORLD and info["backend"] == "gloo" and info["batch_size_per_process"] == BATCH // WORLD
    final = torch.load(run / "model.pt", weights_only=True)["networks"]["generator"]
    mine = _load(out, "ct", 0)["networks"]["generator"]
    assert all(torch.equal(final[k], mine[k]) for k in final)


def test_act_two_processes_sync_both_phases(two_ranks):
    out, _ = two_ranks
    a, b = _load(out, "act", 0), _load(out, "act", 1)
    assert set(a["networks"]) == {"generator", "discriminator"}
    _assert_same(a, b)
    assert a["world_size"] == WORLD
    log = [json.loads(l) for l in (out / "act" / "train_log.jsonl").read_text().splitlines()]
    assert log[-1]["images_seen"] == STEPS * 2 * BATCH  # ACT loads 2B per step
    assert "r1" in log[-1] and "loss_d_real" in log[-1]


def test_two_process_resume_continues_exactly(two_ranks):
    out, _ = two_ranks
    _assert_same(_load(out, "resumed", 0), _load(out, "resumed", 1))
    _assert_same(_load(out, "ct", 0), _load(out, "resumed", 0))
    assert json.loads((out / "resumed" / "run.json").read_text())["start_step"] == 3
    # rank 0's running log sums alone are not the global batch's: the first record after the resume
    # (step 4, resumed at 3) averages step 4 only, and says so
    log = {r["step"]: r for r in map(json.loads, (out / "resumed" / "train_log.jsonl").read_text().splitlines())}
    assert log[4]["steps_averaged"] == 1 and "steps_averaged" not in log[6]


def test_batch_not_divisible_by_world_size_is_a_clear_error(two_ranks):
    out, results = two_ranks
    for r in results:
        assert "train.batch_size=15" in r["odd_error"] and "over the 2 process(es)" in r["odd_error"]
        assert r["group_left"]  # train() left the group it joined, error or not
    assert not (out / "odd" / "model.pt").exists()


def test_rank_slices_make_up_the_single_process_batch():
    class Images:
        def __len__(self):
            return 10

        def get_batch(self, idx):
            return torch.arange(16.0).repeat(len(idx), 1, 1, 1) + 100 * idx[:, None, None, None], idx  # (B, 1, 1, 16)

    whole = StepBatches(Images(), batch=8, seed=0, start=0, hflip=True)
    for step in range(3):  # step 1 straddles an epoch boundary
        parts = [StepBatches(Images(), 8, 0, 0, True, rank=r, world=4)[step] for r in range(4)]
        x, y = whole[step]
        assert torch.equal(torch.cat([p[0] for p in parts]), x) and torch.equal(torch.cat([p[1] for p in parts]), y)
    assert any(not torch.equal(x[i, ..., 0], 100.0 * y[i]) for i in range(8))  # some images are flipped
    with pytest.raises(ValueError, match="does not split"):
        StepBatches(Images(), 6, 0, 0, False, rank=0, world=4)


def test_rank_generators():
    cpu = torch.device("cpu")
    draw = lambda g: torch.rand(4, generator=g)
    assert torch.equal(draw(rank_step_generator(0, 5, cpu, 0)), draw(per_step_generator(0, 5, cpu)))
    assert torch.equal(draw(rank_step_generator(0, 5, cpu, 1)), draw(rank_step_generator(0, 5, cpu, 1)))
    seen = [draw(rank_step_generator(0, s, cpu, r)) for s in range(3) for r in range(4)]
    assert len({tuple(v.tolist()) for v in seen}) == len(seen)
    # the CPU generator keeps 32 bits of a seed: method seeds of every (step, rank) and the data seeds stay apart
    low = lambda g: g.initial_seed() % 2**32
    seeds = [low(rank_step_generator(7, s, cpu, r)) for s in (0, 1, 2**20, 2**21 - 1) for r in (0, 1, 2, 127)]
    seeds += [low(per_step_generator(7, s, cpu, stream=1)) for s in (0, 1, 2**21 - 1)]
    assert len(set(seeds)) == len(seeds)


def test_torchrun_cli(tmp_path):
    """The documented launch: torchrun ... -m act.cli train."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={WORLD}", "-m", "act.cli",
           "train", "-o", str(tmp_path / "run"), "--no-progress"]
    for s in ("method.name=ct", "method.distance=l2", "data.name=toy2d", "data.options={kind: gaussian_mixture, n: 512, seed: 0}",
              "model.preset=toy2d", "train.steps=4", f"train.batch_size={BATCH}", "train.log_every=2", "train.ckpt_every=0",
              "train.device=cpu"):
        cmd += ["--set", s]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=SPAWN_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "run" / "model.pt").is_file()
    assert json.loads((tmp_path / "run" / "run.json").read_text())["world_size"] == WORLD
    log = [json.loads(l) for l in (tmp_path / "run" / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [2, 4] and log[-1]["images_seen"] == 4 * BATCH
