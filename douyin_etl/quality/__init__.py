"""Quality gates (GX 1.x on DuckDB-produced pandas frames) over the lake and the audit warehouse.

- ``gates.run_landing_gate(run_id, {entity: [dt, …]}) -> GateResult``
- ``gates.run_mart_gate(db_path, run_id, as_of) -> GateResult``
- suites: ``expectations/landing/<entity>.json`` (``suitegen`` writes them) and ``expectations/marts/*.json``
"""
