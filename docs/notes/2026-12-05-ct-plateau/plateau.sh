#!/usr/bin/env bash
# CT plateau study on the 8-Gaussian mixture (toy2d_small, batch 128, seeds 0-2)
set -u
. /work/main/.venv/bin/activate
cd /work/main
OUT=/tmp/plateau/runs
one() {  # name seed steps extra-sets...
  local name=$1 seed=$2 steps=$3; shift 3
  local d=$OUT/$name/s$seed
  [ -f $d/model.pt ] && return
  local ck=$((steps/8))
  OMP_NUM_THREADS=1 act train -c config/train/ct_toy2d.yaml -o $d --set model.preset=toy2d_small --set train.steps=$steps \
    --set train.batch_size=128 --set train.seed=$seed --set train.ckpt_every=$ck --set train.log_every=250 --no-progress "$@" > $d.log 2>&1
  OMP_NUM_THREADS=1 act score-run --checkpoint $d/checkpoints/step-*.pt $d/model.pt --nfe 1 2 --num 1000 --batch-size 1000 -o $d/score --no-progress >> $d.log 2>&1
}
export -f one; export OUT
jobs=()
for s in 0 1 2; do
  jobs+=("base $s 20000")
  jobs+=("online $s 20000 --set method.target=online")
  jobs+=("s1280 $s 20000 --set method.s1=1280")
  jobs+=("long $s 40000")
done
mkdir -p $OUT/{base,online,s1280,long}
printf '%s\n' "${jobs[@]}" | xargs -P 2 -I{} bash -c 'one {}'
echo done

# Added after the first four variants (same function `one`, run the same way):
#   one s1280online $s 20000 --set method.s1=1280 --set method.target=online
#   one long80 $s 80000
#   one mu05 $s 20000 --set method.mu0=0.5
