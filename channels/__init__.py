"""One subpackage per channel: a sans-IO protocol core and a thin asyncio transport each."""
