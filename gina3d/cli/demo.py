"""``gina3d demo --out DIR``: the whole system end to end, 10 to 13 minutes on 2 CPU cores.

Phases (each one progress line; ``DIR/logs/<phase>.log`` holds what its command printed):

1. ``synth``   a synthetic dataset of 32-pixel patches (``gina3d synth``) and its contact sheet
2. ``stage1``  the tri-plane tokenizer, preset ``demo``, a time budget (``gina3d train stage1``)
3. ``encode``  every patch's token grid (``gina3d encode``)
4. ``stage2``  MaskGIT over the token grids, preset ``demo`` (``gina3d train stage2``)
5. ``sample``  vehicles and pedestrians, unconditional and conditional, with meshes and
               turntables (``gina3d sample``)
6. ``eval``    reconstruction and generation metrics (``gina3d eval recon``, ``eval gen``
               with the FID Inception-v3)
7. ``report``  ``DIR/report.html`` (``gina3d report`` plus the demo's own overview)

Re-running with the same ``--out`` reuses finished phases (``DIR/.done/<phase>.json``); an
interrupted phase resumes (training continues with what is left of its time budget).
``--fast`` shrinks everything to seconds (for tests); its outputs are not meaningful.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import ClassVar

from gina3d.cli.common import Parser, run
from gina3d.errors import Gina3dError

VEHICLE_SIZE = "4.6,1.9,1.6"  # a mid-size car, metres (length, width, height)


@dataclass
class SampleSet:
    """One ``gina3d sample`` call of the demo."""

    name: str
    n: int
    options: list[str] = field(default_factory=list)
    what: str = ""


@dataclass
class DemoSettings:
    """What the demo builds; pinned in DIR/.done/settings.json (a re-run must match)."""

    fast: bool = False
    seed: int = 0
    scenes: int = 40
    frames: int = 3
    resolution: int = 32
    stage1_preset: str = "demo"
    stage1_minutes: float | None = 6.0
    stage1_steps: int | None = None
    stage1_set: list[str] = field(default_factory=list)
    """--set overrides of the stage-1 config."""
    stage2_preset: str = "demo"
    stage2_minutes: float | None = 2.5
    stage2_steps: int | None = None
    sample_sets: list[SampleSet] = field(default_factory=list)
    views: int = 8
    image_size: int = 64
    mesh_resolution: int = 64
    recon_patches: int = 64
    recon_views: str = "90,180,270"
    gen_n: int = 16
    gen_max_real: int = 128
    gen_resolution: int = 32
    gen_mesh_resolution: int = 48
    gen_points: int = 512
    gen_steps: int = 12
    fid_network: str = "default"
    expected_s: dict[str, float] = field(default_factory=dict)
    """Rough seconds per phase on 2 cores, for the progress bars of untimed phases."""


def demo_settings(fast: bool, fid_network: str = "default") -> DemoSettings:
    """The full demo (budgeted for 15 minutes on 2 CPU cores) or the ``--fast`` one."""
    if not fast:
        sets = [
            SampleSet("any", 4, [], "unconditional: no class, size or time given"),
            SampleSet("vehicle", 4, ["--class", "vehicle"], "class vehicle"),
            SampleSet("pedestrian", 4, ["--class", "pedestrian"], "class pedestrian"),
            SampleSet(
                "vehicle-night",
                4,
                ["--class", "vehicle", "--size", VEHICLE_SIZE, "--time", "night"],
                f"class vehicle, size {VEHICLE_SIZE} m, at night",
            ),
            SampleSet(
                "pedestrian-day",
                2,
                ["--class", "pedestrian", "--time", "day"],
                "class pedestrian, by day",
            ),
        ]
        expected = {"synth": 75, "encode": 10, "sample": 40, "eval": 45, "report": 5}
        return DemoSettings(sample_sets=sets, fid_network=fid_network, expected_s=expected)
    sets = [
        SampleSet("any", 1, [], "unconditional"),
        SampleSet(
            "vehicle-night",
            1,
            ["--class", "vehicle", "--size", VEHICLE_SIZE, "--time", "night"],
            "class vehicle, size, night",
        ),
        SampleSet("pedestrian", 1, ["--class", "pedestrian"], "class pedestrian"),
    ]
    return DemoSettings(
        fast=True,
        scenes=4,
        frames=1,
        stage1_preset="tiny",
        stage1_minutes=None,
        stage1_steps=8,
        # start dense: 8 steps of the tiny model must still leave surfaces to mesh and score
        stage1_set=["model.density_bias=1.0"],
        stage2_preset="tiny",
        stage2_minutes=None,
        stage2_steps=6,
        sample_sets=sets,
        views=2,
        image_size=32,
        mesh_resolution=16,
        recon_patches=4,
        recon_views="90",
        gen_n=4,
        gen_max_real=8,
        gen_resolution=16,
        gen_mesh_resolution=16,
        gen_points=64,
        gen_steps=2,
        fid_network=fid_network,
        expected_s={"synth": 8, "stage1": 4, "encode": 2, "stage2": 4, "sample": 6, "eval": 10},
    )


def build_parser() -> Parser:
    p = Parser(
        prog="gina3d demo",
        description=__doc__.replace("``", "`"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", default="demo_out", help="output directory (default demo_out)")
    p.add_argument("--fast", action="store_true", help="tiny everything: seconds (tests)")
    p.add_argument("--threads", type=int, help="torch CPU threads and synth workers")
    p.add_argument("--device", default="auto", help="auto (default), cpu or cuda")
    p.add_argument(
        "--fid-network",
        default="default",
        choices=("default", "random-test"),
        help="FID features: default = the FID Inception-v3; random-test for tests only",
    )
    return p


# ---------------------------------------------------------------------------------------------
# output plumbing: each phase's commands write to DIR/logs/<phase>.log, the terminal gets one
# tqdm line per phase


class _Console:
    """The terminal's stderr, kept while fd 1 and 2 point at a phase's log file."""

    def __init__(self) -> None:
        sys.stderr.flush()
        self.stream = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="replace")

    def print(self, text: str = "") -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


@contextlib.contextmanager
def _logged(path: Path):
    """Send fd 1 and 2 (and sys.stdout/err, worker processes, C++ warnings) to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "a", buffering=1, encoding="utf-8") as log:
        log.write(f"\n== {_dt.datetime.now().isoformat(timespec='seconds')}\n")
        log.flush()
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").replace("\r", "\n")
    except OSError:
        return ""
    kept = [ln for ln in text.splitlines() if ln.strip()]
    return "\n".join(kept[-lines:])


def _fmt_s(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}m{s:02d}s" if m else f"{s}s"


class _Bar:
    """One tqdm line for a phase, advanced by a polling thread."""

    FORMAT = "{desc:<18}{percentage:3.0f}%|{bar:24}| {elapsed}{postfix}"

    def __init__(self, console: _Console, label: str, poll: Callable[[], tuple]) -> None:
        from tqdm import tqdm

        self.poll, self.stop = poll, threading.Event()
        self.bar = tqdm(
            total=1000, desc=label, bar_format=self.FORMAT, file=console.stream, leave=True,
            mininterval=0.5, ascii=not _utf8(console.stream),
        )  # fmt: skip
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(1.0):
            try:
                frac, note = self.poll()
            except Exception:  # a half-written file: try again next second
                continue
            self.bar.n = int(1000 * min(max(frac, 0.0), 0.99))
            self.bar.set_postfix_str(note, refresh=False)
            self.bar.refresh()

    def finish(self, summary: str, ok: bool = True) -> None:
        self.stop.set()
        self.thread.join()
        if ok:
            self.bar.n = 1000
        self.bar.set_postfix_str(summary, refresh=False)
        self.bar.close()


def _utf8(stream) -> bool:
    return "utf" in (getattr(stream, "encoding", "") or "").lower()


def _last_step(run_dir: Path) -> int | None:
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return None
    with open(path, "rb") as f:
        f.seek(0, 2)
        f.seek(max(0, f.tell() - 4096))
        lines = f.read().decode("utf-8", "replace").strip().splitlines()
    for line in reversed(lines):
        try:
            return int(json.loads(line)["step"])
        except (ValueError, KeyError):
            continue
    return None


# ---------------------------------------------------------------------------------------------


class Demo:
    PHASES: ClassVar = ("synth", "stage1", "encode", "stage2", "sample", "eval", "report")
    LABELS: ClassVar = {
        "synth": "1 synthetic data",
        "stage1": "2 train stage 1",
        "encode": "3 encode tokens",
        "stage2": "4 train stage 2",
        "sample": "5 sample assets",
        "eval": "6 evaluate",
        "report": "7 report",
    }

    def __init__(self, args, settings: DemoSettings) -> None:
        import torch

        self.args, self.s = args, settings
        self.out = Path(args.out)
        self.data = self.out / "data"
        self.run1 = self.out / "runs" / "stage1"
        self.run2 = self.out / "runs" / "stage2"
        self.assets = self.out / "assets"
        self.done_dir = self.out / ".done"
        self.logs = self.out / "logs"
        device = args.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        self.threads = ["--threads", str(args.threads)] if args.threads else []
        self.console = _Console()
        self.timings: dict[str, dict] = {}

    # -- bookkeeping --------------------------------------------------------------------------

    def pin_settings(self) -> None:
        path = self.done_dir / "settings.json"
        mine = asdict(self.s)
        mine.pop("expected_s")
        if path.exists():
            old = json.loads(path.read_text())
            if old != mine:
                diff = sorted(k for k in mine if old.get(k) != mine[k])
                raise Gina3dError(
                    f"{self.out}: holds a demo made with other settings (differ in: "
                    f"{', '.join(diff)}); use another --out or remove it"
                )
        else:
            self.done_dir.mkdir(parents=True, exist_ok=True)
            _write_json(path, mine)

    def marker(self, phase: str) -> Path:
        return self.done_dir / f"{phase}.json"

    def finished(self, phase: str) -> dict | None:
        path = self.marker(phase)
        if not path.exists():
            return None
        try:
            info = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        if not all(p.exists() for p in self.outputs(phase)):
            return None
        return info

    def outputs(self, phase: str) -> list[Path]:
        return {
            "synth": [self.data / "manifest.json", self.out / "contact_sheet.png"],
            "stage1": [self.run1 / "checkpoints" / "latest"],
            "encode": [self.run1 / "tokens" / "index.json"],
            "stage2": [self.run2 / "checkpoints" / "latest"],
            "sample": [self.assets / f"{s.name}.json" for s in self.s.sample_sets],
            "eval": [self.run1 / "eval" / "recon.json", self.run2 / "eval" / "gen.json"],
            "report": [self.out / "report.html"],
        }[phase]

    def call(self, phase: str, module: str, argv: list[str]) -> None:
        """``python -m gina3d.cli.<module> argv`` in this process; its output to the log."""
        import importlib

        main = importlib.import_module(f"gina3d.cli.{module}").main
        with _logged(self.logs / f"{phase}.log"):
            print(f"$ gina3d {module} {' '.join(argv)}", flush=True)
            rc = main(argv)
        if rc == 130:
            raise KeyboardInterrupt
        if rc:
            raise Gina3dError(
                f"phase {phase}: gina3d {module} {' '.join(argv[:2])} ... exited with {rc}; "
                f"see {self.logs / f'{phase}.log'}"
            )

    def run_phase(self, phase: str, force: bool) -> bool:
        """Run one phase unless finished; returns whether it ran."""
        label = self.LABELS[phase]
        info = None if force else self.finished(phase)
        if info is not None:
            self.timings[phase] = {**info, "reused": True}
            self.console.print(
                f"{label:<18}done earlier ({_fmt_s(info['seconds'])}): {info['summary']}"
            )
            return False
        body, poll = getattr(self, f"_{phase}"), getattr(self, f"_poll_{phase}", None)
        t0 = time.time()
        expected = self.s.expected_s.get(phase, 30)
        bar = _Bar(self.console, label, poll or (lambda: ((time.time() - t0) / expected, "")))
        try:
            summary = body()
        except BaseException as e:
            interrupted = isinstance(e, KeyboardInterrupt)
            bar.finish("interrupted (run again to resume)" if interrupted else "failed", ok=False)
            log = self.logs / f"{phase}.log"
            tail = "" if interrupted else _tail(log)
            if tail:
                self.console.print(f"--- last lines of {log}:\n{tail}\n---")
            raise
        seconds = time.time() - t0
        bar.finish(summary)
        info = {"seconds": round(seconds, 1), "summary": summary, "finished": _now()}
        _write_json(self.marker(phase), info)
        self.timings[phase] = {**info, "reused": False}
        return True

    # -- phases -------------------------------------------------------------------------------

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
        with _logged(self.logs / "synth.log"):
            stats = dataset_stats(self.data)
            write_contact_sheet(self.data, self.out / "contact_sheet.png", count=24, seed=0)
        _write_json(self.out / "dataset_stats.json", stats)
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
        if state.get("stop_reason") == "interrupted":
            raise KeyboardInterrupt
        rows = _metrics(run_dir)
        last = rows[-1] if rows else {}
        trained = f"step {state['step']}, {state['train_seconds'] / 60:.1f} min trained"
        if stage == "stage1":
            return trained + _fmt_metrics(last, ("rgb_l1", "psnr", "vq_perplexity"))
        return trained + _fmt_metrics(last, ("loss", "masked_acc"))

    def _train_poll(self, run_dir: Path, minutes, steps) -> tuple[float, str]:
        step = _last_step(run_dir)
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
        _write_json(self.assets / f"{sset.name}.json", summary)
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
                      s.recon_views, "--device", self.device, "--quiet"])  # fmt: skip
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
        return _fmt_metrics(r, ("psnr_visible", "amodal_iou_novel"))[2:] + _fmt_metrics(
            g, ("fid", "kid", "cov", "one_nna")
        )

    def _poll_eval(self) -> tuple[float, str]:
        step = getattr(self, "_eval_step", "recon")
        if not hasattr(self, "_eval_t0"):
            self._eval_t0 = time.time()
        frac = (time.time() - self._eval_t0) / self.s.expected_s.get("eval", 60)
        return frac, step

    def _report(self) -> str:
        from gina3d.evaluation.report import write_report

        with _logged(self.logs / "report.log"):
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

    # -- the whole ----------------------------------------------------------------------------

    def run(self) -> int:
        t0 = time.time()
        self.pin_settings()
        mode = "fast (tiny settings, for tests)" if self.s.fast else "full"
        self.console.print(
            f"gina3d demo -> {self.out} ({mode}; device {self.device}, "
            f"threads {self.args.threads or 'default'}); logs in {self.logs}"
        )
        ran_before = False
        for phase in self.PHASES:
            ran_before = self.run_phase(phase, force=ran_before) or ran_before
        total = time.time() - t0
        _write_json(
            self.out / "demo.json",
            {"total_seconds": round(total, 1), "device": self.device,
             "phases_seconds": round(sum(t["seconds"] for t in self.timings.values()), 1),
             "threads": self.args.threads, "phases": self.timings},
        )  # fmt: skip
        self.print_summary(total)
        return 0

    def print_summary(self, total: float) -> None:
        reused = sum(1 for t in self.timings.values() if t["reused"])
        first = sum(t["seconds"] for t in self.timings.values())
        o = self.out
        lines = [
            f"\ndone in {_fmt_s(total)}"
            + (f" (all phases: {_fmt_s(first)} when first run)" if reused else "")
            + ". Outputs:",
            f"  report          {o / 'report.html'}   <- open this in a browser",
            f"  dataset         {self.data}  (gina3d inspect {self.data}); "
            f"contact sheet {o / 'contact_sheet.png'}",
            f"  stage-1 run     {self.run1}  (report {self.run1 / 'report.html'})",
            f"  stage-2 run     {self.run2}",
            f"  assets          {self.assets}/<set>-NN/  (mesh.glb, turntable.gif, asset.json)",
            f"  metrics         {self.run1 / 'eval' / 'recon.json'}, "
            f"{self.run2 / 'eval' / 'gen.json'}",
            f"  timings, logs   {o / 'demo.json'}, {self.logs}/",
            f"next: gina3d view --run {self.run2} --data {self.data} --assets {self.assets}",
            f"      gina3d sample --run {self.run2} --n 4 --class vehicle --time dusk --out "
            f"{o / 'more_assets'}",
        ]
        print("\n".join(lines), flush=True)


# ---------------------------------------------------------------------------------------------
# the report: ``gina3d report``'s page of the stage-2 run (metrics, curves, samples, assets)
# with the demo's overview inserted after its title


def render_mesh_preview(mesh_path: Path, target: Path, size: int = 128) -> None:
    """A flat-shaded 3/4 view of a mesh file (painter's algorithm, vertex colours), PNG."""
    import numpy as np
    from PIL import Image, ImageDraw

    from gina3d.assets.mesh_export import load_mesh, vertex_colours

    mesh = load_mesh(mesh_path)
    scale = 2  # supersampling
    img = Image.new("RGB", (size * scale, size * scale), (255, 255, 255))
    if len(mesh.faces):
        v = np.asarray(mesh.vertices, dtype=np.float64)  # object frame: x fwd, y left, z up
        colours = vertex_colours(mesh)[:, :3].astype(np.float64)
        az, el = np.radians(35.0), np.radians(20.0)
        # camera looks from azimuth az (from +x towards +y), elevation el, at the centre
        view = np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
        right = np.array([-np.sin(az), np.cos(az), 0.0])
        up = np.cross(view, right)
        centre = (v.min(0) + v.max(0)) / 2
        p = v - centre
        xy = np.stack([-(p @ right), -(p @ up)], 1)  # image x right, y down
        depth = p @ view  # larger: nearer the camera
        extent = max(np.abs(xy).max(), 1e-6)
        px = (xy / extent * 0.45 + 0.5) * size * scale
        f = mesh.faces
        normals = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
        normals /= np.linalg.norm(normals, axis=1, keepdims=True) + 1e-12
        light = view + 0.5 * up
        light /= np.linalg.norm(light)
        shade = 0.35 + 0.65 * np.clip(np.abs(normals @ light), 0, 1)
        rgb = np.clip(colours[f].mean(1) * shade[:, None], 0, 255).astype(np.uint8)
        draw = ImageDraw.Draw(img)
        for i in np.argsort(depth[f].mean(1)):  # far to near
            draw.polygon([tuple(q) for q in px[f[i]]], fill=tuple(int(c) for c in rgb[i]))
    img = img.resize((size, size), Image.LANCZOS)
    tmp = target.with_suffix(".tmp.png")
    img.save(tmp)
    os.replace(tmp, target)


def _e(text) -> str:
    import html

    return html.escape(str(text), quote=True)


def _embed(path: Path, alt: str, width: int | None = None) -> str:
    import base64

    mime = "image/gif" if path.suffix == ".gif" else "image/png"
    src = f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")
    w = f' width="{width}"' if width else ""
    return f'<img src="{src}" alt="{_e(alt)}" title="{_e(alt)}"{w}/>'


def _num(v) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.4g}"
    return _e(v)


HEADLINE = [  # (file, key path, label, how to read it)
    ("recon", "psnr_visible", "PSNR of the visible object (dB)", "higher is better"),
    ("recon", "ssim_visible", "SSIM of the visible object", "higher is better, at most 1"),
    ("recon", "amodal_iou_input", "amodal silhouette IoU, occluded inputs", "higher is better"),
    ("recon", "amodal_iou_novel", "silhouette IoU at novel views", "higher is better"),
    ("recon", "lidar_depth_abs_rel", "LiDAR depth error (abs rel)", "lower is better"),
    ("recon", "codebook_usage", "share of codes in use", "higher is better"),
    ("gen", "fid", "FID, generated vs held-out patches", "lower is better"),
    ("gen", "matched.fid", "FID, generated subsampled (matched)", "compare with the floor"),
    ("gen", "real_vs_real.fid", "FID, real vs real (the floor)", "best reachable at this size"),
    ("gen", "kid", "KID", "lower is better, 0 = no detectable gap"),
    ("gen", "cov", "COV of reference shapes", "higher is better, at most 1"),
    ("gen", "mmd", "MMD (Chamfer)", "lower is better"),
    ("gen", "one_nna", "1-NNA", "0.5 is ideal"),
    ("gen", "geometry_consistency.depth_abs_rel", "cross-view depth consistency", "lower"),
]


def _get(obj, path: str):
    for k in path.split("."):
        obj = obj.get(k) if isinstance(obj, dict) else None
    return obj


def _overview(demo: Demo, previews: dict[str, Path], page_dir: Path) -> str:
    def rel(p: Path) -> str:
        return _e(os.path.relpath(p, page_dir))

    s = demo.s
    parts = [
        "<p>What <code>gina3d demo</code> built: a synthetic dataset, the stage-1 tokenizer "
        f"(preset <code>{_e(s.stage1_preset)}</code>), the stage-2 MaskGIT (preset "
        f"<code>{_e(s.stage2_preset)}</code>), sampled assets with meshes, and their "
        "evaluation. "
        + ("<b>--fast: tiny settings, the numbers mean nothing.</b> " if s.fast else "")
        + "Stage-1 report (training curves, reconstruction examples): "
        f'<a href="{rel(demo.run1 / "report.html")}">{rel(demo.run1 / "report.html")}</a>; '
        f'timings <a href="{rel(demo.out / "demo.json")}">demo.json</a>; logs in '
        f"<code>{rel(demo.logs)}/</code>.</p>"
    ]
    rows = []
    for phase in demo.PHASES:
        t = demo.timings.get(phase)
        if t is not None:
            secs = "-" if phase == "report" else _fmt_s(t["seconds"])
            rows.append(
                f"<tr><td>{_e(demo.LABELS[phase])}</td><td>{_e(secs)}</td>"
                f"<td>{_e(t['summary'])}</td></tr>"
            )
    phases = "<table><tr><th>phase</th><th>time</th><th>result</th></tr>" + "".join(rows)
    results = {}
    for name, path in (("recon", demo.run1 / "eval" / "recon.json"),
                       ("gen", demo.run2 / "eval" / "gen.json")):  # fmt: skip
        try:
            results[name] = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            results[name] = {}
    rows = [
        f"<tr><td>{_e(src)}</td><td>{_e(label)}</td><td>{_num(_get(results[src], key))}</td>"
        f"<td class='note'>{_e(how)}</td></tr>"
        for src, key, label, how in HEADLINE
        if _get(results[src], key) is not None
    ]
    metrics = (
        "<table><tr><th>from</th><th>metric</th><th>value</th><th>reading</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    gen_p = results["gen"].get("protocol", {})
    recon_p = results["recon"].get("protocol", {})
    skipped = ", ".join(recon_p.get("skipped") or {})
    note = (
        f"<p class='note'>recon: {_e(results['recon'].get('num_patches', '?'))} test patches "
        f"({rel(demo.run1 / 'eval' / 'recon.json')}; protocol in the stage-1 report"
        f"{'; skipped: ' + _e(skipped) if skipped else ''}). gen: "
        f"{_e(_get(gen_p, 'images.num_generated'))} generated vs "
        f"{_e(_get(gen_p, 'images.num_real'))} real test images, features "
        f"{_e(results['gen'].get('network', '?'))}; full tables with protocol under Metrics "
        "below. Sets this small: read FID against the real-vs-real floor.</p>"
    )
    parts.append(
        "<div style='display:flex;gap:16px;align-items:flex-start'>"
        "<div style='flex:1 1 0;min-width:0'><h3>Phases</h3>" + phases + "</table></div>"
        "<div style='flex:1 1 0;min-width:0'><h3>Headline metrics</h3>" + metrics + "</div>"
        "</div>" + note
    )
    # sample sets: turntables and mesh previews
    parts.append(
        "<h3>Sampled assets</h3><p>Per set: the conditions given to stage 2. Per asset: the "
        "turntable (the neural field, volume rendered) and a render of the exported mesh "
        "(marching cubes, vertex colours) linked to the mesh file. Folders: "
        f"<code>{rel(demo.assets)}/</code>.</p>"
    )
    for sset in s.sample_sets:
        record = demo.assets / f"{sset.name}.json"
        info = json.loads(record.read_text()) if record.exists() else {}
        ham = _get(info, "token_hamming.mean")
        err = info.get("mesh_size_error_max_mean")
        cells = []
        for k in range(sset.n):
            folder = demo.assets / f"{sset.name}-{k:02d}"
            cell = [f"<div class='card' style='width:auto'><b>{_e(folder.name)}</b><br/>"]
            for tt in (folder / "turntable.gif", folder / "turntable.png"):
                if tt.exists():
                    cell.append(_embed(tt, f"{folder.name} turntable", width=128))
                    break
            if folder.name in previews:
                cell.append(_embed(previews[folder.name], f"{folder.name} mesh", width=128))
            for mesh in sorted(folder.glob("mesh.*")):
                cell.append(f'<br/><a href="{rel(mesh)}">{_e(mesh.name)}</a> (mesh, right)')
            cells.append("".join(cell) + "</div>")
        parts.append(
            f"<p><b>{_e(sset.name)}</b>: {_e(sset.what)}: "
            f"<code>gina3d sample {_e(' '.join(sset.options))}</code>"
            f"<span class='note'> (mean pairwise token Hamming {_num(ham)}, mesh size error "
            f"{_num(err)})</span></p><div class='grid'>" + "".join(cells) + "</div>"
        )
    # reconstructions and data
    grids = sorted((demo.run1 / "samples").glob("stage_sample-*.png"))
    if grids:
        parts.append(
            "<h3>Stage-1 reconstructions</h3><p>Each row: input patch | masks | "
            "reconstruction | rendered opacity | novel views at 90, 180, 270 degrees "
            f"({_e(grids[-1].stem)}).</p>" + _embed(grids[-1], "stage-1 reconstructions", 672)
        )
    sheet = demo.out / "contact_sheet.png"
    if sheet.exists():
        parts.append(
            "<h3>Dataset</h3><p>Patches of the synthetic dataset: patch, masks (object green, "
            f"occluder red), LiDAR depth ({rel(sheet)}).</p>" + _embed(sheet, "contact sheet", 640)
        )
    parts.append(
        "<hr/><p class='note'>Below: <code>gina3d report</code>'s page of the stage-2 run "
        "(its metrics with protocol, curves, sample grids, every asset).</p>"
    )
    return "\n".join(parts)


def write_demo_report(demo: Demo, previews: dict[str, Path]) -> Path:
    """DIR/report.html: the stage-2 run's report with the demo's overview after its title."""
    from gina3d.atomic import atomic_write_bytes
    from gina3d.evaluation.report import build_report

    out = demo.out / "report.html"
    page = build_report(demo.run2, out, demo.assets)
    overview = _overview(demo, previews, out.resolve().parent)
    h1 = page.index("<h1>")
    cut = page.index("</p>", h1) + len("</p>")  # after the title and its note
    intro = page[h1:cut].replace("gina3d report: ", "gina3d demo report: ", 1)
    page = page[:h1] + intro + "\n" + overview + page[cut:]
    page = page.replace("<title>gina3d report:", "<title>gina3d demo report:", 1)
    atomic_write_bytes(out, page.encode("utf-8"))
    return out


def _metrics(run_dir: Path) -> list[dict]:
    from gina3d.training.run_log import read_metrics

    return read_metrics(run_dir)


def _fmt_metrics(row: dict, keys) -> str:
    parts = []
    for k in keys:
        v = row.get(k)
        if isinstance(v, int | float) and not isinstance(v, bool):
            parts.append(f"{k} {v:.3g}")
    return (", " + ", ".join(parts)) if parts else ""


def _write_json(path: Path, obj) -> None:
    from gina3d.atomic import atomic_write_json

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, obj)


def _now() -> str:
    return _dt.datetime.now().isoformat(timespec="seconds")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        if args.threads is not None and args.threads < 1:
            raise Gina3dError(f"--threads must be at least 1, got {args.threads}")
        if args.device not in ("auto", "cpu") and not args.device.startswith("cuda"):
            raise Gina3dError(f"--device {args.device}: use auto, cpu or cuda")
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        demo = Demo(args, demo_settings(args.fast, args.fid_network))
        try:
            return demo.run()
        finally:
            demo.console.stream.close()

    return run("gina3d demo", body)


if __name__ == "__main__":
    sys.exit(main())
