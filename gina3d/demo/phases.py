"""The seven phases of ``gina3d demo``: what each one runs and how its progress is polled.

``DemoPhases`` is mixed into ``gina3d.demo.pipeline.Demo``, which provides the directories
(``out``, ``data``, ``run1``, ``run2``, ``assets``, ``logs``), the settings ``s``, the device,
``threads`` and ``call`` (one ``gina3d`` command in-process, its output to the phase's log).
Phase ``X`` is the method ``_X`` (returns a one-line summary); ``_poll_X``, when present, gives
(fraction done, note) for the progress bar.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from gina3d.assets.mesh_preview import render_mesh_preview
from gina3d.atomic import atomic_write_json as write_json
from gina3d.demo.console import logged
from gina3d.demo.records import fmt_metrics, last_step
from gina3d.demo.report_page import write_demo_report
from gina3d.demo.settings import SampleSet
from gina3d.training.run_log import read_metrics


class DemoPhases:
    """Phase bodies and progress polls (see the module docstring for what they rely on)."""

    def _synth(self) -> str:
        from gina3d.data.contact_sheet import write_contact_sheet
        from gina3d.data.stats import dataset_stats

        workers = str(self.args.threads or 2)
        self.call(
            "synth",
            "synth",
            ["--out", str(self.data), "--scenes", str(self.s.scenes), "--seed", str(self.s.seed),
             "--frames", str(self.s.frames), "--resolution", str(self.s.resolution),
             "--workers", workers],
        )  # fmt: skip
        with logged(self.logs / "synth.log"):
            stats = dataset_stats(self.data)
            write_contact_sheet(self.data, self.out / "contact_sheet.png", count=24, seed=0)
        write_json(self.out / "dataset_stats.json", stats)
        classes = ", ".join(f"{v} {k}" for k, v in sorted(stats["per_class"].items()))
        splits = stats["per_split"]
        return (
            f"{stats['num_patches']} patches ({classes}; train {splits.get('train', 0)}, "
            f"test {splits.get('test', 0)}) from {self.s.scenes} scenes"
        )

    def _poll_synth(self) -> tuple[float, str]:
        scenes = 0
        for sidecar in (self.data / "shards").glob("*.json"):
            scenes += len(json.loads(sidecar.read_text()).get("scenes", []))
        return scenes / self.s.scenes, f"{scenes}/{self.s.scenes} scenes"

    def _train(self, stage: str, run_dir: Path, minutes: float | None, steps, preset) -> str:
        from gina3d.training.checkpoint import latest_checkpoint, load_state

        argv = ["stage1", "--data", str(self.data)] if stage == "stage1" else [
            "stage2", "--run", str(self.run1)]  # fmt: skip
        argv += ["--preset", preset, "--out", str(run_dir), "--device", self.device, *self.threads]
        if steps is not None:
            argv += ["--steps", str(steps)]
        if stage == "stage1":
            argv += [a for kv in self.s.stage1_set for a in ("--set", kv)]
        latest = latest_checkpoint(run_dir) if run_dir.exists() else None
        state = load_state(latest) if latest is not None else None
        if minutes is not None:
            left = minutes - (state["train_seconds"] / 60 if state else 0.0)
            argv += ["--time-budget", f"{max(left, 0.05):.3f}"]
        if state is None or minutes is None or left > 0.05:
            self.call(stage, "train", argv)
            state = load_state(latest_checkpoint(run_dir))
        rows = read_metrics(run_dir)
        last = rows[-1] if rows else {}
        trained = f"step {state['step']}, {state['train_seconds'] / 60:.1f} min trained"
        if stage == "stage1":
            return trained + fmt_metrics(last, ("rgb_l1", "psnr", "vq_perplexity"))
        return trained + fmt_metrics(last, ("loss", "masked_acc"))

    def _train_poll(self, run_dir: Path, minutes, steps) -> tuple[float, str]:
        step = last_step(run_dir)
        note = f"step {step}" if step is not None else "starting"
        if steps is not None:
            return (step or 0) / steps, note
        from gina3d.training.checkpoint import latest_checkpoint, load_state

        if not hasattr(self, "_train_t0") or self._train_t0[0] != run_dir:
            latest = latest_checkpoint(run_dir) if run_dir.exists() else None
            spent = load_state(latest)["train_seconds"] if latest is not None else 0.0
            self._train_t0 = (run_dir, time.time() - spent)
        return (time.time() - self._train_t0[1]) / (minutes * 60), note

    def _stage1(self) -> str:
        s = self.s
        return self._train("stage1", self.run1, s.stage1_minutes, s.stage1_steps, s.stage1_preset)

    def _poll_stage1(self) -> tuple[float, str]:
        return self._train_poll(self.run1, self.s.stage1_minutes, self.s.stage1_steps)

    def _encode(self) -> str:
        self.call("encode", "encode", ["--run", str(self.run1), "--device", self.device,
                                       *self.threads])  # fmt: skip
        index = json.loads((self.run1 / "tokens" / "index.json").read_text())
        counts = ", ".join(f"{k} {v['rows']}" for k, v in index["splits"].items())
        grid = f"T = {index.get('num_tokens', '?')}, K = {index.get('codebook_size', '?')}"
        return f"token grids of step {index['step']} ({counts}), {grid}"

    def _stage2(self) -> str:
        s = self.s
        return self._train("stage2", self.run2, s.stage2_minutes, s.stage2_steps, s.stage2_preset)

    def _poll_stage2(self) -> tuple[float, str]:
        return self._train_poll(self.run2, self.s.stage2_minutes, self.s.stage2_steps)

    def _sample(self) -> str:
        self.assets.mkdir(parents=True, exist_ok=True)
        empty, total = 0, 0
        for i, sset in enumerate(self.s.sample_sets):
            record = self.assets / f"{sset.name}.json"
            if record.exists() and all(
                (self.assets / f"{sset.name}-{k:02d}" / "asset.json").exists()
                for k in range(sset.n)
            ):
                summary = json.loads(record.read_text())
            else:
                summary = self._sample_set(sset, seed=self.s.seed + i)
            empty += summary.get("empty_meshes", 0)
            total += sset.n
        return f"{total} assets in {len(self.s.sample_sets)} sets, {empty} empty meshes"

    def _sample_set(self, sset: SampleSet, seed: int) -> dict:
        staging = self.assets / f".staging-{sset.name}"
        shutil.rmtree(staging, ignore_errors=True)
        argv = ["--run", str(self.run2), "--n", str(sset.n), "--seed", str(seed),
                "--out", str(staging), *sset.options, "--views", str(self.s.views),
                "--image-size", str(self.s.image_size), "--mesh-resolution",
                str(self.s.mesh_resolution), "--device", self.device, *self.threads,
                "--quiet"]  # fmt: skip
        self.call("sample", "sample", argv)
        summary = json.loads((staging / "samples.json").read_text())
        for k, row in enumerate(summary["assets"]):
            dest = self.assets / f"{sset.name}-{k:02d}"
            shutil.rmtree(dest, ignore_errors=True)
            os.replace(staging / row["dir"], dest)
            row["dir"] = dest.name
        summary["set"] = {"name": sset.name, "what": sset.what, "options": sset.options}
        write_json(self.assets / f"{sset.name}.json", summary)
        shutil.rmtree(staging, ignore_errors=True)
        return summary

    def _poll_sample(self) -> tuple[float, str]:
        total = sum(s.n for s in self.s.sample_sets)
        done = len(list(self.assets.glob("*/asset.json")))
        done += len(list(self.assets.glob(".staging-*/*/asset.json")))
        return done / total, f"{done}/{total} assets"

    def _eval(self) -> str:
        s = self.s
        recon = self.run1 / "eval" / "recon.json"
        if not recon.exists():
            self._eval_step = "recon"
            self.call("eval", "eval", ["recon", "--run", str(self.run1), "--data", str(self.data),
                      "--split", "test", "--max-patches", str(s.recon_patches), "--views",
                      s.recon_views, "--max-objects", str(s.recon_objects), "--device",
                      self.device, "--network", s.fid_network,
                      *([] if s.recon_rfid else ["--no-rfid"]), "--quiet"])  # fmt: skip
        self._eval_step = "gen"
        self.call(
            "eval",
            "eval",
            ["gen", "--run", str(self.run2), "--data", str(self.data), "--split", "test",
             "--n", str(s.gen_n), "--max-real", str(s.gen_max_real), "--resolution",
             str(s.gen_resolution), "--mesh-resolution", str(s.gen_mesh_resolution),
             "--points", str(s.gen_points), "--steps", str(s.gen_steps), "--network",
             s.fid_network, "--seed", str(s.seed), "--device", self.device, *self.threads,
             "--quiet"],
        )  # fmt: skip
        r = json.loads(recon.read_text())
        g = json.loads((self.run2 / "eval" / "gen.json").read_text())
        recon_keys = ("psnr_visible", "psnr_heldout_view", "amodal_iou_novel")
        return fmt_metrics(r, recon_keys)[2:] + fmt_metrics(g, ("fid", "kid", "cov", "one_nna"))

    def _poll_eval(self) -> tuple[float, str]:
        step = getattr(self, "_eval_step", "recon")
        if not hasattr(self, "_eval_t0"):
            self._eval_t0 = time.time()
        frac = (time.time() - self._eval_t0) / self.s.expected_s.get("eval", 60)
        return frac, step

    def _report(self) -> str:
        from gina3d.evaluation.report import write_report

        with logged(self.logs / "report.log"):
            write_report(self.run1)  # RUN1/report.html: curves and reconstruction examples
            previews = self._mesh_previews()
            path = write_demo_report(self, previews)
        return f"{path} ({path.stat().st_size / 2**20:.1f} MB), {len(previews)} mesh previews"

    def _mesh_previews(self) -> dict[str, Path]:
        """``mesh_preview.png`` beside each asset's mesh (a flat-shaded render of the mesh)."""
        out = {}
        for folder in sorted(p for p in self.assets.glob("*/") if (p / "asset.json").exists()):
            mesh = next(iter(sorted(folder.glob("mesh.*"))), None)
            if mesh is None:
                continue
            target = folder / "mesh_preview.png"
            if not target.exists():
                render_mesh_preview(mesh, target, size=2 * self.s.image_size)
            out[folder.name] = target
        return out
