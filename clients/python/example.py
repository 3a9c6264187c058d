"""An example agent for the Runwatch Python client: a small research run.

    RUNWATCH_TOKEN=$(cat data/ingest-token) python3 clients/python/example.py

It plans with an "LLM" (a step of kind llm that reports its token usage), searches with a tool
inside a sub-agent step, streams a few lines of output and logs, then completes. Nothing here
talks to a real model: the point is what shows up at the printed URL. Prints the execution's
URL first and its id last (``id: ...``).

Options (environment): EXAMPLE_DELAY seconds between actions (default 0.2),
EXAMPLE_QUESTION the question.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import runwatch  # noqa: E402

DELAY = float(os.environ.get("EXAMPLE_DELAY", "0.2"))
QUESTION = os.environ.get("EXAMPLE_QUESTION", "Which bird migrates the farthest?")


def pause():
    time.sleep(DELAY)


def plan(run, question):
    """A pretend LLM call that returns a plan and reports its usage."""
    with run.step("plan", kind="llm", input={"model": "example-llm", "prompt": question}) as step:
        run.log("debug", "prompt is %d characters" % len(question))
        pause()
        queries = ["longest bird migration", "arctic tern migration distance"]
        run.usage(input_tokens=412, output_tokens=58, cost_usd=0.00131)
        step.set_output({"queries": queries})
        return queries


def search(run, query):
    """A pretend web search tool."""
    with run.step("web_search", kind="tool", input={"query": query}) as step:
        pause()
        results = [
            {"title": "Arctic tern", "snippet": "round trip of about 70,000 km a year"},
            {"title": "Bar-tailed godwit", "snippet": "11,000 km non-stop"},
        ]
        step.set_output({"results": len(results)})
        run.log("info", "%d results for %r" % (len(results), query))
        return results


def summarise(run, results):
    """A second pretend LLM call that writes the answer, streaming it as output."""
    with run.step("write answer", kind="llm", input={"model": "example-llm", "sources": len(results)}) as step:
        answer = [
            "\x1b[1mAnswer\x1b[0m\n",
            "The Arctic tern migrates the farthest: about 70,000 km a year,\n",
            "from the Arctic to the Antarctic and back.\n",
        ]
        for line in answer:
            run.output(line, stream="stdout")
            pause()
        step.usage(input_tokens=905, output_tokens=121, cost_usd=0.00262)
        step.set_output("".join(answer))
        return "".join(answer)


def main():
    rw = runwatch.Runwatch()
    run = rw.start(
        agent={"name": "researcher", "model": "example-llm"},
        department="Research",
        metadata={"example": "python"},
        input={"question": QUESTION},
    )
    print("Watch this run at", run.url, flush=True)
    with run:
        run.output("Question: %s\n" % QUESTION)
        queries = plan(run, QUESTION)
        with run.step("research", kind="agent", input={"queries": queries}):
            results = []
            for query in queries:
                results.extend(search(run, query))
            run.log("warn", "one source had no date; kept it anyway")
        answer = summarise(run, results)
        run.complete(output={"answer": answer.strip(), "sources": len(results)})
    sent = rw.close(timeout=30)
    stats = rw.stats()
    print("sent %d events in %d batches%s" % (stats["sent"], stats["batches"], "" if sent else " (some NOT sent)"))
    print("id:", run.id, flush=True)
    return 0 if sent else 1


if __name__ == "__main__":
    sys.exit(main())
