"""Detections on a Dask cluster, when one machine is not enough (`[cluster]` in the config).

`client.py` runs in the daemon (and `rescan`): a `DetectFn` that submits each claimed episode, with its siblings'
stored fingerprints, to the scheduler and waits for the result, which the daemon stores as its own. `remote.py`
runs in each Dask worker (`dask worker tcp://host:8786 --preload daemon.cluster.remote`): it loads the detector
once and detects what it is sent, through the path maps. Workers never open the database: the daemon stays its
one writer, so claims, states and pushes work as they do without a cluster.
"""
