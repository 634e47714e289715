#!/usr/bin/env bash
# Installs this checkout into the jobs' environment of act.yaml. Snakemake runs it once, right
# after creating that environment (snakemake/deployment/conda.py, Env.create): it copies it to
# <conda-prefix>/<hash>.post-deploy.sh and runs
#   source <conda>/bin/activate '<conda-prefix>/<hash>'; /usr/bin/env bash <that copy>
# from its own working directory. So $CONDA_PREFIX is the new environment, $0 lies in the
# conda prefix (by default <working directory>/.snakemake/conda), and $PWD is Snakemake's
# working directory (the checkout, as the README runs it).
#
# The checkout: $ACT_BENCH_ROOT if set, else the first folder holding act-bench's
# pyproject.toml at or above $PWD, else at or above this script. Editable, so jobs run the
# checkout's current code (the environment's hash covers act.yaml and this script, not the
# code); --no-deps, as act.yaml lists the dependencies; offline (setuptools comes from act.yaml).
# A --conda-prefix shared by several checkouts gives them one environment (same hash), which
# runs the code of the checkout that built it: give each checkout its own prefix.
set -euo pipefail

is_checkout() { [ -f "$1/pyproject.toml" ] && grep -q '^name = "act-bench"' "$1/pyproject.toml"; }

find_up() {
    local d
    d=$(cd "$1" 2>/dev/null && pwd -P) || return 1
    while :; do
        if is_checkout "$d"; then echo "$d"; return 0; fi
        [ "$d" = / ] && return 1
        d=$(dirname "$d")
    done
}

if [ -n "${ACT_BENCH_ROOT:-}" ]; then
    if ! is_checkout "$ACT_BENCH_ROOT"; then
        echo "act.post-deploy.sh: ACT_BENCH_ROOT=$ACT_BENCH_ROOT holds no act-bench pyproject.toml" >&2
        exit 1
    fi
    root=$(cd "$ACT_BENCH_ROOT" && pwd -P)
elif ! root=$(find_up "$PWD" || find_up "$(dirname "$0")"); then
    echo "act.post-deploy.sh: no act-bench checkout at or above $PWD or $(dirname "$0");" \
         "run snakemake from the checkout or set ACT_BENCH_ROOT=<checkout>" >&2
    exit 1
fi

python="${CONDA_PREFIX:?act.post-deploy.sh runs inside the activated environment (Snakemake does that)}/bin/python"
echo "act.post-deploy.sh: installing $root into $CONDA_PREFIX"
"$python" -m pip install --quiet --no-deps --no-build-isolation --no-index --editable "$root"
(cd "$CONDA_PREFIX" && "$python" -c "import act, baselines")  # from the environment, not from $PWD
