"""No secret leaks: a full distributed run (gateway over ws and wss, auth with a CA and a
PostgreSQL URL carrying a password, transactions, status, roaming with an OCPI eMSP) is driven
with every kind of secret the product handles, and then every process log, every /metrics page
and every switchyardctl output is searched for each of them, in every form it travels in.

The secrets: charger passwords (profile 1 over ws, profile 2 over wss, and a wrong one), our own
RFID token and a roaming driver's (each in an Authorize and a session), the OCPI credentials
tokens of both sides (plain and Base64, as OCPI 2.2.1 sends them), the PostgreSQL password in
auth's URL, and the CA's private key. Token uids are personal data rather than secrets: the
operator's CLI lists them (tokens, transactions), logs and metrics must not.
"""

import base64
import re

from servicekit import run
from test_roaming import peer_registers
from test_roaming_tokens import authorize_all, new_uid, pushed
from ocpi_peer import OcpiEmsp
from testkit import basic_auth, connect, http_get, raw_call, tls, upgrade_status  # noqa: F401

PASSWORD_1 = "plain-ws-password-7f3a9c"
PASSWORD_2 = "tls-basic-password-51be02"
WRONG_PASSWORD = "wrong-password-d00d1e"
POSTGRES_PASSWORD = "pg-url-password-e4c71b"


def b64(text):
    return base64.b64encode(text.encode()).decode()


def key_lines(pem_path):
    """The Base64 lines of a PEM private key (any of them in a log would be a leak)."""
    return [line for line in pem_path.read_text().splitlines()
            if line and not line.startswith("-----") and len(line) >= 40]


def test_no_secret_in_any_log_metric_or_cli_output_of_a_full_run(stack_factory, tls,  # noqa
                                                                  tmp_path):
    stack = stack_factory
    roaming = stack.start_roaming()
    postgres_url = re.sub(r"^(postgresql://[^:@/]+)@", rf"\1:{POSTGRES_PASSWORD}@",
                          stack.servers.postgres_url)
    assert POSTGRES_PASSWORD in postgres_url, postgres_url
    ca_key = tls.ca.with_suffix(".key")
    stack.start(auth_flags={"roaming-address": roaming.grpc_address, "postgres-url": postgres_url,
                            "ca-certificate": tls.ca, "ca-key": ca_key},
                **tls.gateway_flags())
    outputs = []  # every switchyardctl stdout and stderr

    def ctl(*args):
        done = stack.ctl.run(*args)
        outputs.append(done.stdout + done.stderr)
        assert done.returncode == 0, (args, done.stderr)
        return done.stdout

    for charger, profile, password in (("cp-secret-p1", 1, PASSWORD_1),
                                       ("cp-secret-p2", 2, PASSWORD_2)):
        password_file = tmp_path / f"{charger}.password"
        password_file.write_text(password)
        ctl("chargers", "register", charger, "--security-profile", profile,
            "--password-file", password_file)
    ctl("chargers", "register", "cp-secret-p0", "--security-profile", "0")
    own = new_uid("OWNT")
    ctl("tokens", "add", own)

    peer = OcpiEmsp(country_code="NL", party_id="SEC", send_tokens=True).start()
    try:
        _, token_a, answer = peer_registers(stack, peer, name="secret-peer")
        roaming_uid = new_uid("ROAM")
        pushed(peer, roaming_uid, whitelist="NEVER")  # asked for in real time
        ocpi_tokens = [token_a, answer.data["token"], peer.token_to_switchyard,
                       *peer.valid_tokens]

        # Chargers: Basic auth right and wrong over ws and wss, tokens in Authorize and sessions.
        async def chargers():
            async with connect(stack.ws_url("cp-secret-p1"),
                               extra_headers=basic_auth("cp-secret-p1", PASSWORD_1)) as ws:
                assert (await raw_call(ws, "Heartbeat", {}))[0] == 3
            async with connect(stack.gateway.ws_url("cp-secret-p2", tls=True),
                               ssl=tls.client_context(),
                               extra_headers=basic_auth("cp-secret-p2", PASSWORD_2)) as ws:
                assert (await raw_call(ws, "Heartbeat", {}))[0] == 3
        run(chargers())
        assert upgrade_status(stack.gateway.ws_port, "/ocpp/cp-secret-p1",
                              basic_auth("cp-secret-p1", WRONG_PASSWORD)) == 401
        statuses, _ = authorize_all(stack, "cp-secret-p0", [own, roaming_uid],
                                    start_with=[own, roaming_uid])
        assert statuses == {own: "Accepted", roaming_uid: "Accepted"}, statuses
        assert peer.authorizations(roaming_uid), "the eMSP was not asked in real time"
        for noun in (("tokens", "list"), ("transactions", "list"), ("partners", "list"),
                     ("chargers", "registrations")):
            ctl(*noun)
    finally:
        peer.stop()

    processes = {p.name: p for p in stack.services}
    processes.update({f"gateway-{g.pod_id}": g for g in stack.deployment.gateways})
    # The product's lines, not the harness's ("### start attempt ...: <argv>").
    texts = {f"log of {name}": "\n".join(line for line in p.log().splitlines()
                                          if not line.startswith("### "))
             for name, p in processes.items()}
    for name, p in processes.items():
        status, body = http_get(p.http_port, "/metrics")
        assert status == 200, name
        texts[f"/metrics of {name}"] = body
    texts.update({f"switchyardctl output {i}": text for i, text in enumerate(outputs)})
    assert all(texts.values()), [name for name, text in texts.items() if not text]
    # The run did what it should have, so the search means something.
    gateway_log = texts["log of gateway-a"]
    assert '"security_profile":1' in gateway_log and '"security_profile":2' in gateway_log

    secrets = {"charger password (profile 1)": [PASSWORD_1, b64(f"cp-secret-p1:{PASSWORD_1}")],
               "charger password (profile 2)": [PASSWORD_2, b64(f"cp-secret-p2:{PASSWORD_2}")],
               "wrong charger password": [WRONG_PASSWORD,
                                          b64(f"cp-secret-p1:{WRONG_PASSWORD}")],
               "own RFID token": [own, own.lower()],
               "roaming driver's token": [roaming_uid, roaming_uid.lower()],
               "PostgreSQL password": [POSTGRES_PASSWORD],
               "CA private key": key_lines(ca_key)}
    for i, token in enumerate(ocpi_tokens):
        secrets[f"OCPI credentials token {i}"] = [token, b64(token)]
    # Token uids are no secret to the operator who manages them (tokens list, transactions):
    # they are kept out of logs and metrics.
    operator_sees = {"own RFID token", "roaming driver's token"}
    found = [f"{what} in {where}"
             for what, forms in secrets.items() for form in forms
             for where, text in texts.items()
             if form in text and not (what in operator_sees and where.startswith("switchyardctl"))]
    assert not found, "secrets leaked:\n" + "\n".join(found)
    print(f"\nsearched {len(texts)} texts ({sum(map(len, texts.values())):,} characters) for "
          f"{sum(map(len, secrets.values()))} forms of {len(secrets)} secrets: none found")
