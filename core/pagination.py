"""List endpoints page with limit/offset, like NetBox: {"count", "next", "previous", "results"}.

Strict where DRF is lenient: a `limit` or `offset` that is not a whole number in range is a 422
naming it, not silently the first page (a client with a bug would otherwise never learn of it)."""

from typing import Any

from rest_framework.pagination import LimitOffsetPagination as _LimitOffsetPagination
from rest_framework.request import Request

from core.errors import field_error


def _whole_number(request: Request, name: str, *, minimum: int, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise field_error(name, f"must be a whole number, not {raw[:40]!r}") from None
    if value < minimum:
        raise field_error(name, f"must be {minimum} or more")
    return value


class LimitOffsetPagination(_LimitOffsetPagination):
    default_limit = 100
    max_limit = 1000

    def get_limit(self, request: Request) -> int:
        # More than max_limit is capped, as DRF does: the answer's `next` says where to go on.
        limit = _whole_number(request, self.limit_query_param, minimum=1, default=self.default_limit)
        return min(limit, self.max_limit)

    def get_offset(self, request: Request) -> int:
        return _whole_number(request, self.offset_query_param, minimum=0, default=0)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        bounds = {self.limit_query_param: 1, self.offset_query_param: 0}
        for parameter in parameters:
            if parameter["name"] in bounds:
                parameter["schema"] = {**parameter["schema"], "minimum": bounds[parameter["name"]]}
        return parameters
