"""List endpoints page with limit/offset, like NetBox: {"count", "next", "previous", "results"}."""

from rest_framework.pagination import LimitOffsetPagination as _LimitOffsetPagination


class LimitOffsetPagination(_LimitOffsetPagination):
    default_limit = 100
    max_limit = 1000
