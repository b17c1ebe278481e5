"""Convert many WOD segments to a patch dataset: one task per segment, Dask or in process.

Each segment becomes one shard (``shards/<split>-<NNNNN>``), written with its sidecar and
its report (``waymo_reports/<segment>.json``: missing folders, files and columns, join
counts, skipped rows). A segment whose sidecar exists is done, so re-running the same
command resumes; ``build.json`` pins the settings as ``gina3d synth`` does. Tasks run on a
``dask.distributed`` cluster (a LocalCluster of ``workers`` single-threaded processes with
a memory limit each, or ``scheduler``), or in this process with ``workers == 1``.
"""

from __future__ import annotations

import hashlib
import json
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm import tqdm

from gina3d.atomic import atomic_write_json
from gina3d.data.build import SPLITS, assign_splits, make_manifest, plan_shards
from gina3d.data.filters import FilterCounts
from gina3d.data.schema import SCHEMA_VERSION
from gina3d.data.shards import finished_shard, remove_stale_temporaries, write_shard
from gina3d.data.sources.waymo.layout import Layout
from gina3d.errors import Gina3dError

REPORTS = "waymo_reports"
INSTALL_HINT = 'pip install -e ".[waymo]"'


@dataclass
class ConvertConfig:
    """How segments are scheduled and split."""

    workers: int = 1
    """Dask worker processes (1 and no scheduler: run in this process, without Dask)."""
    scheduler: str | None = None
    """Address of a running Dask scheduler to use instead of a local cluster."""
    memory_limit: str = "4GB"
    """Memory limit of each local Dask worker."""
    processes: bool = True
    """Local cluster workers are processes (False: threads, for tests)."""
    split: str | None = None
    """Put every segment in this split (train, val or test) instead of a seeded split."""
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0

    def validate(self) -> None:
        if self.workers < 1:
            raise Gina3dError(f"--workers {self.workers}: must be at least 1")
        if self.split is not None and self.split not in SPLITS:
            raise Gina3dError(f"--split {self.split}: must be one of {', '.join(SPLITS)}")


def _task(args: tuple) -> dict:
    """Convert one segment (runs in a worker); never raises: failures come back as data."""
    kind, layout, task_cfg, root, name, split, segment = args
    report: dict = {"segment": segment, "kind": kind}
    filters = FilterCounts()
    try:
        if kind == "assets":
            from gina3d.data.sources.waymo.assets import convert_asset_segment

            records = convert_asset_segment(layout, segment, task_cfg, report, filters)
        else:
            from gina3d.data.sources.waymo.frames import frame_records

            records = frame_records(layout, segment, task_cfg, report, filters)

        def write_report(info: dict) -> None:
            report["patches"] = info["num_rows"]
            report["filters"] = filters.to_dict()
            (root / REPORTS).mkdir(parents=True, exist_ok=True)
            atomic_write_json(root / REPORTS / f"{segment}.json", report)

        extra = {"report": f"{REPORTS}/{segment}.json"}
        return write_shard(root, name, records, split, [segment], filters, extra, write_report)
    except Exception as e:  # a bad file must not take the other segments down
        msg = str(e).splitlines()[0] if str(e) else ""
        trace = traceback.format_exc(limit=-3)
        return {
            "error": f"{segment}: {type(e).__name__}: {msg}",
            "segment": segment,
            "trace": trace,
        }


def _settings(kind: str, layout: Layout, task_cfg, cfg: ConvertConfig) -> dict:
    names = "\n".join(layout.segments).encode()
    task = asdict(task_cfg)
    return {
        "schema_version": SCHEMA_VERSION,
        "source": f"waymo_{kind}",
        "source_settings": {
            "segments": len(layout.segments),
            "segments_sha1": hashlib.sha1(names).hexdigest(),
            **{k: v for k, v in task.items() if k not in ("filters", "patches", "batch_rows")},
        },
        "seed": cfg.seed,
        "split_fractions": list(cfg.split_fractions),
        "split": cfg.split,
        "scenes_per_shard": 1,
        "save_frames": False,
        "patches": task.get("patches", {"resolution": task.get("resolution")}),
        "filters": task["filters"],
    }


def _pin(root: Path, settings: dict) -> None:
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise Gina3dError(f"{root}: cannot create output directory ({e.strerror})") from None
    pinned = root / "build.json"
    if pinned.exists():
        old = json.loads(pinned.read_text())
        if old != json.loads(json.dumps(settings)):
            diff = sorted(k for k in settings if old.get(k) != json.loads(json.dumps(settings[k])))
            raise Gina3dError(
                f"{root}: holds a dataset built with other settings (differ in: {', '.join(diff)});"
                " choose another --out or remove the directory"
            )
    else:
        atomic_write_json(pinned, settings)


def _run_local(todo: list[tuple], bar: tqdm):
    for task in todo:
        yield _task(task)
        bar.update(1)


def _run_dask(todo: list[tuple], cfg: ConvertConfig, bar: tqdm):
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise Gina3dError(f"dask[distributed] is not installed: {INSTALL_HINT}") from None
    cluster = None
    try:
        if cfg.scheduler:
            client = Client(cfg.scheduler, timeout="30s")
        else:
            cluster = LocalCluster(
                n_workers=min(cfg.workers, max(len(todo), 1)),
                threads_per_worker=1,
                memory_limit=cfg.memory_limit,
                processes=cfg.processes,
                dashboard_address=None,
            )
            client = Client(cluster)
    except (OSError, TimeoutError) as e:
        where = cfg.scheduler or "a local cluster"
        raise Gina3dError(f"cannot start Dask on {where} ({str(e).splitlines()[0]})") from None
    try:
        futures = client.map(_task, todo, pure=False)
        segment_of = {f.key: t[6] for f, t in zip(futures, todo)}
        for future in as_completed(futures):
            try:
                info = future.result()
            except Exception as e:  # e.g. a worker killed for exceeding its memory limit
                seg = segment_of[future.key]
                info = {"error": f"{seg}: {type(e).__name__}: {e}", "segment": seg}
            bar.update(1)
            yield info
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def convert_dataset(kind: str, layout: Layout, out, task_cfg, cfg: ConvertConfig) -> dict:
    """Convert (or resume) every segment of ``layout``; returns the manifest."""
    cfg.validate()
    root = Path(out)
    settings = _settings(kind, layout, task_cfg, cfg)
    _pin(root, settings)
    if cfg.split:
        splits = {s: cfg.split for s in layout.segments}
    else:
        splits = assign_splits(layout.segments, cfg.split_fractions, cfg.seed)
    plan = plan_shards(splits, 1)
    remove_stale_temporaries(root)  # of a killed build: the shards are written again
    done = {name: finished_shard(root, name) for name, _, _ in plan}
    todo = [(kind, layout, task_cfg, root, n, sp, sc[0]) for n, sp, sc in plan if done[n] is None]
    start = time.time()
    errors, traces = [], []
    with tqdm(total=len(todo), desc=f"waymo {kind} segments", unit="segment") as bar:
        use_dask = cfg.scheduler is not None or cfg.workers > 1
        results = _run_dask(todo, cfg, bar) if use_dask and todo else _run_local(todo, bar)
        for info in results:
            if "error" in info:
                errors.append(info["error"])
                traces.append(info.get("trace", ""))
            else:
                done[info["path"][: -len(".parquet")]] = info
    report = summarise(root, layout, plan, errors)
    report["failure_traces"] = traces
    atomic_write_json(root / "waymo_report.json", report)
    if errors:
        raise Gina3dError(
            f"{len(errors)} of {len(plan)} segments failed (first: {errors[0]}); finished "
            f"segments are kept, see {root / 'waymo_report.json'}; re-run to retry"
        )
    manifest = make_manifest(settings, [done[name] for name, _, _ in plan])
    manifest["build_seconds"] = round(time.time() - start, 3)
    keep = ("missing_folders", "missing_files", "unmatched_rows", "skipped_rows")
    manifest["waymo"] = {k: report[k] for k in keep}
    atomic_write_json(root / "manifest.json", manifest)
    return manifest


def summarise(root: Path, layout: Layout, plan: list, errors: list[str]) -> dict:
    """Totals over the per-segment reports: skipped rows, unmatched rows, missing columns."""
    skipped, unmatched, rows, missing_cols, missing_files = {}, {}, {}, {}, {}
    for _, _, scenes in plan:
        path = root / REPORTS / f"{scenes[0]}.json"
        if not path.exists():
            continue
        rep = json.loads(path.read_text())
        for cat, c in rep.get("categories", {}).items():
            for k, v in c.get("skipped", {}).items():
                skipped[f"{cat}/{k}"] = skipped.get(f"{cat}/{k}", 0) + v
            for k, v in c.get("join", {}).get("unmatched", {}).items():
                unmatched[f"{cat}/{k}"] = unmatched.get(f"{cat}/{k}", 0) + v
            for k, v in c.get("join", {}).get("rows", {}).items():
                rows[f"{cat}/{k}"] = rows.get(f"{cat}/{k}", 0) + v
            for folder, cols in c.get("missing_columns", {}).items():
                for name in cols:
                    key = f"{folder}: {name}"
                    missing_cols[key] = missing_cols.get(key, 0) + 1
            for folder in c.get("missing_files", []):
                missing_files[folder] = missing_files.get(folder, 0) + 1
        for k, v in rep.get("skipped", {}).items():
            skipped[k] = skipped.get(k, 0) + v
        for k, v in rep.get("unmatched", {}).items():
            unmatched[k] = unmatched.get(k, 0) + v
    return {
        **layout.report(),
        "rows": rows,
        "unmatched_rows": unmatched,
        "skipped_rows": skipped,
        "missing_files": missing_files,
        "missing_columns_in_segments": missing_cols,
        "failed_segments": errors,
    }
