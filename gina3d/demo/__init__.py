"""``gina3d demo``: the whole system end to end (the README's main command).

* ``settings``: what the demo builds (sample sets, sizes, presets, budgets; ``--fast``).
* ``pipeline``: ``Demo``, the driver (phase order, reuse of finished phases, summary).
* ``phases``: each phase's commands and progress polls.
* ``console``: per-phase log files and one progress line per phase on the terminal.
* ``records``: JSON records, the last logged step, timestamps.
* ``report_page``: ``DIR/report.html``.

The command line is ``gina3d.cli.demo``.
"""
