"""Everything a run needs, built once from the settings: the store, each connection's mappings, its
connector (built on first use), its ingestor, and the outbox routes between connections."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from crmsync.config.connections import ConnectionConfig
from crmsync.config.settings import Settings
from crmsync.connectors.base import Connector
from crmsync.connectors.registry import build_connector
from crmsync.errors import ConfigError, MappingError
from crmsync.mappings.loader import MappingSet, load_mappings
from crmsync.mappings.mapper import ObjectMapper
from crmsync.store import db
from crmsync.store.tokens import TokenStore, token_store_for
from crmsync.sync_engine.ingest import Ingestor
from crmsync.sync_engine.outbox import OutboxRoutes, Route, outbox_hook
from crmsync.sync_engine.payment_links import payment_hook
from crmsync.sync_engine.source_merges import merge_hook


class Workspace:
    def __init__(self, settings: Settings, engine: Engine | None = None, token_store: TokenStore | None = None,
                 check_schema: bool = True) -> None:
        self.settings = settings
        self.engine = engine or db.make_engine(settings.database_url)
        if check_schema:
            db.require_current_schema(self.engine)
        self.token_store: TokenStore = token_store or token_store_for(self.engine)
        self._mapping_sets: dict[Path | None, MappingSet] = {}
        self._connectors: dict[str, Connector] = {}
        self.routes = OutboxRoutes(self._routes())

    @property
    def connections(self) -> list[ConnectionConfig]:
        return [c for c in self.settings.connections if c.enabled]

    def connection(self, name: str) -> ConnectionConfig:
        return self.settings.connection(name)

    def mappings_for(self, name: str) -> MappingSet:
        directory = self.connection(name).mapping_dir or self.settings.mapping_dir
        if directory not in self._mapping_sets:
            self._mapping_sets[directory] = load_mappings(directory, self.settings.default_region)
        return self._mapping_sets[directory]

    def mapper(self, name: str, object_name: str) -> ObjectMapper:
        """The mapping of connection `name`'s object; ConfigError naming both when it has none."""
        config = self.connection(name)
        try:
            return self.mappings_for(name).get(config.system, object_name)
        except MappingError as exc:
            raise ConfigError(f"connection {name}: object {object_name!r}: {exc}") from None

    def _routes(self) -> list[Route]:
        routes = []
        for config in self.connections:
            for obj in config.pushed_objects():
                mapper = self.mapper(config.name, obj)
                routes.append(Route(config.name, mapper.entity, obj, mapper.writes_back))
        return routes

    def connector(self, name: str) -> Connector:
        if name not in self._connectors:
            config = self.connection(name)
            mapping_file = self.mappings_for(name).files.get(config.system)
            self._connectors[name] = build_connector(config, self.token_store, mapping_file)
        return self._connectors[name]

    def ingestor(self, name: str, run_id: str | None) -> Ingestor:
        """The ingest path for records of connection `name`, enqueuing write-back to the other connections."""
        ingestor = Ingestor(self.engine, self.mappings_for(name), self.settings.merge, self.settings.identity,
                            {c.name: c.deletes for c in self.connections})
        ingestor.page_hooks.append(merge_hook(self.settings.merge, self.routes, run_id))
        ingestor.page_hooks.append(payment_hook(self.settings.payments, self.settings.merge, run_id))
        ingestor.page_hooks.append(outbox_hook(self.routes, run_id))  # last: it queues what the others changed
        return ingestor

    def close(self) -> None:
        for connector in self._connectors.values():
            connector.close()
        self._connectors.clear()

