"""Datasets: Apache Iceberg tables in the lakefeed catalog, written one batch per commit."""
