"""`kubenas dashboard`: a read-only web UI over run folders or the cluster.

`views` turns records into the JSON the page draws (pure, no I/O); `local` and `cluster`
read records; `server` serves the page and the JSON. Both readers give the same `Snapshot`,
so both modes show the same views.
"""
