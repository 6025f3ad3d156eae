"""What the benchmarks in bench/ share: processes, services, the production environment, database
preparation, app servers, wrk, nginx and the machine's description. Their reports are written by
bench/report.py."""
