"""A helper for the tracer's tests: trace a NumPy function body, get the function written for it."""

from tinygrad_rnn.compiler import trace


def traced_run(body, *arrays):
    """Trace ``body`` on ``arrays``: (the tracer, the compiled function or False, why not). The
    function reads the arrays from slots 0, 1, ... and writes ``body``'s results (one, or a tuple
    of them) into the slots after them."""
    tracer = trace.Tracer()
    inputs = [tracer.input(a, i) for i, a in enumerate(arrays)]
    trace.trace_active(tracer)
    try:
        results = body(*inputs)
        for k, result in enumerate(results if isinstance(results, tuple) else (results,)):
            tracer.slot(len(arrays) + k, result)
    finally:
        trace.trace_active(None)
    run, why = tracer.compile()
    return tracer, run, why
