"""Security profiles: 1 (Basic over ws), 2 (TLS + Basic), 3 (TLS client certificate, CN = charger
id). Chargers not in the credentials file are refused."""

import ssl

import pytest

from testkit import (basic_auth, connect, hash_password, raw_call, run, upgrade_status,
                     wait_until)

PASSWORD = "correct horse battery staple"


@pytest.fixture
def secured(deployment, tls, tmp_path):
    """A pod with TLS, a credentials file of one charger per profile, unknown chargers refused."""
    hashed = hash_password(PASSWORD)
    credentials = tmp_path / "credentials.csv"
    credentials.write_text("\n".join([
        "# charger_id,security_profile,password_hash",
        f"p1-charger,1,{hashed}",
        f"p2-charger,2,{hashed}",
        "p3-charger,3,",
        "p3-other,3,",
        "",
    ]))
    return deployment.start_gateway("a", credentials_file=credentials,
                                    unknown_charger_profile=-1, **tls.gateway_flags())


def opened_profile(deployment, charger_id):
    event = deployment.events(charger_id, count=1)[0]
    return event["connection_opened"].get("security_profile", 0)


async def heartbeat_over(url, **kwargs):
    async with connect(url, **kwargs) as ws:
        assert (await raw_call(ws, "Heartbeat", {}))[0] == 3


# -- profile 1 ------------------------------------------------------------------------------

def test_profile_1_accepts_the_right_password_over_plain_websocket(secured, deployment):
    run(heartbeat_over(secured.ws_url("p1-charger"),
                       extra_headers=basic_auth("p1-charger", PASSWORD)))
    assert opened_profile(deployment, "p1-charger") == 1


@pytest.mark.parametrize("headers", [
    basic_auth("p1-charger", "wrong"),
    basic_auth("p1-charger", ""),
    basic_auth("someone-else", PASSWORD),
    {"Authorization": "Bearer abc"},
    {},
], ids=["wrong_password", "empty_password", "other_user", "not_basic", "no_header"])
def test_profile_1_refuses_wrong_credentials_with_401(secured, headers):
    assert upgrade_status(secured.ws_port, "/ocpp/p1-charger", headers) == 401


def test_profile_1_charger_is_refused_over_tls(secured, tls):
    assert upgrade_status(secured.wss_port, "/ocpp/p1-charger", basic_auth("p1-charger", PASSWORD),
                          tls_context=tls.client_context()) == 401


# -- profile 2 ------------------------------------------------------------------------------

def test_profile_2_accepts_the_right_password_over_tls(secured, deployment, tls):
    run(heartbeat_over(secured.ws_url("p2-charger", tls=True), ssl=tls.client_context(),
                       extra_headers=basic_auth("p2-charger", PASSWORD)))
    assert opened_profile(deployment, "p2-charger") == 2


def test_profile_2_refuses_a_wrong_password_with_401(secured, tls):
    assert upgrade_status(secured.wss_port, "/ocpp/p2-charger", basic_auth("p2-charger", "nope"),
                          tls_context=tls.client_context()) == 401
    assert secured.metric("switchyard_gateway_handshakes_refused_total",
                          reason="unauthorized") == 1


def test_profile_2_charger_is_refused_over_plain_websocket(secured):
    assert upgrade_status(secured.ws_port, "/ocpp/p2-charger",
                          basic_auth("p2-charger", PASSWORD)) == 401
    assert secured.metric("switchyard_gateway_handshakes_refused_total",
                          reason="wrong_security_profile") == 1


# -- profile 3 ------------------------------------------------------------------------------

def test_profile_3_accepts_a_client_certificate_whose_cn_is_the_charger_id(
        secured, deployment, tls):
    run(heartbeat_over(secured.ws_url("p3-charger", tls=True),
                       ssl=tls.client_context(cn="p3-charger")))
    assert opened_profile(deployment, "p3-charger") == 3


def test_profile_3_refuses_a_certificate_from_an_untrusted_ca_in_the_tls_handshake(secured, tls):
    context = tls.client_context(cn="p3-charger", signed_by="untrusted-ca")
    with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
        upgrade_status(secured.wss_port, "/ocpp/p3-charger", tls_context=context)
    # With TLS 1.3 the client may see the refusal before the gateway has counted it.
    wait_until(lambda: secured.metric("switchyard_gateway_handshakes_refused_total",
                                      reason="tls") == 1, 5, "the refused TLS handshake counted")


def test_profile_3_refuses_a_certificate_for_another_charger_with_401(secured, tls):
    context = tls.client_context(cn="p3-charger")
    assert upgrade_status(secured.wss_port, "/ocpp/p3-other", tls_context=context) == 401
    assert secured.metric("switchyard_gateway_handshakes_refused_total",
                          reason="certificate_mismatch") == 1


def test_profile_3_refuses_a_charger_without_certificate_with_401(secured, tls):
    assert upgrade_status(secured.wss_port, "/ocpp/p3-charger",
                          tls_context=tls.client_context()) == 401


def test_profile_3_refuses_basic_auth_instead_of_a_certificate(secured, tls):
    assert upgrade_status(secured.wss_port, "/ocpp/p3-charger", basic_auth("p3-charger", PASSWORD),
                          tls_context=tls.client_context()) == 401


def test_unknown_charger_is_refused_with_404_over_tls(secured, tls):
    assert upgrade_status(secured.wss_port, "/ocpp/stranger",
                          tls_context=tls.client_context(cn="stranger")) == 404
