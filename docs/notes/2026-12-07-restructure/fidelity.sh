#!/usr/bin/env bash
# Fixed-seed behaviour of `act train` / `act sample`, for before/after comparisons of a restructuring.
# Usage: bash fidelity.sh OUT   (from the repository root, the project's environment active)
# Writes OUT/<run>/ (train_log.jsonl, samples of 1 and 2 steps) and OUT/digest.txt: one line per file,
# its sha256; train logs are hashed without wall_time (a measurement, not behaviour).
set -euo pipefail
out=${1:?usage: fidelity.sh OUT}
rm -rf "$out"; mkdir -p "$out"
fm="--set data.name=fashion_mnist --set train.steps=12 --set train.log_every=3 --set train.ckpt_every=6"
toy="--set train.steps=60 --set train.log_every=10 --set train.ckpt_every=30"
run() {  # name config overrides...
  local name=$1 cfg=$2; shift 2
  python -m act.cli train -c "$cfg" -o "$out/$name" --no-progress "$@" >/dev/null 2>"$out/$name.err"
  for s in 1 2; do
    python -m act.cli sample --checkpoint "$out/$name/model.pt" -o "$out/$name/s$s" --num 64 --steps $s --device cpu --no-progress >/dev/null 2>&1
  done
}
run ct_toy config/train/ct_toy2d.yaml $toy
run ict_toy config/train/ict_toy2d.yaml $toy
run act_toy config/train/act_toy2d.yaml $toy
run ct_fm config/train/ct_fashion_mnist_tiny.yaml $fm
run ict_fm config/train/ict_fashion_mnist_tiny.yaml $fm
run act_fm config/train/act_fashion_mnist_tiny.yaml $fm --set method.r1_interval=2
run actaug_fm config/train/act_fashion_mnist_tiny.yaml $fm --set method.r1_interval=2 --set method.augment=true \
  --set method.augment_threshold=0.0
run actaug_sign_fm config/train/act_fashion_mnist_tiny.yaml $fm --set method.r1_interval=2 --set method.augment=true \
  --set method.augment_mode=ada_sign
# A resume: the ACT-Aug run again, its final checkpoint and model removed, continued from step 6.
cp -r "$out/actaug_fm" "$out/actaug_fm_resumed"
rm -rf "$out/actaug_fm_resumed/model.pt" "$out/actaug_fm_resumed/checkpoints/step-00000012.pt" "$out/actaug_fm_resumed/s1" "$out/actaug_fm_resumed/s2"
run actaug_fm_resumed config/train/act_fashion_mnist_tiny.yaml $fm --set method.r1_interval=2 --set method.augment=true \
  --set method.augment_threshold=0.0
grep -h "resuming" "$out/actaug_fm_resumed.err" || { echo "the resume did not resume"; exit 1; }
cd "$out"
for f in */train_log.jsonl; do
  printf '%s  %s\n' "$(python -c 'import json,sys; [print(json.dumps({k: v for k, v in json.loads(l).items() if k != "wall_time"})) for l in open(sys.argv[1])]' "$f" | sha256sum | cut -d' ' -f1)" "$f"
done > digest.txt
sha256sum */s?/samples.npz >> digest.txt
cat digest.txt
