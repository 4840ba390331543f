"""One sync's plan: recipe, options, rules, mapping context, the source reader and the target writer, resolved in
one place. Runs, dry runs and the mapping preview all use it, so they read and map records the same way.

Building connectors needs credentials (rows, the token store): the caller passes `connect(connection, on_call=)`
(services.credentials.connector_for), so this package stays free of the services layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from contacts_sync.connectors import registry
from contacts_sync.connectors.spec import Recipe, Writer
from contacts_sync.mapping import MappingContext, apply, content_hash
from contacts_sync.models import Connection, Provider, Run, Sync, SyncMode

from .engine import CallRecorder, Engine, ParentLookup
from .mirror import LinkedTargets, MirroredTasks, forward_syncs
from .recipes import default_rules, recipe_default_rules, recipe_for
from .redaction import Redactor
from .sources import cursor_options
from .writers import AppWriter, MirrorStatusWriter

Connect = Callable[..., Any]  # (connection, *, on_call) -> the app's connector


def recipe_of(sync: Sync) -> Recipe:
    """The sync's recipe, or a generic recipe built from its source and target."""
    recipe = recipe_for(sync.recipe)
    if recipe is not None:
        return recipe
    writer = {"task": Writer.TASK, "note": Writer.NOTE_TAGS}.get(sync.target_object, Writer.CONTACT)
    if sync.target_connection.provider != Provider.GHL:
        writer = Writer.APP_WRITE
    return Recipe(
        key=sync.recipe or "custom",
        title=sync.name,
        source_provider=sync.source_connection.provider,
        source_object=sync.source_object,
        target_provider=sync.target_connection.provider,
        target_object=sync.target_object,
        triggers=(),
        description="",
        writer=writer,
    )


def source_options(sync: Sync, recipe: Recipe, run: Run | None = None) -> dict[str, Any]:
    """The recipe's source options (e.g. Hubstaff members vs clients) overlaid by the sync's own."""
    options = {**recipe.source_options, **(sync.options or {})}
    if run is not None and run.mode == SyncMode.BACKFILL and sync.backfill_from:
        options["updated_since"] = sync.backfill_from.isoformat()
    elif run is not None and change_path(sync):
        options.update(
            cursor_options(
                trigger=run.trigger,
                mode=run.mode,
                event_id=run.event_id,
                only_ids=bool(run.checkpoint.get("only_ids")),
                source_cursor=sync.source_cursor,
            )
        )
    return options


def change_path(sync: Sync) -> str | None:
    """Where the source's records keep their last-change time (None: the source has no change cursor)."""
    provider = sync.source_connection.provider
    if provider not in registry.APPS:
        return None
    return registry.spec(provider).change_paths.get(sync.source_object)


def mapping_context(sync: Sync) -> MappingContext:
    """Default phone region and time zone from the connections' config (the target's win), and what the payload
    is written to (its field limits, identity rule and write schema)."""
    config = {**(sync.source_connection.config or {}), **(sync.target_connection.config or {})}
    return MappingContext(
        default_region=str(config.get("default_region") or "US"),
        timezone=str(config.get("timezone") or "UTC"),
        target_provider=sync.target_connection.provider,
        target_object=sync.target_object,
    )


def rules_of(sync: Sync, run: Run | None = None) -> list[dict[str, Any]]:
    """The run's mapping version, else the sync's current one, else its recipe's default mapping (or the pair's)."""
    version = (run.mapping_version if run is not None else None) or sync.mapping_version
    if version is not None:
        return list(version.rules)
    recipe = recipe_for(sync.recipe)
    if recipe is not None:
        return recipe_default_rules(recipe)
    return default_rules(
        sync.source_connection.provider, sync.source_object, sync.target_connection.provider, sync.target_object
    )


def _sensitive_paths(source: Any, sync: Sync, options: dict[str, Any]) -> list[str]:
    try:
        return [f.path for f in source.fields(sync.source_object, options=options) if f.sensitive]
    except Exception:  # noqa: BLE001 - field descriptions are a nicety; redaction of secrets still applies
        return []


@dataclass
class SyncPlan:
    sync: Sync
    run: Run | None
    recipe: Recipe
    options: dict[str, Any]
    rules: list[dict[str, Any]]
    context: MappingContext
    source: Any
    writer: Any
    parents: ParentLookup | None
    redactor: Redactor
    recorder: CallRecorder

    @classmethod
    def for_sync(
        cls, sync: Sync, run: Run | None = None, *, connect: Connect, rules: list[dict[str, Any]] | None = None
    ) -> SyncPlan:
        """Everything one run of `sync` needs (or, without `run`, what a preview needs: no target writer).

        Every client built here reports its calls to `recorder`; a dry run builds no target client at all.
        """
        recipe = recipe_of(sync)
        recorder = CallRecorder()
        source = connect(sync.source_connection, on_call=recorder)
        options = source_options(sync, recipe, run)
        if options.get("mirror_of"):  # the records another sync wrote into the source (sync/mirror.py)
            source = MirroredTasks(source, forward_syncs(sync, str(options["mirror_of"])))
        rules = rules if rules is not None else rules_of(sync, run)
        writer = None
        if run is not None and not run.dry_run:
            writer = cls._writer(recipe, sync.target_connection, sync.target_object, options, connect, recorder, source)
            if recipe.writer == Writer.CONTACT_BUNDLE:  # the entry a "GHL contact -> app" sync made, if any
                writer.entries = LinkedTargets(forward_syncs(sync, "contact"))
        return cls(
            sync=sync,
            run=run,
            recipe=recipe,
            options=options,
            rules=rules,
            context=mapping_context(sync),
            source=source,
            writer=writer,
            parents=cls._parents(sync, recipe, options),
            redactor=Redactor(sensitive_source_paths=_sensitive_paths(source, sync, options), rules=rules),
            recorder=recorder,
        )

    @staticmethod
    def _writer(
        recipe: Recipe,
        target: Connection,
        target_object: str,
        options: dict[str, Any],
        connect: Connect,
        recorder: CallRecorder,
        source: Any,
    ) -> Any:
        connector = connect(target, on_call=recorder)
        if recipe.writer == Writer.APP_WRITE:
            return AppWriter(connector, target_object, options)
        if recipe.writer == Writer.MIRROR_STATUS:
            return MirrorStatusWriter(connector, target_object, options)
        if recipe.writer == Writer.CONTACT_BUNDLE:  # GHL is read; the source app takes the summary
            return connector.writer(recipe.writer, options=options, deliver=source)
        return connector.writer(recipe.writer, options=options)

    @staticmethod
    def _parents(sync: Sync, recipe: Recipe, options: dict[str, Any]) -> ParentLookup | None:
        """Tasks and notes find their GHL contact in the links of the contact syncs of the same connections."""
        if not (recipe.parent_path or options.get("ghl_contact_id")):
            return None
        contact_syncs = Sync.objects.filter(
            source_connection_id=sync.source_connection_id,
            target_connection_id=sync.target_connection_id,
            target_object="contact",
        ).exclude(pk=sync.pk)
        return ParentLookup(
            sync_ids=list(contact_syncs.values_list("pk", flat=True)), default_parent_id=options.get("ghl_contact_id")
        )

    def engine(
        self,
        *,
        worker_token: str,
        on_finish: Callable[[Run], Any] | None = None,
        slice_seconds: float | None = None,
        stop_requested: Callable[[], bool] | None = None,
    ) -> Engine:
        if self.run is None:
            raise ValueError("an engine needs the run it executes")
        return Engine(
            run=self.run,
            worker_token=worker_token,
            recipe=self.recipe,
            source=self.source,
            writer=self.writer,
            rules=self.rules,
            apply=apply,
            content_hash=content_hash,
            context=self.context,
            recorder=self.recorder,
            redactor=self.redactor,
            parents=self.parents,
            source_options=self.options,
            change_path=change_path(self.sync),
            on_finish=on_finish,
            slice_seconds=slice_seconds,
            stop_requested=stop_requested,
        )
