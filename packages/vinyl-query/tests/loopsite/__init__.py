"""A tiny Django site the event-loop tests run in a process of its own (runserver, asyncio.run)."""
