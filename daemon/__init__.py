"""The service around the detector: config, watching, queue, worker, publishing, CLI."""
