"""JSON Schema compatibility checking for the Eventline registry (pure Python, no Django).

Reproduces Confluent Schema Registry's JSON Schema rules (node dispatch, difference
types, paths, STRICT and LENIENT allowed sets) and adds checks for what Confluent ignores.
Where Eventline departs from Confluent, and why:

* required + ``default`` is incompatible (validators never apply defaults) -- ``types.py``;
* ``exclusiveMaximum`` decreases are compared with ``exclusiveMaximum`` (Confluent: ``maximum``);
* ``const: c`` is ``enum: [c]``, so ``const`` -> a containing ``enum`` is ENUM_ARRAY_EXTENDED;
* ``unevaluated*`` absent and ``true`` are the same (no NARROWED/EXTENDED between them);
* a name matching no ``patternProperties`` regex, without ``additionalProperties``, is open;
* new types for ``format``, ``propertyNames``, ``if``/``then``/``else``, ``contains``,
  ``dependentRequired``/``dependentSchemas``, draft-04 boolean bounds, ``required`` names
  without a property, ``patternProperties`` schemas, implicit type requirements and
  possibly overlapping ``oneOf`` branches; they can only add failures;
* property and dependency names are visited in sorted order (Confluent: hash order);
* each schema is read by its own draft (``drafts.KEYWORD_DRAFTS``), as the registry's
  validator reads it: a keyword its draft does not know (``prefixItems`` or
  ``dependentRequired`` in draft-07, ``const`` in draft-04, ``additionalItems`` in 2020-12,
  ``additionalItems`` without tuple ``items``) has no effect and is not compared.

The registry docs list each difference with two schemas (docs/registry.md).
"""

from .checker import (
    CompatibilityResult,
    ReportedDifference,
    SchemaVersion,
    check_compatibility,
    diff_schemas,
)
from .difference import Difference
from .example import Example
from .levels import CompatibilityLevel, CompatibilityPolicy
from .refs import UnresolvedReference
from .types import DifferenceType, is_allowed

__all__ = [
    "CompatibilityLevel",
    "CompatibilityPolicy",
    "CompatibilityResult",
    "Difference",
    "Example",
    "DifferenceType",
    "ReportedDifference",
    "SchemaVersion",
    "UnresolvedReference",
    "check_compatibility",
    "diff_schemas",
    "is_allowed",
]
