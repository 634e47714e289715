#!/usr/bin/env bash
# The CUDA paths of act-bench in one short run on one GPU: per-step cost and throughput
# of CT and ACT on the official CIFAR-10 presets in fp32 / bf16 / fp16 autocast and with
# torch.compile, exact resume on CUDA, a torchrun (NCCL) training run, and sampling speed.
# Needs no data or weights (synthetic images; l2 distance). Writes JSON/logs under $OUT.
# Usage (repo root, on a GPU machine):  OUT=/tmp/gpu bash scripts/gpu_check.sh
set -uo pipefail
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
A="$PY -m act.cli"
DEV=${GPU_CHECK_DEVICE:-cuda}
STEPS=${GPU_CHECK_STEPS:-10}
B=${GPU_CHECK_BATCH:-128}
PRESET=${GPU_CHECK_PRESET:-cifar10}
T0=$(date +%s)
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU')"

echo "== 1. cost per step: $PRESET presets, batch $B"
for m in ct act; do
  for prec in fp32 bf16 fp16; do
    $A cost --synthetic --device "$DEV" --steps "$STEPS" --warmup 3 -o "$OUT/cost_${m}_${prec}.json" \
      --set method.name=$m --set method.distance=l2 --set model.preset=$PRESET --set model.discriminator=$PRESET \
      --set train.batch_size=$B --set train.precision=$prec --set train.tf32=true > "$OUT/cost_${m}_${prec}.log" 2>&1 \
      || { echo "FAILED cost $m $prec"; tail -5 "$OUT/cost_${m}_${prec}.log"; }
  done
done
echo "== 2. torch.compile (bf16)"
for m in ${GPU_CHECK_COMPILE:-ct act}; do
  $A cost --synthetic --device "$DEV" --steps "$STEPS" --warmup 3 -o "$OUT/cost_${m}_bf16_compile.json" \
    --set method.name=$m --set method.distance=l2 --set model.preset=$PRESET --set model.discriminator=$PRESET \
    --set train.batch_size=$B --set train.precision=bf16 --set train.tf32=true --set train.compile=true \
    > "$OUT/cost_${m}_bf16_compile.log" 2>&1 || { echo "FAILED compile $m"; tail -5 "$OUT/cost_${m}_bf16_compile.log"; }
done
$PY - "$OUT" <<'PY'
import glob, json, os, sys
rows = []
for p in sorted(glob.glob(os.path.join(sys.argv[1], "cost_*.json"))):
    r = json.load(open(p))
    rows.append((r["method"], r["precision"] + ("+compile" if r["compile"] else ""), r["seconds_per_step"] * 1e3,
                 r["images_per_second"], r["flops_per_step"] / r["seconds_per_step"] / 1e12, r["peak_memory_gib"] or 0, r["warmup_seconds"]))
print(f"{'method':6} {'precision':14} {'ms/step':>9} {'img/s':>9} {'TFLOP/s':>8} {'peak GiB':>8} {'warmup s':>8}")
for r in rows:
    print(f"{r[0]:6} {r[1]:14} {r[2]:9.1f} {r[3]:9.0f} {r[4]:8.1f} {r[5]:8.2f} {r[6]:8.1f}")
PY

echo "== 3. exact resume on $DEV (tiny ACT, bf16)"
RUN="$OUT/resume"; rm -rf "$RUN"
COMMON=(--set method.name=act --set method.distance=l2 --set model.preset=tiny --set model.discriminator=tiny
        --set data.name=synthetic --set data.resolution=32 --set 'data.options={channels: 1, n: 512}'
        --set train.batch_size=32 --set train.steps=6 --set train.ckpt_every=3 --set train.device=$DEV
        --set train.precision=bf16 --set method.r1_interval=2 --no-progress)
$A train -o "$RUN/a" "${COMMON[@]}" > "$OUT/resume.log" 2>&1 && mkdir -p "$RUN/b/checkpoints" \
  && cp "$RUN/a/checkpoints/step-0000003.pt" "$RUN/b/checkpoints/" && $A train -o "$RUN/b" "${COMMON[@]}" >> "$OUT/resume.log" 2>&1 \
  && $PY - "$RUN" <<'PY' || { echo "FAILED resume"; tail -5 "$OUT/resume.log"; }
import sys, torch
a = torch.load(sys.argv[1] + "/a/model.pt", weights_only=True)
b = torch.load(sys.argv[1] + "/b/model.pt", weights_only=True)
same = all(torch.equal(a["networks"][n][k], b["networks"][n][k]) for n in a["networks"] for k in a["networks"][n])
print("resume bit-exact:", same)
PY

echo "== 4. torchrun + NCCL (1 process), tiny ACT, 40 steps, then sampling speed"
TR="$OUT/torchrun"; rm -rf "$TR"
$PY -m torch.distributed.run --standalone --nproc_per_node=1 -m act.cli train -o "$TR" \
  --set method.name=act --set method.distance=l2 --set model.preset=tiny --set model.discriminator=tiny \
  --set data.name=synthetic --set data.resolution=32 --set 'data.options={channels: 1, n: 2048}' \
  --set train.batch_size=64 --set train.steps=40 --set train.log_every=20 --set train.device=$DEV --no-progress \
  > "$OUT/torchrun.log" 2>&1 && grep -o '"world_size": [0-9]*\|"backend": "[a-z]*"' "$TR/run.json" && tail -1 "$TR/train_log.jsonl" \
  || { echo "FAILED torchrun"; tail -8 "$OUT/torchrun.log"; }
$PY - "$TR/model.pt" "$DEV" <<'PY' || echo "FAILED sample"
import sys, time, torch
from act.sampling import generate
from act.checkpoint import load_networks
net, cfg, state = load_networks(sys.argv[1], None, sys.argv[2])
for n in (2000, 20000):
    t = time.perf_counter()
    x, _ = generate(net, n, tuple(state["data_shape"]), [80.0], batch_size=2000, device=torch.device(sys.argv[2]), progress=False)
    print(f"one-step sampling: {n} images in {time.perf_counter() - t:.2f} s (per-image seeded noise included)")
PY
echo "total $(( $(date +%s) - T0 )) s"
