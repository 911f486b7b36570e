DROP INDEX tickets_waiting_idx;
DROP INDEX tickets_promised_idx;
