"""Plugin loading: a fresh plugin manager per engine, built-in defaults registered
``trylast``, third-party plugins from the ``coplib`` entry-point group only when asked."""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Iterable, Sequence

import pluggy

from coplib.domain.errors import PluginError
from coplib.ports import hookspecs

ENTRY_POINT_GROUP = "coplib"
#: Set to 1 to refuse entry-point loading whatever the host asked (e.g. in a locked-down CI).
DISABLE_AUTOLOAD_ENV = "COPLIB_DISABLE_PLUGIN_AUTOLOAD"


def make_plugin_manager(
    plugins: Iterable[object] = (),
    *,
    defaults: Iterable[tuple[str, object]] = (),
    load_entrypoints: bool = False,
    allow: Sequence[str] | None = None,
    block: Sequence[str] = (),
) -> pluggy.PluginManager:
    """A new plugin manager with coplib's hookspecs.

    `defaults` are (name, plugin) pairs of built-in plugins; a name in `block` is not
    registered. `plugins` are the host's own, registered as given. Entry points of the
    ``coplib`` group are loaded when `load_entrypoints` is true (and the environment does
    not disable it), filtered by `allow` (names, None for all) and `block`.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    blocked = set(block)
    for name, plugin in defaults:
        if name not in blocked:
            pm.register(plugin, name=name)
    for plugin in plugins:
        try:
            pm.register(plugin)
        except ValueError as exc:
            raise PluginError(f"plugin {plugin!r} could not be registered: {exc}") from exc
    if load_entrypoints and os.environ.get(DISABLE_AUTOLOAD_ENV, "") not in ("1", "true", "yes"):
        _load_entrypoints(pm, allow=allow, block=blocked)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"a plugin implements a hook coplib does not define: {exc}") from exc
    return pm


def _load_entrypoints(pm: pluggy.PluginManager, *, allow: Sequence[str] | None, block: set[str]) -> None:
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in block or (allow is not None and ep.name not in allow):
            continue
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue
        dist = ep.dist.name if ep.dist else "unknown distribution"
        try:
            plugin = ep.load()
        except Exception as exc:  # any import failure is the plugin's, reported as ours
            raise PluginError(
                f"plugin {ep.name!r} ({ep.value}) from {dist} failed to load: {exc}; "
                f"block it with block=[{ep.name!r}] or fix the distribution"
            ) from exc
        try:
            pm.register(plugin, name=ep.name)
        except ValueError as exc:
            raise PluginError(f"plugin {ep.name!r} from {dist} could not be registered: {exc}") from exc
