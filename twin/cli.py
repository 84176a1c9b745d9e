"""The ``twin`` command line. Each command parses its options and calls library functions."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import waitress

from twin.errors import TwinError
from twin.settings import load_settings


class _Group(click.Group):
    """Turns our errors into one line on stderr and exit code 2; no traceback reaches the user."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except TwinError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except OSError as exc:  # a folder we cannot write, a full disk: say which file and why
            where = f" ({exc.filename})" if exc.filename else ""
            click.echo(f"error: {exc.strerror or exc}{where}; check the path and its permissions", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """City-operations digital twin: build the demo city and serve the command screen."""


@main.group(cls=_Group)
def demo() -> None:
    """The built-in demo city."""


@demo.command("build")
@click.option("--scale", type=click.Choice(["small", "city"]), default="small", show_default=True,
              help="small renders fast (4,000 buildings); "
              "city is Wuhan's full scale (300 k buildings, 13.7 M residents)")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="the same seed always gives the same city")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="folder to write the city to  [default: TWIN_DATA or data/demo]")
@click.option("--buildings", type=click.IntRange(min=1), default=None, help="override the number of buildings")
def demo_build(scale: str, seed: int, out: Path | None, buildings: int | None) -> None:
    """Generate the demo city and its population layer into a data folder."""
    from twin.demo import build_demo

    out = out or load_settings().data
    manifest = build_demo(out, seed=seed, scale=scale, buildings=buildings, progress=lambda m: click.echo(m, err=True))
    click.echo(
        f"built {manifest['buildings']:,} buildings and {manifest['residents']:,} residents "
        f"in {manifest['build_seconds']} s into {out}"
    )


@main.command()
@click.option("--data", type=click.Path(path_type=Path), default=None,
              help="folder of a built city  [default: TWIN_DATA or data/demo]")
@click.option("--host", default=None, help="address to listen on  [default: TWIN_HOST or 127.0.0.1]")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="port  [default: TWIN_PORT or 8050]")
def serve(data: Path | None, host: str | None, port: int | None) -> None:
    """Serve the command screen (the 3D city) over HTTP."""
    from app import create_app
    from twin.city_data import load_city

    settings = load_settings()
    city = load_city(data or settings.data)
    app = create_app(city)
    host, port = host or settings.host, port or settings.port
    click.echo(f"serving {city.manifest['buildings']:,} buildings at http://{host}:{port}", err=True)
    try:
        waitress.serve(app.server, host=host, port=port, threads=8, ident="city-twin")
    except OSError as exc:
        raise TwinError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --port or TWIN_PORT"
        ) from None
