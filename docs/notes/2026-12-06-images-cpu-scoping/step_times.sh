#!/bin/bash
# Seconds per training step at 16 px Fashion-MNIST, one thread, from the train log (steps 25 -> 100).
cd "$(git rev-parse --show-toplevel)" && . .venv/bin/activate
export OMP_NUM_THREADS=1
run() {  # name config batch channels [extra...]
  local name=$1 cfg=$2 b=$3 ch=$4; shift 4
  rm -rf /tmp/s16_$name
  act train -c $cfg -o /tmp/s16_$name --no-progress --set train.steps=100 --set train.ckpt_every=100 --set train.log_every=25 \
    --set train.batch_size=$b --set data.resolution=16 --set model.overrides.sample_size=16 \
    --set "model.overrides.block_out_channels=[$ch]" --set train.device=cpu "$@" > /tmp/s16_$name.log 2>&1 || { echo "$name failed: $(tail -1 /tmp/s16_$name.log)"; return; }
  python - "$name" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(f"/tmp/s16_{sys.argv[1]}/train_log.jsonl")]
a, b = rows[0], rows[-1]
print(f"{sys.argv[1]}: {(b['wall_time'] - a['wall_time']) / (b['step'] - a['step']) * 1e3:.0f} ms/step")
PY
}
run ct_tiny_b32 config/train/ct_fashion_mnist_tiny.yaml 32 32,64,64
run ct_micro_b32 config/train/ct_fashion_mnist_tiny.yaml 32 16,32,32
run ct_micro_b128 config/train/ct_fashion_mnist_tiny.yaml 128 16,32,32
run act_micro_b32 config/train/act_fashion_mnist_tiny.yaml 32 16,32,32 --set model.discriminator_overrides.sample_size=16 "--set" "model.discriminator_overrides.block_out_channels=[16,32,32]"
