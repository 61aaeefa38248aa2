"""Wires plugins together: hook specs, entry points, config, in one function."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import pluggy

import engine.hookspecs as hookspecs
from engine.core.errors import ConfigError, EngineError

hookimpl = pluggy.HookimplMarker("engine")
ENTRY_POINT_GROUP = "engine.plugins"


def make_plugin_manager(config: Mapping[str, Any]) -> pluggy.PluginManager:
    """Loads the plugins named by the entry-point group, minus `[plugins] disabled`,
    plus the modules listed in `[plugins] modules`."""
    table = config.get("plugins", {})
    disabled = table.get("disabled", [])
    modules = table.get("modules", [])
    if not isinstance(disabled, list) or not isinstance(modules, list):
        raise ConfigError("[plugins] disabled and modules in config.toml must be lists of names.")
    pm = pluggy.PluginManager("engine")
    pm.add_hookspecs(hookspecs)
    for name in disabled:
        pm.set_blocked(str(name))
    try:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        for name in modules:
            if not pm.is_blocked(name):
                pm.register(importlib.import_module(name), name=name)
    except ImportError as exc:
        raise EngineError(f"A plugin could not be loaded ({exc}); disable it in [plugins] of config.toml.") from None
    pm.check_pending()
    return pm
