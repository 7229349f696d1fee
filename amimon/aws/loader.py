"""botocore's data loader, without listing every service to load one.

Before it loads a model, botocore's ``Loader.load_service_model`` checks the service's
name against ``list_available_services``: a walk over every service directory it knows
(over 400), once for the service model and once for the endpoint rules, about 35 ms of
every amimon command's first request. ``OneServiceLoader`` asks the same question of the
one service it was given (has it an API version directory holding a file of that kind?),
then loads as botocore does. A name it cannot find goes to botocore, for botocore's error.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from botocore.exceptions import DataNotFoundError
from botocore.loaders import Loader, instance_cache

if TYPE_CHECKING:
    from amimon.aws.endpoints import Endpoints


class OneServiceLoader(Loader):
    # The endpoint data from amimon's trimmed copy (``amimon.aws.endpoints.install``).
    endpoints: Endpoints | None = None

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
        model = self.load_data(os.path.join(service_name, version, type_name))
        find_extras, processor = extras
        processor.process(model, find_extras(service_name, type_name, version))
        return model


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
