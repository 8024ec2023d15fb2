"""The warehouse side of a run: dbt as a subprocess, write-audit-publish, the run report.

- ``dbt_runner.run_dbt(command, db_path=…, run_params=…, vars=…, run_dir=…, full_refresh=…) -> DbtResult``
- ``wap.prepare_audit(run_id) -> Path``, ``wap.publish(audit_path, run_id, meta) -> PublishResult``,
  ``wap.abandon(run_id)`` (a run that will not publish releases the writer lease)
- ``report.RunRecord`` and ``report.write_report(record) -> (report.json, report.html)``
"""
