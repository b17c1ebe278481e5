"""Which stage-1 decoder an asset was made with: a reference that can rebuild it.

An asset records the stage-1 *source* it was decoded with (a stage-1 run directory, whose
newest checkpoint is used, or a checkpoint-like directory holding ``model_config.json`` and
``model.safetensors``, such as a stage-2 run's pinned ``RUN/stage1``), the resolved
checkpoint directory, its training step, the sha256 of its model config (canonical JSON)
and of its weights file (``same_decoder`` compares two assets' decoders by it).
``load_decoder`` reloads exactly that checkpoint when it still exists, else the run's
newest one if its config hash matches (the weights may then be newer).
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

from gina3d.atomic import sha256_file
from gina3d.errors import Gina3dError
from gina3d.training.checkpoint import load_stage1_checkpoint, stage1_config


def config_hash(model_config: dict) -> str:
    """sha256 of a model config dict as canonical JSON (sorted keys)."""
    import hashlib

    text = json.dumps(model_config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def stage1_checkpoint(source: str | os.PathLike) -> Path:
    """The checkpoint directory of a stage-1 source: a stage-1 run (its newest checkpoint)
    or a checkpoint-like directory holding model_config.json (e.g. a stage-2 run's pinned
    ``RUN/stage1``)."""
    from gina3d.training.checkpoint import latest_checkpoint

    source = Path(source)
    if (source / "model_config.json").exists():
        return source
    if not source.is_dir():
        raise Gina3dError(f"{source}: no such run directory")
    ckpt = latest_checkpoint(source)
    if ckpt is None:
        raise Gina3dError(f"{source}: no checkpoint yet (train stage 1 first)")
    return ckpt


def decoder_reference(stage1_source: str | os.PathLike, model) -> dict:
    """What to reload the decoder from: run, checkpoint directory, step, config hash.

    ``stage1_source``: see ``stage1_checkpoint``. Raises Gina3dError when there is no
    stage-1 checkpoint or when ``model``'s config is not the checkpoint's.
    """
    from gina3d.config import from_dict, to_dict
    from gina3d.models.config import ModelConfig

    ckpt = stage1_checkpoint(stage1_source)
    saved = stage1_config(ckpt)["model"]
    digest = config_hash(saved)  # of the config as the checkpoint stores it
    # compared with defaults filled in: a checkpoint written before a config field existed
    # stores no value for it, and the model built from it has the default
    if to_dict(from_dict(ModelConfig, saved)) != to_dict(model.cfg):
        raise Gina3dError(f"{ckpt}: the stage-1 model given is not this checkpoint's model")
    step = None
    if (ckpt / "state.json").exists():
        step = json.loads((ckpt / "state.json").read_text()).get("step")
    run = Path(stage1_source)
    if run.resolve() == ckpt.resolve() and ckpt.parent.name == "checkpoints":
        run = ckpt.parent.parent  # a run's own checkpoint: record the run
    return {
        "run": str(run.resolve()),
        "checkpoint": str(ckpt.resolve()),
        "step": None if step is None else int(step),
        "model_config_sha256": digest,
        "weights_sha256": weights_hash(ckpt / "model.safetensors"),
    }


def weights_hash(path: Path) -> str | None:
    """sha256 of a weights file (None when it does not exist), computed once per file
    version: sampling many assets from one checkpoint hashes it once."""
    if not path.exists():
        return None
    st = path.stat()
    return _hash_of(str(path.resolve()), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=16)
def _hash_of(path: str, mtime_ns: int, size: int) -> str:
    return sha256_file(path)


def same_decoder(a: dict, b: dict) -> bool:
    """Whether two assets' ``decoder`` records name the same stage-1 weights: equal weight
    hashes, or for assets written before those were recorded, the same checkpoint and step
    (and, always, equal config hashes)."""
    if a.get("model_config_sha256") != b.get("model_config_sha256"):
        return False
    if a.get("weights_sha256") and b.get("weights_sha256"):
        return a["weights_sha256"] == b["weights_sha256"]
    return (a.get("checkpoint"), a.get("step")) == (b.get("checkpoint"), b.get("step"))


def load_decoder(asset, device: str = "cpu"):
    """The stage-1 model (eval mode) an asset was decoded with, and its checkpoint dir.

    Loads the recorded checkpoint directory when it still exists, else the newest
    checkpoint of the recorded run provided its model-config hash matches.
    """
    ref = asset.decoder
    ckpt = Path(str(ref.get("checkpoint", "")))
    if not (ckpt / "model_config.json").exists():
        run = Path(str(ref.get("run", "")))
        if not run.exists():
            raise Gina3dError(f"{asset.path}: its stage-1 run {run} does not exist")
        ckpt = stage1_checkpoint(run)
    saved = stage1_config(ckpt)
    if config_hash(saved["model"]) != ref.get("model_config_sha256"):
        raise Gina3dError(f"{ckpt}: model config differs from the one asset {asset.path} used")
    model, _ = load_stage1_checkpoint(ckpt, device, saved)
    return model, ckpt
