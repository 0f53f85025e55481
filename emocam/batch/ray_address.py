"""What `--ray-address` names, and whether anything answers there.

Ray keeps retrying an address that does not answer for minutes and does not hear Ctrl-C meanwhile, so
the batch asks the network first: a refused or silent port is one line at once.
"""
from __future__ import annotations

import os
import socket

CLIENT_PREFIX = "ray://"  # Ray Client, from a machine outside the cluster
ANSWER_TIMEOUT_S = 5.0
FORMS = "auto, HOST:PORT or ray://HOST:PORT"


def check(address: str) -> None:
    """Raise ValueError unless `address` has one of the forms Ray accepts here."""
    if address != "auto":
        split(address)


def split(address: str) -> tuple[str, int]:
    """(host, port) of HOST:PORT or ray://HOST:PORT."""
    hostport = address[len(CLIENT_PREFIX):] if address.startswith(CLIENT_PREFIX) else address
    host, sep, port = hostport.rpartition(":")
    if not (sep and host and port.isdigit() and 0 < int(port) < 65536):
        raise ValueError(f"--ray-address must be {FORMS}, got {address!r}")
    return host.strip("[]"), int(port)


def endpoint(address: str) -> tuple[str, int]:
    """(host, port) to ask; `auto` is the cluster RAY_ADDRESS names, else the one `ray start` runs here."""
    if address == "auto":
        address = os.environ.get("RAY_ADDRESS") or _cluster_on_this_machine()
    return split(address)


def _cluster_on_this_machine() -> str:
    from ray._private.services import canonicalize_bootstrap_address  # Ray's own lookup for "auto"

    try:
        found = canonicalize_bootstrap_address("auto")
    except ConnectionError:
        found = None
    if not found:
        raise ValueError("no Ray cluster is running on this machine (start one with `ray start --head`, "
                         "or name it: --ray-address HOST:PORT)")
    return found


def unanswered(host: str, port: int, timeout: float = ANSWER_TIMEOUT_S) -> str | None:
    """Why nothing answers at host:port, or None when something does."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except socket.gaierror:
        return "unknown host"
    except (socket.timeout, TimeoutError):
        return f"no answer in {timeout:g} s"
    except OSError as exc:
        return exc.strerror or type(exc).__name__
