"""Passwords, tokens and sessions, through the real endpoints and pages.

Brute force: wrong passwords are counted per account and per client address
(``annotation.services.users``) on both doors, the token endpoint and the login page.
Windows are crossed by moving Django's clock (``tests/clock.py``), never by sleeping.
"""

import logging

import pytest
from django.test import Client, override_settings
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/auth/token/"


def get_token(client, username, password):
    return client.post(TOKEN_URL, {"username": username, "password": password}, format="json")


class TestBruteForceOnTheTokenEndpoint:
    def test_fifty_wrong_passwords_are_throttled_then_the_right_one_works_after_the_window(
        self, make_user, client_for, clock, caplog
    ):
        make_user("ann")
        client = client_for()
        caplog.set_level(logging.WARNING, logger="quorum.security")
        codes = [get_token(client, "ann", f"guess-{i}").status_code for i in range(50)]
        assert codes[:10] == [400] * 10  # QUORUM_LOGIN_FAILURES_PER_ACCOUNT
        assert set(codes[10:]) == {429}
        locked = get_token(client, "ann", "pw-ann")  # the right password, still locked
        assert locked.status_code == 429
        assert 1 <= int(locked["Retry-After"]) <= 15 * 60
        lockouts = [r for r in caplog.records if r.name == "quorum.security"]
        assert [r.getMessage().split()[0:3] for r in lockouts] == [
            ["lockout", "scope=login", "account='ann'"]
        ]

        clock.advance(seconds=int(locked["Retry-After"]))
        response = get_token(client, "ann", "pw-ann")
        assert response.status_code == 200
        assert Token.objects.get(key=response.json()["token"]).user.username == "ann"

    def test_the_account_is_locked_from_every_address(self, make_user, client_for):
        make_user("ann")
        client = client_for()
        for i in range(10):
            get_token(client, "ann", f"guess-{i}")
        other_address = client.post(
            TOKEN_URL, {"username": "ann", "password": "pw-ann"}, REMOTE_ADDR="10.9.8.7"
        )
        assert other_address.status_code == 429
        # Case variants of the name share the count.
        assert get_token(client_for(), "ANN", "x").status_code == 429

    def test_one_address_guessing_many_accounts_is_locked(self, make_user, client_for):
        make_user("ann")
        client = client_for()
        for i in range(30):  # QUORUM_LOGIN_FAILURES_PER_ADDRESS, one try per name
            assert get_token(client, f"user-{i}", "guess").status_code == 400
        assert get_token(client, "ann", "pw-ann").status_code == 429
        elsewhere = client.post(
            TOKEN_URL, {"username": "ann", "password": "pw-ann"}, REMOTE_ADDR="10.9.8.7"
        )
        assert elsewhere.status_code == 200

    def test_unknown_and_known_accounts_lock_alike(self, make_user, client_for):
        make_user("ann")
        client = client_for()
        answers = {
            name: [get_token(client, name, "guess").status_code for _ in range(11)]
            for name in ("ann", "nobody")
        }
        assert answers["ann"] == answers["nobody"] == [400] * 10 + [429]

    def test_a_correct_password_starts_the_account_count_again(self, make_user, client_for):
        make_user("ann")
        client = client_for()
        for _ in range(2):
            for i in range(9):
                assert get_token(client, "ann", f"guess-{i}").status_code == 400
            assert get_token(client, "ann", "pw-ann").status_code == 200

    @override_settings(QUORUM_TRUSTED_PROXIES=1)
    def test_behind_one_proxy_the_address_is_the_one_the_proxy_saw(self, make_user, client_for):
        client = client_for()
        for i in range(30):
            client.post(
                TOKEN_URL, {"username": f"u{i}", "password": "x"},
                HTTP_X_FORWARDED_FOR="6.6.6.6, 10.0.0.1",  # spoofed left part ignored
            )  # fmt: skip
        make_user("ann")
        ok = client.post(TOKEN_URL, {"username": "ann", "password": "pw-ann"},
                         HTTP_X_FORWARDED_FOR="10.0.0.2")  # fmt: skip
        assert ok.status_code == 200
        locked = client.post(TOKEN_URL, {"username": "ann", "password": "pw-ann"},
                             HTTP_X_FORWARDED_FOR="7.7.7.7, 10.0.0.1")  # fmt: skip
        assert locked.status_code == 429


class TestBruteForceOnTheLoginPage:
    def test_wrong_passwords_lock_the_page_with_a_429_page_then_the_window_ends(
        self, make_user, clock
    ):
        make_user("ann")
        browser = Client()
        for i in range(10):
            page = browser.post("/login/", {"username": "ann", "password": f"guess-{i}"})
            assert page.status_code == 200 and "didn't match" in page.content.decode()
        locked = browser.post("/login/", {"username": "ann", "password": "pw-ann"})
        assert locked.status_code == 429
        assert int(locked["Retry-After"]) > 0
        assert "Too many attempts" in locked.content.decode()
        assert 'id="locked"' in locked.content.decode()
        assert browser.get("/").status_code == 302  # not signed in

        clock.advance(seconds=int(locked["Retry-After"]))
        assert browser.post("/login/", {"username": "ann", "password": "pw-ann"}).status_code == 302
        assert browser.get("/").status_code == 200

    def test_the_admin_login_is_throttled_too(self, make_user, client_for, clock):
        make_user("root", is_staff=True)
        browser = Client()
        for i in range(10):
            page = browser.post("/admin/login/", {"username": "root", "password": f"guess-{i}"})
            assert page.status_code == 200
        locked = browser.post("/admin/login/", {"username": "root", "password": "pw-root"})
        assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
        assert get_token(client_for(), "root", "pw-root").status_code == 429  # one count
        clock.advance(seconds=int(locked["Retry-After"]))
        signed_in = browser.post("/admin/login/", {"username": "root", "password": "pw-root"})
        assert signed_in.status_code == 302
        assert browser.get("/admin/").status_code == 200

    def test_the_page_and_the_token_endpoint_share_the_count(self, make_user, client_for):
        make_user("ann")
        browser = Client()
        for i in range(10):
            browser.post("/login/", {"username": "ann", "password": f"guess-{i}"})
        assert get_token(client_for(), "ann", "pw-ann").status_code == 429

    @pytest.mark.parametrize("variant", ["ＡＮＮ", "ａnn", "ANN"])
    def test_a_compatibility_variant_of_the_name_is_the_same_locked_account(
        self, make_user, variant
    ):
        # The login form signs "ａnn" (fullwidth a) in as "ann" (Django's username field
        # applies NFKC), so the variant must not start a fresh count of ten guesses.
        make_user("ann")
        browser = Client()
        for i in range(10):
            browser.post("/login/", {"username": "ann", "password": f"guess-{i}"})
        locked = browser.post("/login/", {"username": variant, "password": "pw-ann"})
        assert locked.status_code == 429
        assert browser.get("/").status_code == 302  # not signed in


class TestPasswordValidators:
    @pytest.mark.parametrize("password", ["password", "12345678", "carol-the-user", "short"])
    def test_weak_passwords_are_refused_with_a_field_error(self, make_user, client_for, password):
        staff = make_user("boss", is_staff=True)
        response = client_for(staff).post(
            "/api/users/", {"username": "carol-the-user", "password": password}, format="json"
        )
        assert response.status_code == 400
        assert list(response.json()) == ["password"]
        assert not Token.objects.filter(user__username="carol-the-user").exists()

    def test_the_username_itself_is_refused(self, make_user, client_for):
        staff = make_user("boss", is_staff=True)
        response = client_for(staff).post(
            "/api/users/", {"username": "quintessential", "password": "quintessential"},
            format="json",
        )  # fmt: skip
        assert response.status_code == 400
        assert "too similar to the username" in response.json()["password"][0]

    def test_a_strong_password_creates_the_user(self, make_user, client_for):
        staff = make_user("boss", is_staff=True)
        response = client_for(staff).post(
            "/api/users/", {"username": "carol", "password": "violet-harbour-73"}, format="json"
        )
        assert response.status_code == 201, response.json()
        assert get_token(client_for(), "carol", "violet-harbour-73").status_code == 200


def authed(client_for, key):
    client = client_for()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


class TestTokens:
    def test_a_token_expires_and_logging_in_again_issues_a_new_one(
        self, make_user, client_for, clock
    ):
        make_user("ann")
        key = get_token(client_for(), "ann", "pw-ann").json()["token"]
        assert authed(client_for, key).get("/api/projects/").status_code == 200
        clock.advance(hours=30 * 24)  # QUORUM_TOKEN_TTL_HOURS
        expired = authed(client_for, key).get("/api/projects/")
        assert expired.status_code == 401
        assert expired.json() == {"detail": "Token expired."}
        fresh = get_token(client_for(), "ann", "pw-ann").json()["token"]
        assert fresh != key
        assert authed(client_for, fresh).get("/api/projects/").status_code == 200

    def test_a_token_before_its_expiry_is_the_same_token(self, make_user, client_for, clock):
        make_user("ann")
        first = get_token(client_for(), "ann", "pw-ann").json()["token"]
        clock.advance(hours=30 * 24 - 1)
        assert get_token(client_for(), "ann", "pw-ann").json()["token"] == first

    def test_rotation_gives_a_new_token_and_kills_the_old(self, make_user, client_for):
        make_user("ann")
        old = get_token(client_for(), "ann", "pw-ann").json()["token"]
        response = authed(client_for, old).post("/api/auth/token/rotate")
        assert response.status_code == 200
        new = response.json()["token"]
        assert new != old
        assert authed(client_for, old).get("/api/projects/").status_code == 401
        assert authed(client_for, new).get("/api/projects/").status_code == 200

    def test_revocation_kills_the_token(self, make_user, client_for):
        make_user("ann")
        key = get_token(client_for(), "ann", "pw-ann").json()["token"]
        assert authed(client_for, key).delete(TOKEN_URL).status_code == 204
        assert authed(client_for, key).get("/api/projects/").status_code == 401
        assert not Token.objects.filter(user__username="ann").exists()

    def test_a_password_change_revokes_the_token(self, make_user, client_for):
        ann = make_user("ann")
        key = get_token(client_for(), "ann", "pw-ann").json()["token"]
        ann.set_password("a-brand-new-secret-9")
        ann.save()
        assert authed(client_for, key).get("/api/projects/").status_code == 401

    def test_signing_in_does_not_revoke_the_token(self, make_user, client_for):
        make_user("ann")
        key = get_token(client_for(), "ann", "pw-ann").json()["token"]
        assert (
            Client().post("/login/", {"username": "ann", "password": "pw-ann"}).status_code == 302
        )
        assert authed(client_for, key).get("/api/projects/").status_code == 200

    def test_a_stale_token_header_does_not_block_getting_a_new_token(self, make_user, client_for):
        make_user("ann")
        client = authed(client_for, "0" * 40)
        assert get_token(client, "ann", "pw-ann").status_code == 200


class TestDeactivation:
    def test_a_deactivated_user_loses_token_and_session_at_once(self, make_user, client_for):
        ann = make_user("ann")
        key = get_token(client_for(), "ann", "pw-ann").json()["token"]
        browser = Client()
        browser.post("/login/", {"username": "ann", "password": "pw-ann"})
        assert browser.get("/").status_code == 200
        assert browser.get("/api/projects/").status_code == 200

        ann.is_active = False
        ann.save()

        assert authed(client_for, key).get("/api/projects/").status_code == 401
        assert browser.get("/").status_code == 302
        assert browser.get("/api/projects/").status_code in (401, 403)

    def test_a_token_whose_user_was_deactivated_by_update_is_refused(self, make_user, client_for):
        ann = make_user("ann")
        key = get_token(client_for(), "ann", "pw-ann").json()["token"]
        type(ann).objects.filter(pk=ann.pk).update(is_active=False)  # no signal: the check holds
        response = authed(client_for, key).get("/api/projects/")
        assert response.status_code == 401


class TestSessions:
    def test_a_session_ends_after_the_idle_time_and_activity_extends_it(self, make_user, clock):
        make_user("ann")
        browser = Client()
        browser.post("/login/", {"username": "ann", "password": "pw-ann"})
        for _ in range(3):  # active for three times the idle limit: still signed in
            clock.advance(hours=7, minutes=50)
            assert browser.get("/").status_code == 200
        clock.advance(hours=8, minutes=1)  # SESSION_COOKIE_AGE: 8 hours idle
        assert browser.get("/").status_code == 302


class TestAddingAMember:
    URL = "/api/projects/{}/members/"

    def test_unknown_and_deactivated_names_answer_alike(self, api, project, make_user):
        make_user("sleeper", is_active=False)
        answers = [
            api.post(self.URL.format(project.pk), {"username": name, "role": "annotator"},
                     format="json")
            for name in ("nobody", "sleeper")
        ]  # fmt: skip
        assert [a.status_code for a in answers] == [400, 400]
        assert (
            answers[0].json()
            == answers[1].json()
            == {"username": ["No active user with that username."]}
        )

    def test_probing_names_is_throttled(self, api, project, make_user):
        make_user("real")
        url = self.URL.format(project.pk)
        codes = [
            api.post(
                url, {"username": f"guess-{i}", "role": "annotator"}, format="json"
            ).status_code
            for i in range(21)
        ]
        assert codes == [400] * 20 + [429]
        locked = api.post(url, {"username": "real", "role": "annotator"}, format="json")
        assert locked.status_code == 429 and int(locked["Retry-After"]) > 0


class TestSchemaAndDocs:
    def test_anonymous_visitors_get_neither(self, client_for):
        assert client_for().get("/api/schema/").status_code == 401
        docs = Client().get("/api/docs/")
        assert docs.status_code == 302 and docs["Location"].startswith("/login/?next=/api/docs/")

    def test_signed_in_users_get_both(self, api, manager):
        assert api.get("/api/schema/").status_code == 200
        browser = Client()
        browser.force_login(manager)
        docs = browser.get("/api/docs/")
        assert docs.status_code == 200 and b"<style" not in docs.content
        script = browser.get("/api/docs/?script=")
        assert script.status_code == 200
        assert script["Content-Type"].startswith("application/javascript")
