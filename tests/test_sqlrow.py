"""one_row: the row of a query that always returns one, or an error naming the query."""

import duckdb
import pytest

from douyin_etl.sqlrow import one_row


def test_one_row_returns_the_first_row_with_and_without_parameters():
    con = duckdb.connect()
    assert one_row(con, "select count(*), max(x) from range(5) t(x)") == (5, 4)
    assert one_row(con, "select ? + 1", [41]) == (42,)


def test_a_query_without_rows_is_an_error_naming_it():
    con = duckdb.connect()
    with pytest.raises(RuntimeError, match=r"expected one row, got none from: select 1 where false"):
        one_row(con, "select 1 where false")
