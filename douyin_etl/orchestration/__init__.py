"""Orchestration: the pipeline's steps (one home, called by the Airflow DAGs and by ``pipeline``),
the schedules and Airflow helpers the DAG files share, and a local Airflow set-up for demo/tests."""
