"""The model registry: MLflow registered models, versions and the ``champion`` / ``challenger`` aliases.

Each cartwise model (``fraud``, ``credit``, ``recs``) is one registered model. A
version is an MLflow pyfunc model whose artifacts are the self-contained bundle
directory and whose signature is the model's input schema. Aliases, never stages.

:meth:`ModelRegistry.load_bundle` downloads a version's bundle into a local cache
under the data dir (versions are immutable, so a cached version never goes stale)
and remembers which version each alias pointed to; when the registry cannot be
reached it falls back to that cache, so a service can start from its last bundles.

Every MLflow failure surfaces as :class:`~cartwise.errors.RegistryError` saying
what could not be done and where; HTTP registries get short timeouts and no retry
storms (``MLFLOW_HTTP_REQUEST_MAX_RETRIES`` / ``MLFLOW_HTTP_REQUEST_TIMEOUT`` unless set).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cartwise.errors import RegistryError

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from cartwise.config import Settings

__all__ = [
    "ALIASES",
    "CHALLENGER",
    "CHAMPION",
    "ModelRegistry",
    "ModelVersionInfo",
    "configure_mlflow_environment",
]

logger = logging.getLogger(__name__)

CHAMPION = "champion"
CHALLENGER = "challenger"
ALIASES = (CHAMPION, CHALLENGER)
BUNDLE_ARTIFACT_PATH = "model/artifacts/bundle"
_CLIENTS: dict[str, MlflowClient] = {}


def configure_mlflow_environment() -> None:
    """Short HTTP timeouts, no retry storms, no download progress bars (unless already set)."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "15")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


@dataclass(frozen=True)
class ModelVersionInfo:
    """One registered version, as the CLI and the gates need it."""

    model: str
    version: int
    aliases: tuple[str, ...]
    run_id: str | None
    created_at: datetime
    tags: Mapping[str, str]


class ModelRegistry:
    """MLflow registry client for cartwise models; every call raises RegistryError on failure."""

    def __init__(
        self, tracking_uri: str, *, artifact_root: str | None = None, cache_dir: Path | None = None
    ) -> None:
        self.tracking_uri = tracking_uri
        self.artifact_root = artifact_root
        self.cache_dir = cache_dir

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelRegistry:
        """The registry the settings point at, with its bundle cache under the data dir."""
        uri = settings.tracking_uri
        if uri.startswith("sqlite:"):
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        # A remote server chooses its own artifact store unless one is configured explicitly.
        remote = uri.startswith(("http://", "https://"))
        artifact_root = settings.registry.artifact_root if remote else settings.artifact_root
        return cls(uri, artifact_root=artifact_root, cache_dir=settings.data_dir / "bundle_cache")

    # -- plumbing -------------------------------------------------------------------------------

    @property
    def client(self) -> MlflowClient:
        configure_mlflow_environment()
        client = _CLIENTS.get(self.tracking_uri)
        if client is None:
            with self._guard("connect to"):
                from mlflow import MlflowClient

                client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)
            _CLIENTS[self.tracking_uri] = client
        return client

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        try:
            yield
        except RegistryError:
            raise
        except Exception as exc:
            raise RegistryError(
                f"could not {action} the MLflow registry at {self._where()}: {_short(exc)}. "
                "Check registry.tracking_uri in the settings and that the MLflow server/database is running."
            ) from exc

    def _where(self) -> str:
        uri = self.tracking_uri
        if "@" in uri and "://" in uri:  # hide credentials in DSNs
            scheme, rest = uri.split("://", 1)
            uri = f"{scheme}://***@{rest.split('@', 1)[1]}"
        return uri

    def ping(self) -> None:
        """Raise RegistryError unless the registry answers."""
        with self._guard("reach"):
            self.client.search_registered_models(max_results=1)

    # -- reading --------------------------------------------------------------------------------

    def _registered(self, model: str) -> Any | None:
        from mlflow.exceptions import MlflowException

        with self._guard(f"read model {model!r} from"):
            try:
                return self.client.get_registered_model(model)
            except MlflowException as exc:
                if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                    return None
                raise

    def exists(self, model: str) -> bool:
        return self._registered(model) is not None

    def aliases(self, model: str) -> dict[str, int]:
        """alias → version for the model (empty when it is not registered)."""
        registered = self._registered(model)
        if registered is None:
            return {}
        return {alias: int(version) for alias, version in registered.aliases.items()}

    def alias_version(self, model: str, alias: str) -> int | None:
        return self.aliases(model).get(alias)

    def model_tags(self, model: str) -> dict[str, str]:
        registered = self._registered(model)
        return dict(registered.tags) if registered is not None else {}

    def models(self) -> list[str]:
        with self._guard("list models in"):
            return sorted(m.name for m in self.client.search_registered_models(max_results=1000))

    def versions(self, model: str) -> list[ModelVersionInfo]:
        """Every version of the model, oldest first (empty when it is not registered)."""
        registered = self._registered(model)
        if registered is None:
            return []
        aliases = {alias: int(version) for alias, version in registered.aliases.items()}
        with self._guard(f"list versions of {model!r} in"):
            found = self.client.search_model_versions(f"name = '{model}'", max_results=10_000)
        return sorted((_info(model, mv, aliases) for mv in found), key=lambda v: v.version)

    def version(self, model: str, version: int) -> ModelVersionInfo:
        """One version; RegistryError naming the known versions when it does not exist."""
        from mlflow.exceptions import MlflowException

        registered = self._registered(model)
        if registered is None:
            raise RegistryError(f"model {model!r} is not registered; run `cartwise train {model}`")
        aliases = {alias: int(v) for alias, v in registered.aliases.items()}
        with self._guard(f"read {model} v{version} from"):
            try:
                return _info(model, self.client.get_model_version(model, str(version)), aliases)
            except MlflowException as exc:
                if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                    raise
        known = [v.version for v in self.versions(model)]
        raise RegistryError(f"model {model!r} has no version {version}; its versions are {known}")

    # -- writing --------------------------------------------------------------------------------

    def experiment_id(self, name: str) -> str:
        """The experiment with this name, created (with the configured artifact root) if absent."""
        with self._guard(f"open experiment {name!r} in"):
            experiment = self.client.get_experiment_by_name(name)
            if experiment is not None:
                return str(experiment.experiment_id)
            location = f"{self.artifact_root.rstrip('/')}/{name}" if self.artifact_root else None
            return str(self.client.create_experiment(name, artifact_location=location))

    def register_version(
        self, model: str, *, run_id: str, artifact_uri: str, tags: Mapping[str, str], description: str
    ) -> int:
        """Register the pyfunc model logged under ``artifact_uri/model`` of ``run_id`` as a new version."""
        with self._guard(f"register a version of {model!r} in"):
            if not self.exists(model):
                self.client.create_registered_model(
                    model, description=f"cartwise {model} model", tags={"cartwise.model": model}
                )
            mv = self.client.create_model_version(
                model,
                source=f"{artifact_uri.rstrip('/')}/model",
                run_id=run_id,
                tags=dict(tags),
                description=description,
            )
            return int(mv.version)

    def set_alias(self, model: str, alias: str, version: int) -> None:
        with self._guard(f"point {model}@{alias} at version {version} in"):
            self.client.set_registered_model_alias(model, alias, str(version))

    def delete_alias(self, model: str, alias: str) -> None:
        with self._guard(f"remove {model}@{alias} from"):
            self.client.delete_registered_model_alias(model, alias)

    def set_model_tag(self, model: str, key: str, value: str) -> None:
        with self._guard(f"write tag {key} of {model!r} to"):
            self.client.set_registered_model_tag(model, key, value)

    def set_version_tag(self, model: str, version: int, key: str, value: str) -> None:
        with self._guard(f"write tag {key} of {model} v{version} to"):
            self.client.set_model_version_tag(model, str(version), key, value)

    # -- bundles --------------------------------------------------------------------------------

    def _cache(self) -> Path:
        if self.cache_dir is None:
            self.cache_dir = Path(tempfile.gettempdir()) / "cartwise-bundle-cache"
        return self.cache_dir

    def download_bundle(self, model: str, version: int) -> Path:
        """The bundle directory of ``model`` version ``version``, downloaded once into the cache."""
        target = self._cache() / model / f"v{version}"
        if (target / "bundle").is_dir():
            return target / "bundle"
        info = self.version(model, version)
        if info.run_id is None:
            raise RegistryError(f"{model} v{version} has no run; it was not registered by cartwise")
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".v{version}-", dir=target.parent))
        try:
            with self._guard(f"download the bundle of {model} v{version} from"):
                path = Path(self.client.download_artifacts(info.run_id, BUNDLE_ARTIFACT_PATH, str(staging)))
            shutil.move(str(path), str(staging / "bundle"))
            with contextlib.suppress(OSError):  # another process cached it first
                staging.rename(target)  # atomic: a half-downloaded bundle is never visible
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return target / "bundle"

    def load_bundle(self, model: str, alias: str = CHAMPION, *, allow_cached: bool = True) -> Path:
        """Download the bundle ``model@alias`` points at and return its local directory.

        If the registry cannot be reached and ``allow_cached``, the bundle that alias
        pointed at when it was last loaded is returned from the cache (logged as a warning).
        """
        pointer = self._cache() / model / f"{alias}.json"
        try:
            version = self.alias_version(model, alias)
            path = self.download_bundle(model, version) if version is not None else None
        except RegistryError as exc:
            if not allow_cached or not pointer.is_file():
                raise
            cached = json.loads(pointer.read_text())
            cached_path = self._cache() / model / f"v{cached['version']}" / "bundle"
            if not cached_path.is_dir():
                raise
            logger.warning("%s; using %s@%s from the cached v%s", exc, model, alias, cached["version"])
            return cached_path
        if version is None or path is None:
            hint = (
                f"run `cartwise train {model}`" if alias == CHALLENGER else f"run `cartwise promote {model}`"
            )
            raise RegistryError(f"model {model!r} has no {alias!r} alias in {self._where()}; {hint}")
        pointer.write_text(json.dumps({"version": version, "at": datetime.now(UTC).isoformat()}))
        return path


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _info(model: str, mv: Any, aliases: Mapping[str, int]) -> ModelVersionInfo:
    return ModelVersionInfo(
        model=model,
        version=int(mv.version),
        aliases=tuple(sorted(a for a, v in aliases.items() if v == int(mv.version))),
        run_id=mv.run_id or None,
        created_at=datetime.fromtimestamp(mv.creation_timestamp / 1000, tz=UTC),
        tags=dict(mv.tags),
    )
