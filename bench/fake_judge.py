"""Run the fake OpenAI-compatible judge server as a process (for benchmarks and manual runs).

    python bench/fake_judge.py --port 8765 --latency-ms 200 --rpm-limit 600 --error-rate 0.02

Point Sightline at it with SIGHTLINE_JUDGE_API_BASE=http://127.0.0.1:8765/v1 and a model
such as openai/fake-judge. The server implementation lives in tests/fakes/openai_server.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fakes.openai_server import FakeJudgeServer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--rpm-limit", type=int, default=None, help="answer 429 above this rate")
    parser.add_argument("--error-rate", type=float, default=0.0, help="fraction answered 500")
    parser.add_argument("--api-key", default=None, help="answer 401 to any other key")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    server = FakeJudgeServer(
        args.host,
        args.port,
        latency_seconds=args.latency_ms / 1000.0,
        rpm_limit=args.rpm_limit,
        error_rate=args.error_rate,
        api_key=args.api_key,
        seed=args.seed,
    )
    print(f"fake judge listening on http://{args.host}:{server.port}/v1", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
