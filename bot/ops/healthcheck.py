"""`python -m bot.ops.healthcheck URL [URL ...]`: exit 0 when every URL answers 2xx in time.

The containers' health checks in docker-compose.yml use it (the images have Python but
not necessarily curl). Standard library only, so it costs a few milliseconds.
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request


def healthy(url: str, timeout: float) -> tuple[bool, str]:
    """Whether `url` answers with a 2xx status within `timeout` seconds, and what happened."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as error:
        return False, f"{url}: HTTP {error.code}"
    except (urllib.error.URLError, OSError) as error:
        return False, f"{url}: {error}"
    return 200 <= status < 300, f"{url}: HTTP {status}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.ops.healthcheck", description=__doc__)
    parser.add_argument("urls", nargs="+", metavar="URL")
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args(argv)
    failed = False
    for url in args.urls:
        ok, detail = healthy(url, args.timeout)
        print(detail, file=sys.stdout if ok else sys.stderr)
        failed = failed or not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
