"""``gina3d demo``'s driver: runs the phases in order, reuses finished ones, prints the summary.

A phase is finished when ``DIR/.done/<phase>.json`` exists and its outputs are all there; once
one phase runs again, every later phase runs again too (its inputs changed).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import ClassVar

from gina3d.atomic import atomic_write_json as write_json
from gina3d.demo.console import Console, PhaseBar, fmt_s, logged, tail
from gina3d.demo.phases import DemoPhases
from gina3d.demo.records import now
from gina3d.demo.settings import DemoSettings
from gina3d.errors import Gina3dError


class Demo(DemoPhases):
    """One demo output directory and the phases that fill it."""

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
        self.console = Console()
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
            write_json(path, mine)

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
        with logged(self.logs / f"{phase}.log"):
            print(f"$ gina3d {module} {' '.join(argv)}", flush=True)
            rc = main(argv)
        if rc in (130, 143):  # Ctrl-C or SIGTERM: training stopped after its checkpoint
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
                f"{label:<18}done earlier ({fmt_s(info['seconds'])}): {info['summary']}"
            )
            return False
        body, poll = getattr(self, f"_{phase}"), getattr(self, f"_poll_{phase}", None)
        t0 = time.time()
        expected = self.s.expected_s.get(phase, 30)
        bar = PhaseBar(self.console, label, poll or (lambda: ((time.time() - t0) / expected, "")))
        try:
            summary = body()
        except BaseException as e:
            interrupted = isinstance(e, KeyboardInterrupt)
            bar.finish("interrupted (run again to resume)" if interrupted else "failed", ok=False)
            log = self.logs / f"{phase}.log"
            last = "" if interrupted else tail(log)
            if last:
                self.console.print(f"--- last lines of {log}:\n{last}\n---")
            raise
        seconds = time.time() - t0
        bar.finish(summary)
        info = {"seconds": round(seconds, 1), "summary": summary, "finished": now()}
        write_json(self.marker(phase), info)
        self.timings[phase] = {**info, "reused": False}
        return True

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
        write_json(
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
            f"\ndone in {fmt_s(total)}"
            + (f" (all phases: {fmt_s(first)} when first run)" if reused else "")
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
