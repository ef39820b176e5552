"""Fake media servers for the publisher tests: real HTTP on 127.0.0.1, the documented routes, auth checks and
response shapes (see ../shared/reference/media-server-apis.md), recording every request they receive."""
