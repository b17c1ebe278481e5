"""Line plots drawn with PIL only (no matplotlib): axes, ticks, labels, a legend, several
series. For training curves in reports; good enough to read trends, not for print."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

PALETTE = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
]
INK, GRID, PAPER = (40, 40, 40), (225, 225, 225), (255, 255, 255)


@dataclass
class Series:
    """One line: ``x`` [N] and ``y`` [N]; non-finite y values break the line."""

    label: str
    x: Sequence[float]
    y: Sequence[float]


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values (1, 2 or 5 times a power of ten) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi <= lo:
        hi, lo = lo + 0.5 * (abs(lo) or 1.0), lo - 0.5 * (abs(lo) or 1.0)
    raw = (hi - lo) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks, t = [], first
    while t <= hi + 1e-9 * step:
        ticks.append(0.0 if abs(t) < 1e-12 * step else t)
        t += step
    return ticks


def format_tick(value: float) -> str:
    """Short tick label: up to 4 significant digits, scientific for very large/small."""
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        return f"{value:.1e}"
    return f"{value:.4g}"


def line_plot(
    series: Sequence[Series],
    title: str = "",
    xlabel: str = "step",
    ylabel: str = "",
    width: int = 560,
    height: int = 320,
    log_y: bool = False,
) -> Image.Image:
    """An RGB image of the series on shared axes, with a legend when there are several."""
    img = Image.new("RGB", (width, height), PAPER)
    draw = ImageDraw.Draw(img)
    font, small = _font(13), _font(11)
    left, right, top, bottom = 72, 16, 28 if title else 12, 40
    series = [_clean(s, log_y) for s in series]
    legend_w = _legend_width(draw, [s[0] for s in series], small) if len(series) > 1 else 0
    right += legend_w + (8 if legend_w else 0)  # the legend sits right of the plot area
    xs = np.concatenate([s[1] for s in series]) if series else np.zeros(0)
    ys = np.concatenate([s[2] for s in series]) if series else np.zeros(0)
    ys = ys[np.isfinite(ys)]
    if title:
        draw.text((width / 2, 6), title, fill=INK, font=font, anchor="ma")
    x0, y0, x1, y1 = left, top, width - right, height - bottom  # plot area
    draw.rectangle((x0, y0, x1, y1), outline=INK)
    if len(xs) == 0 or len(ys) == 0:
        draw.text(((x0 + x1) / 2, (y0 + y1) / 2), "no data", fill=INK, font=font, anchor="mm")
        return img
    xt = nice_ticks(float(xs.min()), float(xs.max()))
    yt = nice_ticks(float(ys.min()), float(ys.max()))
    xlo, xhi = min(xt[0], xs.min()), max(xt[-1], xs.max())
    ylo, yhi = min(yt[0], ys.min()), max(yt[-1], ys.max())

    def px(x, y):
        u = x0 + (x - xlo) / ((xhi - xlo) or 1.0) * (x1 - x0)
        v = y1 - (y - ylo) / ((yhi - ylo) or 1.0) * (y1 - y0)
        return u, v

    for t in xt:
        u, _ = px(t, ylo)
        draw.line((u, y0, u, y1), fill=GRID)
        draw.line((u, y1, u, y1 + 4), fill=INK)
        draw.text((u, y1 + 6), format_tick(t), fill=INK, font=small, anchor="ma")
    for t in yt:
        _, v = px(xlo, t)
        draw.line((x0, v, x1, v), fill=GRID)
        draw.line((x0 - 4, v, x0, v), fill=INK)
        label = format_tick(10**t if log_y else t)
        draw.text((x0 - 6, v), label, fill=INK, font=small, anchor="rm")
    draw.rectangle((x0, y0, x1, y1), outline=INK)
    for i, (_, x, y) in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        for run in _finite_runs(x, y):
            points = [px(a, b) for a, b in run]
            if len(points) == 1:
                u, v = points[0]
                draw.ellipse((u - 2, v - 2, u + 2, v + 2), fill=colour)
            else:
                draw.line(points, fill=colour, width=2)
    draw.text(((x0 + x1) / 2, height - 4), xlabel, fill=INK, font=font, anchor="md")
    if ylabel or log_y:
        _vertical_text(img, (ylabel + (" (log scale)" if log_y else "")).strip(), font, 4, y0, y1)
    if len(series) > 1:
        _legend(draw, [s[0] for s in series], small, x1 + 8 + legend_w, y0)
    return img


def _clean(s: Series, log_y: bool) -> tuple[str, np.ndarray, np.ndarray]:
    x = np.asarray(s.x, dtype=np.float64)
    y = np.asarray(s.y, dtype=np.float64)
    if log_y:
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.where(y > 0, np.log10(np.where(y > 0, y, 1.0)), np.nan)
    return s.label, x, y


def _finite_runs(x: np.ndarray, y: np.ndarray) -> list[list[tuple[float, float]]]:
    runs, current = [], []
    for a, b in zip(x, y):
        if math.isfinite(a) and math.isfinite(b):
            current.append((float(a), float(b)))
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def _legend_width(draw: ImageDraw.ImageDraw, labels: list[str], font) -> int:
    return int(max(draw.textlength(label, font=font) for label in labels)) + 28


def _legend(draw: ImageDraw.ImageDraw, labels: list[str], font, right: float, top: float) -> None:
    w = _legend_width(draw, labels, font)
    h = 15 * len(labels) + 6
    draw.rectangle((right - w, top, right, top + h), fill=PAPER, outline=GRID)
    for i, label in enumerate(labels):
        y = top + 4 + 15 * i + 6
        draw.line((right - w + 5, y, right - w + 19, y), fill=PALETTE[i % len(PALETTE)], width=3)
        draw.text((right - w + 23, y), label, fill=INK, font=font, anchor="lm")


def _vertical_text(img: Image.Image, text: str, font, x: int, top: int, bottom: int) -> None:
    probe = ImageDraw.Draw(img)
    w = int(probe.textlength(text, font=font)) + 4
    label = Image.new("RGB", (w, 16), PAPER)
    ImageDraw.Draw(label).text((2, 1), text, fill=INK, font=font)
    label = label.rotate(90, expand=True)  # [w x 16] -> [16 x w]
    y = int((top + bottom) / 2 - label.height / 2)
    img.paste(label, (x, max(0, y)))


def png_bytes(image: Image.Image) -> bytes:
    """The image encoded as PNG."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()
