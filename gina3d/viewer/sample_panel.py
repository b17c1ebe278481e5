"""The sample tab (stage-2 runs): sample a new asset with chosen conditions and show it.

The conditions offered are those the stage-2 model was trained with (class, box size, time
of day; an image condition is not offered here). The box size is always chosen (it scales
the normalised tri-plane), and passed as a condition only for a size-conditioned model when
"condition on size" is ticked. Sampling goes through ``gina3d.assets.run_models`` (the
asset commands' one door to the sampler) and ``save_asset`` (decode, mesh, turntable), in
a worker thread so the page stays live; the new folder lands in ``SamplerService.out_dir``
(default ``RUN/assets/viewer/``) and the assets tab selects it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from gina3d.data.dataset import CLASSES, TIMES_OF_DAY
from gina3d.errors import Gina3dError

ANY = "(any)"
SAMPLE_VIEWS = 8
SAMPLE_IMAGE_SIZE = 96


class SamplerService:
    """A stage-2 run's models, shared by all browsers; one sample at a time."""

    def __init__(
        self,
        run: Path,
        models,
        out_dir: Path,
        mesh_resolution: int,
        exports: tuple[str, ...] = (),
        usdz: bool = False,
    ) -> None:
        from gina3d.assets.decoder_ref import stage1_checkpoint
        from gina3d.assets.run_models import stage2_conditions

        self.run = run
        self.models = models
        self.out_dir = out_dir
        self.mesh_resolution = mesh_resolution
        self.exports, self.usdz = tuple(exports), usdz
        self.conditions = stage2_conditions(models)
        self.decoder_key = str(stage1_checkpoint(models.stage1_source).resolve())
        self._lock = threading.Lock()

    @classmethod
    def for_run(cls, cfg) -> SamplerService | None:
        """The sampler of ``cfg.run`` if it is a stage-2 run, else None."""
        from gina3d.assets.run_models import load_models, run_kind

        run = Path(cfg.run)
        if not (run / "checkpoints").is_dir() or run_kind(run) != "stage2":
            return None
        out = Path(cfg.samples_out) if cfg.samples_out else run / "assets" / "viewer"
        models = load_models(run, cfg.device)
        return cls(run, models, out, cfg.mesh_resolution, cfg.exports, cfg.usdz)

    def next_dir(self) -> Path:
        k = 0
        while (self.out_dir / f"sample_{k:03d}").exists():
            k += 1
        return self.out_dir / f"sample_{k:03d}"

    def sample(
        self,
        class_name: str | None,
        size: list[float],
        time_of_day: str | None,
        seed: int,
        condition_on_size: bool = True,
        steps: int = 12,
        guidance: float = 2.0,
    ) -> Path:
        """Sample one asset and write its folder; returns its path."""
        from gina3d.assets.asset_io import AssetContents, AssetOptions, save_asset
        from gina3d.assets.mesh import check_size
        from gina3d.assets.run_models import sample_tokens

        size = [float(s) for s in check_size(size)]
        conditions = {}
        if class_name is not None and "class_name" in self.conditions:
            conditions["class_name"] = class_name
        if time_of_day is not None and "time" in self.conditions:
            conditions["time"] = time_of_day
        if condition_on_size and "size" in self.conditions:
            conditions["size"] = size
        sampler = {"steps": int(steps), "temperature": 1.0, "guidance": float(guidance)}
        with self._lock:
            tokens = sample_tokens(self.models, int(seed), conditions, **sampler)  # [T]
            self.out_dir.mkdir(parents=True, exist_ok=True)
            contents = AssetContents(
                tokens=tokens,
                size_m=size,
                class_name=class_name,
                seed=int(seed),
                conditions=conditions,
                extra={"stage2": {"run": str(self.run.resolve()), **sampler}, "by": "viewer"},
            )
            options = AssetOptions(
                views=SAMPLE_VIEWS,
                image_size=SAMPLE_IMAGE_SIZE,
                mesh_resolution=self.mesh_resolution,
                exports=self.exports,
                usdz=self.usdz,
            )
            stage1 = (self.models.stage1, self.models.stage1_source)
            return save_asset(self.next_dir(), *stage1, contents, options)

    def close(self) -> None:
        pass


class SamplePanel:
    """GUI of the sample tab for one browser; ``asset_panel`` shows the result."""

    def __init__(self, session, service: SamplerService, asset_panel) -> None:
        from gina3d.assets.run_models import DEFAULT_SIZES

        self.session = session
        self.service = service
        self.asset_panel = asset_panel
        self.default_sizes = DEFAULT_SIZES
        conds = service.conditions
        gui = session.client.gui
        gui.add_markdown(
            "Conditions of this model: " + (", ".join(sorted(conds)) or "none (unconditional)")
        )
        self.cls = gui.add_dropdown(
            "class",
            options=(*CLASSES, ANY),
            initial_value=CLASSES[0],
            hint="a condition" if "class_name" in conds else "recorded only (not a condition)",
        )
        length, width, height = DEFAULT_SIZES[CLASSES[0]]
        self.length = gui.add_slider("length (m)", 0.3, 8.0, 0.05, length)
        self.width = gui.add_slider("width (m)", 0.3, 3.0, 0.05, width)
        self.height = gui.add_slider("height (m)", 0.3, 3.0, 0.05, height)
        self.size_cond = gui.add_checkbox(
            "condition on size", "size" in conds, visible="size" in conds
        )
        self.time = gui.add_dropdown(
            "time of day", options=(ANY, *TIMES_OF_DAY), initial_value=ANY, visible="time" in conds
        )
        self.seed = gui.add_number("seed", 0, min=0, step=1)
        self.steps = gui.add_slider("MaskGIT steps", 1, 32, 1, 12)
        self.guidance = gui.add_slider("guidance", 0.0, 5.0, 0.25, 2.0)
        self.button = gui.add_button("sample")
        self.status = gui.add_markdown("")
        self.busy = threading.Lock()
        self.cls.on_update(lambda _: self._class_changed())
        self.button.on_click(lambda _: self.start())

    def _class_changed(self) -> None:
        if self.cls.value in self.default_sizes:
            length, width, height = self.default_sizes[self.cls.value]
            self.length.value, self.width.value, self.height.value = length, width, height

    def start(self) -> threading.Thread | None:
        """Sample in a worker thread with the current settings (None if one is running)."""
        if not self.busy.acquire(blocking=False):
            return None
        self.button.disabled = True
        self.status.content = "sampling..."
        thread = threading.Thread(target=self._run, name="gina3d-sample", daemon=True)
        thread.start()
        return thread

    def _run(self) -> None:
        start = time.monotonic()
        try:
            path = self.service.sample(
                None if self.cls.value == ANY else self.cls.value,
                [self.length.value, self.width.value, self.height.value],
                None if self.time.value == ANY else self.time.value,
                int(self.seed.value),
                condition_on_size=bool(self.size_cond.value),
                steps=int(self.steps.value),
                guidance=float(self.guidance.value),
            )
            seconds = time.monotonic() - start
            self.status.content = f"wrote `{path}` in {seconds:.1f} s"
            self.seed.value = int(self.seed.value) + 1
            self.asset_panel.refresh(select=path)
        except Gina3dError as e:
            self.status.content = f"**error**: {self.session.error('sample', e)}"
        except Exception as e:  # keep the server up; show what went wrong
            self.status.content = f"**failed**: {self.session.error('sample', e)}"
        finally:
            self.button.disabled = False
            self.busy.release()
