"""Makes the fixtures of testkit.py available to every test file of this folder, and says loudly
at the end of the run when the servers they need are missing."""
from testkit import in_ci, missing_servers
from testkit import deployment, gateway, redis, servers, stubs, tls  # noqa: F401


def pytest_terminal_summary(terminalreporter):
    missing = missing_servers()
    if missing:
        terminalreporter.write_line(
            f"*** {' and '.join(missing)} not running: "
            f"{'FAILING (CI=true)' if in_ci() else 'SKIPPING'} "
            f'(deploy/local/up, then eval "$(deploy/local/env)") ***', red=True, bold=True)
