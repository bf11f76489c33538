"""`motsim app`: serve the what-if page on this machine (the optional extra `motsim[app]`)."""

from __future__ import annotations

import os
import socket
from importlib.util import find_spec
from pathlib import Path
from typing import Annotated, Optional

import typer

from motsim.cli.support import SCENARIO_HELP, guarded, out, resolved
from motsim.errors import InputError, Problem

HOST = "127.0.0.1"  # this machine only
# The page's own names (motsim.app.main, motsim.app.state): the command line and the page sit side by
# side in the layers, so the command starts the page by its file and tells it the scenario by environment.
SCENARIO_VARIABLE = "MOTSIM_APP_SCENARIO"
MAX_UPLOAD_MB = 50


def register(app: typer.Typer) -> None:
    """Add the `app` command."""
    app.command(name="app")(serve)


def serve(
    scenario: Annotated[Optional[str], typer.Argument(help=SCENARIO_HELP + " Default: saas_onboarding.")] = None,
    port: Annotated[
        Optional[int], typer.Option("--port", "-p", min=1, max=65535, help="Port on 127.0.0.1 (default: a free one).")
    ] = None,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Do not open a browser (a server: open the address printed).")
    ] = False,
) -> None:
    r"""A what-if page in your browser: the journey, levers, a quick look then the full answer, rank, fits, A/B.

    Served on 127.0.0.1 only, fully offline; no usage statistics are sent anywhere. Needs the extra:
    pip install "motsim\[app]".
    """

    def go() -> None:
        if find_spec("streamlit") is None:
            raise InputError("motsim app", [Problem("", 'needs the app extra: pip install "motsim[app]"')])
        source = scenario if scenario and resolved(scenario) else ""  # checked here; the page loads it
        chosen = port or free_port()
        if port is not None and not is_free(port):
            raise InputError.one("", "port", f"{port} is in use on {HOST}: choose another, or leave --port out")
        out.print(f"motsim app: http://{HOST}:{chosen}  (Ctrl-C stops it)", highlight=False)
        start(source, chosen, open_browser=not no_browser)

    guarded(go)


def settings(port: int, open_browser: bool) -> dict[str, object]:
    """The server's configuration, set here rather than in any config file: this machine only, no
    usage statistics, no file watching, no tracebacks on the page, uploads size-limited.
    """
    return {
        "server.address": HOST,
        "server.port": port,
        "server.headless": not open_browser,
        "server.fileWatcherType": "none",
        "server.runOnSave": False,
        "server.maxUploadSize": MAX_UPLOAD_MB,
        "browser.gatherUsageStats": False,
        "browser.serverAddress": HOST,
        "browser.serverPort": port,
        "client.showErrorDetails": "none",
        "client.toolbarMode": "minimal",
        "global.developmentMode": False,
        "theme.base": "light",
    }


def start(source: str, port: int, open_browser: bool) -> None:
    """Serve the page until Ctrl-C."""
    from streamlit.web import bootstrap

    os.environ["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"  # also for anything that reads the environment
    os.environ[SCENARIO_VARIABLE] = source
    page = str(Path(__file__).parents[1] / "app" / "page.py")
    flags = settings(port, open_browser)
    bootstrap.load_config_options(flag_options=flags)
    bootstrap.run(page, False, [], flags)


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def is_free(port: int) -> bool:
    """Whether `port` can be listened on."""
    with socket.socket() as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
        return True
