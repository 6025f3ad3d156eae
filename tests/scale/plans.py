"""EXPLAIN ANALYZE on PostgreSQL for the scale tests: every SELECT a page runs, checked for a sequential
scan of a big table and for the rows it reads from the big tables."""

import json
from dataclasses import dataclass

from django.db import connection
from django.test.utils import CaptureQueriesContext

SCANS = {"Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan"}


@dataclass(frozen=True)
class Scan:
    kind: str  # the plan node's type: "Seq Scan", "Index Scan", ...
    table: str
    rows: int  # rows taken from the table, those the scan's filter threw away included, times its loops


def explain(sql: str) -> dict:
    """The plan of `sql`, run: EXPLAIN (ANALYZE) gives the plan the planner chose and what it read."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
        row = cursor.fetchone()[0]
    return (row if isinstance(row, list) else json.loads(row))[0]["Plan"]


def scans(node: dict, tables: set[str]) -> list[Scan]:
    """Every scan of one of `tables` in a plan."""
    found = []
    if node.get("Node Type") in SCANS and node.get("Relation Name") in tables:
        rows = (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)) * node.get(
            "Actual Loops", 1
        )
        found.append(Scan(node["Node Type"], node["Relation Name"], rows))
    for child in node.get("Plans", []):
        found += scans(child, tables)
    return found


def plan_problems(
    name: str, queries: list[dict], *, tables: set[str], max_rows: int | None, per_scan=False, skip=()
) -> list[str]:
    """What is wrong with the plans of `queries` (CaptureQueriesContext's): a sequential scan of one of
    `tables`, or more than `max_rows` rows of them read by a query (or, with per_scan, by one scan).
    Queries in `skip` are not looked at."""
    problems = []
    for query in queries:
        sql = query["sql"]
        if not sql.lstrip().upper().startswith("SELECT") or sql in skip:
            continue
        found = scans(explain(sql), tables)
        if seq := [scan.table for scan in found if scan.kind == "Seq Scan"]:
            problems.append(f"{name}: sequential scan of {seq} in {sql[:300]}")
        if max_rows is None:
            continue
        if per_scan:
            problems += [
                f"{name}: reads {scan.rows} rows of {scan.table} in {sql[:300]}"
                for scan in found
                if scan.rows > max_rows
            ]
        elif (read := sum(scan.rows for scan in found)) > max_rows:
            problems.append(f"{name}: reads {read} rows in {sql[:300]}")
    return problems


def page_problems(client, urls: dict[str, str], **bounds) -> list[str]:
    """plan_problems of every query each page runs (GET, answered 200)."""
    problems = []
    for name, url in urls.items():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200, name
        problems += plan_problems(name, captured.captured_queries, **bounds)
    return problems
