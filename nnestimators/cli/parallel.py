"""The optional Dask backend that runs the folds in parallel through joblib."""

from __future__ import annotations

import contextlib
import logging

from .errors import CliError, RunError, first_line


@contextlib.contextmanager
def parallel_backend(args, model, say):
    """Yield ``n_jobs`` for the run: -1 under a Dask backend, else None."""
    if args.scheduler is None and args.dask is None:
        yield None
        return
    _check_picklable(model)
    try:
        import distributed
        import joblib
    except ImportError:
        raise CliError(
            'Dask is not installed; install it with: pip install "nnestimators[dask]"'
        ) from None
    with contextlib.ExitStack() as stack:
        if args.dask == "local":
            say("Starting a local Dask cluster...")
            address = stack.enter_context(
                distributed.LocalCluster(
                    processes=True,
                    threads_per_worker=1,
                    host="127.0.0.1",
                    dashboard_address=None,
                    # Shutdown chatter would read like errors on stderr.
                    silence_logs=logging.ERROR,
                )
            )
        else:
            address = args.scheduler
        client = stack.enter_context(_connect(distributed, address))
        say(f"Dask: {len(client.scheduler_info()['workers'])} workers")
        stack.enter_context(joblib.parallel_config(backend="dask"))
        yield -1


def _check_picklable(model):
    """Fail early if ``model`` cannot travel to worker processes.

    Dask's scheduler logs a failed deserialisation and then waits forever,
    so the command checks the round trip itself.
    """
    import pickle

    try:
        pickle.loads(pickle.dumps(model))
    except Exception as error:
        raise RunError(
            "the model cannot be pickled and unpickled, which Dask needs to "
            f"send it to workers: {type(error).__name__}: {first_line(error)}"
        ) from None


def _connect(distributed, address):
    """A Dask client; connection failures become a CliError."""
    try:
        return distributed.Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as error:
        raise CliError(
            f"could not connect to the Dask scheduler at {address}: {first_line(error)}"
        ) from None
