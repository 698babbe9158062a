"""An emulator of the Azkaban web server's AJAX API, quirks included.

It runs as a real HTTP server (werkzeug) so the client is tested over the wire, and it is what
``azstate sandbox serve`` and ``--sandbox`` use when no Azkaban is at hand. It imports nothing
from azstate but ``azstate.errors`` and ``azstate.cron``, so that the client and the emulator
cannot share one misreading of the API; ../../shared/azkaban-api.md and the recorded
conformance scenarios are its specification.

    server.py      SandboxServer: threaded werkzeug server, control endpoints, ensure_local_sandbox
    app.py         WSGI entry: parses a request, finds the session, dispatches, logs
    exchange.py    Incoming (parameters the way the servlets read them) and Reply
    manager.py     /manager: projects, uploads, permissions, downloads, pages
    scheduler.py   /schedule: cron schedules and SLAs
    executor.py    /executor: executions that finish by themselves
    listing.py     /index: project listings
    flowoptions.py flow options and SLA settings as HttpRequestUtils parses them
    flowload.py    Flow 1.0 and Flow 2.0 loading of an uploaded zip
    store.py       the state, persisted as JSON files under a data directory
    users.py       the solo server's users, roles and groups; permission checks
    pages.py       the HTML pages and Jetty's error page
    faults.py      fault and latency injection, the request log
    control.py     the /__sandbox__/ hooks over HTTP: faults, request log, event clock
    jackson.py     JSON written the way Jackson 1.9 writes it
    javalang.py    Java behaviours replies depend on: String.split, HashMap order, parseInt
"""
