#!/usr/bin/env bash
# One-time set-up on a fresh machine: the Fashion-MNIST Debian package (the
# embedded default's data, no download), a virtual environment in .venv with
# the pinned torch/torchvision, and this project with its dev and workflow extras.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! dpkg -s dataset-fashion-mnist >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq dataset-fashion-mnist; } >/dev/null 2>&1; then
        echo "warning: could not install dataset-fashion-mnist; Fashion-MNIST will need data.root or data.download=true" >&2
    fi
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# The versions CI tests with (pip takes them from the local disk where they lie there).
.venv/bin/python -m pip install -q "torch==${TORCH_VERSION:-2.14.1}" "torchvision==${TORCHVISION_VERSION:-0.29.1}"
.venv/bin/python -m pip install -q -e ".[dev]"
echo "set-up done: activate with  . .venv/bin/activate"
