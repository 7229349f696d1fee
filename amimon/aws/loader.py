"""botocore's data loader, without listing every service to load one.

Before it loads a model, botocore's ``Loader.load_service_model`` checks the service's
name against ``list_available_services``: a walk over every service directory it knows
(over 400), once for the service model and once for the endpoint rules, about 35 ms of
every amimon command's first request. ``OneServiceLoader`` asks the same question of the
one service it was given (has it an API version directory holding a file of that kind?),
then loads as botocore does. A name it cannot find goes to botocore, for botocore's error.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import DataNotFoundError
from botocore.loaders import Loader, instance_cache

if TYPE_CHECKING:
    from amimon.aws.endpoints import Endpoints

log = logging.getLogger(__name__)


class OneServiceLoader(Loader):
    # The endpoint data from amimon's trimmed copy (``amimon.aws.endpoints.install``).
    endpoints: Endpoints | None = None
    # The cache directory of amimon's trimmed models, first in the search paths
    # (``amimon.aws.trimmed.install``).
    copies: Path | None = None

    @instance_cache
    def load_data_with_path(self, name: str) -> Any:
        if name == "endpoints" and self.endpoints is not None:
            data = self.endpoints.load()
            if data is not None:
                return data, self.endpoints.path
        return super().load_data_with_path(name)

    @instance_cache  # as botocore's: a second client (another region) reads nothing again
    def load_service_model(
        self, service_name: str, type_name: str, api_version: str | None = None
    ) -> Any:
        try:
            versions = self.list_api_versions(service_name, type_name)
            extras = self._find_extras, self._extras_processor  # type: ignore[attr-defined]
        except (DataNotFoundError, AttributeError):  # unknown, or a botocore laid out anew
            return super().load_service_model(service_name, type_name, api_version)
        version = api_version or max(versions)  # botocore's determine_latest_version
        relative = os.path.join(service_name, version, type_name)
        try:
            model = self.load_data(relative)
        except ValueError:  # JSON that does not decode: a damaged copy in amimon's cache?
            if not self._drop_copies():
                raise
            model = self.load_data(relative)  # botocore's own file
        find_extras, processor = extras
        processor.process(model, find_extras(service_name, type_name, version))
        return model

    def _drop_copies(self) -> bool:
        """Stop reading amimon's cached copies and remove them (the next session writes
        them again); False if there were none."""
        copies, self.copies = self.copies, None
        if copies is None or str(copies) not in self.search_paths:
            return False
        log.info("using botocore's own models: a cached copy in %s does not decode", copies)
        self.search_paths.remove(str(copies))
        shutil.rmtree(copies, ignore_errors=True)
        return True


def install(session: Any) -> Any:
    """Give ``session`` (a botocore Session) a ``OneServiceLoader`` with its loader's
    search paths; call it before anything has loaded data through the old one."""
    old = session.get_component("data_loader")
    if not isinstance(old, OneServiceLoader):
        loader = OneServiceLoader(
            extra_search_paths=list(old.search_paths), include_default_search_paths=False
        )
        session.register_component("data_loader", loader)
    return session
