"""GraphQL execution of graph-node queries against a Dataset.

Documents are parsed and validated by graphql-core against the generated query schema (and
cached by query text, as clients resend one text with new variables). Execution then walks
the validated selection set itself: graphql-core's generic executor resolves every field of
every entity through the full machinery, which is far too slow for 1000-entity pages.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    OperationType,
    graphql_sync,
    parse,
    validate,
)
from graphql.execution.collect_fields import collect_fields, collect_sub_fields
from graphql.execution.values import get_argument_values, get_variable_values
from graphql.utilities import get_operation_ast

from subgraph_sim.chain import deployment_id
from subgraph_sim.dataset import Dataset
from subgraph_sim.query import QueryError, page
from subgraph_sim.schema import entity_specs, query_schema
from subgraph_sim.store import Table

MAX_FIRST = 1000
MAX_SKIP = 5000
INDEXING_ERROR = "indexing_error"


@dataclass(frozen=True)
class QueryContext:
    """Per-request view of the source: the head it serves and whether it reports errors."""

    head_block: int
    has_indexing_errors: bool = False


@dataclass(frozen=True)
class _Collection:
    type_name: str
    plural: bool


def error_body(message: str) -> bytes:
    return orjson.dumps({"errors": [{"message": message}]})


class SubgraphService:
    """Answers the GraphQL requests of one subgraph."""

    def __init__(self, subgraph: str, dataset: Dataset, cache_size: int = 512) -> None:
        self.subgraph = subgraph
        self.dataset = dataset
        self.schema = query_schema(subgraph)
        self.deployment = deployment_id(subgraph)
        self.collections: dict[str, _Collection] = {}
        for name, spec in entity_specs(subgraph).items():
            self.collections[spec.singular] = _Collection(name, plural=False)
            self.collections[spec.plural] = _Collection(name, plural=True)
        self._documents: OrderedDict[str, DocumentNode | list[GraphQLError]] = OrderedDict()
        self._cache_size = cache_size

    # ---- documents ------------------------------------------------------------------

    def document(self, query: str) -> DocumentNode | list[GraphQLError]:
        cached = self._documents.get(query)
        if cached is not None:
            self._documents.move_to_end(query)
            return cached
        try:
            document: DocumentNode | list[GraphQLError] = parse(query)
        except GraphQLError as exc:
            document = [exc]
        else:
            errors = validate(self.schema, document)
            if errors:
                document = errors
        self._documents[query] = document
        if len(self._documents) > self._cache_size:
            self._documents.popitem(last=False)
        return document

    # ---- requests -------------------------------------------------------------------

    def execute(self, payload: Any, ctx: QueryContext) -> tuple[int, bytes]:
        """HTTP status and JSON body for one request payload `{query, variables, operationName}`."""
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return 400, error_body("The request body must be a JSON object with a `query` string")
        document = self.document(payload["query"])
        if isinstance(document, list):
            return 200, orjson.dumps({"errors": [e.formatted for e in document]})
        operation_name = payload.get("operationName")
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            message = (
                f"Unknown operation named '{operation_name}'."
                if operation_name
                else "Must provide operation name if query contains multiple operations."
            )
            return 200, error_body(message)
        if operation.operation != OperationType.QUERY:
            return 200, error_body("Only queries are supported")
        raw_variables = payload.get("variables") or {}
        if not isinstance(raw_variables, dict):
            return 200, error_body("Variables must be a JSON object")
        variables = get_variable_values(
            self.schema, operation.variable_definitions or (), raw_variables
        )
        if isinstance(variables, list):
            return 200, orjson.dumps({"errors": [e.formatted for e in variables]})
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        fields = collect_fields(
            self.schema, fragments, variables, self.schema.query_type, operation.selection_set
        )
        if any(nodes[0].name.value in ("__schema", "__type") for nodes in fields.values()):
            return self._introspect(payload, operation_name)
        run = _Run(self, fragments, variables, ctx)
        try:
            data = {key: run.top_level(nodes) for key, nodes in fields.items()}
        except QueryError as exc:
            return 200, error_body(str(exc))
        body: dict[str, Any] = {"data": data}
        if run.errors:
            body["errors"] = [{"message": m} for m in run.errors]
        return 200, orjson.dumps(body)

    def _introspect(self, payload: dict, operation_name: str | None) -> tuple[int, bytes]:
        result = graphql_sync(
            self.schema,
            payload["query"],
            variable_values=payload.get("variables"),
            operation_name=operation_name,
        )
        return 200, orjson.dumps(result.formatted)


class _Run:
    """The execution of one operation."""

    def __init__(
        self,
        service: SubgraphService,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
        ctx: QueryContext,
    ) -> None:
        self.service = service
        self.schema = service.schema
        self.fragments = fragments
        self.variables = variables
        self.ctx = ctx
        self.errors: list[str] = []

    def top_level(self, nodes: list[FieldNode]) -> Any:
        name = nodes[0].name.value
        if name == "__typename":
            return "Query"
        field_def = self.schema.query_type.fields[name]
        args = get_argument_values(field_def, nodes[0], self.variables)
        if name == "_meta":
            return self._meta(nodes, args)
        collection = self.service.collections[name]
        self._check_policy(args.get("subgraphError", "deny"))
        block = self._block(args.get("block"))
        table = self.service.dataset.table(self.service.subgraph, collection.type_name)
        render = self._renderer(table, collection.type_name, nodes)
        if not collection.plural:
            key = table.key_of_id(args["id"])
            row = -1 if key is None else table.row_at(key, block)
            return render([row])[0] if row >= 0 else None
        first, skip = args.get("first", 100), args.get("skip", 0)
        if first is None:
            first = 100
        if skip is None:
            skip = 0
        if not 0 <= first <= MAX_FIRST:
            raise QueryError(
                f"The `first` argument must be between 0 and {MAX_FIRST}, but is {first}"
            )
        if not 0 <= skip <= MAX_SKIP:
            raise QueryError(f"The `skip` argument must be between 0 and {MAX_SKIP}, but is {skip}")
        rows = page(
            table,
            block=block,
            where=args.get("where"),
            order_by=args.get("orderBy"),
            desc=args.get("orderDirection") == "desc",
            skip=skip,
            first=first,
        )
        return render(rows)

    def _check_policy(self, policy: str) -> None:
        if not self.ctx.has_indexing_errors:
            return
        if policy == "deny":
            raise QueryError(INDEXING_ERROR)
        if INDEXING_ERROR not in self.errors:
            self.errors.append(INDEXING_ERROR)

    def _block(self, arg: dict[str, Any] | None) -> int:
        """The block a query reads at: `block: {number | hash | number_gte}`, default the head."""
        head = self.ctx.head_block
        if not arg:
            return head
        if arg.get("hash") is not None:
            number = self.service.dataset.chain.block_number_of_hash(arg["hash"])
            if number is None or number > head:
                raise QueryError(
                    "Failed to decode `block.hash` value: `no block with that hash found`"
                )
            return number
        if arg.get("number") is not None:
            return self._not_beyond_head(arg["number"], "block.number")
        if arg.get("number_gte") is not None:
            self._not_beyond_head(arg["number_gte"], "block.number_gte")
        return head

    def _not_beyond_head(self, number: int, argument: str) -> int:
        head = self.ctx.head_block
        if number > head:
            raise QueryError(
                f"Failed to decode `{argument}` value: `subgraph {self.service.deployment} has "
                f"only indexed up to block number {head} and data for block number {number} "
                "is therefore not yet available`"
            )
        return number

    def _subfields(self, type_name: str, nodes: list[FieldNode]) -> dict[str, list[FieldNode]]:
        return collect_sub_fields(
            self.schema,
            self.fragments,
            self.variables,
            self.schema.get_type(type_name),
            nodes,
        )

    def _renderer(
        self, table: Table, type_name: str, nodes: list[FieldNode]
    ) -> Callable[[list[int]], list[dict[str, Any]]]:
        keys: list[str] = []
        getters: list[Callable[[int], Any]] = []
        for key, sub_nodes in self._subfields(type_name, nodes).items():
            name = sub_nodes[0].name.value
            keys.append(key)
            getters.append(
                _constant(type_name) if name == "__typename" else table.served_getter(name)
            )
        return lambda rows: [dict(zip(keys, [g(r) for g in getters], strict=True)) for r in rows]

    def _meta(self, nodes: list[FieldNode], args: dict[str, Any]) -> dict[str, Any]:
        number = self._block(args.get("block"))
        chain = self.service.dataset.chain
        block_values = {
            "number": number,
            "hash": chain.block_hash(number),
            "timestamp": chain.block_timestamp(number),
            "parentHash": chain.block_hash(number - 1),
            "__typename": "_Block_",
        }
        out: dict[str, Any] = {}
        for key, sub_nodes in self._subfields("_Meta_", nodes).items():
            name = sub_nodes[0].name.value
            if name == "block":
                block_fields = self._subfields("_Block_", sub_nodes)
                out[key] = {k: block_values[n[0].name.value] for k, n in block_fields.items()}
            elif name == "deployment":
                out[key] = self.service.deployment
            elif name == "hasIndexingErrors":
                out[key] = self.ctx.has_indexing_errors
            else:
                out[key] = "_Meta_"
        return out


def _constant(value: Any) -> Callable[[int], Any]:
    return lambda _row: value
