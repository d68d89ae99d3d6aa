"""What docker compose would hand each container, worked out without Docker.

Reads docker-compose.yml with a YAML parser, interpolates it from a project `.env` the way compose does
(``$$``, ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?error}``, ``${VAR?error}``,
``${VAR:+alt}``, ``${VAR+alt}``), and layers each service's environment as compose does: the image's
``ENV`` (from the Dockerfile, for services built here), then ``env_file``, then ``environment:``.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


class ComposeError(Exception):
    """Compose would refuse to start: a required variable is missing."""


def dotenv_parse(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"not NAME=VALUE: {line!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name.strip()] = value
    return values


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def interpolate(text: str, env: dict[str, str]) -> str:
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch != "$":
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1 : i + 2]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "{":
            end, depth = i + 2, 1
            while depth:
                if end >= len(text):
                    raise ComposeError(f"unclosed ${{ in {text!r}")
                depth += {"{": 1, "}": -1}.get(text[end], 0)
                end += 1
            out.append(_expression(text[i + 2 : end - 1], env))
            i = end
        else:
            match = _NAME.match(text, i + 1)
            if not match:
                raise ComposeError(f"bare $ in {text!r} (write $$)")
            out.append(env.get(match.group(), ""))
            i = match.end()
    return "".join(out)


def _expression(body: str, env: dict[str, str]) -> str:
    match = _NAME.match(body)
    if not match:
        raise ComposeError(f"bad variable ${{{body}}}")
    name, rest = match.group(), body[match.end() :]
    value = env.get(name)
    if not rest:
        return value or ""
    for op in (":-", ":?", ":+", "-", "?", "+"):
        if rest.startswith(op):
            arg = rest[len(op) :]
            present = value is not None and (value != "" or ":" not in op)
            if op.endswith("-"):
                return value if present else interpolate(arg, env)
            if op.endswith("?"):
                if not present:
                    raise ComposeError(f"{name}: {interpolate(arg, env)}")
                return value
            return interpolate(arg, env) if present else ""
    raise ComposeError(f"bad variable ${{{body}}}")


def _walk(node, env):
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [_walk(item, env) for item in node]
    if isinstance(node, dict):
        return {key: _walk(value, env) for key, value in node.items()}
    return node


def compose_config(dotenv: dict[str, str], root: Path = ROOT) -> dict:
    """docker-compose.yml, merged (anchors, ``<<``) and interpolated from ``dotenv``."""
    return _walk(yaml.safe_load((root / "docker-compose.yml").read_text()), dotenv)


def image_env(root: Path = ROOT) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in (root / "Dockerfile").read_text().splitlines():
        if line.startswith("ENV "):
            for word in shlex.split(line[4:]):
                name, _, value = word.partition("=")
                env[name] = value
    return env


def service_env(config: dict, service: str, dotenv: dict[str, str], root: Path = ROOT) -> dict[str, str]:
    """The environment one service's container starts with."""
    spec = config["services"][service]
    env = image_env(root) if "build" in spec else {}
    for entry in spec.get("env_file", []):
        path = entry["path"] if isinstance(entry, dict) else entry
        if path == ".env":
            env.update(dotenv)
        elif (root / path).exists():
            env.update(dotenv_parse((root / path).read_text()))
    environment = spec.get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.partition("=")[::2] for item in environment)
    env.update({name: "" if value is None else str(value) for name, value in environment.items()})
    return env
