"""PIL line plots: round ticks, several series, gaps, empty and degenerate data."""

import numpy as np

from gina3d.evaluation.plots import PALETTE, Series, format_tick, line_plot, nice_ticks, png_bytes


def test_nice_ticks_and_labels():
    assert nice_ticks(0, 10) == [0, 2, 4, 6, 8, 10]
    assert nice_ticks(0.013, 0.047) == [0.02, 0.03, 0.04]
    assert nice_ticks(3, 3)  # a constant series still gets an axis
    assert nice_ticks(float("nan"), 1) == []
    assert [format_tick(v) for v in (0, 0.0125, 1500, 2e6, 1e-5)] == [
        "0",
        "0.0125",
        "1500",
        "2.0e+06",
        "1.0e-05",
    ]


def _has_colour(img, colour) -> bool:
    return bool((np.asarray(img) == np.array(colour, dtype=np.uint8)).all(-1).any())


def test_line_plot_draws_each_series():
    x = np.arange(50)
    y2 = np.where(x % 10 == 0, np.nan, 0.5 - x / 200)  # gaps break the line
    img = line_plot(
        [Series("a", x, np.exp(-x / 20)), Series("b", x, y2)], title="losses", ylabel="loss"
    )
    assert img.size == (560, 320) and img.mode == "RGB"
    assert _has_colour(img, PALETTE[0]) and _has_colour(img, PALETTE[1])
    assert png_bytes(img)[:8] == b"\x89PNG\r\n\x1a\n"


def test_degenerate_inputs_do_not_fail():
    for series in ([], [Series("empty", [], [])], [Series("one", [5], [1.0])]):
        assert line_plot(series).size == (560, 320)
    log = line_plot([Series("lr", [0, 1, 2], [1e-3, 0.0, 1e-4])], log_y=True, width=300)
    assert log.size == (300, 320)
