"""The graph-node query schema of each subgraph, generated from its entity SDL.

graph-node derives the queryable schema from the `@entity` types: per type a singular and a
plural query field, a `T_filter` input with one argument per field and operator, a
`T_orderBy` enum, plus `_meta`. This module does the same so that queries are parsed and
validated by graphql-core exactly against what a real endpoint would accept.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from graphql import GraphQLSchema, build_schema, parse, print_ast
from graphql.language import (
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    ObjectTypeDefinitionNode,
    TypeNode,
)

SCHEMA_DIR = Path(__file__).parent / "schema"

BUILTIN_SDL = """
scalar BigInt
scalar BigDecimal
scalar Bytes
scalar Int8
directive @entity(immutable: Boolean) on OBJECT
directive @derivedFrom(field: String!) on FIELD_DEFINITION

enum OrderDirection { asc desc }
enum _SubgraphErrorPolicy_ {
  "Data will be returned even if the subgraph has indexing errors"
  allow
  "If the subgraph has indexing errors, data will be omitted. The default."
  deny
}
input Block_height { hash: Bytes number: Int number_gte: Int }
input BlockChangedFilter { number_gte: Int! }
type _Block_ { hash: Bytes number: Int! timestamp: Int parentHash: Bytes }
type _Meta_ { block: _Block_! deployment: String! hasIndexingErrors: Boolean! }
"""

_COMPARABLE_OPS = ("", "_not", "_gt", "_lt", "_gte", "_lte", "_in", "_not_in")
_STRING_OPS = (
    "_contains",
    "_not_contains",
    "_starts_with",
    "_not_starts_with",
    "_ends_with",
    "_not_ends_with",
)
_LIST_OPS = ("", "_not", "_contains", "_not_contains")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    scalar: str  # ID, String, Bytes, BigInt, BigDecimal, Int, Int8, Boolean
    is_list: bool
    non_null: bool


@dataclass(frozen=True)
class EntitySpec:
    name: str
    fields: tuple[FieldSpec, ...]

    @property
    def singular(self) -> str:
        return self.name[0].lower() + self.name[1:]

    @property
    def plural(self) -> str:
        return self.singular + "s"

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> FieldSpec:
        return self.by_name[name]

    @property
    def by_name(self) -> dict[str, FieldSpec]:
        return {f.name: f for f in self.fields}


def filter_ops(field: FieldSpec) -> tuple[str, ...]:
    """The `where` operator suffixes graph-node generates for one field."""
    if field.is_list:
        return _LIST_OPS
    if field.scalar == "Boolean":
        return ("", "_not", "_in", "_not_in")
    if field.scalar == "String":
        return _COMPARABLE_OPS + _STRING_OPS
    if field.scalar == "Bytes":
        return (*_COMPARABLE_OPS, "_contains", "_not_contains")
    return _COMPARABLE_OPS


def _field_spec(name: str, type_node: TypeNode) -> FieldSpec:
    non_null = isinstance(type_node, NonNullTypeNode)
    node = type_node.type if non_null else type_node
    is_list = isinstance(node, ListTypeNode)
    while not isinstance(node, NamedTypeNode):
        node = node.type
    return FieldSpec(name=name, scalar=node.name.value, is_list=is_list, non_null=non_null)


@cache
def entity_sdl(subgraph: str) -> str:
    return (SCHEMA_DIR / f"{subgraph}.graphql").read_text()


@cache
def entity_specs(subgraph: str) -> dict[str, EntitySpec]:
    """The `@entity` types of one subgraph, in SDL order."""
    specs: dict[str, EntitySpec] = {}
    for definition in parse(entity_sdl(subgraph)).definitions:
        if not isinstance(definition, ObjectTypeDefinitionNode):
            continue
        if not any(d.name.value == "entity" for d in definition.directives or ()):
            continue
        fields = tuple(_field_spec(f.name.value, f.type) for f in definition.fields or ())
        specs[definition.name.value] = EntitySpec(definition.name.value, fields)
    return specs


def _filter_input(spec: EntitySpec) -> str:
    lines = []
    for field in spec.fields:
        scalar = field.scalar
        for op in filter_ops(field):
            if field.is_list or op in ("_in", "_not_in"):
                lines.append(f"  {field.name}{op}: [{scalar}!]")
            else:
                lines.append(f"  {field.name}{op}: {scalar}")
    lines.append('  "Filter for the block changed event."')
    lines.append("  _change_block: BlockChangedFilter")
    lines.append(f"  and: [{spec.name}_filter]")
    lines.append(f"  or: [{spec.name}_filter]")
    return f"input {spec.name}_filter {{\n" + "\n".join(lines) + "\n}\n"


def _query_fields(spec: EntitySpec) -> str:
    common = "block: Block_height, subgraphError: _SubgraphErrorPolicy_! = deny"
    return (
        f"  {spec.singular}(id: ID!, {common}): {spec.name}\n"
        f"  {spec.plural}(skip: Int = 0, first: Int = 100, orderBy: {spec.name}_orderBy, "
        f"orderDirection: OrderDirection, where: {spec.name}_filter, {common}): "
        f"[{spec.name}!]!\n"
    )


@cache
def query_sdl(subgraph: str) -> str:
    """The full query schema SDL of one subgraph, as graph-node would serve it."""
    specs = entity_specs(subgraph)
    entity_types = [
        print_ast(d)
        for d in parse(entity_sdl(subgraph)).definitions
        if isinstance(d, ObjectTypeDefinitionNode) and d.name.value in specs
    ]
    parts = [BUILTIN_SDL, *entity_types]
    for spec in specs.values():
        parts.append(_filter_input(spec))
        parts.append(f"enum {spec.name}_orderBy {{ {' '.join(spec.field_names)} }}")
    query = "".join(_query_fields(spec) for spec in specs.values())
    query += '  "Access to subgraph metadata"\n  _meta(block: Block_height): _Meta_\n'
    parts.append("type Query {\n" + query + "}\n")
    return "\n".join(parts)


@cache
def query_schema(subgraph: str) -> GraphQLSchema:
    return build_schema(query_sdl(subgraph))
