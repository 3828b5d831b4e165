"""Makes the fixtures of servicekit.py available to every test file of this folder, and says
loudly at the end of the run when the servers the distributed tests need are missing."""
from servicekit import in_ci, missing_distributed_servers
from servicekit import csms, servers, stack, stack_factory, standalone  # noqa: F401


def pytest_terminal_summary(terminalreporter):
    missing = missing_distributed_servers()
    if missing:
        terminalreporter.write_line(
            f"*** {' and '.join(missing)} not running: "
            f"{'FAILING (CI=true)' if in_ci() else 'SKIPPING'} the distributed tests "
            f'(deploy/local/up, then eval "$(deploy/local/env)") ***', red=True, bold=True)
