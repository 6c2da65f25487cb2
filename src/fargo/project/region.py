"""Where a stage's AWS region comes from when the config does not name one.

The same order the AWS CLI, boto3 and Chalice use: AWS_REGION, AWS_DEFAULT_REGION, then the
`region` of the active profile in the AWS config file. Read with the standard library so that
loading a project never imports boto3.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from pathlib import Path


def profile_region(environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """(region, where) from the active profile of the AWS config file, if it sets one."""
    env = os.environ if environ is None else environ
    profile = env.get("AWS_PROFILE") or env.get("AWS_DEFAULT_PROFILE") or "default"
    path = Path(env.get("AWS_CONFIG_FILE") or Path.home() / ".aws" / "config").expanduser()
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (OSError, UnicodeDecodeError, configparser.Error):
        return None
    section = "default" if profile == "default" else f"profile {profile}"
    for name in (section, profile):
        if parser.has_option(name, "region"):
            region = parser.get(name, "region").strip()
            if region:
                return region, f"AWS profile {profile!r} ({path})"
    return None


def region_from_environment(environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """(region, where it came from), or None when nothing names one."""
    env = os.environ if environ is None else environ
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        value = env.get(variable, "").strip()
        if value:
            return value, f"environment {variable}"
    return profile_region(env)
