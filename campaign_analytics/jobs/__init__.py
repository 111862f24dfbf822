"""Job state machine, outbox, runner and sweeper; job truth lives in PostgreSQL only."""
