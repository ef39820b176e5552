"""The service around the detector: `cli` and `commands/` (the command line), `service` (the running daemon:
`library/` watching -> `queue` -> `worker` -> `publish/`), `config`, `jobs` (what the scheduler runs)."""
