#!/usr/bin/env bash
# One-time set-up on a fresh machine: the Fashion-MNIST Debian package (the
# embedded default's data, no download), a virtual environment in .venv with
# the pinned torch/torchvision, and this project with its dev and workflow extras.
# The pins are pyproject.toml's [tool.act-bench.pins]; TORCH_VERSION, TORCHVISION_VERSION
# and PYTHON override them. `bash scripts/setup.sh --print-pins` prints them and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

pin() {  # the value of KEY in pyproject.toml's [tool.act-bench.pins] table
    sed -n '/^\[tool\.act-bench\.pins\]/,/^\[/s/^'"$1"' *= *"\([^"]*\)".*/\1/p' pyproject.toml
}
PYTHON_PIN=$(pin python)
TORCH_VERSION=${TORCH_VERSION:-$(pin torch)}
TORCHVISION_VERSION=${TORCHVISION_VERSION:-$(pin torchvision)}
if [ -z "$PYTHON_PIN" ] || [ -z "$TORCH_VERSION" ] || [ -z "$TORCHVISION_VERSION" ]; then
    echo "setup.sh: no python/torch/torchvision in pyproject.toml's [tool.act-bench.pins]" >&2
    exit 1
fi
if [ "${1:-}" = "--print-pins" ]; then
    echo "python=$PYTHON_PIN torch=$TORCH_VERSION torchvision=$TORCHVISION_VERSION"
    exit 0
fi

if ! dpkg -s dataset-fashion-mnist >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq dataset-fashion-mnist; } >/dev/null 2>&1; then
        echo "warning: could not install dataset-fashion-mnist; Fashion-MNIST will need data.root or data.download=true" >&2
    fi
fi

# python$PYTHON_PIN where there is one, else python3 (any python >= 3.10 works).
PY=${PYTHON:-$(command -v "python$PYTHON_PIN" || echo python3)}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
HAVE=$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
[ "$HAVE" = "$PYTHON_PIN" ] || echo "warning: .venv has python $HAVE; CI tests with $PYTHON_PIN" >&2
.venv/bin/python -m pip install -q --upgrade pip
# The versions CI tests with (pip takes them from the local disk where they lie there).
.venv/bin/python -m pip install -q "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
.venv/bin/python -m pip install -q -e ".[dev]"
echo "set-up done: activate with  . .venv/bin/activate"
