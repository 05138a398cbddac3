"""Cold start of the CLI: median wall time of whole `perp` processes beside `python -c pass`.

Run: python bench/cold_start.py [--json] [--runs N]
Also shows what an official-SDK script pays just to import (`import hyperliquid.exchange`),
when the SDK is installed, as the figure users get elsewhere.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import median_wall_ms, metric, report  # noqa: E402


def main(argv: list[str]) -> None:
    runs = int(argv[argv.index("--runs") + 1]) if "--runs" in argv else 21
    py = sys.executable
    perp = [str(Path(py).with_name("perp"))]
    if not Path(perp[0]).exists():
        perp = [py, "-m", "perpcli"]
    home = tempfile.mkdtemp(prefix="perpcli-bench-")
    env = dict(os.environ, PERPCLI_HOME=home)
    floor = median_wall_ms([py, "-c", "pass"], runs, env)
    metrics = [
        metric("perp --version", "ms", median_wall_ms([*perp, "--version"], runs, env), floor, "python -c pass"),
        metric("perp keys list", "ms", median_wall_ms([*perp, "keys", "list"], runs, env), floor, "python -c pass"),
        metric("perp --help", "ms", median_wall_ms([*perp, "--help"], runs, env), floor, "python -c pass"),
    ]
    try:
        import importlib.util

        if importlib.util.find_spec("hyperliquid") is not None:
            sdk = median_wall_ms([py, "-c", "import hyperliquid.exchange"], max(5, runs // 3), env)
            metrics.append(metric("perp keys list vs SDK import", "ms", metrics[1]["ours"], sdk,
                                  "python -c 'import hyperliquid.exchange'"))
    except Exception:
        pass
    report(f"cold start, median of {runs} runs (ratio = baseline / ours; <1 means slower than baseline)",
           metrics, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
