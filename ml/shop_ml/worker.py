"""
`python -m shop_ml.worker`: the Python activity worker. Serves the ML activities on ETL_ML_TASK_QUEUE
(`<TEMPORAL_TASK_QUEUE>-ml`) until SIGINT/SIGTERM. Started by workers/ml.ts with its environment
made from the project's one configuration; prints `ready <queue>` once polling.
"""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from .activities import make_activities
from .store import Settings


async def main() -> None:
    settings = Settings.from_env()
    queue = os.environ["ETL_ML_TASK_QUEUE"]
    client = await Client.connect(os.environ["TEMPORAL_ADDRESS"], namespace=os.environ.get("TEMPORAL_NAMESPACE", "default"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if os.environ.get("ETL_ML_EXIT_ON_STDIN_EOF") == "1":
        # The parent (workers/ml.ts) holds our stdin: end-of-file means it is gone, even if killed.
        def on_stdin() -> None:
            if not os.read(sys.stdin.fileno(), 4096):
                loop.remove_reader(sys.stdin.fileno())  # once: end-of-file stays readable
                stop.set()

        loop.add_reader(sys.stdin.fileno(), on_stdin)
    # One training at a time per process: a fit uses the cores it has; run more workers to scale.
    with ThreadPoolExecutor(max_workers=2) as executor:
        worker = Worker(client, task_queue=queue, activities=make_activities(settings), activity_executor=executor,
                        max_concurrent_activities=1, graceful_shutdown_timeout=timedelta(seconds=10))
        async with worker:
            print(f"ready {queue}", flush=True)
            await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
