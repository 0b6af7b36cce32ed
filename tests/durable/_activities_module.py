"""Activities registered from a module (Worker.create(activities=<module>))."""

from __future__ import annotations

from hotmesh.durable import activity


async def shout(text: str) -> str:
    """Upper-case ``text``; report the headers the workflow attached."""
    headers = activity.get_context().headers
    return f"{text.upper()}{headers.get('suffix', '')}"


def _private() -> None:
    """Not registered: private names are skipped."""
