"""A run of the job: the command line, the runner over days, the day locks and the printed summary."""
