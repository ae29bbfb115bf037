"""Copy the front-end libraries the pages use from ``node_modules`` into ``onecity/web/static/vendor``.

The platform runs offline (no CDN at run time), so the browser gets every script from the
platform itself. ``npm ci`` fetches the pinned versions (``package-lock.json``); this script
copies the built files and fails loudly when one is missing, so a page never ships without
its map library.

Usage: ``python scripts/vendor_assets.py`` from the repository root, after ``npm ci``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "onecity" / "web" / "static" / "vendor"

#: source under node_modules -> file name under static/vendor
ASSETS: dict[str, str] = {
    "echarts/dist/echarts.min.js": "echarts.min.js",
    "echarts/LICENSE": "echarts.LICENSE.txt",
    "swagger-ui-dist/swagger-ui-bundle.js": "swagger-ui-bundle.js",
    "swagger-ui-dist/swagger-ui.css": "swagger-ui.css",
    "swagger-ui-dist/LICENSE": "swagger-ui.LICENSE.txt",
    # the base map: an ES module that loads its worker from beside itself
    "maplibre-gl/dist/maplibre-gl.mjs": "maplibre/maplibre-gl.mjs",
    "maplibre-gl/dist/maplibre-gl-worker.mjs": "maplibre/maplibre-gl-worker.mjs",
    "maplibre-gl/dist/maplibre-gl.css": "maplibre/maplibre-gl.css",
    "maplibre-gl/LICENSE.txt": "maplibre/LICENSE.txt",
    # accessibility checks in the browser tests (tests/browser_support.py), never in a page
    "axe-core/axe.min.js": "axe/axe.min.js",
    "axe-core/LICENSE": "axe/LICENSE.txt",
}


def vendor(node_modules: Path = ROOT / "node_modules", target: Path = VENDOR) -> list[Path]:
    missing = [src for src in ASSETS if not (node_modules / src).is_file()]
    if missing:
        raise SystemExit(f"missing in {node_modules}: {', '.join(missing)}; run `npm ci` first")
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for src, name in ASSETS.items():
        dest = target / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(node_modules / src, dest)
        copied.append(dest)
    return copied


if __name__ == "__main__":
    for path in vendor():
        sys.stdout.write(f"vendored {path.relative_to(ROOT)}\n")
